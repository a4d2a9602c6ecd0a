package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Open opens the database dsn names with default options: a postgres:// or
// postgresql:// URL opens PostgreSQL (see OpenPostgres); anything else is
// a SQLite file path, optionally prefixed "sqlite:" (see OpenSQLite). It
// does not migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenWith(ctx, dsn, PGOptions{}, SQLiteOptions{})
}

// OpenWith is Open with options: pg for PostgreSQL, sq for SQLite; the
// other engine's are ignored.
func OpenWith(ctx context.Context, dsn string, pg PGOptions, sq SQLiteOptions) (*Store, error) {
	if IsPostgresURL(dsn) {
		return OpenPostgres(ctx, dsn, pg)
	}
	return OpenSQLiteWith(ctx, strings.TrimPrefix(dsn, "sqlite:"), sq)
}

// Engine returns "sqlite" or "postgres".
func (s *Store) Engine() string { return s.d.name }

// Store is the database, on SQLite or PostgreSQL. It is safe for
// concurrent use.
type Store struct {
	db      *sql.DB          // writes
	rdb     *sql.DB          // reads: a pool of its own, read-only, so reads never queue behind writes
	d       *dialect         // what differs between the engines
	closeFn func() error     // closes db and rdb, and what they sit on
	now     func() time.Time // clock; see SetClock
	ids     func() string    // new ids; nil: random (see SetDeterministic)
	commits *committer       // SQLite: batches write transactions (groupcommit.go); nil on PostgreSQL
	lanes   lanes            // PostgreSQL: one write transaction per account list at a time (tx.go)
	wpool   *pgxpool.Pool    // PostgreSQL: the writer pool under db, for pipelined writes (pipeline.go)
	health  health           // the latest write's outage, if any (ready.go)
	tr      *tracing         // spans; nil when tracing is off (trace.go)
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

// clock returns the current time in UTC, truncated to the millisecond.
func (s *Store) clock() time.Time {
	return normTime(s.now())
}
