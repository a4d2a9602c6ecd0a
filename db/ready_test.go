package db

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"
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
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Ready(ctx); err == nil || errors.Is(err, ErrNotMigrated) {
			t.Fatalf("Ready on a closed store = %v, want a ping error", err)
		}
	})
}

// TestPoolStats checks that PoolStats names the write and read pools on
// both engines, each the pool it says: a connection held on one shows in
// its stats only.
func TestPoolStats(t *testing.T) { forEachBackend(t, testPoolStats) }

func testPoolStats(t *testing.T) {
	s := openStore(t)
	ctx := t.Context()
	names := slices.Sorted(maps.Keys(s.PoolStats()))
	if !slices.Equal(names, []string{"read", "write"}) {
		t.Fatalf("PoolStats names %v, want read and write", names)
	}
	if n := s.PoolStats()["write"].MaxOpenConnections; s.Engine() == "sqlite" && n != 1 {
		t.Errorf("SQLite write pool allows %d connections, want its single writer", n)
	}
	for _, pool := range []struct {
		name, other string
		db          *sql.DB
	}{
		{"read", "write", s.rdb},
		{"write", "read", s.db},
	} {
		before := s.PoolStats()
		c, err := pool.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		during := s.PoolStats()
		c.Close()
		if got, want := during[pool.name].InUse, before[pool.name].InUse+1; got != want {
			t.Errorf("holding a %s connection: %s pool in use %d, want %d", pool.name, pool.name, got, want)
		}
		if got, want := during[pool.other].InUse, before[pool.other].InUse; got != want {
			t.Errorf("holding a %s connection: %s pool in use %d, want %d", pool.name, pool.other, got, want)
		}
	}
}

// TestReadyProbesWrites: after a write failed for an outage, Ready tries
// a write of its own and reports ErrNotWritable while that fails (here:
// the lock it needs is held elsewhere beyond Ready's deadline); once the
// probe, or any write, commits, Ready no longer writes.
func TestReadyProbesWrites(t *testing.T) { forEachBackend(t, testReadyProbesWrites) }

func testReadyProbesWrites(t *testing.T) {
	s, clk := newStore(t)
	ctx := t.Context()
	probe := func() string {
		t.Helper()
		v, err := s.Setting(ctx, "ready_probe")
		if errors.Is(err, ErrNotFound) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	outage := &classified{class: ErrUnavailable, cause: errors.New("planted outage")}

	if err := s.Ready(ctx); err != nil || probe() != "" {
		t.Fatalf("Ready without an outage = %v, probe %q; want nil and no probe write", err, probe())
	}

	// The lock the probe needs is held: SQLite's write lock, or on
	// PostgreSQL the probe's settings row.
	if _, err := s.InitSetting(ctx, "ready_probe", "held"); err != nil {
		t.Fatal(err)
	}
	var release func()
	if s.Engine() == "sqlite" {
		release = holdLock(t, s, "")
	} else {
		release = holdPGRow(t, s, `SELECT 1 FROM settings WHERE key = 'ready_probe' FOR UPDATE`)
	}
	s.health.record(outage)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err := s.Ready(short)
	cancel()
	if !errors.Is(err, ErrNotWritable) {
		t.Fatalf("Ready with an outage and the probe blocked = %v, want ErrNotWritable", err)
	}
	release()
	if got := probe(); got != "held" {
		t.Errorf("failed probe stored %q", got)
	}

	clk.Add(time.Second)
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready with an outage and the probe free = %v, want nil", err)
	}
	written := probe()
	if written == "held" || written == "" {
		t.Fatalf("probe value %q, want the probe's write", written)
	}
	clk.Add(time.Second)
	if err := s.Ready(ctx); err != nil || probe() != written {
		t.Errorf("Ready after a probe committed = %v, probe %q; want nil and no new probe (%q)", err, probe(), written)
	}

	// Any committed write ends the outage too.
	s.health.record(outage)
	if _, err := s.InitSetting(ctx, "other", "v"); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	if err := s.Ready(ctx); err != nil || probe() != written {
		t.Errorf("Ready after a write committed = %v, probe %q; want nil and no new probe (%q)", err, probe(), written)
	}
}
