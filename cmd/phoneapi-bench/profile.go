package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profiler fetches a server's CPU and allocation profiles covering one
// operation's measurement.
type profiler struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	errs  []error
	files []string
}

// startProfile asks the profiler at base for a CPU profile and an
// allocation profile (the allocations made during the window) lasting the
// whole seconds of d, and writes them to dir/OP.cpu.pprof and
// dir/OP.allocs.pprof. Call finish after the measurement.
func startProfile(base, dir, op string, d time.Duration) *profiler {
	secs := max(int(d/time.Second), 1)
	p := &profiler{}
	for _, k := range []struct{ kind, path string }{
		{"cpu", "/debug/pprof/profile"},
		{"allocs", "/debug/pprof/allocs"},
	} {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			file := filepath.Join(dir, op+"."+k.kind+".pprof")
			err := fetchProfile(fmt.Sprintf("%s%s?seconds=%d", base, k.path, secs), file)
			p.mu.Lock()
			defer p.mu.Unlock()
			if err != nil {
				p.errs = append(p.errs, fmt.Errorf("%s profile of %s: %w", k.kind, op, err))
				return
			}
			p.files = append(p.files, file)
		}()
	}
	return p
}

// finish waits for the profiles and returns the first error.
func (p *profiler) finish() error {
	p.wg.Wait()
	return errors.Join(p.errs...)
}

// fetchProfile GETs url into file.
func fetchProfile(url, file string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
