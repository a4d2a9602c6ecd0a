package db

import (
	"context"
	"errors"
	"testing"
)

func TestReady(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		s, err := Open(ctx, newDB(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Ready(ctx); !errors.Is(err, ErrNotMigrated) {
			t.Fatalf("Ready before Migrate = %v, want ErrNotMigrated", err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Ready(ctx); err != nil {
			t.Fatalf("Ready after Migrate = %v", err)
		}
		latest, err := latestMigration(s.Engine())
		if err != nil {
			t.Fatal(err)
		}
		if latest < 3 {
			t.Errorf("latest migration %d, want at least 3", latest)
		}
		if _, err := s.pool().ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = ?`, latest); err != nil {
			t.Fatal(err)
		}
		if err := s.Ready(ctx); !errors.Is(err, ErrNotMigrated) {
			t.Fatalf("Ready without the latest migration = %v, want ErrNotMigrated", err)
		}
		stats := s.PoolStats()
		want := map[string]int{"sqlite": 2, "postgres": 1}[s.Engine()]
		if len(stats) != want {
			t.Errorf("PoolStats = %v, want %d pools", stats, want)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Ready(ctx); err == nil || errors.Is(err, ErrNotMigrated) {
			t.Fatalf("Ready on a closed store = %v, want a ping error", err)
		}
	})
}
