package db

import (
	"context"
	"strings"
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
