package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/phoneapi/phoneapi/cmd/childproc"
	"github.com/phoneapi/phoneapi/db/pgtest"
)

func TestMain(m *testing.M) {
	maybeServeBaseline() // the baseline's process is this test binary, re-run
	os.Exit(m.Run())
}

// TestCompareBaseline builds phoneapi and runs a very short
// --compare-baseline: every operation on both servers must have requests
// and no errors. It checks that the tool works, not the speed.
func TestCompareBaseline(t *testing.T) {
	dir := t.TempDir()
	bin := buildPhoneapi(t, dir)
	jsonPath := filepath.Join(dir, "bench.json")
	cfg := config{bin: bin, contacts: 20, people: 2, phones: 3, clients: 4, duration: 1e9, compare: true, jsonPath: jsonPath}
	rep := runBench(t, cfg)
	if err := rep.writeJSON(jsonPath); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var got report
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	seen := map[string]result{}
	for _, r := range got.Results {
		seen[r.Server+"/"+r.Op] = r
	}
	for _, server := range []string{"phoneapi", "baseline"} {
		for _, op := range opNames {
			r, ok := seen[server+"/"+op]
			switch {
			case !ok:
				t.Errorf("%s %s: missing from the JSON", server, op)
			case r.Requests == 0 || r.Errors != 0:
				t.Errorf("%s %s: %d requests, %d errors %q; want some and none", server, op, r.Requests, r.Errors, r.ErrorSamples)
			}
		}
	}
	if len(got.Ratios) != len(opNames) {
		t.Errorf("%d ratios, want %d", len(got.Ratios), len(opNames))
	}
	for _, server := range []string{"phoneapi", "baseline"} {
		if r := seen[server+"/get"]; r.RSSBytes == 0 || r.CPUSeconds == 0 {
			t.Errorf("%s get: RSS %d bytes, CPU %g s; want both sampled", server, r.RSSBytes, r.CPUSeconds)
		}
	}
}

// TestRoundsWarmup: with -rounds 2 and -warmup, each read operation is
// measured twice on each server, after a warm-up, and the best round is
// reported; a write is measured once.
func TestRoundsWarmup(t *testing.T) {
	dir := t.TempDir()
	bin := buildPhoneapi(t, dir)
	cfg := config{bin: bin, contacts: 5, people: 1, phones: 2, clients: 2, duration: 5e8, warmup: 3e8, rounds: 2,
		compare: true, ops: []string{"get", "create"}}
	var log strings.Builder
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	rep, err := bench(t.Context(), cfg, &log)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"phoneapi/get": 2, "baseline/get": 2, "phoneapi/create": 1, "baseline/create": 1}
	for _, x := range rep.Results {
		key := x.Server + "/" + x.Op
		if x.Rounds != want[key] || x.Requests == 0 || x.Errors != 0 {
			t.Errorf("%s: %d rounds, %d requests, %d errors; want %d rounds, some requests, no errors", key, x.Rounds, x.Requests, x.Errors, want[key])
		}
		delete(want, key)
	}
	if len(want) > 0 {
		t.Errorf("missing results: %v", want)
	}
	for _, line := range []string{"phoneapi get: warm-up 300ms", "baseline get: warm-up 300ms", "phoneapi get round 2 of 2", "baseline get round 2 of 2"} {
		if !strings.Contains(log.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, log.String())
		}
	}
	if strings.Contains(log.String(), "create: warm-up") || strings.Contains(log.String(), "create round") {
		t.Errorf("a write was warmed up or measured in rounds:\n%s", log.String())
	}
	var out strings.Builder
	rep.print(&out)
	if !strings.Contains(out.String(), "best of 2 rounds") {
		t.Errorf("the report does not say the figures are the best of 2 rounds:\n%s", out.String())
	}
}

// buildPhoneapi builds cmd/phoneapi into dir and returns the binary's path.
// It skips the test under -short: the test runs servers.
func buildPhoneapi(t *testing.T, dir string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds phoneapi and runs servers")
	}
	bin := filepath.Join(dir, "phoneapi")
	if err := childproc.Build(bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// runBench checks cfg and runs the tool with it, its progress going to the
// test log.
func runBench(t *testing.T, cfg config) *report {
	t.Helper()
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	rep, err := bench(t.Context(), cfg, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// testWriter sends the tool's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// TestOpsAndProfile runs one operation with -profile: only that operation
// is measured, and phoneapi's CPU and allocation profiles of it are
// written.
func TestOpsAndProfile(t *testing.T) {
	dir := t.TempDir()
	bin := buildPhoneapi(t, dir)
	profiles := filepath.Join(dir, "profiles")
	cfg := config{bin: bin, contacts: 5, people: 1, phones: 2, clients: 2, duration: 1e9, ops: []string{"list"}, profileDir: profiles}
	rep := runBench(t, cfg)
	if len(rep.Results) != 1 || rep.Results[0].Op != "list" || rep.Results[0].Requests == 0 {
		t.Fatalf("results %+v, want one list result with requests", rep.Results)
	}
	for _, name := range []string{"list.cpu.pprof", "list.allocs.pprof"} {
		fi, err := os.Stat(filepath.Join(profiles, name))
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v (want a non-empty profile)", name, err)
		}
	}
	bad := config{clients: 1, duration: 1e9, contacts: 1, people: 1, phones: 1, ops: []string{"nap"}}
	if err := bad.check(); err == nil {
		t.Error("-ops nap: no error")
	}
}

// TestUsersReplicas runs every operation, patch included, with 4 users
// (one account list each, one client each) on 2 replicas of phoneapi
// sharing one SQLite file: every operation must have requests and no
// errors (a client touching another user's data would get 403 or 404),
// and each replica must have served requests and been sampled.
func TestUsersReplicas(t *testing.T) {
	bin := buildPhoneapi(t, t.TempDir())
	cfg := config{bin: bin, contacts: 20, people: 1, phones: 3, users: 4, replicas: 2, clients: 4, duration: 1e9}
	rep := runBench(t, cfg)
	if rep.Engine != "sqlite" || rep.Replicas != 2 || rep.Users != 4 {
		t.Errorf("report shape %s, %d replicas, %d users; want sqlite, 2, 4", rep.Engine, rep.Replicas, rep.Users)
	}
	rep.print(testWriter{t})
	checkResults(t, rep, "phoneapi", opNames, 2)
}

// checkResults checks that server measured each of ops, stamped with the
// report's shape, with requests and no errors, spread over replicas
// replicas that were each sampled.
func checkResults(t *testing.T, rep *report, server string, ops []string, replicas int) {
	t.Helper()
	seen := map[string]result{}
	for _, r := range rep.Results {
		seen[r.Server+"/"+r.Op] = r
	}
	for _, op := range ops {
		r, ok := seen[server+"/"+op]
		if !ok {
			t.Errorf("%s %s: not measured", server, op)
			continue
		}
		if r.Requests == 0 || r.Errors != 0 {
			t.Errorf("%s %s: %d requests, %d errors %q; want some and none", server, op, r.Requests, r.Errors, r.ErrorSamples)
		}
		if r.Engine != rep.Engine || r.Replicas != replicas || r.Users != rep.Users || r.Clients != rep.Clients {
			t.Errorf("%s %s: shape %s/%d replicas/%d users/%d clients; want %s/%d/%d/%d",
				server, op, r.Engine, r.Replicas, r.Users, r.Clients, rep.Engine, replicas, rep.Users, rep.Clients)
		}
		if len(r.PerReplica) != replicas {
			t.Errorf("%s %s: %d per-replica figures, want %d", server, op, len(r.PerReplica), replicas)
			continue
		}
		sum := 0
		for i, s := range r.PerReplica {
			sum += s.Requests
			if s.Requests == 0 || s.RSSBytes == 0 {
				t.Errorf("%s %s: replica %d: %d requests, RSS %d bytes; want both", server, op, i+1, s.Requests, s.RSSBytes)
			}
		}
		if sum != r.Requests {
			t.Errorf("%s %s: replicas' requests add up to %d, want %d", server, op, sum, r.Requests)
		}
		if r.CPUSeconds <= 0 {
			t.Errorf("%s %s: CPU %g s for all replicas; want some", server, op, r.CPUSeconds)
		}
	}
}

// TestPostgresEngineRef runs patch with 4 users, 8 clients (two per user)
// and 2 replicas on a database the tool creates on the PostgreSQL server
// of PHONEAPI_TEST_POSTGRES_URL, then the engine reference on it: both
// must have requests and no errors, the ratio must be there, and the
// database must be gone afterwards.
func TestPostgresEngineRef(t *testing.T) {
	bin := buildPhoneapi(t, t.TempDir())
	server := pgtest.ServerURL(t, "benchmark tests")
	cfg := config{bin: bin, db: server, contacts: 20, people: 1, phones: 3, users: 4, replicas: 2, clients: 8,
		duration: 1e9, ops: []string{"patch"}, engineRef: true}
	rep := runBench(t, cfg)
	if rep.Engine != "postgres" || rep.Database == "" || rep.SyncCommit == "" {
		t.Errorf("report: engine %q, database %q, synchronous_commit %q; want postgres and both named", rep.Engine, rep.Database, rep.SyncCommit)
	}
	rep.print(testWriter{t})
	checkResults(t, rep, "phoneapi", []string{"patch"}, 2)
	var e *result
	for i, r := range rep.Results {
		if r.Server == "engine-ref" {
			e = &rep.Results[i]
		}
	}
	switch {
	case e == nil:
		t.Error("engine-ref: not measured")
	case e.Op != "update" || e.Requests == 0 || e.Errors != 0 || e.Clients != 8 || e.Engine != "postgres":
		t.Errorf("engine-ref: %+v; want op update, requests, no errors, 8 clients, postgres", *e)
	}
	if rep.EngineRatio == nil || rep.EngineRatio.RPS <= 0 || rep.EngineRatio.P99 <= 0 {
		t.Errorf("engine ratio %+v; want positive figures", rep.EngineRatio)
	}
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var n int
	if err := admin.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_database WHERE datname = $1`, rep.Database).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after the run", rep.Database)
	}
}

// TestPostgresHoldLock runs get and patch with -hold-lock: 4 users, 8
// clients (two per user), 2 replicas with --request-timeout 500ms, on a
// database the tool creates on the PostgreSQL server of
// PHONEAPI_TEST_POSTGRES_URL and keeps (-keep) for the last check. Both
// phases of both operations must have requests in both groups, without
// errors but for the locked group's patches in the locked phase, which
// must all fail with 503; the lock must have been held for the whole
// locked phase, and be free after the run.
func TestPostgresHoldLock(t *testing.T) {
	bin := buildPhoneapi(t, t.TempDir())
	server := pgtest.ServerURL(t, "benchmark tests")
	t.Setenv("TMPDIR", t.TempDir()) // where -keep leaves the tool's directory
	t.Cleanup(func() { dropBenchDatabases(t, server) })
	cfg := config{bin: bin, db: server, contacts: 20, people: 1, phones: 3, users: 4, replicas: 2, clients: 8,
		duration: 3 * time.Second, ops: []string{"get", "patch"}, holdLock: true, requestTimeout: time.Second, keep: true}
	rep := runBench(t, cfg)
	var out strings.Builder
	rep.print(&out)
	t.Log("\n" + out.String())
	if rep.Lock == nil || rep.RequestTimeout != "1s" || rep.Lock.User == "" {
		t.Fatalf("report: request timeout %q, lock comparison %+v; want 1s and one naming the locked user", rep.RequestTimeout, rep.Lock)
	}
	by := map[string]result{}
	for _, r := range rep.Results {
		by[r.Op+"/"+r.Phase] = r
	}
	for _, op := range cfg.ops {
		for _, phase := range []string{phaseUnloaded, phaseLocked} {
			r, ok := by[op+"/"+phase]
			if !ok {
				t.Errorf("%s %s: not measured", op, phase)
				continue
			}
			if phase == phaseLocked && r.LockHeldSec < r.Seconds {
				t.Errorf("%s locked: lock held %.3fs, phase %.3fs; want the lock to cover the phase", op, r.LockHeldSec, r.Seconds)
			}
			groups := map[string]groupResult{}
			for _, g := range r.Groups {
				groups[g.Group] = g
			}
			for _, name := range []string{groupLocked, groupOthers} {
				g, ok := groups[name]
				switch {
				case !ok || g.Requests == 0:
					t.Errorf("%s %s: group %s: no requests", op, phase, name)
				case g.Clients != map[string]int{groupLocked: 2, groupOthers: 6}[name]:
					t.Errorf("%s %s: group %s has %d clients", op, phase, name, g.Clients)
				case op == "patch" && phase == phaseLocked && name == groupLocked:
					if g.Errors != g.Requests || g.ErrorKinds["503"] != g.Errors {
						t.Errorf("patch locked: the locked group's %d requests got %d errors (%s); want all 503", g.Requests, g.Errors, g.kinds())
					}
				case g.Errors != 0:
					t.Errorf("%s %s: group %s: %d of %d requests failed (%s); want none", op, phase, name, g.Errors, g.Requests, g.kinds())
				}
			}
		}
	}
	if n := len(rep.Lock.Rows); n != 4 {
		t.Errorf("%d comparison rows, want 4 (get and patch, locked and others)", n)
	}
	for _, x := range rep.Lock.Rows {
		if covered := x.Group == groupOthers || isRead(x.Op); covered != (x.Within2x != nil) {
			t.Errorf("%s %s: within 2x given: %v, want %v", x.Op, x.Group, x.Within2x != nil, covered)
		}
	}
	// The lock must be free once the tool has returned: this test's process
	// ran it, so a lock holder left open would still hold the lock.
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + rep.Database
	conn, err := pgx.Connect(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	var one int
	if err := tx.QueryRow(t.Context(), lockListRow+" NOWAIT", rep.Lock.User).Scan(&one); err != nil {
		t.Errorf("lock user 0's account list after the run: %v; want it free", err)
	}
}

// dropBenchDatabases drops the databases that bench created, in this
// process, on the PostgreSQL server at server.
func dropBenchDatabases(t *testing.T, server string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE $1`, fmt.Sprintf("phoneapi\\_bench\\_%d\\_%%", os.Getpid()))
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Error(err)
	}
	for _, n := range names {
		if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+n+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", n, err)
		}
	}
}

// TestCheck refuses the combinations that make no sense.
func TestCheck(t *testing.T) {
	ok := config{clients: 4, duration: 1e9, contacts: 1, people: 1, phones: 1}
	const pg = "postgres://postgres@127.0.0.1:5432/postgres"
	for _, tc := range []struct {
		name string
		edit func(*config)
		bad  bool
	}{
		{"defaults", func(*config) {}, false},
		{"users and replicas", func(c *config) { c.users, c.replicas = 4, 2 }, false},
		{"postgres engine-ref", func(c *config) { c.db, c.engineRef, c.replicas = pg, true, 2 }, false},
		{"url with sqlite db", func(c *config) { c.url, c.token, c.db = "http://x", "t", "a.db" }, false},
		{"url with postgres db", func(c *config) { c.url, c.token, c.db = "http://x", "t", pg }, false},
		{"more users than clients", func(c *config) { c.users = 5 }, true},
		{"sqlite db without url", func(c *config) { c.db = "a.db" }, true},
		{"engine-ref on sqlite", func(c *config) { c.engineRef = true }, true},
		{"engine-ref with url", func(c *config) { c.url, c.token, c.db, c.engineRef = "http://x", "t", pg, true }, true},
		{"url with users", func(c *config) { c.url, c.token, c.db, c.users = "http://x", "t", "a.db", 2 }, true},
		{"url with replicas", func(c *config) { c.url, c.token, c.db, c.replicas = "http://x", "t", "a.db", 2 }, true},
		{"baseline with replicas", func(c *config) { c.baseline, c.replicas = true, 2 }, true},
		{"compare on postgres", func(c *config) { c.compare, c.db = true, pg }, true},
		{"patch op", func(c *config) { c.ops = []string{"patch"} }, false},
		{"hold-lock on postgres", func(c *config) { c.db, c.holdLock, c.users, c.requestTimeout = pg, true, 2, time.Second }, false},
		{"request-timeout", func(c *config) { c.requestTimeout = time.Second }, false},
		{"hold-lock on sqlite", func(c *config) { c.holdLock = true }, true},
		{"hold-lock with url", func(c *config) { c.url, c.token, c.db, c.holdLock = "http://x", "t", pg, true }, true},
		{"request-timeout with url", func(c *config) { c.url, c.token, c.db, c.requestTimeout = "http://x", "t", pg, time.Second }, true},
		{"request-timeout with baseline", func(c *config) { c.baseline, c.requestTimeout = true, time.Second }, true},
		{"negative request-timeout", func(c *config) { c.requestTimeout = -time.Second }, true},
		{"people-include, 20 phones a person", func(c *config) { c.ops, c.phones = []string{opPeopleInclude}, 20 }, false},
		{"people-include, 21 phones a person", func(c *config) { c.ops, c.phones = []string{opPeopleInclude}, 21 }, true},
		{"people-include-fields, 25 phones a person", func(c *config) { c.ops, c.phones = []string{opPeopleIncludeFields}, 25 }, true},
		{"every operation (nil ops), 25 phones a person", func(c *config) { c.phones = 25 }, true},
		{"list, 25 phones a person", func(c *config) { c.ops, c.phones = []string{"list"}, 25 }, false},
		{"people-include with url", func(c *config) {
			c.url, c.token, c.db, c.ops, c.phones = "http://x", "t", "a.db", []string{opPeopleInclude}, 25
		}, false},
	} {
		cfg := ok
		tc.edit(&cfg)
		if err := cfg.check(); (err != nil) != tc.bad {
			t.Errorf("%s: check() = %v, want an error: %v", tc.name, err, tc.bad)
		}
	}
}

// TestHoldLockSQLite refuses -hold-lock on SQLite, saying why.
func TestHoldLockSQLite(t *testing.T) {
	cfg := config{clients: 4, duration: 1e9, contacts: 1, people: 1, phones: 1, holdLock: true}
	err := cfg.check()
	if err == nil || !strings.Contains(err.Error(), "SQLite has a single write lock for the whole database") {
		t.Errorf("check() = %v; want an error explaining SQLite's single write lock", err)
	}
}

// TestTokenUser reads the user of a token from its user_id claim (as
// phoneapi token mints), else its sub claim.
func TestTokenUser(t *testing.T) {
	const user = "0A5E6B0C-3D3B-4D6A-9C59-2B8C7E0F1A2B"
	jwt := func(claims string) string {
		enc := base64.RawURLEncoding.EncodeToString
		return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(claims)) + ".c2ln"
	}
	for _, tc := range []struct{ tok, want string }{
		{jwt(`{"exp":1,"user_id":"` + user + `"}`), strings.ToLower(user)},
		{jwt(`{"sub":"` + user + `"}`), strings.ToLower(user)},
		{jwt(`{"exp":1}`), ""},
		{"not-a-token", ""},
	} {
		got, err := tokenUser(tc.tok)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("tokenUser(%s) = %q, %v; want %q", tc.tok, got, err, tc.want)
		}
	}
}
