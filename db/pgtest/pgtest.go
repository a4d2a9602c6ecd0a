// Package pgtest gives tests a throwaway PostgreSQL database.
//
// The server comes from PHONEAPI_TEST_POSTGRES_URL, for example
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable. When it is
// unset a test that asks for a database is skipped, saying how to enable
// it, unless the environment variable CI is set: then it fails, so CI
// cannot pass without running the PostgreSQL tests.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// Env names the variable holding the PostgreSQL server's URL.
const Env = "PHONEAPI_TEST_POSTGRES_URL"

// Example is a value of Env that works with a local server in trust mode.
const Example = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL returns the server URL from Env, skipping t (failing it under
// CI) when the variable is unset. what names the tests, for the message.
func ServerURL(t testing.TB, what string) string {
	t.Helper()
	server := os.Getenv(Env)
	if server == "" && os.Getenv("CI") != "" {
		t.Fatalf("CI must run the PostgreSQL %s: set %s", what, Env)
	}
	if server == "" {
		t.Skipf("%s is unset; to run the PostgreSQL %s set it, e.g. %s=%s (a throwaway database is created and dropped afterwards)",
			Env, what, Env, Example)
	}
	return server
}

// Database creates a new, empty database on the server from Env and returns
// its URL; it is dropped (WITH (FORCE)) when the test ends. prefix names it
// (letters, digits and underscores).
func Database(t testing.TB, what, prefix string) string {
	t.Helper()
	return CreateDatabase(t, ServerURL(t, what), prefix)
}

// CreateDatabase is Database on an explicit server URL.
func CreateDatabase(t testing.TB, server, prefix string) string {
	t.Helper()
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	name := fmt.Sprintf("%s_%d_%d", strings.ToLower(prefix), os.Getpid(), time.Now().UnixNano())
	if _, err := admin.ExecContext(context.Background(), `CREATE DATABASE `+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
