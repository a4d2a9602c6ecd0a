package db

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSQLiteSynchronousOption opens SQLite files through OpenWith with
// each SQLiteOptions.Synchronous value and reads PRAGMA synchronous on
// connections of both pools: 2 (FULL) by default, 1 (NORMAL) when asked.
func TestSQLiteSynchronousOption(t *testing.T) {
	for _, tc := range []struct {
		option string
		want   int
	}{
		{"", 2},
		{"full", 2},
		{"FULL", 2},
		{"normal", 1},
		{"Normal", 1},
	} {
		t.Run("synchronous="+tc.option, func(t *testing.T) {
			ctx := t.Context()
			s, err := OpenWith(ctx, "sqlite:"+filepath.Join(t.TempDir(), "sync.db"), PGOptions{}, SQLiteOptions{Synchronous: tc.option})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for _, pool := range []struct {
				name string
				q    func() (int, error)
			}{
				{"writer", func() (n int, err error) { err = s.db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&n); return }},
				{"reader", func() (n int, err error) { err = s.rdb.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&n); return }},
			} {
				got, err := pool.q()
				if err != nil {
					t.Fatalf("%s: PRAGMA synchronous: %v", pool.name, err)
				}
				if got != tc.want {
					t.Errorf("%s: PRAGMA synchronous = %d, want %d", pool.name, got, tc.want)
				}
			}
			// Writes still work, in WAL mode.
			mustContact(t, s, Contact{AccountListID: newAccountList(t, s), Name: "n"})
			var journal string
			if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&journal); err != nil || journal != "wal" {
				t.Errorf("journal_mode = %q (%v), want wal", journal, err)
			}
		})
	}
	for _, bad := range []string{"off", "extra", "0"} {
		_, err := OpenWith(t.Context(), filepath.Join(t.TempDir(), "bad.db"), PGOptions{}, SQLiteOptions{Synchronous: bad})
		if err == nil || !strings.Contains(err.Error(), "want full or normal") {
			t.Errorf("synchronous %q: err = %v, want a refusal naming full and normal", bad, err)
		}
	}
}
