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
	if err := q.WaitReady("http://"+addr, "tok"); err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Errorf("WaitReady of an exiting process: %v", err)
	}
	q.Kill() // already exited: must not block
	if b, err := os.ReadFile(q.Log); err != nil || string(b) != "bye\n" {
		t.Errorf("log %q, %v; want the process's output", b, err)
	}
}
