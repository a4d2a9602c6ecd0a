package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

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
