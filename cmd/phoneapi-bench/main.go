// Command phoneapi-bench measures phoneapi's throughput and latency, and
// its overhead against a bare net/http + database/sql server.
//
// It seeds a new SQLite file in a temporary directory with `phoneapi seed`,
// mints a token with `phoneapi token --jwt-secret`, starts `phoneapi serve`
// on a free loopback port with --rate-limit 0 (or, with -url, targets a
// running server, whose SQLite file -db names for the ids to use), and
// drives five operations in turn, each for -d with -c concurrent clients:
// GET one phone, list one person's phones, POST a phone, PUT a phone with
// If-Match, DELETE a phone. Closed loop by default; -rate R is an open
// loop at R requests a second, latency measured from each request's
// scheduled time. It prints, per operation, requests/s, p50, p90, p99 and
// max latency, errors, and the server's CPU seconds and RSS; -json writes
// the same as JSON.
//
// -baseline measures the bare server of baseline.go instead, started in
// a process of its own (this binary, re-run with PHONEAPI_BENCH_BASELINE_DB
// set) on a copy of the same seeded file; -compare-baseline measures
// both, alternating per operation, and prints phoneapi/baseline ratios of
// throughput and p99.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/phoneapi/phoneapi/cmd/internal/childproc"
)

// config is the command line.
type config struct {
	bin, url, token, dbPath, jsonPath string
	ops                               []string // operations to run, in opNames order; nil for all
	profileDir                        string   // where CPU and allocation profiles go; "" for none
	contacts, people, phones          int
	clients                           int
	duration                          time.Duration
	rate                              float64
	baseline, compare, keep           bool
}

func main() {
	maybeServeBaseline() // baseline_proc.go: the child that serves the baseline
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "bin/phoneapi", "the phoneapi binary to seed, mint tokens and serve with")
	flag.StringVar(&cfg.url, "url", "", "benchmark the phoneapi server at this base URL instead of starting one (needs -token and -db)")
	flag.StringVar(&cfg.token, "token", "", "with -url: a bearer token of the user who owns the data in -db")
	flag.StringVar(&cfg.dbPath, "db", "", "with -url: the server's SQLite file, read for the ids to use")
	flag.IntVar(&cfg.contacts, "contacts", 1000, "contacts to seed")
	flag.IntVar(&cfg.people, "people-per-contact", 2, "people per contact to seed")
	flag.IntVar(&cfg.phones, "phones-per-person", 3, "phones per person to seed")
	flag.IntVar(&cfg.clients, "c", 32, "concurrent clients")
	flag.DurationVar(&cfg.duration, "d", 10*time.Second, "duration of each operation's measurement")
	flag.Float64Var(&cfg.rate, "rate", 0, "open loop: requests a second in all (0: closed loop)")
	flag.StringVar(&cfg.jsonPath, "json", "", "also write the results as JSON to this file")
	flag.BoolVar(&cfg.baseline, "baseline", false, "measure the bare baseline server instead of phoneapi")
	flag.BoolVar(&cfg.compare, "compare-baseline", false, "measure phoneapi and the baseline, alternating per operation, and print ratios")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory (databases, server log)")
	ops := flag.String("ops", strings.Join(opNames, ","), "comma-separated operations to run (of "+strings.Join(opNames, ",")+")")
	flag.StringVar(&cfg.profileDir, "profile", "", "write phoneapi's CPU profile (OP.cpu.pprof) and allocation profile (OP.allocs.pprof) of each operation into this directory (not with -url)")
	flag.Parse()
	cfg.ops = strings.Split(*ops, ",")
	if err := cfg.check(); err != nil {
		fmt.Fprintln(os.Stderr, "phoneapi-bench:", err)
		os.Exit(2)
	}
	rep, err := bench(cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "phoneapi-bench:", err)
		os.Exit(1)
	}
	rep.print(os.Stdout)
	if cfg.jsonPath != "" {
		if err := rep.writeJSON(cfg.jsonPath); err != nil {
			fmt.Fprintln(os.Stderr, "phoneapi-bench:", err)
			os.Exit(1)
		}
	}
}

func (cfg config) check() error {
	switch {
	case cfg.clients < 1 || cfg.duration <= 0 || cfg.rate < 0:
		return errors.New("need -c ≥ 1, -d > 0 and -rate ≥ 0")
	case cfg.contacts < 1 || cfg.people < 1 || cfg.phones < 1:
		return errors.New("need at least one contact, person and phone")
	case cfg.url != "" && (cfg.token == "" || cfg.dbPath == ""):
		return errors.New("-url needs -token and -db")
	case cfg.url != "" && (cfg.baseline || cfg.compare):
		return errors.New("-url cannot be combined with -baseline or -compare-baseline")
	case cfg.profileDir != "" && (cfg.url != "" || cfg.baseline):
		return errors.New("-profile needs a phoneapi server started by the tool (no -url, no -baseline)")
	}
	for _, op := range cfg.ops {
		if !slices.Contains(opNames, op) {
			return fmt.Errorf("-ops: unknown operation %q (want some of %s)", op, strings.Join(opNames, ","))
		}
	}
	return nil
}

// bench prepares the servers, runs every operation on each and returns the
// report; progress goes to log.
func bench(cfg config, log io.Writer) (*report, error) {
	rep := &report{Clients: cfg.clients, DurationSec: cfg.duration.Seconds(), Rate: cfg.rate, Mode: "closed-loop",
		Synchronous: "full", Seed: fmt.Sprintf("%d contacts × %d people × %d phones", cfg.contacts, cfg.people, cfg.phones)}
	if cfg.rate > 0 {
		rep.Mode = "open-loop"
	}
	var targets []*target
	var f *fixture
	if cfg.url != "" {
		var err error
		if f, err = loadFixture(cfg.dbPath); err != nil {
			return nil, err
		}
		rep.Seed, rep.Synchronous = "from "+cfg.dbPath, "(the server's)"
		targets = append(targets, newTarget("phoneapi", strings.TrimRight(cfg.url, "/"), cfg.token, 0, cfg.clients, f))
	} else {
		dir, err := os.MkdirTemp("", "phoneapi-bench-")
		if err != nil {
			return nil, err
		}
		if cfg.keep {
			fmt.Fprintln(log, "keeping", dir)
		} else {
			defer os.RemoveAll(dir)
		}
		secret, user := randomHex(32), uuid.NewString()
		apiDB, baseDB := filepath.Join(dir, "phoneapi.db"), filepath.Join(dir, "baseline.db")
		fmt.Fprintf(log, "seeding %s\n", rep.Seed)
		if _, err := run(cfg.bin, "seed", "--db", apiDB, "--user", user, "--contacts", fmt.Sprint(cfg.contacts),
			"--people-per-contact", fmt.Sprint(cfg.people), "--phones-per-person", fmt.Sprint(cfg.phones)); err != nil {
			return nil, err
		}
		tok, err := run(cfg.bin, "token", "--jwt-secret", secret, "--user", user, "--ttl", "24h")
		if err != nil {
			return nil, err
		}
		if f, err = loadFixture(apiDB); err != nil {
			return nil, err
		}
		if cfg.baseline || cfg.compare {
			if err := copySQLite(apiDB, baseDB); err != nil {
				return nil, err
			}
		}
		if !cfg.baseline {
			srv, err := startServer(cfg.bin, dir, apiDB, secret, cfg.profileDir != "")
			if err != nil {
				return nil, err
			}
			defer srv.Stop()
			if err := srv.WaitReady(srv.base, tok); err != nil {
				return nil, err
			}
			t := newTarget("phoneapi", srv.base, tok, srv.Cmd.Process.Pid, cfg.clients, f)
			t.pprof = srv.pprof
			targets = append(targets, t)
		}
		if cfg.baseline || cfg.compare {
			b, err := startBaselineProc(baseDB, dir)
			if err != nil {
				return nil, fmt.Errorf("baseline: %w", err)
			}
			defer b.Stop()
			targets = append(targets, newTarget("baseline", b.base, tok, b.Cmd.Process.Pid, cfg.clients, f))
		}
	}
	pc := phaseConfig{duration: cfg.duration, rate: cfg.rate}
	for _, op := range opNames {
		if cfg.ops != nil && !slices.Contains(cfg.ops, op) {
			continue
		}
		for _, t := range targets {
			if err := t.setup(op); err != nil {
				return nil, err
			}
			fmt.Fprintf(log, "%s %s: %s\n", t.name, op, cfg.duration)
			var prof *profiler
			if cfg.profileDir != "" && t.pprof != "" {
				prof = startProfile(t.pprof, cfg.profileDir, op, cfg.duration)
			}
			rep.Results = append(rep.Results, t.phase(op, f, pc))
			if prof != nil {
				if err := prof.finish(); err != nil {
					return nil, err
				}
				fmt.Fprintf(log, "profiles: %s\n", strings.Join(prof.files, ", "))
			}
			t.hc.CloseIdleConnections()
		}
	}
	rep.computeRatios()
	return rep, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// run runs bin with args and returns its trimmed standard output.
func run(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("phoneapi %s: %w", args[0], err)
	}
	return strings.TrimSpace(string(out)), nil
}

// copySQLite copies a closed SQLite database, with its WAL if one is left.
func copySQLite(from, to string) error {
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(from + suffix)
		if errors.Is(err, os.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(to+suffix, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// server is the `phoneapi serve` child process.
type server struct {
	*childproc.Proc
	base  string
	pprof string // base URL of its profiler; "" when off
}

// startServer starts `phoneapi serve` on a free loopback port, logging to
// dir/server.log; with profile, its profiler listens on another one.
func startServer(bin, dir, dbPath, secret string, profile bool) (*server, error) {
	addr, err := childproc.FreeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--addr", addr, "--db", dbPath, "--jwt-secret", secret, "--rate-limit", "0"}
	pprofBase := ""
	if profile {
		pa, err := childproc.FreeAddr()
		if err != nil {
			return nil, err
		}
		args = append(args, "--pprof-addr", pa)
		pprofBase = "http://" + pa
	}
	p, err := childproc.Start(exec.Command(bin, args...), filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	return &server{Proc: p, base: "http://" + addr, pprof: pprofBase}, nil
}
