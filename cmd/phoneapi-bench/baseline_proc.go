package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/phoneapi/phoneapi/cmd/childproc"
)

// baselineEnv, when set in the environment, makes this binary (the tool, or
// its test binary) serve the baseline on the SQLite file it names instead
// of benchmarking: the tool starts the baseline so, in a process of its
// own, as phoneapi runs in its own, so that both pay the same costs of
// being another process (scheduling, loopback between processes) and the
// baseline's CPU seconds and RSS are measured the same way.
const baselineEnv = "PHONEAPI_BENCH_BASELINE_DB"

// maybeServeBaseline serves the baseline and exits when baselineEnv is set;
// otherwise it returns at once. Call it first in main (and TestMain).
func maybeServeBaseline() {
	path := os.Getenv(baselineEnv)
	if path == "" {
		return
	}
	b, err := startBaseline(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
	fmt.Println(b.base) // the parent reads the address from the first line
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	if err := b.close(); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// baselineProc is the baseline server running in a child process.
type baselineProc struct {
	*childproc.Proc
	base string
}

// startBaselineProc starts this executable as the baseline server on the
// SQLite file at path, logging to dir/baseline.log, and waits for its
// address.
func startBaselineProc(path, dir string) (*baselineProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), baselineEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p, err := childproc.Start(cmd, filepath.Join(dir, "baseline.log"))
	if err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(line)
		io.Copy(io.Discard, out)
	}()
	b := &baselineProc{Proc: p}
	select {
	case b.base = <-addr:
		if !strings.HasPrefix(b.base, "http://") {
			b.Stop()
			return nil, fmt.Errorf("baseline process printed %q, not its address (see %s)", b.base, p.Log)
		}
		return b, nil
	case <-time.After(30 * time.Second):
		b.Stop()
		return nil, errors.New("baseline process did not start within 30s")
	}
}
