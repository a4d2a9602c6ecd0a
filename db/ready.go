package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNotMigrated means the database is reachable but lacks the latest
// embedded migration of its engine: run Migrate (phoneapi migrate).
var ErrNotMigrated = errors.New("database is not migrated to the latest version")

// latestMigration returns the highest version among the embedded
// migrations of engine.
func latestMigration(engine string) (int64, error) {
	entries, err := fs.ReadDir(migrations, path.Join("migrations", engine))
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		v, err := migrationVersion(e.Name())
		if err != nil {
			return 0, err
		}
		latest = max(latest, v)
	}
	if latest == 0 {
		return 0, fmt.Errorf("no embedded migrations for %s", engine)
	}
	return latest, nil
}

// Ready reports whether the Store can serve: the database answers a ping
// and schema_migrations records the latest embedded migration of its
// engine (else an error matching ErrNotMigrated). It uses the read pool,
// so on SQLite it does not wait for a long write.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	latest, err := latestMigration(s.d.name)
	if err != nil {
		return fmt.Errorf("ready: %w", err)
	}
	var n int
	err = s.reader().QueryRowContext(ctx,
		`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, latest).Scan(&n)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42P01" || // undefined_table
			s.d.name == "sqlite" && strings.Contains(err.Error(), "no such table") {
			return fmt.Errorf("%w: schema_migrations does not exist", ErrNotMigrated)
		}
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: migration %d is not applied", ErrNotMigrated, latest)
	}
	return nil
}

// PoolStats returns the statistics of the Store's connection pools by
// name: "write" and "read" on SQLite (a single-connection writer pool and
// a read-only pool), "main" on PostgreSQL (one pool for both).
func (s *Store) PoolStats() map[string]sql.DBStats {
	if s.rdb == s.db {
		return map[string]sql.DBStats{"main": s.db.Stats()}
	}
	return map[string]sql.DBStats{"write": s.db.Stats(), "read": s.rdb.Stats()}
}

// CommitStats returns how many group commits the Store has made and how
// many writes they committed (their ratio is the mean batch size); ok is
// false on PostgreSQL, which commits each write on its own.
func (s *Store) CommitStats() (commits, writes int64, ok bool) {
	if s.commits == nil {
		return 0, 0, false
	}
	return s.commits.commits.Load(), s.commits.writes.Load(), true
}
