package db

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// health remembers the outage the latest write failed with, until a
// write commits again (or Ready's probe write does).
type health struct {
	err atomic.Pointer[error]
}

// record notes the result of a write transaction: an outage (ErrUnavailable
// or ErrUncertain) is remembered, a success forgets it; other errors are
// the write's own and change nothing.
func (h *health) record(err error) {
	switch {
	case err == nil:
		if h.err.Load() != nil {
			h.err.Store(nil)
		}
	case errors.Is(err, ErrUnavailable) || errors.Is(err, ErrUncertain):
		h.err.Store(&err)
	}
}

// failing returns the remembered outage, or nil.
func (h *health) failing() error {
	if p := h.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Ready reports whether the Store can serve: the database answers a ping
// and schema_migrations records the latest embedded migration of its
// engine (else an error matching ErrNotMigrated). It reads through the
// read pool, so it does not wait for a long write.
//
// When the latest write failed for an outage (the disk was full, the
// database read-only or unreachable), Ready also tries a small write and
// returns an error matching ErrNotWritable while that fails; once it
// succeeds, or any write commits, the Store is ready again.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", classify(ctx, err))
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
	if s.health.failing() == nil {
		return nil
	}
	err = s.inTx(ctx, func(tx conn) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO settings (key, value) VALUES ('ready_probe', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, s.clock().Format(time.RFC3339Nano))
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: a probe write failed: %w", ErrNotWritable, err)
	}
	return nil
}
