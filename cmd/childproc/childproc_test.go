package childproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStopAndExit: Stop ends a running process (and can be called again),
// WaitReady reports a process that exits before it is ready, and the log
// file receives the process's output.
func TestStopAndExit(t *testing.T) {
	dir := t.TempDir()
	p, err := Start(exec.Command("sleep", "60"), filepath.Join(dir, "sleep.log"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := p.Stop(); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("Stop of sleep: %v, want the SIGTERM exit", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Stop took %s", d)
	}
	if err := p.Stop(); err == nil {
		t.Error("second Stop: no error, want the same exit")
	}

	q, err := Start(exec.Command("sh", "-c", "echo bye; exit 3"), filepath.Join(dir, "exit.log"))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	if err := q.WaitReady("http://"+addr+"/readyz", "tok", 30*time.Second); err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Errorf("WaitReady of an exiting process: %v", err)
	}
	if err := q.Kill(); err == nil { // already exited: must not block
		t.Error("Kill of an exited process: no error")
	}
	if b, err := os.ReadFile(q.Log); err != nil || string(b) != "bye\n" {
		t.Errorf("log %q, %v; want the process's output", b, err)
	}
}

// TestServe: Serve runs `bin serve --addr A args...` with a loopback
// address A of its own and the environment given, and FreeAddr never gives
// out an address twice.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "fake")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho \"$@\" \"$GREETING\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Serve(bin, []string{"GREETING=hi"}, filepath.Join(dir, "serve.log"), "--db", "x.db")
	if err != nil {
		t.Fatal(err)
	}
	// The fake exits at once, with status 0.
	if err := s.WaitReady(s.URL+"/readyz", "", 30*time.Second); err == nil || !strings.HasSuffix(err.Error(), "exited before it was ready: <nil>") {
		t.Errorf("WaitReady of the fake: %v, want its exit with status 0", err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("Stop of an exited process: %v, want its exit status 0", err)
	}
	want := "serve --addr " + strings.TrimPrefix(s.URL, "http://") + " --db x.db hi\n"
	if b, err := os.ReadFile(s.Log); err != nil || string(b) != want || !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Errorf("URL %s, log %q, %v; want the arguments %q", s.URL, b, err, want)
	}
	seen := map[string]bool{}
	for range 50 {
		addr, err := FreeAddr()
		if err != nil || seen[addr] || addr == strings.TrimPrefix(s.URL, "http://") {
			t.Fatalf("FreeAddr = %s, %v: given out before", addr, err)
		}
		seen[addr] = true
	}
}
