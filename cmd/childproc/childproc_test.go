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

// TestServe: Serve runs `bin serve --addr 127.0.0.1:0 args...` with the
// environment given and takes the URL from the "listening" log line; a
// process that exits without that line is an error. FreeAddr never gives
// out an address twice.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "fake")
	script := "#!/bin/sh\necho \"$@\" \"$GREETING\"\n" +
		"echo '{\"msg\":\"listening\",\"addr\":\"http://127.0.0.1:4321\"}' >&2\nexec sleep 60\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Serve(bin, []string{"GREETING=hi"}, filepath.Join(dir, "serve.log"), "--db", "x.db")
	if err != nil {
		t.Fatal(err)
	}
	if s.URL != "http://127.0.0.1:4321" {
		t.Errorf("URL %q, want the listening line's", s.URL)
	}
	if err := s.Stop(); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("Stop of the fake: %v, want its SIGTERM exit", err)
	}
	want := "serve --addr 127.0.0.1:0 --db x.db hi\n"
	if b, err := os.ReadFile(s.Log); err != nil || !strings.HasPrefix(string(b), want) {
		t.Errorf("log %q, %v; want it to start with the arguments %q", b, err, want)
	}

	mute := filepath.Join(dir, "mute")
	if err := os.WriteFile(mute, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Serve(mute, nil, filepath.Join(dir, "mute.log")); err == nil || !strings.Contains(err.Error(), "exited before listening") {
		t.Errorf("Serve of a process that never listens: %v", err)
	}

	seen := map[string]bool{}
	for range 50 {
		addr, err := FreeAddr()
		if err != nil || seen[addr] {
			t.Fatalf("FreeAddr = %s, %v: given out before", addr, err)
		}
		seen[addr] = true
	}
}
