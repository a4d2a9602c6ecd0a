package db

import (
	"database/sql"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/phoneapi/phoneapi/db/dbtest"
)

func TestOpenAppliesSettingsToEveryConnection(t *testing.T) {
	s := openStore(t)
	ctx := t.Context()
	pools := []struct {
		name      string
		db        *sql.DB
		queryOnly int
		busy      int // busy_timeout, ms
		conns     int // connections the pool may hold at once
	}{
		// SQLite's single writer: a short busy timeout, waited out in a
		// loop that stops when the waiting writes' contexts end.
		{"writer", s.db, 0, 50, 1},
		{"reader", s.rdb, 1, 10000, 3},
	}
	for _, pool := range pools {
		if n := pool.db.Stats().MaxOpenConnections; pool.conns == 1 && n != 1 {
			t.Errorf("%s pool allows %d connections, want 1", pool.name, n)
		}
		// Hold several connections at once so the pool must open distinct ones.
		for i := range pool.conns {
			conn, err := pool.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var fk, sync, busy, queryOnly int
			var journal string
			for _, q := range []struct {
				pragma string
				dest   any
			}{
				{"PRAGMA foreign_keys", &fk},
				{"PRAGMA synchronous", &sync},
				{"PRAGMA busy_timeout", &busy},
				{"PRAGMA journal_mode", &journal},
				{"PRAGMA query_only", &queryOnly},
			} {
				if err := conn.QueryRowContext(ctx, q.pragma).Scan(q.dest); err != nil {
					t.Fatalf("%s conn %d: %s: %v", pool.name, i, q.pragma, err)
				}
			}
			if fk != 1 || sync != 2 || busy != pool.busy || journal != "wal" || queryOnly != pool.queryOnly {
				t.Errorf("%s conn %d: foreign_keys=%d synchronous=%d busy_timeout=%d journal_mode=%s query_only=%d, want 1 2 %d wal %d",
					pool.name, i, fk, sync, busy, journal, queryOnly, pool.busy, pool.queryOnly)
			}
		}
	}
}

// TestReaderPoolCannotWrite: the read pool is read-only on both engines
// (query_only on SQLite; default_transaction_read_only on PostgreSQL).
func TestReaderPoolCannotWrite(t *testing.T) { forEachBackend(t, testReaderPoolCannotWrite) }

func testReaderPoolCannotWrite(t *testing.T) {
	s := openStore(t)
	_, err := s.rdb.ExecContext(t.Context(), `INSERT INTO settings (key, value) VALUES ('k', 'v')`)
	if err == nil {
		t.Fatal("insert through the reader pool succeeded")
	}
	wantCount(t, s, 0, `SELECT COUNT(*) FROM settings`)
}

// TestReadTxIsASnapshot commits a write in the middle of a read
// transaction, which must neither wait for it nor see it.
func TestReadTxIsASnapshot(t *testing.T) { forEachBackend(t, testReadTxIsASnapshot) }

func testReadTxIsASnapshot(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	c := mustContact(t, s, Contact{AccountListID: newAccountList(t, s), Name: "a"})
	var before, after int
	err := s.readTx(ctx, func(tx conn) error {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM contacts`).Scan(&before); err != nil {
			return err
		}
		mustContact(t, s, Contact{AccountListID: c.AccountListID, Name: "b"}) // on the writer pool
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM contacts`).Scan(&after)
	})
	if err != nil {
		t.Fatal(err)
	}
	if before != 1 || after != 1 {
		t.Errorf("counts in one read transaction = %d, %d; want 1, 1", before, after)
	}
	wantCount(t, s, 2, `SELECT COUNT(*) FROM contacts`)
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := Open(t.Context(), ""); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}

func TestOpenDoesNotMigrate(t *testing.T) { forEachBackend(t, testOpenDoesNotMigrate) }

func testOpenDoesNotMigrate(t *testing.T) {
	s := openDB(t, newDB(t))
	if tableExists(t, s, "contacts") {
		t.Fatalf("contacts table exists before Migrate")
	}
}

func TestMigrateIdempotent(t *testing.T) { forEachBackend(t, testMigrateIdempotent) }

func testMigrateIdempotent(t *testing.T) {
	s, c := newStore(t) // migrated once
	ctx := t.Context()
	files, err := fs.Glob(migrations, "migrations/"+s.Engine()+"/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no embedded migrations: %v", err)
	}
	if _, err := s.InitSetting(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Hour)
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	wantCount(t, s, len(files), `SELECT COUNT(*) FROM schema_migrations`)
	wantCount(t, s, 1, `SELECT COUNT(*) FROM schema_migrations WHERE version = 1`)
	for _, table := range []string{"settings", "account_lists", "users", "contacts", "people", "phones", "deleted_records"} {
		if !tableExists(t, s, table) {
			t.Errorf("table %s missing", table)
		}
	}
	if v, err := s.Setting(ctx, "k"); err != nil || v != "v" {
		t.Errorf("after second Migrate Setting = %q, %v; want data kept", v, err)
	}
}

func TestMigrationVersion(t *testing.T) {
	tests := []struct {
		name    string
		want    int64
		wantErr bool
	}{
		{"0001_init.sql", 1, false},
		{"0042_add_things.sql", 42, false},
		{"init.sql", 0, true},
		{"0000_zero.sql", 0, true},
		{"x001_bad.sql", 0, true},
	}
	for _, tt := range tests {
		got, err := migrationVersion(tt.name)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("migrationVersion(%q) = %d, %v; want %d, err %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestNextDBTime(t *testing.T) {
	prev := dbtest.Start.Truncate(time.Millisecond)
	tests := []struct {
		now, want time.Time
	}{
		{prev.Add(time.Second), prev.Add(time.Second)},
		{prev, prev.Add(time.Millisecond)},
		{prev.Add(-time.Hour), prev.Add(time.Millisecond)},
	}
	for _, tt := range tests {
		if got := nextDBTime(tt.now, prev); !got.Equal(tt.want) {
			t.Errorf("nextDBTime(%v, %v) = %v, want %v", tt.now, prev, got, tt.want)
		}
	}
}

func TestDriverErrorsAreTranslated(t *testing.T) { forEachBackend(t, testDriverErrorsAreTranslated) }

func testDriverErrorsAreTranslated(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	al, err := s.EnsureUser(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateContact(ctx, Contact{AccountListID: al, Name: "A"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateContact(ctx, Contact{ID: c.ID, AccountListID: al, Name: "B"})
	wantErr(t, err, ErrConflict)
	_, err = s.CreateContact(ctx, Contact{AccountListID: "no-such-list", Name: "B"})
	wantErr(t, err, ErrNotFound)
	if strings.Contains(strings.ToLower(err.Error()), "foreign key") {
		t.Errorf("error text %q leaks the driver message", err)
	}
}
