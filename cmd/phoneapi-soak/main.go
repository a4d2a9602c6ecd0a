// Command phoneapi-soak runs a mixed load against a real phoneapi server and
// checks it: `make soak` (60 s) and .ci/run (15 s) use it.
//
// It starts `phoneapi serve` on a free loopback port with a new SQLite file
// in a temporary directory, mints tokens for several users with
// `phoneapi token --jwt-secret`, and runs concurrent clients for the given
// duration. Each client owns one contact and the people and phones it
// creates under it, and is the only writer of them, so the status of every
// request is known in advance: reads, lists, creates, updates with
// preconditions (If-Match or updated_in_db_at), deliberately stale updates
// (412 or 409, nothing saved) and deletes. It then checks every
// acknowledged write against the server and reports requests, statuses,
// latency per operation, the server's RSS after warm-up and at the end, and
// its goroutines (from /metrics) at the end.
//
// It exits 1 unless there were no 5xx, no unexpected statuses or transport
// errors, no lost writes, and the RSS at the end is within -max-rss-growth
// of the RSS after warm-up.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/phoneapi/phoneapi/cmd/childproc"
)

type config struct {
	bin          string
	duration     time.Duration
	warmup       time.Duration
	clients      int
	users        int
	maxRSSGrowth float64
	keep         bool
	serveArgs    []string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "bin/phoneapi", "the phoneapi binary to serve with")
	flag.DurationVar(&cfg.duration, "duration", 60*time.Second, "how long to run the load")
	flag.DurationVar(&cfg.warmup, "warmup", 0, "load before the first RSS sample (default duration/6, between 2s and 10s)")
	flag.IntVar(&cfg.clients, "clients", 64, "concurrent clients")
	flag.IntVar(&cfg.users, "users", 8, "users (tokens) the clients are spread over")
	flag.Float64Var(&cfg.maxRSSGrowth, "max-rss-growth", 1.5, "fail if RSS at the end exceeds this multiple of RSS after warm-up")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory (database and server log)")
	flag.Func("serve-arg", "extra argument for `phoneapi serve` (repeatable)", func(s string) error {
		cfg.serveArgs = append(cfg.serveArgs, s)
		return nil
	})
	flag.Parse()
	if cfg.warmup == 0 {
		cfg.warmup = min(max(cfg.duration/6, 2*time.Second), 10*time.Second)
	}
	if cfg.clients < 1 || cfg.users < 1 || cfg.warmup >= cfg.duration {
		fmt.Fprintln(os.Stderr, "phoneapi-soak: need -clients ≥ 1, -users ≥ 1 and -warmup < -duration")
		os.Exit(2)
	}
	ok, err := soak(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "phoneapi-soak:", err)
		os.Exit(1)
	}
	if !ok {
		fmt.Println("RESULT: FAIL")
		os.Exit(1)
	}
	fmt.Println("RESULT: PASS")
}

func soak(cfg config) (bool, error) {
	dir, err := os.MkdirTemp("", "phoneapi-soak-")
	if err != nil {
		return false, err
	}
	secretBytes := make([]byte, 32)
	rand.Read(secretBytes)
	secret := hex.EncodeToString(secretBytes)

	tokens := make([]string, cfg.users)
	for i := range tokens {
		out, err := exec.Command(cfg.bin, "token", "--jwt-secret", secret, "--user", uuid.NewString(), "--ttl", "2h").Output()
		if err != nil {
			return false, fmt.Errorf("phoneapi token: %w", describe(err))
		}
		tokens[i] = strings.TrimSpace(string(out))
	}

	srv, err := startServer(cfg, dir, secret)
	if err != nil {
		return false, err
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.Kill()
		}
		if cfg.keep {
			fmt.Println("kept", dir)
		} else {
			os.RemoveAll(dir)
		}
	}()
	if err := srv.WaitReady(srv.URL+"/api/v2/contacts", tokens[0], 30*time.Second); err != nil {
		tail(os.Stderr, srv.Log, 20)
		return false, err
	}

	rep := &report{cfg: cfg, stats: newStats()}
	rep.serveEnv = rateLimitEnv()
	hc := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        cfg.clients * 2,
			MaxIdleConnsPerHost: cfg.clients * 2,
			IdleConnTimeout:     90 * time.Second,
		},
	}

	clients := make([]*client, cfg.clients)
	for i := range clients {
		clients[i] = newClient(i, tokens[i%len(tokens)], srv.URL, hc, rep.stats)
	}

	// The load: every client runs until the deadline. RSS is sampled after
	// the warm-up and at the deadline, both under load.
	start := time.Now()
	deadline := start.Add(cfg.duration)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(deadline)
		}()
	}
	time.Sleep(cfg.warmup)
	rep.rssWarm, _ = rss(srv.Cmd.Process.Pid)
	rep.goroutinesWarm, _ = goroutines(hc, srv.URL)
	time.Sleep(time.Until(deadline))
	rep.rssEnd, _ = rss(srv.Cmd.Process.Pid)
	wg.Wait()
	rep.elapsed = time.Since(start)

	// The consistency check of every acknowledged write.
	rep.lost = checkAll(clients, tokens, srv.URL, hc, rep.stats)

	// Goroutines once the clients' connections are closed: what is left is
	// the server's own, and anything leaked.
	hc.CloseIdleConnections()
	time.Sleep(time.Second)
	rep.goroutinesEnd, rep.goroutinesNote = goroutines(hc, srv.URL)
	rep.rssAfterCheck, _ = rss(srv.Cmd.Process.Pid)

	stopped = true
	rep.shutdownErr = srv.Stop()
	rep.serverLog = srv.Log
	ok := rep.print(os.Stdout)
	if !ok && !cfg.keep {
		tail(os.Stdout, srv.Log, 20)
	}
	return ok, nil
}

// rateLimitEnv disables the per-user rate limit of the server under test
// unless the caller set PHONEAPI_RATE_LIMIT: the clients of a user share its
// bucket and would get 429s, which this workload does not expect.
func rateLimitEnv() string {
	if v, ok := os.LookupEnv("PHONEAPI_RATE_LIMIT"); ok {
		return "PHONEAPI_RATE_LIMIT=" + v + " (from the environment)"
	}
	return "PHONEAPI_RATE_LIMIT=0"
}

// startServer starts `phoneapi serve` on a new SQLite file in dir, with
// the per-user rate limit off unless PHONEAPI_RATE_LIMIT says otherwise.
func startServer(cfg config, dir, secret string) (*childproc.Server, error) {
	env := os.Environ()
	if _, ok := os.LookupEnv("PHONEAPI_RATE_LIMIT"); !ok {
		env = append(env, "PHONEAPI_RATE_LIMIT=0")
	}
	args := append([]string{"--db", filepath.Join(dir, "soak.db"), "--jwt-secret", secret}, cfg.serveArgs...)
	return childproc.Serve(cfg.bin, env, filepath.Join(dir, "server.log"), args...)
}

// rss returns the resident set size of pid in bytes (VmRSS).
func rss(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// goroutines scrapes go_goroutines from /metrics; when that is not
// available it returns -1 and why.
func goroutines(hc *http.Client, base string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	resp, err := hc.Do(req)
	if err != nil {
		return -1, "GET /metrics: " + err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return -1, fmt.Sprintf("GET /metrics: status %d (no metrics endpoint)", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return int(f), ""
			}
		}
	}
	return -1, "/metrics has no go_goroutines series"
}

func describe(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
	}
	return err
}

// tail prints the last n lines of the file at path.
func tail(w io.Writer, path string, n int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	fmt.Fprintf(w, "last lines of %s:\n", path)
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
}
