// The shared helpers of package db's tests: the backends and their test
// databases, opening stores, the fake clock, fixtures (account lists,
// contacts, people, phones and the paths to them), locks held from outside
// and assertions that several files use. Helpers used by one file only
// stay in that file.

package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
	"github.com/phoneapi/phoneapi/db/dbtest"
)

// The store tests run against every backend in backends: a test written
//
//	func TestX(t *testing.T) { forEachBackend(t, testX) }
//
// runs testX as the subtests TestX/sqlite and TestX/postgres, and the
// helpers that open stores (openStore, newStore, newDB) pick the engine
// from that subtest's name. Tests not wrapped so are SQLite's alone.
//
// The PostgreSQL subtests need PHONEAPI_TEST_POSTGRES_URL, the URL of a
// server where the user may create databases. TestMain creates a throwaway
// database there for the run and drops it afterwards; each test gets a
// schema of its own in it. When the variable is unset they are skipped.

// pgEnv names the variable holding the PostgreSQL server's URL.
const pgEnv = "PHONEAPI_TEST_POSTGRES_URL"

// pgSkipMessage says how to run the PostgreSQL tests.
const pgSkipMessage = pgEnv + " is unset; to run the PostgreSQL store tests set it, e.g. " +
	pgEnv + "=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable " +
	"(a throwaway database is created for the run and dropped afterwards)"

// backends are the engines every store test runs against.
var backends = []string{"sqlite", "postgres"}

var (
	pgTestURL string  // the throwaway database, "" when PostgreSQL is not tested
	pgAdmin   *sql.DB // on pgTestURL, to create and drop schemas
	pgSchemas atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	server := os.Getenv(pgEnv)
	if server == "" {
		return m.Run()
	}
	name := fmt.Sprintf("phoneapi_test_%d_%d", os.Getpid(), time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := sql.Open("pgx", server)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", pgEnv, err)
		return 1
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		fmt.Fprintf(os.Stderr, "create test database: %v\n", err)
		return 1
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			fmt.Fprintf(os.Stderr, "drop test database %s: %v\n", name, err)
		}
	}()
	u, err := url.Parse(server)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", pgEnv, err)
		return 1
	}
	u.Path = "/" + name
	pgTestURL = u.String()
	if pgAdmin, err = sql.Open("pgx", pgTestURL); err != nil {
		fmt.Fprintf(os.Stderr, "open test database: %v\n", err)
		return 1
	}
	defer pgAdmin.Close()
	return m.Run()
}

// forEachBackend runs fn as a subtest per backend, named after it. The
// PostgreSQL subtest is skipped, saying how to enable it, when
// PHONEAPI_TEST_POSTGRES_URL is unset.
func forEachBackend(t *testing.T, fn func(t *testing.T)) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			if b == "postgres" && pgTestURL == "" {
				if os.Getenv("CI") != "" {
					t.Fatal("CI must run the PostgreSQL store tests: " + pgSkipMessage)
				}
				t.Skip(pgSkipMessage)
			}
			fn(t)
		})
	}
}

// backendOf returns the backend the test runs against: the name of its
// forEachBackend subtest, else sqlite.
func backendOf(t *testing.T) string {
	parts := strings.Split(t.Name(), "/")
	if len(parts) > 1 && parts[1] == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// newDB returns the DSN of a new, empty database of the test's backend: a
// file in a temporary directory, or a PostgreSQL schema of its own (the
// URL sets search_path), dropped when the test ends.
func newDB(t *testing.T) string {
	t.Helper()
	if backendOf(t) == "sqlite" {
		return filepath.Join(t.TempDir(), "test.db")
	}
	schema := fmt.Sprintf("t%d", pgSchemas.Add(1))
	if _, err := pgAdmin.ExecContext(t.Context(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := pgAdmin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(pgTestURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// openDB opens the database at dsn and closes it when the test ends. It
// does not migrate.
func openDB(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// tableExists reports whether the store's database has the table.
func tableExists(t *testing.T, s *Store, table string) bool {
	t.Helper()
	query := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if s.Engine() == "postgres" {
		query = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	return count(t, s, query, table) == 1
}

// greatest is the engine's SQL function for the largest of its arguments.
func greatest(s *Store) string {
	if s.Engine() == "postgres" {
		return "GREATEST"
	}
	return "MAX"
}

// personPath returns the path to the person personID, its account list
// and contact read from the database, for tests that know only the
// person. The person id is kept as given (tests pass it in upper case to
// check that the store normalises ids); for an unknown person the path
// names only it, so the store reports the contact missing.
func personPath(t testing.TB, s *Store, personID string) Scope {
	t.Helper()
	sc := Scope{PersonID: personID}
	err := s.reader().QueryRowContext(t.Context(),
		`SELECT c.account_list_id, c.id FROM people p, contacts c WHERE p.id = ? AND c.id = p.contact_id`,
		normID(personID)).Scan(&sc.AccountListID, &sc.ContactID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("path of person %s: %v", personID, err)
	}
	return sc
}

// contactPath is personPath for a contact: the path to contactID, with its
// account list read from the database.
func contactPath(t testing.TB, s *Store, contactID string) Scope {
	t.Helper()
	sc := Scope{ContactID: contactID}
	err := s.reader().QueryRowContext(t.Context(),
		`SELECT account_list_id FROM contacts WHERE id = ?`, normID(contactID)).Scan(&sc.AccountListID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("path of contact %s: %v", contactID, err)
	}
	return sc
}

// openStore opens and migrates a Store on a new database of the test's
// backend (see backendOf).
func openStore(t *testing.T) *Store { return openMigrated(t, newDB(t)) }

// openSQLite opens and migrates a SQLite store at a new file, whatever
// the test's backend.
func openSQLite(t *testing.T, name string) *Store {
	return openMigrated(t, filepath.Join(t.TempDir(), name))
}

// openMigrated opens the database at dsn (see openDB) and migrates it.
func openMigrated(t *testing.T, dsn string) *Store {
	t.Helper()
	s := openDB(t, dsn)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// newStore returns a migrated Store with a frozen fake clock reading
// dbtest.Start.
func newStore(t *testing.T) (*Store, *dbtest.Clock) {
	t.Helper()
	s := openStore(t)
	c := dbtest.NewClock(dbtest.Start)
	s.SetClock(c.Now)
	return s, c
}

// nowMS returns the clock's reading as the Store stores it.
func nowMS(c *dbtest.Clock) time.Time { return c.Now().UTC().Truncate(time.Millisecond) }

func ptr[T any](v T) *T { return &v }

// count returns the result of a SELECT COUNT(*) query.
func count(t *testing.T, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.pool().QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// wantCount fails the test, going on, unless the SELECT COUNT(*) query
// counts want.
func wantCount(t *testing.T, s *Store, want int, query string, args ...any) {
	t.Helper()
	if n := count(t, s, query, args...); n != want {
		t.Errorf("%s %v = %d, want %d", query, args, n, want)
	}
}

// wantErr fails unless errors.Is(err, want) and err does not expose a
// driver error.
func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		t.Fatalf("err %v exposes driver error %#v", err, se)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		t.Fatalf("err %v exposes driver error %#v", err, pe)
	}
}

// newAccountList creates a user and returns its account list.
func newAccountList(t *testing.T, s *Store) string {
	t.Helper()
	return ensureUser(t, s, uuid.NewString())
}

// ensureUser creates the user if need be and returns its account list.
func ensureUser(t *testing.T, s *Store, user string) string {
	t.Helper()
	al, err := s.EnsureUser(t.Context(), user)
	return noErr(t, "EnsureUser", al, err)
}

// mustContact creates a contact.
func mustContact(t *testing.T, s *Store, c Contact) Contact {
	t.Helper()
	c, err := s.CreateContact(t.Context(), c)
	return noErr(t, "CreateContact", c, err)
}

// mustPerson creates a person of sc's contact.
func mustPerson(t *testing.T, s *Store, sc Scope, p Person) Person {
	t.Helper()
	p, err := s.CreatePerson(t.Context(), sc, p)
	return noErr(t, "CreatePerson", p, err)
}

// mustPhone creates a phone of sc's person.
func mustPhone(t *testing.T, s *Store, sc Scope, np NewPhone) Phone {
	t.Helper()
	p, err := s.CreatePhone(t.Context(), sc, np)
	return noErr(t, "CreatePhone", p, err)
}

// errOf returns the error of a call that returns a value and an error.
func errOf[T any](_ T, err error) error { return err }

// noErr returns v, failing the test if err is not nil.
func noErr[T any](t testing.TB, what string, v T, err error) T {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// contactScope is the Scope of c's people.
func contactScope(c Contact) Scope {
	return Scope{AccountListID: c.AccountListID, ContactID: c.ID}
}

// personScope is the Scope of the phones of p, a person of c.
func personScope(c Contact, p Person) Scope {
	return Scope{AccountListID: c.AccountListID, ContactID: c.ID, PersonID: p.ID}
}

// upperScope returns sc with upper-case ids.
func upperScope(sc Scope) Scope {
	return Scope{
		AccountListID: strings.ToUpper(sc.AccountListID),
		ContactID:     strings.ToUpper(sc.ContactID),
		PersonID:      strings.ToUpper(sc.PersonID),
	}
}

func strOrNil(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// samePhone reports whether a and b agree field by field, times by
// instant.
func samePhone(a, b Phone) bool {
	return a.ID == b.ID && a.PersonID == b.PersonID && a.Number == b.Number &&
		strOrNil(a.CountryCode) == strOrNil(b.CountryCode) && strOrNil(a.Location) == strOrNil(b.Location) &&
		a.Primary == b.Primary && a.Historic == b.Historic && a.Source == b.Source && a.ValidValues == b.ValidValues &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) && a.UpdatedInDBAt.Equal(b.UpdatedInDBAt)
}

// newPerson creates an account list, a contact and a person, and returns
// the person's Scope.
func newPerson(t *testing.T, s *Store) Scope {
	t.Helper()
	c := mustContact(t, s, Contact{AccountListID: newAccountList(t, s), Name: "c"})
	return personScope(c, mustPerson(t, s, contactScope(c), Person{FirstName: "p"}))
}

// family is an account list with two contacts: c with people p1 (phones
// a, b) and p2 (phones c, d, e), and keep with person pk (phone k).
type family struct {
	s          *Store
	clk        *dbtest.Clock
	al         string
	c, keep    Contact
	p1, p2, pk Person
	phones     map[string]Phone // by name
	other      Scope            // a person of a second account list
	otherPhone string           // a phone of that person
}

func newFamily(t *testing.T) *family {
	t.Helper()
	s, clk := newStore(t)
	f := &family{s: s, clk: clk, al: newAccountList(t, s), phones: map[string]Phone{}}
	f.c = mustContact(t, s, Contact{AccountListID: f.al, Name: "c"})
	f.keep = mustContact(t, s, Contact{AccountListID: f.al, Name: "keep"})
	f.p1 = mustPerson(t, s, contactScope(f.c), Person{FirstName: "p1"})
	f.p2 = mustPerson(t, s, contactScope(f.c), Person{FirstName: "p2"})
	f.pk = mustPerson(t, s, contactScope(f.keep), Person{FirstName: "pk"})
	for _, x := range []struct {
		name string
		sc   Scope
	}{{"a", f.in(f.p1)}, {"b", f.in(f.p1)}, {"c", f.in(f.p2)}, {"d", f.in(f.p2)}, {"e", f.in(f.p2)}, {"k", f.in(f.pk)}} {
		f.phones[x.name] = mustPhone(t, s, x.sc, NewPhone{Number: x.name})
	}
	// Phone writes stamp their person (touchPerson): keep the people as
	// stored now.
	for _, p := range []*Person{&f.p1, &f.p2, &f.pk} {
		var err error
		if *p, err = s.Person(t.Context(), f.in(*p), p.ID); err != nil {
			t.Fatal(err)
		}
	}
	f.other = newPerson(t, s)
	f.otherPhone = mustPhone(t, s, f.other, NewPhone{Number: "o"}).ID
	return f
}

// in returns the Scope of p's phones, or of c's people when p is a
// contact's: the family's contact c holds p1 and p2, keep holds pk.
func (f *family) in(p Person) Scope {
	c := f.c
	if p.ContactID == f.keep.ID {
		c = f.keep
	}
	return personScope(c, p)
}

// holdLock takes, on a connection of its own, the lock that writes of the
// account list need: SQLite's write lock (BEGIN IMMEDIATE, which covers
// every account list) or on PostgreSQL the account list's row. The lock
// is released when the test ends or release is called.
func holdLock(t *testing.T, s *Store, accountListID string) (release func()) {
	t.Helper()
	if s.commits == nil {
		return holdPGRow(t, s, `SELECT hw FROM account_lists WHERE id = $1 FOR UPDATE`, accountListID)
	}
	// The reader pool is query_only: open a writer of our own.
	var file string
	if err := s.rdb.QueryRowContext(t.Context(), `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		t.Fatal(err)
	}
	pool, err := sql.Open("sqlite3", "file:"+escapePath(file)+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return holdTx(t, pool, `BEGIN IMMEDIATE`, ``)
}

// holdPGRow runs query, which locks rows (FOR UPDATE), in a PostgreSQL
// transaction on a connection of its own, until release is called or the
// test ends.
func holdPGRow(t *testing.T, s *Store, query string, args ...any) (release func()) {
	t.Helper()
	// Read-only sessions, but BEGIN READ WRITE overrides it.
	return holdTx(t, s.rdb, `BEGIN READ WRITE`, query, args...)
}

// holdTx begins a transaction with begin on a connection of pool, runs
// query in it (if any) and keeps it open until release is called or the
// test ends.
func holdTx(t *testing.T, pool *sql.DB, begin, query string, args ...any) (release func()) {
	t.Helper()
	ctx := context.Background()
	c, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, begin); err != nil {
		t.Fatal(err)
	}
	if query != "" {
		if _, err := c.ExecContext(ctx, query, args...); err != nil {
			t.Fatalf("take the lock: %v", err)
		}
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := c.ExecContext(ctx, `ROLLBACK`); err != nil {
				t.Errorf("release the lock: %v", err)
			}
			c.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// snapshot renders every contact, person and phone, to compare the whole
// database before and after.
func snapshot(t *testing.T, s *Store) string {
	t.Helper()
	return strings.Join(lines(t, s.pool(), `SELECT r FROM (
		SELECT 'contact ' || id || ' ' || name || ' ' || updated_at || ' ' || updated_in_db_at AS r FROM contacts
		UNION ALL SELECT 'person ' || id || ' ' || first_name || ' ' || updated_at || ' ' || updated_in_db_at FROM people
		UNION ALL SELECT 'phone ' || id || ' ' || number || ' ' || "primary" || ' ' || updated_at || ' ' || updated_in_db_at FROM phones
		) AS x ORDER BY r`), "\n")
}

// lines returns the one text column of every row of query.
func lines(t *testing.T, q queryer, query string, args ...any) []string {
	t.Helper()
	l, err := queryAll(t.Context(), q, func(sc scanner) (l string, err error) { return l, sc.Scan(&l) }, query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return l
}

// highWater returns the account list's write clock high-water mark as stored.
func highWater(t *testing.T, s *Store, al string) time.Time {
	t.Helper()
	var ms int64
	if err := s.pool().QueryRowContext(t.Context(), `SELECT hw FROM account_lists WHERE id = ?`, al).Scan(&ms); err != nil {
		t.Fatalf("read the write clock of account list %s: %v", al, err)
	}
	return fromMillis(ms)
}

// maxStamp returns the latest updated_in_db_at or deleted_at stored in any
// table for the account list (the zero time as unix milliseconds if there
// is none).
func maxStamp(t *testing.T, s *Store, al string) time.Time {
	t.Helper()
	var ms int64
	err := s.pool().QueryRowContext(t.Context(), `SELECT `+greatest(s)+`(
		COALESCE((SELECT MAX(updated_in_db_at) FROM contacts WHERE account_list_id = ?), 0),
		COALESCE((SELECT MAX(p.updated_in_db_at) FROM people p
			JOIN contacts c ON c.id = p.contact_id WHERE c.account_list_id = ?), 0),
		COALESCE((SELECT MAX(ph.updated_in_db_at) FROM phones ph
			JOIN people p ON p.id = ph.person_id JOIN contacts c ON c.id = p.contact_id WHERE c.account_list_id = ?), 0),
		COALESCE((SELECT MAX(deleted_at) FROM deleted_records WHERE account_list_id = ?), 0))`,
		al, al, al, al).Scan(&ms)
	if err != nil {
		t.Fatalf("max stamp: %v", err)
	}
	return fromMillis(ms)
}

// queryPlan returns the detail lines of EXPLAIN QUERY PLAN for query.
func queryPlan(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	plan, err := queryAll(t.Context(), s.pool(), func(sc scanner) (detail string, err error) {
		var id, parent, unused int
		return detail, sc.Scan(&id, &parent, &unused, &detail)
	}, `EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	return plan
}

// goTogether runs dbtest.Together(n, f) on a goroutine of its own and
// returns at once, for goroutines that queue behind a lock or a write the
// test holds until it lets them go; wait returns their results.
func goTogether[T any](n int, f func(i int) T) (wait func() []T) {
	done := make(chan []T, 1)
	go func() { done <- dbtest.Together(n, f) }()
	return func() []T { return <-done }
}

// result is a call's value and error, for dbtest.Together.
type result[T any] struct {
	v   T
	err error
}

func resultOf[T any](v T, err error) result[T] { return result[T]{v, err} }
