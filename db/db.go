// Package db stores account lists, contacts, people and phones, on SQLite
// (the embedded default) or PostgreSQL (for several server replicas
// sharing one database).
//
// # One contract, two engines
//
// *Store is the one implementation of the store, on either engine; its
// users declare the methods they need (handlers.Store). Open picks the engine from the DSN: a postgres:// or postgresql:// URL
// opens PostgreSQL through two pgxpools, for writes and reads (OpenPostgres,
// with PGOptions for the pool size and the connect and statement timeouts); anything else is a
// SQLite file path, optionally prefixed "sqlite:" (OpenSQLite). All the
// SQL — reads, writes, lists, tombstones, the write clock, the
// one-primary rule — is written once, with ? placeholders, and runs on
// both; a dialect holds the few differences (placeholders rewritten to
// $n, how a migration takes its lock, how a snapshot is read, the LIMIT
// meaning "none", the UUID expression for tombstones, NULL order)
// and each engine has its own migrations, migrations/sqlite and
// migrations/postgres, with the same versions and columns.
//
// Both engines store the same values: ids are lower-case UUID strings
// (TEXT; every function lower-cases the ids it is given); timestamps are
// BIGINT unix milliseconds, returned in UTC truncated to the millisecond,
// so both have exactly millisecond precision; booleans are INTEGER 0/1 on
// SQLite and BOOLEAN on PostgreSQL. PostgreSQL text columns use the "C"
// collation and last_name sorts NULLs first ascending, so lists come back
// in the same order on both.
//
// # Writes: one lock per account list, so checks and writes are atomic
//
// The account list is the unit of ownership and of sync: every contact,
// person, phone and tombstone belongs to exactly one, a row never moves
// to another, and everything a client lists or syncs is one account
// list's. Every write names its account list (an AccountListID, or a
// Scope) and runs in one transaction that takes that account list's write
// lock before it reads anything, so a read-check-write sequence (a
// Precondition, the one-primary-phone rule, the path check of a Scope) is
// atomic, whichever process or replica runs it, and it checks inside the
// transaction that what it writes is that account list's:
//
//   - PostgreSQL: the first statement of every write transaction is
//     UPDATE account_lists SET hw = ... WHERE id = $1 RETURNING hw. The
//     row lock it holds until commit is the account list's write lock:
//     writers of one account list queue on it across every replica; each
//     then runs at READ COMMITTED, whose later statements see everything
//     committed before the lock was granted, so the checks read the
//     latest rows and nothing can change them before commit. Writes of
//     different account lists take different rows and run in parallel.
//     Every writer takes exactly one row lock, first, so there are no
//     deadlocks and no retry loops. Within a process, writes of one
//     account list also queue for their turn before taking a pool
//     connection (lanes, tx.go): a lock held long on one account list
//     ties up one connection, not the pool.
//   - SQLite: _txlock=immediate takes the database's write lock at BEGIN,
//     which covers every account list; other processes wait for it. The
//     writes waiting at a moment share one transaction and one commit
//     (one fsync), each in its own savepoint, run one after another in
//     arrival order (group commit, groupcommit.go): the guarantees hold
//     per write, a failed write leaves nothing, and no write is
//     acknowledged before the commit holding it is durable.
//
// The write clock (writeClock, tx.go) hands out updated_in_db_at and
// deleted_at: never earlier than the account list's high-water mark
// account_lists.hw, which every write of the account list raises, under
// its lock, before committing. The sync guarantee is per account list:
// a client that lists "<latest value seen>.." of an account list's rows
// never misses a row committed later with an earlier stamp. It holds
// because a later commit of the same account list took the lock after
// the earlier one committed and stamped no earlier than the mark that
// one left; a commit of another account list may carry any stamp, but
// it is never in this account list's lists. updated_in_db_at also
// strictly increases per row (prev+1ms when the clock has not moved on).
//
// Settings, users and their new account lists, and imports, are written
// without an account list's lock: each is a single insert that is safe
// as such (INSERT ... ON CONFLICT).
//
// # Deadlines and outages
//
// Every call stops waiting when its context ends: for a pool connection,
// for its account list's turn or lock, for a statement. A write whose
// context ends before it commits is rolled back and returns an error
// matching the context's error; it did not happen. A write that reaches
// its commit is answered: on PostgreSQL the commit is not cancelled by
// the context (commitGrace), on SQLite a write that has started runs to
// its batch's commit. An outage (the database unreachable, read-only, out
// of disk space, or locked by another process for over lockWait) returns
// an error matching ErrUnavailable, and nothing was written; ErrUncertain
// means a commit was sent but its answer was lost. Ready probes whether
// writes work again after a write failed for an outage.
//
// # Reads
//
// Reads use a pool of their own (Store.rdb), read-only, so they never
// queue behind writers waiting for a lock: on SQLite a query_only pool of
// a fixed size beside the single writer connection; on PostgreSQL a
// second pgxpool whose sessions are read-only. Single-row reads use it
// directly. Every read of a nested resource (a contact, a person, a
// phone, or a list of people or phones) names its path as a Scope and
// checks it in the same query as its read (scope.go); only when that
// query finds nothing does a second one tell why, as a *ScopeError. Lists
// whose page does not show the total read the path, page and count again
// in one read-only transaction, so all see one snapshot and never wait
// for or block a writer: on SQLite a deferred transaction (WAL mode); on
// PostgreSQL a REPEATABLE READ READ ONLY transaction.
//
// # Migrations
//
// Migrate applies the embedded migrations of the engine, each in its own
// transaction, recorded in schema_migrations. Several processes may
// migrate one database at once: on SQLite the write lock serialises them;
// on PostgreSQL each step first takes pg_advisory_xact_lock on a key
// derived from the current schema, then checks whether the step is
// already applied.
//
// # Errors
//
// Every error this package returns is one of these (errors.go, scope.go),
// wrapped with context; match them with errors.Is and errors.As:
//
//   - ErrNotFound: no such row (an account list, or a resource named
//     without a Scope).
//   - *ScopeError: a resource or the path to it is not the caller's: its
//     Kind (contact, person, phone) and ID say which; it matches
//     ErrNotFound, or ErrForbidden for another account list's contact.
//   - ErrConflict: a row with that id already exists.
//   - *StaleError (matches ErrStale): a Precondition did not hold; Current
//     is the stored updated_in_db_at. Nothing was written.
//   - ErrInvalidQuery: a ListQuery or DeletedQuery the store cannot run
//     (unknown sort, a filter the resource lacks, a negative limit).
//   - ErrUnavailable: an outage; nothing was written.
//   - ErrUncertain: a commit was sent and its answer lost.
//   - the context's error, when the call's deadline or cancellation ended
//     it before commit; nothing was written.
//
// Anything else is unexpected and wrapped with context. Driver constraint
// errors are translated (SQLite's primary key and unique constraint
// errors and PostgreSQL's unique_violation 23505 become ErrConflict;
// foreign key errors and 23503 become ErrNotFound) and never returned as
// such.
package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Precondition guards an update or delete, checked in the write's
// transaction against the stored updated_in_db_at: when Holds is set, it
// decides (an ETag comparison, say); else the stored value, truncated to
// Precision (time.Second or time.Millisecond), must equal At truncated to
// Precision. A zero or negative Precision means time.Millisecond. A nil
// *Precondition means no check. A write whose precondition fails returns
// a *StaleError with the stored value, and writes nothing.
type Precondition struct {
	At        time.Time
	Precision time.Duration
	Holds     func(stored time.Time) bool
}

// check returns a *StaleError if p is set and does not hold for stored.
func (p *Precondition) check(stored time.Time) error {
	if p == nil {
		return nil
	}
	if p.Holds != nil {
		if !p.Holds(stored) {
			return &StaleError{Current: stored}
		}
		return nil
	}
	prec := p.Precision
	if prec <= 0 {
		prec = time.Millisecond
	}
	if !stored.Truncate(prec).Equal(p.At.Truncate(prec)) {
		return &StaleError{Current: stored}
	}
	return nil
}

// Patch is an optional update of a nullable column: Set reports whether to
// write it; a nil Value writes NULL.
type Patch[T any] struct {
	Set   bool
	Value *T
}

// Contact is a contact of an account list.
type Contact struct {
	ID            string
	AccountListID string
	Name          string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	UpdatedInDBAt time.Time
}

// ContactUpdate lists the contact fields to change; nil fields are kept.
type ContactUpdate struct {
	Name      *string
	CreatedAt *time.Time
	UpdatedAt *time.Time
}

// Person is a person of a contact.
type Person struct {
	ID            string
	ContactID     string
	FirstName     string
	LastName      *string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	UpdatedInDBAt time.Time
}

// PersonUpdate lists the person fields to change; nil or unset fields are
// kept.
type PersonUpdate struct {
	FirstName *string
	LastName  Patch[string]
	CreatedAt *time.Time
	UpdatedAt *time.Time
}

// Phone is a phone number of a person.
type Phone struct {
	ID            string
	PersonID      string
	Number        string
	CountryCode   *string
	Location      *string
	Primary       bool
	Historic      bool
	Source        string
	ValidValues   bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	UpdatedInDBAt time.Time
}

// DefaultSource is the Source given to phones created without one.
const DefaultSource = "MPDX"

// NewPhone is a phone to create. ID "" means a new UUID; Source "" means
// DefaultSource; a nil ValidValues is computed (see CreatePhone); zero
// CreatedAt or UpdatedAt mean now.
type NewPhone struct {
	ID          string
	Number      string
	CountryCode *string
	Location    *string
	Primary     bool
	Historic    bool
	Source      string
	ValidValues *bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// PhoneUpdate lists the phone fields to change; nil or unset fields are
// kept.
type PhoneUpdate struct {
	Number      *string
	CountryCode Patch[string]
	Location    Patch[string]
	Primary     *bool
	Historic    *bool
	Source      *string
	ValidValues *bool
	CreatedAt   *time.Time
	UpdatedAt   *time.Time
}

// Store is the database, on SQLite or PostgreSQL. It is safe for
// concurrent use.
type Store struct {
	db      *sql.DB          // writes
	rdb     *sql.DB          // reads: a pool of its own, read-only, so reads never queue behind writes
	d       *dialect         // what differs between the engines
	closeFn func() error     // closes db and rdb, and what they sit on
	now     func() time.Time // clock; see SetClock
	commits *committer       // SQLite: batches write transactions (groupcommit.go); nil on PostgreSQL
	lanes   lanes            // PostgreSQL: one write transaction per account list at a time (tx.go)
	wpool   *pgxpool.Pool    // PostgreSQL: the writer pool under db, for pipelined writes (pipeline.go)
	health  health           // the latest write's outage, if any (ready.go)
}

// dsnParams are applied by the driver to every pooled connection of the
// writer pool (Store.db), with _synchronous (see SQLiteOptions).
// _stmt_cache_size keeps each connection's most recently used prepared
// statements, so a query the store runs again is not parsed and planned
// again (the store's SQL is a small fixed set of strings). The busy
// timeout is short: SQLite's busy wait cannot be interrupted, so waiting
// for another process's write lock is a loop of short waits that stops
// when the writes waiting have reached their deadlines (beginImmediate).
const dsnParams = "_journal_mode=WAL&_foreign_keys=on&_busy_timeout=50&_txlock=immediate&_stmt_cache_size=64"

// readDSNParams are applied to every connection of the reader pool
// (Store.rdb), with the same _synchronous: transactions are deferred, so
// they take no write lock and, in WAL mode, read one snapshot without
// blocking the writer; query_only makes any write through this pool an
// error.
const readDSNParams = "_journal_mode=WAL&_foreign_keys=on&_busy_timeout=10000&_txlock=deferred&_query_only=on&_stmt_cache_size=64"

// SQLiteOptions configures a SQLite database. The zero value is the
// default: synchronous=FULL.
type SQLiteOptions struct {
	// Synchronous is SQLite's PRAGMA synchronous, "full" or "normal"
	// (case-insensitive; "" means "full"). FULL syncs the WAL to disk on
	// every commit: a write that was answered survives a crash of the
	// process, the operating system or the machine (power loss). NORMAL
	// syncs only at checkpoints: commits are faster and still survive a
	// crash of the process (the WAL is in the operating system's cache),
	// but the latest commits may be lost, never half-applied, if the
	// operating system crashes or the power fails.
	Synchronous string
}

// synchronous returns the _synchronous DSN value of o.Synchronous.
func (o SQLiteOptions) synchronous() (string, error) {
	switch strings.ToLower(o.Synchronous) {
	case "", "full":
		return "FULL", nil
	case "normal":
		return "NORMAL", nil
	}
	return "", fmt.Errorf("SQLite synchronous %q: want full or normal", o.Synchronous)
}

// OpenSQLite opens (creating if needed) the SQLite database file at path
// with default options and checks that it is reachable. It does not
// migrate; call Migrate.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	return OpenSQLiteWith(ctx, path, SQLiteOptions{})
}

// OpenSQLiteWith is OpenSQLite with options.
func OpenSQLiteWith(ctx context.Context, path string, o SQLiteOptions) (*Store, error) {
	if path == "" {
		return nil, errors.New("open database: empty path")
	}
	sync, err := o.synchronous()
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// The writer is pinged first so that it creates the file and sets WAL
	// mode before a query_only reader opens it.
	sqldb, err := openPool(ctx, path, dsnParams+"&_synchronous="+sync)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	rdb, err := openPool(ctx, path, readDSNParams+"&_synchronous="+sync)
	if err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// SQLite has one writer at a time. One writer connection makes this
	// process's writes queue fairly in the pool instead of polling the busy
	// timeout against each other; reads use the reader pool.
	sqldb.SetMaxOpenConns(1)
	// Readers: a fixed set of connections, kept open, so that a burst of
	// requests neither opens and closes connections (each open reads the
	// schema and loses its statement cache) nor runs more SQLite calls at
	// once than there are CPUs to run them.
	n := readerConns()
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	return &Store{
		db: sqldb, rdb: rdb, d: sqliteDialect, now: time.Now,
		commits: newCommitter(sqldb, sqliteDialect),
		// Readers first, so the writer's last connection checkpoints the WAL.
		closeFn: func() error { return errors.Join(rdb.Close(), sqldb.Close()) },
	}, nil
}

// readerConns is the size of the SQLite reader pool: twice the CPUs Go
// may use, at least 4.
func readerConns() int {
	return max(4, 2*runtime.GOMAXPROCS(0))
}

// openPool opens a pool on the file at path with the given DSN parameters
// and pings it.
func openPool(ctx context.Context, path, params string) (*sql.DB, error) {
	pool, err := sql.Open("sqlite3", "file:"+escapePath(path)+"?"+params)
	if err != nil {
		return nil, err
	}
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// escapePath escapes the characters that end or escape the path part of a
// SQLite URI filename.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// Close closes the database.
func (s *Store) Close() error {
	if s.commits != nil {
		s.commits.close()
	}
	if err := s.closeFn(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// SetClock replaces the clock used for timestamps (time.Now by default).
// Call it before the Store is in use; it is meant for tests.
func (s *Store) SetClock(now func() time.Time) {
	s.now = now
}

//go:embed migrations
var migrations embed.FS

// bootstrap creates the table that records applied migrations, per engine.
var bootstrap = map[string]string{
	"sqlite": `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`,
	"postgres": `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT NOT NULL PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`,
}

// Migrate applies the pending migrations of the Store's engine
// (migrations/<engine>/NNNN_name.sql) in name order, each in its own
// transaction, and records each in schema_migrations. Running it again is a
// no-op. Every step holds the engine's migration lock (SQLite's write
// lock; a PostgreSQL advisory transaction lock per schema), so processes
// migrating one database at once apply each migration exactly once.
func (s *Store) Migrate(ctx context.Context) error {
	err := s.migrationTx(ctx, func(tx conn) error {
		_, err := tx.execRaw(ctx, bootstrap[s.d.name])
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	dir := path.Join("migrations", s.d.name)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	seen := make(map[int64]string)
	for _, e := range entries { // fs.ReadDir sorts by name
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		version, err := migrationVersion(name)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if other, ok := seen[version]; ok {
			return fmt.Errorf("migrate: %s and %s share version %d", other, name, version)
		}
		seen[version] = name
		body, err := fs.ReadFile(migrations, path.Join(dir, name))
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if err := s.migrate(ctx, version, string(body)); err != nil {
			return fmt.Errorf("migrate %s: %w", name, err)
		}
	}
	return nil
}

// migrate applies one migration unless it is recorded as applied.
func (s *Store) migrate(ctx context.Context, version int64, body string) error {
	return s.migrationTx(ctx, func(tx conn) error {
		var n int
		err := tx.QueryRowContext(ctx,
			`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n)
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.execRaw(ctx, body); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
			version, s.clock().UnixMilli())
		return err
	})
}

// migrationVersion parses the leading number of a name like 0001_init.sql.
func migrationVersion(name string) (int64, error) {
	digits, _, _ := strings.Cut(name, "_")
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("migration %s: name must start with a positive version number", name)
	}
	return v, nil
}

// queryer is implemented by conn.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (resultRows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *row
}

// scanner is implemented by *row and *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// exists reports whether query, which selects one row or none, finds a row.
func exists(ctx context.Context, q queryer, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// clock returns the current time in UTC, truncated to the millisecond.
func (s *Store) clock() time.Time {
	return normTime(s.now())
}

// normTime returns t in UTC, truncated to the millisecond.
func normTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Millisecond)
}

// orNow returns normTime(t), or now if t is zero.
func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return normTime(t)
}

// fromMillis converts stored unix milliseconds to a UTC time.
func fromMillis(ms int64) time.Time {
	return time.UnixMilli(ms).UTC()
}

// normID returns id in its stored form (lower case).
func normID(id string) string {
	return strings.ToLower(id)
}

// nullString converts an optional string to a query argument.
func nullString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// cloneString returns a copy of *s so callers' pointers are not shared.
func cloneString(s *string) *string {
	if s == nil {
		return nil
	}
	v := *s
	return &v
}
