package main

// The helpers the command's tests share: env (a getenv from a map),
// startServe (`phoneapi serve` run in this process through run, as main
// runs it), pgDatabase and ptr. A helper that one file uses stays in that
// file. The e2e tests run the built binary instead (see cmd/childproc).

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"maps"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" for the tests' own connections

	"github.com/phoneapi/phoneapi/db/pgtest"
)

// env returns a getenv backed by m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// serveEnv is the environment of a test's serve: a new database and a fixed
// secret, with extra on top.
func serveEnv(t *testing.T, extra map[string]string) func(string) string {
	vars := map[string]string{
		"PHONEAPI_DB":         filepath.Join(t.TempDir(), "api.db"),
		"PHONEAPI_JWT_SECRET": "abuse-test-secret-abuse-test-secret",
	}
	maps.Copy(vars, extra)
	return env(vars)
}

// serving is `phoneapi serve` running in this process (see startServe).
type serving struct {
	URL     string              // base URL, from its "listening" log line
	getenv  func(string) string // the environment it runs with
	cancel  context.CancelFunc  // ends it
	done    chan error          // run's result
	logged  chan struct{}       // closed once all of its log is read
	mu      sync.Mutex
	lines   []string // its log (standard error), a line each
	stopped bool
}

// startServe runs `serve --addr 127.0.0.1:0 args...` with getenv through
// run in this process and waits (15 s at most) for its "listening" log
// line. A cleanup stops it unless the test did.
func startServe(t *testing.T, getenv func(string) string, args ...string) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{getenv: getenv, cancel: cancel, done: make(chan error, 1), logged: make(chan struct{})}
	pr, pw := io.Pipe()
	go func() {
		s.done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), getenv, io.Discard, pw)
		pw.Close()
	}()
	listening := make(chan string, 1)
	go func() {
		defer close(s.logged)
		sc := bufio.NewScanner(pr)
		for sent := false; sc.Scan(); {
			s.mu.Lock()
			s.lines = append(s.lines, sc.Text())
			s.mu.Unlock()
			var line struct{ Msg, Addr string }
			if !sent && json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				listening <- line.Addr
				sent = true
			}
		}
		io.Copy(io.Discard, pr) // a line too long for the scanner must not block serve
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case s.URL = <-listening:
		return s
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not log its address")
		return nil
	}
}

// stop ends serve's context and requires run to return nil within 10 s;
// all of its log has been read then.
func (s *serving) stop(t *testing.T) {
	t.Helper()
	if s.stopped {
		return
	}
	s.stopped = true
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve returned %v after shutdown, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("serve did not stop within 10s")
		return
	}
	<-s.logged
}

// log is serve's log so far, a line each.
func (s *serving) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// pgDatabase returns a throwaway PostgreSQL database (see pgtest).
func pgDatabase(t *testing.T) string {
	return pgtest.Database(t, "CLI tests", "phoneapi_cli_test")
}

func ptr[T any](v T) *T { return &v }
