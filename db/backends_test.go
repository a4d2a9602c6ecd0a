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
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" for the admin connections
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

func TestBackendOpenDispatch(t *testing.T) {
	for _, tt := range []struct{ dsn, want string }{
		{"postgres://u@h/db", "postgres"}, {"postgresql://u@h/db", "postgres"},
		{"./x.db", "sqlite"}, {"sqlite:./x.db", "sqlite"}, {"postgres.db", "sqlite"},
	} {
		if got := IsPostgresURL(tt.dsn); got != (tt.want == "postgres") {
			t.Errorf("IsPostgresURL(%q) = %v", tt.dsn, got)
		}
	}
	dir := t.TempDir()
	s, err := Open(t.Context(), "sqlite:"+filepath.Join(dir, "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Engine() != "sqlite" {
		t.Errorf("engine %s", s.Engine())
	}
	if _, err := os.Stat(filepath.Join(dir, "p.db")); err != nil {
		t.Errorf("sqlite: prefix not stripped: %v", err)
	}
	_, err = OpenPostgres(t.Context(), "postgres://u:secret@127.0.0.1:1/db?connect_timeout=1", PGOptions{ConnectTimeout: time.Second})
	if err == nil {
		t.Fatal("OpenPostgres on a closed port succeeded")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q shows the password", err)
	}
}

func TestRebind(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`a = ? AND b IN (?, ?)`, `a = $1 AND b IN ($2, $3)`},
		{`'?' = ? AND "x?" = ?`, `'?' = $1 AND "x?" = $2`},
	} {
		if got := postgresDialect.rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := sqliteDialect.rebind(tt.in); got != tt.in {
			t.Errorf("sqlite rebind(%q) = %q", tt.in, got)
		}
	}
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
