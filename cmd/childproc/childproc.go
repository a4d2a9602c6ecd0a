// Package childproc starts, watches and stops child processes, above all
// `phoneapi serve`: Serve is the one way to run a server process, for the
// load tools (cmd/phoneapi-bench, cmd/phoneapi-soak) and the end-to-end
// tests (e2e). It is a library package, not a command.
//
// Build builds the phoneapi binary that a test runs. A process's standard
// error (and output, unless taken) goes to a log file; WaitReady polls an
// HTTP endpoint until it answers 200, noticing an early exit; Stop sends
// SIGTERM and Kill SIGKILL, both waiting for the exit.
package childproc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Proc is a started child process.
type Proc struct {
	Cmd  *exec.Cmd
	Log  string     // the file receiving its standard error (and output, see Start)
	done chan error // receives Wait's result once; re-sent by whoever peeks
}

// given holds the ports FreeAddr returned, so that it never returns one
// twice to processes started at the same moment.
var given struct {
	sync.Mutex
	ports map[string]bool
}

// FreeAddr returns a loopback address with a port that was free just now
// and that it has not returned before.
func FreeAddr() (string, error) {
	given.Lock()
	defer given.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := ln.Addr().String()
		ln.Close()
		if !given.ports[addr] {
			if given.ports == nil {
				given.ports = map[string]bool{}
			}
			given.ports[addr] = true
			return addr, nil
		}
	}
	return "", errors.New("no free loopback port not given out before")
}

// Start starts cmd with its standard error, and its standard output unless
// the caller set it (or took a pipe), written to the new file logPath.
func Start(cmd *exec.Cmd, logPath string) (*Proc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	if cmd.Stdout == nil {
		cmd.Stdout = logFile
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	p := &Proc{Cmd: cmd, Log: logPath, done: make(chan error, 1)}
	go func() {
		p.done <- cmd.Wait()
		logFile.Close()
	}()
	return p, nil
}

// Build builds cmd/phoneapi into the file bin with the extra go build
// flags (e.g. -race). Its error carries the compiler's output.
func Build(bin string, flags ...string) error {
	args := append([]string{"build", "-o", bin}, flags...)
	out, err := exec.Command("go", append(args, "github.com/phoneapi/phoneapi/cmd/phoneapi")...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}

// Server is a `phoneapi serve` process and the base URL it listens on.
type Server struct {
	*Proc
	URL string // e.g. http://127.0.0.1:43583
}

// Serve starts `bin serve --addr 127.0.0.1:0 args...`, with the
// environment env (nil: this process's), logging to the new file logPath,
// and learns the address the server took from its "listening" log line:
// the kernel picks the port, so no other process can take it first. It
// returns once that line is logged; an error if the process exits first
// or does not log it within 30 s (the process is then killed). It does not
// wait for the server to be ready: see WaitReady.
func Serve(bin string, env []string, logPath string, args ...string) (*Server, error) {
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = env
	p, err := Start(cmd, logPath)
	if err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if url := listeningURL(logPath); url != "" {
			return &Server{Proc: p, URL: url}, nil
		}
		select {
		case err := <-p.done:
			p.done <- err
			return nil, fmt.Errorf("phoneapi serve exited before listening: %v", err)
		default:
		}
	}
	p.Kill()
	return nil, errors.New(`phoneapi serve logged no "listening" line within 30s`)
}

// listeningURL returns the address of the "listening" line of a server's
// JSON log at path ("" while there is none).
func listeningURL(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
			return rec.Addr
		}
	}
	return ""
}

// WaitReady polls GET url, with the bearer token tok unless it is empty,
// until it answers 200. It returns an error when the process exits first or
// is not ready within limit.
func (p *Proc) WaitReady(url, tok string, limit time.Duration) error {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("phoneapi serve exited before it was ready: %v", err)
		default:
		}
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("phoneapi serve was not ready within %v", limit)
}

// Stop sends SIGTERM and waits for the exit, sending SIGKILL after 20 s.
// It returns the exit error, or an error saying it had to be killed.
func (p *Proc) Stop() error {
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(20 * time.Second):
		p.Cmd.Process.Kill()
		p.done <- <-p.done
		return errors.New("the process did not stop within 20s of SIGTERM")
	}
}

// Kill sends SIGKILL and waits for the exit, at most 20 s. It returns an
// error when the signal could not be sent (the process had exited) or the
// process still ran 20 s later.
func (p *Proc) Kill() error {
	sigErr := p.Cmd.Process.Kill()
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(20 * time.Second):
		return errors.New("the process still ran 20s after SIGKILL")
	}
	if sigErr != nil {
		return fmt.Errorf("SIGKILL: %w", sigErr)
	}
	return nil
}
