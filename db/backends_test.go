package db

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBackendOpenDispatch(t *testing.T) {
	for _, tt := range []struct{ dsn, want string }{
		{"postgres://u@h/db", "postgres"}, {"postgresql://u@h/db", "postgres"},
		{"./x.db", "sqlite"}, {"sqlite:./x.db", "sqlite"}, {"postgres.db", "sqlite"},
	} {
		if got := IsPostgresURL(tt.dsn); got != (tt.want == "postgres") {
			t.Errorf("IsPostgresURL(%q) = %v", tt.dsn, got)
		}
	}
	dir := t.TempDir()
	s, err := Open(t.Context(), "sqlite:"+filepath.Join(dir, "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Engine() != "sqlite" {
		t.Errorf("engine %s", s.Engine())
	}
	if _, err := os.Stat(filepath.Join(dir, "p.db")); err != nil {
		t.Errorf("sqlite: prefix not stripped: %v", err)
	}
	_, err = OpenPostgres(t.Context(), "postgres://u:secret@127.0.0.1:1/db?connect_timeout=1", PGOptions{ConnectTimeout: time.Second})
	if err == nil {
		t.Fatal("OpenPostgres on a closed port succeeded")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q shows the password", err)
	}
}

func TestRebind(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`a = ? AND b IN (?, ?)`, `a = $1 AND b IN ($2, $3)`},
		{`'?' = ? AND "x?" = ?`, `'?' = $1 AND "x?" = $2`},
	} {
		if got := postgresDialect.rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := sqliteDialect.rebind(tt.in); got != tt.in {
			t.Errorf("sqlite rebind(%q) = %q", tt.in, got)
		}
	}
}
