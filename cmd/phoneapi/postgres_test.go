package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"strings"
	"testing"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/db/dbtest"
)

// TestPostgresCommands runs migrate (several at once, as replicas starting
// together would), seed and token against PostgreSQL.
func TestPostgresCommands(t *testing.T) {
	dsn := pgDatabase(t)
	ctx := context.Background()
	type migrated struct {
		err            error
		stdout, stderr string
	}
	for i, m := range dbtest.Together(4, func(int) migrated {
		var stdout, stderr bytes.Buffer
		err := run(ctx, []string{"migrate", "--db", dsn, "--pg-max-conns", "2", "--pg-connect-timeout", "5s", "--pg-statement-timeout", "30s"},
			env(nil), &stdout, &stderr)
		return migrated{err, stdout.String(), stderr.String()}
	}) {
		if m.err != nil {
			t.Errorf("migrate %d: %v (stderr %q)", i, m.err, m.stderr)
		}
		if !strings.Contains(m.stdout, "migrated postgres://") {
			t.Errorf("migrate %d: stdout %q", i, m.stdout)
		}
	}

	const user = "0b7f0f8e-1111-4222-8333-944455556666"
	var stdout, stderr bytes.Buffer
	getenv := env(map[string]string{"PHONEAPI_DB": dsn, "PHONEAPI_PG_MAX_CONNS": "3"})
	err := run(ctx, []string{"seed", "--contacts", "5", "--people-per-contact", "2", "--phones-per-person", "3", "--user", user}, getenv, &stdout, &stderr)
	if err != nil {
		t.Fatalf("seed: %v (stderr %q)", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "seeded 5 contacts, 10 people, 30 phones for user "+user) {
		t.Errorf("seed stdout %q", stdout.String())
	}

	// token with no configured secret generates one and keeps it in the
	// database: two tokens are signed with the same secret.
	var tok1, tok2 bytes.Buffer
	if err := run(ctx, []string{"token", "--user", user}, getenv, &tok1, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"token", "--user", user, "--ttl", "1h"}, getenv, &tok2, io.Discard); err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var secrets, versions, latest, phones int
	if err := admin.QueryRowContext(ctx, `SELECT COUNT(*) FROM settings WHERE key = 'jwt_secret'`).Scan(&secrets); err != nil {
		t.Fatal(err)
	}
	if err := admin.QueryRowContext(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&versions, &latest); err != nil {
		t.Fatal(err)
	}
	if err := admin.QueryRowContext(ctx, `SELECT COUNT(*) FROM phones`).Scan(&phones); err != nil {
		t.Fatal(err)
	}
	// The concurrent migrates applied each version 1..latest once.
	if secrets != 1 || versions != latest || phones != 30 {
		t.Errorf("settings %d, schema_migrations %d up to version %d, phones %d; want 1, one per version, 30",
			secrets, versions, latest, phones)
	}
	// And latest is the binary's latest migration.
	s, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ready(ctx); err != nil {
		t.Errorf("Ready after migrate: %v", err)
	}
}

func TestPostgresFlags(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantErr  string
	}{
		{"bad max conns", []string{"migrate", "--pg-max-conns", "0"}, nil, 2, "positive integer"},
		{"bad env max conns", []string{"migrate"}, map[string]string{"PHONEAPI_PG_MAX_CONNS": "x"}, 2, "PHONEAPI_PG_MAX_CONNS"},
		{"bad env timeout", []string{"migrate"}, map[string]string{"PHONEAPI_PG_STATEMENT_TIMEOUT": "soon"}, 2, "PHONEAPI_PG_STATEMENT_TIMEOUT"},
		{"negative timeout", []string{"migrate", "--pg-connect-timeout", "-1s"}, nil, 2, "negative"},
		{"unreachable", []string{"migrate", "--db", "postgres://u:hunter2@127.0.0.1:1/x?sslmode=disable", "--pg-connect-timeout", "1s"}, nil, 1, "127.0.0.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			args := tt.args
			if !strings.Contains(strings.Join(args, " "), "--db") {
				args = append(args, "--db", t.TempDir()+"/x.db")
			}
			code := exitCode(run(ctx, args, env(tt.env), io.Discard, &stderr), &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tt.wantCode, tt.wantErr)
			}
			if strings.Contains(stderr.String(), "hunter2") {
				t.Errorf("stderr %q shows the password", stderr.String())
			}
		})
	}
	// A flag overrides a bad variable.
	err := run(ctx, []string{"migrate", "--db", t.TempDir() + "/y.db", "--pg-max-conns", "4"},
		env(map[string]string{"PHONEAPI_PG_MAX_CONNS": "x"}), io.Discard, io.Discard)
	if err != nil {
		t.Errorf("flag over a bad variable: %v", err)
	}
}
