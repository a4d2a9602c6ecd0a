// Package childproc starts, watches and stops the server processes that
// the load tools (phoneapi-bench, phoneapi-soak) measure.
package childproc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Proc is a started child process.
type Proc struct {
	Cmd  *exec.Cmd
	Log  string     // the file receiving its standard error (and output, see Start)
	done chan error // receives Wait's result once; re-sent by whoever peeks
}

// FreeAddr returns a loopback address with a port that was free just now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
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

// WaitReady polls GET base/api/v2/contacts with the bearer token tok until
// it answers 200. It returns an error when the process exits first or is
// not ready within 30 s.
func (p *Proc) WaitReady(base, tok string) error {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("phoneapi serve exited before it was ready: %v", err)
		default:
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v2/contacts", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("phoneapi serve was not ready within 30s")
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

// Kill kills the process and waits for it to exit.
func (p *Proc) Kill() {
	p.Cmd.Process.Kill()
	p.done <- <-p.done
}
