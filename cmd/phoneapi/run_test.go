package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // substring of stdout
		wantErr  string // substring of stderr
	}{
		{"no args", nil, 2, "", "Usage:"},
		{"help", []string{"--help"}, 0, "Usage:", ""},
		{"help word", []string{"help"}, 0, "Usage:", ""},
		{"version", []string{"version"}, 0, "phoneapi ", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"unknown flag", []string{"serve", "--nope"}, 2, "", "flag provided but not defined: --nope"},
		{"stray argument", []string{"migrate", "extra"}, 2, "", `unexpected argument "extra"`},
		{"serve help", []string{"serve", "--help"}, 0, "--addr ADDR", ""},
		{"serve help names tracing", []string{"serve", "--help"}, 0, "OTEL_TRACES_EXPORTER", ""},
		{"bad user", []string{"token", "--user", "bob", "--jwt-secret", "s"}, 2, "", "not a uuid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, env(nil), &stdout, &stderr)
			if code := exitCode(err, &stderr); code != tt.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantOut) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.wantOut)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantErr)
			}
		})
	}
}

func TestTokenPrintsOnlyTheToken(t *testing.T) {
	const user = "0b7f0f8e-1111-4222-8333-944455556666"
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"token", "--user", user, "--ttl", "1h"},
		env(map[string]string{"PHONEAPI_JWT_SECRET": "s3cret"}), &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	out := stdout.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("stdout %q is not one line", out)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(strings.TrimSpace(out), claims, func(*jwt.Token) (any, error) { return []byte("s3cret"), nil }); err != nil {
		t.Fatalf("token does not verify with the env secret: %v", err)
	}
	if claims["user_id"] != user {
		t.Errorf("user_id %v, want %s", claims["user_id"], user)
	}
	exp, _ := claims.GetExpirationTime()
	if d := time.Until(exp.Time); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("exp in %v, want about 1h", d)
	}
}

// TestServeGeneratedSecret starts serve with no secret configured, then
// checks that 'token' (same database, no secret) mints a token serve accepts,
// and that serve stops cleanly when its context ends.
func TestServeGeneratedSecret(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "api.db")
	getenv := env(map[string]string{"PHONEAPI_DB": dbPath})
	srv := startServe(t, getenv)
	addr := srv.URL

	var tok bytes.Buffer
	if err := run(context.Background(), []string{"token"}, getenv, &tok, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		token string
		want  int
	}{
		{strings.TrimSpace(tok.String()), http.StatusOK},
		{"not-a-token", http.StatusUnauthorized},
	} {
		r, _ := http.NewRequest("GET", addr+"/api/v2/contacts", nil)
		r.Header.Set("Authorization", "Bearer "+tc.token)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
		}
	}
	srv.stop(t)
}

func TestMigrate(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "m.db")
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "--db", "sqlite:" + dbPath}, env(nil), &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "migrated") {
		t.Errorf("stdout %q", stdout.String())
	}
}

func TestSeed(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "seed.db")
	const user = "0b7f0f8e-1111-4222-8333-944455556666"
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"seed", "--db", dbPath, "--contacts", "4", "--people-per-contact", "2", "--phones-per-person", "3", "--user", user}, env(nil), &stdout, &stderr)
	if err != nil {
		t.Fatalf("seed: %v (stderr %q)", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "seeded 4 contacts, 8 people, 24 phones for user "+user) {
		t.Errorf("stdout %q", stdout.String())
	}
	if !strings.Contains(stderr.String(), "seed: 24/24 phones (100%)") {
		t.Errorf("stderr %q lacks the final progress line", stderr.String())
	}
	var code int
	err = run(context.Background(), []string{"seed", "--db", dbPath, "--contacts", "0"}, env(nil), io.Discard, &stderr)
	if code = exitCode(err, io.Discard); code != 2 {
		t.Errorf("--contacts 0: exit code %d, want 2", code)
	}
}
