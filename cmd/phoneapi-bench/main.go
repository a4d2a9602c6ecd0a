// Command phoneapi-bench measures phoneapi's throughput and latency, and
// its overhead against a bare net/http + database/sql server or, on
// PostgreSQL, against the database engine itself.
//
// It seeds a new database with `phoneapi seed` (a SQLite file in a
// temporary directory by default), mints a token per user with `phoneapi
// token --jwt-secret`, starts -replicas `phoneapi serve` processes on that
// database, each on a free loopback port with --rate-limit 0, and drives
// the operations in turn, each for -d with -c concurrent clients: GET one
// phone (get), list one person's phones (list: phoneapi's default page of
// 25, full only with -phones-per-person 25 or more), a page of 500 people
// of the user's account list with their phones in included
// (people-include: GET
// /api/v2/contacts/people?include=phone_numbers&page=P&per_page=500, P
// drawn from the user's full pages), the same with sparse fieldsets
// (people-include-fields: fields[people]=first_name,last_name,phone_numbers
// and fields[phone_numbers]=number,primary,person), POST a phone (create),
// PUT a phone with If-Match (update), PATCH a phone with "overwrite": true
// (patch), DELETE a phone (delete). patch and the people-include ones run
// only when -ops names them; the other five run by default. The
// people-include operations need -phones-per-person 20 or fewer (phoneapi
// includes at most 10,000 resources in a document), so a seed cannot give
// both them and list their intended shape: `make bench` runs the tool
// twice, the default five on 25 phones per person, then the people-include
// ones on the default 3. Closed loop
// by default; -rate R is an open loop at R requests a second, latency
// measured from each request's scheduled time. It prints, per operation,
// requests/s, p50, p90, p99 and max latency, errors, and the servers' CPU
// seconds and RSS (summed over the replicas, and per replica), each row
// naming its shape: engine, replicas, users, clients, operation and
// seconds measured; -json writes the same as JSON.
//
// Users: -users N seeds N users, each with its own account list and an
// equal share of -contacts (contacts in all, so the seed takes about as
// long whatever N; at least one contact each). Client i acts as user
// i mod N and sends to replica i mod K; clients only address their user's
// data, and the clients of one user split its phones, so no two update,
// patch or delete the same one. -users may not exceed -c. -replicas K
// starts K `phoneapi serve` processes on the one database (with SQLite, K
// processes on one file), started and stopped together.
//
// The database, -db:
//
//   - none: a new SQLite file in the temporary directory.
//   - postgres://… or postgresql://… (without -url): a PostgreSQL server,
//     as a URL whose user may create databases. The tool creates a new
//     database of its own there, phoneapi_bench_PID_NANOS, runs everything
//     on it and drops it at the end (WITH (FORCE)) unless -keep.
//   - with -url: the database of the running server at -url (a SQLite
//     file or a PostgreSQL URL), only read for the ids of the data of the
//     user of -token (the token's user_id or sub claim, read without
//     checking the signature).
//
// -engine-ref (PostgreSQL, not with -url) also measures the engine
// reference on the same database after the phoneapi phases, before
// delete: with the same clients, each on its user's phones, it sends
// `UPDATE phones SET location = $1, updated_at = $2, updated_in_db_at =
// $3 WHERE id = $4` straight to PostgreSQL with pgx (a pool of -c
// connections, autocommit, one statement per request), and prints a
// "phoneapi patch / engine-ref" ratio of throughput and p99.
//
// -hold-lock (PostgreSQL, not with -url) measures every operation twice,
// back to back on the same servers and data: first unloaded, then with
// user 0's account list row locked for the whole phase from a database
// session of the tool's own (BEGIN; SELECT 1 FROM account_lists a JOIN
// users u ON u.account_list_id = a.id WHERE lower(u.id) = lower($1) FOR
// UPDATE OF a; ROLLBACK once the phase has ended): the lock phoneapi's
// writes of that account list take first. It selects no column, to work
// with older schemas (without account_lists.hw) too. Both phases report,
// apart from the totals, the clients of user 0 (group "locked") and the
// others' (group "others"), with their errors by status; a table then
// compares each group's p99, locked over unloaded. -request-timeout D passes --request-timeout D to
// phoneapi serve (by default nothing is passed; with -hold-lock, 2s if the
// binary has that flag), so that writes waiting for the lock answer 503.
//
// -baseline measures the bare server of baseline.go instead of phoneapi,
// started in a process of its own (this binary, re-run with
// PHONEAPI_BENCH_BASELINE_DB set) on a copy of the same seeded file;
// -compare-baseline measures both, alternating per operation, and prints
// phoneapi/baseline ratios of throughput and p99. Both need SQLite and one
// replica. The baseline serves phoneapi's documents, byte for byte for the
// same rows (TestBaselineDocuments checks it): relationships with their
// links, list links and meta, total_count from a COUNT query unless the
// page is the last, included phones read in one query per page.
//
// The tool relies only on phoneapi's command line (seed, token, serve) and
// on the tables users, contacts, people and phones of the first migration,
// so it can measure older builds of phoneapi too (-bin), but for the
// people-include operations, which need the contact-less people collection
// (and, for the baseline, people.account_list_id).
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/phoneapi/phoneapi/cmd/childproc"
)

// config is the command line.
type config struct {
	bin, url, token, jsonPath string
	db                        string   // -db: a PostgreSQL URL, or with url a SQLite file; "" for a temporary SQLite file
	ops                       []string // operations to run, in opNames order; nil for all of opNames
	profileDir                string   // where CPU and allocation profiles go; "" for none
	contacts, people, phones  int      // contacts in all, split between the users
	users, replicas           int      // 0 means 1
	clients                   int
	duration                  time.Duration
	warmup                    time.Duration // unrecorded load before each read operation's rounds
	rounds                    int           // rounds of each read operation; the best is reported
	rate                      float64
	baseline, compare, keep   bool
	engineRef                 bool
	holdLock                  bool          // -hold-lock
	requestTimeout            time.Duration // passed to serve as --request-timeout; 0 for none (see defaultLockTimeout)
}

// defaultLockTimeout is the --request-timeout given to serve with
// -hold-lock when -request-timeout is not set and the binary knows the
// flag: short enough for the locked writes to time out within a phase.
const defaultLockTimeout = 2 * time.Second

func main() {
	maybeServeBaseline() // baseline_proc.go: the child that serves the baseline
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "bin/phoneapi", "the phoneapi binary to seed, mint tokens and serve with")
	flag.StringVar(&cfg.url, "url", "", "benchmark the phoneapi server at this base URL instead of starting one (needs -token and -db)")
	flag.StringVar(&cfg.token, "token", "", "with -url: a bearer token of the user whose data in -db the clients use")
	flag.StringVar(&cfg.db, "db", "", "postgres://… URL: seed and serve a new database created on this PostgreSQL server (dropped at the end unless -keep);\n"+
		"with -url: the running server's database (SQLite file or postgres:// URL), read for the ids to use;\nempty: a temporary SQLite file")
	flag.IntVar(&cfg.contacts, "contacts", 1000, "contacts to seed in all, split evenly between the -users users (at least one each)")
	flag.IntVar(&cfg.people, "people-per-contact", 2, "people per contact to seed")
	flag.IntVar(&cfg.phones, "phones-per-person", 3, "phones per person to seed (list reads a full default page with 25 or more; "+
		"people-include and people-include-fields need 20 or fewer)")
	flag.IntVar(&cfg.users, "users", 1, "seed `N` users, each with its own account list and token; client i is user i mod N (N at most -c)")
	flag.IntVar(&cfg.replicas, "replicas", 1, "start `K` phoneapi serve processes on the one database (SQLite: K processes on one file); client i sends to replica i mod K")
	flag.IntVar(&cfg.clients, "c", 32, "concurrent clients")
	flag.DurationVar(&cfg.duration, "d", 10*time.Second, "duration of each operation's measurement")
	flag.DurationVar(&cfg.warmup, "warmup", 0, "before measuring a read operation, load each server with it for `D`, unrecorded (writes: none, they would change the data measured)")
	flag.IntVar(&cfg.rounds, "rounds", 1, "measure each read operation `N` times (servers alternating within a round) and report each server's best round by throughput;\n"+
		"writes are measured once, since each round would see the data the last one changed")
	flag.Float64Var(&cfg.rate, "rate", 0, "open loop: requests a second in all (0: closed loop)")
	flag.StringVar(&cfg.jsonPath, "json", "", "also write the results as JSON to this file")
	flag.BoolVar(&cfg.baseline, "baseline", false, "measure the bare baseline server instead of phoneapi (SQLite, one replica)")
	flag.BoolVar(&cfg.compare, "compare-baseline", false, "measure phoneapi and the baseline, alternating per operation, and print ratios (SQLite, one replica)")
	flag.BoolVar(&cfg.engineRef, "engine-ref", false, "with a postgres:// -db: also measure the same single-row UPDATE sent straight to PostgreSQL, and print the phoneapi patch / engine-ref ratio")
	flag.BoolVar(&cfg.holdLock, "hold-lock", false, "with a postgres:// -db: measure each operation twice, unloaded and then with user 0's account list row locked\n"+
		"(SELECT … FOR UPDATE from a session of the tool's own) for the whole phase, and compare the p99 of user 0's clients\n"+
		"(group locked) and of the others' (group others; -users ≥ 2) between the two phases")
	flag.DurationVar(&cfg.requestTimeout, "request-timeout", 0, "pass --request-timeout `D` to phoneapi serve (0: pass none, the server's default applies;\n"+
		"with -hold-lock, 0 means "+defaultLockTimeout.String()+" if the binary has the flag, so that writes waiting for the lock time out within the phase)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory (databases, server logs) and the PostgreSQL database")
	ops := flag.String("ops", strings.Join(defaultOps, ","), "comma-separated operations to run (of "+strings.Join(opNames, ",")+")")
	flag.StringVar(&cfg.profileDir, "profile", "", "write phoneapi's CPU profile (OP.cpu.pprof) and allocation profile (OP.allocs.pprof) of each operation into this directory (of the first replica; not with -url;\n"+
		"with -hold-lock, OP-unloaded.* and OP-locked.*)")
	flag.Parse()
	cfg.ops = strings.Split(*ops, ",")
	if err := cfg.check(); err != nil {
		fmt.Fprintln(os.Stderr, "phoneapi-bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := bench(ctx, cfg, os.Stderr)
	stop()
	if errors.Is(err, context.Canceled) {
		err = errors.New("interrupted")
	}
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

// check refuses the flags that make no sense together.
func (cfg config) check() error {
	pg := isPostgres(cfg.db)
	switch {
	case cfg.clients < 1 || cfg.duration <= 0 || cfg.rate < 0 || cfg.rounds < 0 || cfg.warmup < 0:
		return errors.New("need -c ≥ 1, -d > 0 and -rate ≥ 0")
	case cfg.contacts < 1 || cfg.people < 1 || cfg.phones < 1:
		return errors.New("need at least one contact, person and phone")
	case cfg.users < 0 || cfg.replicas < 0:
		return errors.New("need -users ≥ 1 and -replicas ≥ 1")
	case max(cfg.users, 1) > cfg.clients:
		return fmt.Errorf("-users %d exceeds -c %d: a user without a client would be seeded for nothing", cfg.users, cfg.clients)
	case cfg.url != "" && (cfg.token == "" || cfg.db == ""):
		return errors.New("-url needs -token and -db")
	case cfg.url != "" && (cfg.baseline || cfg.compare):
		return errors.New("-url cannot be combined with -baseline or -compare-baseline")
	case cfg.url != "" && (cfg.users > 1 || cfg.replicas > 1):
		return errors.New("-url measures one running server as the user of -token: no -users or -replicas")
	case cfg.url == "" && cfg.db != "" && !pg:
		return fmt.Errorf("-db %s: without -url, -db must be a postgres:// URL (a SQLite file is only read, for a server given by -url)", cfg.db)
	case (cfg.baseline || cfg.compare) && (pg || cfg.replicas > 1):
		return errors.New("-baseline and -compare-baseline run on SQLite with one replica: no postgres:// -db, no -replicas")
	case cfg.holdLock && !pg:
		return errors.New("-hold-lock needs a postgres:// -db: SQLite has a single write lock for the whole database, " +
			"so holding it blocks the writes of every account list by design; there is no account list lock to hold")
	case cfg.holdLock && cfg.url != "":
		return errors.New("-hold-lock needs servers and a database of the tool's own: no -url")
	case cfg.requestTimeout < 0:
		return errors.New("need -request-timeout ≥ 0")
	case cfg.requestTimeout > 0 && (cfg.url != "" || cfg.baseline):
		return errors.New("-request-timeout is passed to the phoneapi servers the tool starts: no -url, no -baseline")
	case cfg.engineRef && (!pg || cfg.url != ""):
		return errors.New("-engine-ref needs a postgres:// -db and no -url (it runs on the database the tool creates)")
	case cfg.profileDir != "" && (cfg.url != "" || cfg.baseline):
		return errors.New("-profile needs a phoneapi server started by the tool (no -url, no -baseline)")
	}
	ops := cfg.ops
	if ops == nil {
		ops = opNames // bench runs them all
	}
	for _, op := range ops {
		if !slices.Contains(opNames, op) {
			return fmt.Errorf("-ops: unknown operation %q (want some of %s)", op, strings.Join(opNames, ","))
		}
		if isPeopleInclude(op) && cfg.url == "" && peoplePerPage*cfg.phones > maxIncluded {
			return fmt.Errorf("-ops %s: a page of %d people with %d phones each would include %d phones, over phoneapi's %d (a 400): "+
				"run it with -phones-per-person %d or fewer, apart from the other operations",
				op, peoplePerPage, cfg.phones, peoplePerPage*cfg.phones, maxIncluded, maxIncluded/peoplePerPage)
		}
	}
	return nil
}

// bench prepares the database and the servers, runs every operation on
// each and returns the report; progress goes to log. When ctx is done it
// stops, cleans up and returns ctx's error.
func bench(ctx context.Context, cfg config, log io.Writer) (*report, error) {
	users, replicas := max(cfg.users, 1), max(cfg.replicas, 1)
	perUser := max(cfg.contacts/users, 1)
	rep := &report{Engine: "sqlite", Replicas: replicas, Users: users, Clients: cfg.clients,
		DurationSec: cfg.duration.Seconds(), Warmup: cfg.warmup.Seconds(), Rounds: cfg.rounds, Rate: cfg.rate, Mode: "closed-loop", Synchronous: "full",
		Seed: fmt.Sprintf("%d contacts × %d people × %d phones", perUser, cfg.people, cfg.phones)}
	if users > 1 {
		rep.Seed = fmt.Sprintf("%d users × ", users) + rep.Seed
	}
	if isPostgres(cfg.db) {
		rep.Engine, rep.Synchronous = "postgres", ""
	}
	if cfg.rate > 0 {
		rep.Mode = "open-loop"
	}
	if cfg.url == "" && cfg.phones < listPageSize && (cfg.ops == nil || slices.Contains(cfg.ops, "list")) {
		fmt.Fprintf(log, "note: list reads a person's %d phones, not a full page of %d: -phones-per-person %d for full pages\n",
			cfg.phones, listPageSize, listPageSize)
	}
	var targets []*target
	var f *fixture
	var engine *engineRef
	var lockDSN string // with -hold-lock: the database to lock user 0's account list in
	if cfg.url != "" {
		user, err := tokenUser(cfg.token)
		if err != nil {
			return nil, err
		}
		if f, err = loadFixture(ctx, cfg.db, []string{user}); err != nil {
			return nil, err
		}
		f.users[0].token = cfg.token
		rep.Seed = "from " + redact(cfg.db)
		if !isPostgres(cfg.db) {
			rep.Synchronous = "(the server's)"
		}
		targets = append(targets, newTarget("phoneapi", []string{strings.TrimRight(cfg.url, "/")}, nil, cfg.clients, f))
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
		apiDB, baseDB := filepath.Join(dir, "phoneapi.db"), filepath.Join(dir, "baseline.db")
		if isPostgres(cfg.db) {
			d, err := createDatabase(ctx, cfg.db)
			if err != nil {
				return nil, err
			}
			if cfg.keep {
				fmt.Fprintln(log, "keeping database", redact(d.url))
			} else {
				defer func() {
					if err := d.drop(); err != nil {
						fmt.Fprintln(log, err)
					}
				}()
			}
			apiDB, rep.Database, rep.SyncCommit = d.url, d.name, d.syncCommit
			if cfg.holdLock {
				lockDSN = d.url
			}
		}
		secret := randomHex(32)
		fmt.Fprintf(log, "seeding %s\n", rep.Seed)
		start := time.Now()
		ids := make([]string, users)
		for i := range ids {
			ids[i] = uuid.NewString()
			if _, err := run(ctx, cfg.bin, "seed", "--db", apiDB, "--user", ids[i], "--contacts", fmt.Sprint(perUser),
				"--people-per-contact", fmt.Sprint(cfg.people), "--phones-per-person", fmt.Sprint(cfg.phones)); err != nil {
				return nil, err
			}
		}
		if f, err = loadFixture(ctx, apiDB, ids); err != nil {
			return nil, err
		}
		for _, u := range f.users {
			if u.token, err = run(ctx, cfg.bin, "token", "--jwt-secret", secret, "--user", u.id, "--ttl", "24h"); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(log, "seeded and minted %d token(s) in %s\n", users, time.Since(start).Round(time.Millisecond))
		if cfg.baseline || cfg.compare {
			if err := copySQLite(apiDB, baseDB); err != nil {
				return nil, err
			}
		}
		if cfg.holdLock {
			rep.Lock = &lockComparison{Engine: rep.Engine, Replicas: replicas, Users: users, Clients: cfg.clients,
				DurationSec: cfg.duration.Seconds(), User: f.users[0].id}
		}
		timeout, err := serveTimeout(ctx, cfg, log)
		if err != nil {
			return nil, err
		}
		if timeout > 0 {
			rep.RequestTimeout = timeout.String()
			if rep.Lock != nil {
				rep.Lock.RequestTimeout = rep.RequestTimeout
			}
		}
		if !cfg.baseline {
			var bases []string
			var pids []int
			var pprof string
			for i := range replicas {
				logName := "server.log"
				if replicas > 1 {
					logName = fmt.Sprintf("server%d.log", i+1)
				}
				srv, err := startServer(cfg.bin, filepath.Join(dir, logName), apiDB, secret, timeout, i == 0 && cfg.profileDir != "")
				if err != nil {
					return nil, err
				}
				defer srv.Stop()
				bases, pids = append(bases, srv.URL), append(pids, srv.Cmd.Process.Pid)
				if i == 0 {
					pprof = srv.pprof
				}
				if err := srv.WaitReady(srv.URL+"/api/v2/contacts", f.users[0].token, 30*time.Second); err != nil {
					return nil, fmt.Errorf("%w (see %s)", err, srv.Log)
				}
			}
			t := newTarget("phoneapi", bases, pids, cfg.clients, f)
			t.pprof = pprof
			targets = append(targets, t)
		}
		if cfg.baseline || cfg.compare {
			b, err := startBaselineProc(baseDB, dir)
			if err != nil {
				return nil, fmt.Errorf("baseline: %w", err)
			}
			defer b.Stop()
			targets = append(targets, newTarget("baseline", []string{b.base}, []int{b.Cmd.Process.Pid}, cfg.clients, f))
		}
		if cfg.engineRef {
			if engine, err = newEngineRef(ctx, apiDB, cfg.clients, f); err != nil {
				return nil, err
			}
			defer engine.close()
		}
	}
	pc := phaseConfig{duration: cfg.duration, rate: cfg.rate}
	engineDone := engine == nil
	runEngine := func() {
		fmt.Fprintf(log, "engine-ref update: %s\n", cfg.duration)
		rep.add(engine.phase(ctx, pc, log), 0)
		engineDone = true
	}
	for _, op := range opNames {
		if cfg.ops != nil && !slices.Contains(cfg.ops, op) {
			continue
		}
		if op == "delete" && !engineDone {
			runEngine() // before delete, which removes the phones it updates
		}
		rounds := 1
		if readOp(op) {
			rounds = max(cfg.rounds, 1)
			for _, t := range targets {
				if err := warmUp(ctx, t, op, cfg, log); err != nil {
					return nil, err
				}
			}
		}
		phases := []string{""}
		if cfg.holdLock {
			phases = []string{phaseUnloaded, phaseLocked}
		}
		best := make(map[string]result) // by target and phase
		for round := range rounds {
			for _, t := range targets {
				for _, phase := range phases {
					x, err := measure(ctx, t, op, phase, cfg, pc, lockDSN, f.users[0], log)
					if err != nil {
						return nil, err
					}
					if rounds > 1 {
						fmt.Fprintf(log, "%s %s round %d of %d: %.0f req/s, p99 %.2f ms\n", t.name, op, round+1, rounds, x.RPS, x.P99)
					}
					key := t.name + "/" + phase
					if b, ok := best[key]; !ok || x.RPS > b.RPS {
						best[key] = x
					}
					t.hc.CloseIdleConnections()
					if err := ctx.Err(); err != nil {
						return nil, err
					}
				}
			}
		}
		for _, t := range targets {
			for _, phase := range phases {
				x := best[t.name+"/"+phase]
				x.Rounds = rounds
				rep.add(x, t.nbases)
			}
		}
	}
	if !engineDone {
		runEngine()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep.computeRatios()
	return rep, nil
}

// measure runs one phase of op on t: phase "" without -hold-lock, else
// phaseUnloaded or phaseLocked, each with the clients split into
// groupLocked (those of user locked) and groupOthers. In phaseLocked the
// account list row of user locked is held locked in the database at dsn
// from before the phase starts to after it ends, and released whatever
// happens.
func measure(ctx context.Context, t *target, op, phase string, cfg config, pc phaseConfig, dsn string, locked *userData, log io.Writer) (result, error) {
	if err := t.setup(ctx, op); err != nil {
		return result{}, err
	}
	name, label := op, op
	if phase != "" {
		name, label = op+"-"+phase, op+" ("+phase+")"
		pc.groups = make([]string, len(t.clients))
		for i, c := range t.clients {
			pc.groups[i] = groupOthers
			if c.user == locked {
				pc.groups[i] = groupLocked
			}
		}
	}
	var lock *listLock
	if phase == phaseLocked {
		var err error
		if lock, err = holdListLock(ctx, dsn, locked.id); err != nil {
			return result{}, err
		}
		defer func() {
			if lock != nil { // not released below: an early return or a panic
				lock.release()
			}
		}()
		fmt.Fprintf(log, "locked the account list of user 0 (%s)\n", locked.id)
	}
	fmt.Fprintf(log, "%s %s: %s\n", t.name, label, cfg.duration)
	var prof *profiler
	if cfg.profileDir != "" && t.pprof != "" {
		prof = startProfile(t.pprof, cfg.profileDir, name, cfg.duration)
	}
	x := t.phase(ctx, op, pc, log)
	x.Phase = phase
	if lock != nil {
		held, err := lock.release()
		lock = nil
		if err != nil {
			return result{}, err
		}
		x.LockHeldSec = held.Seconds()
		fmt.Fprintf(log, "released the lock, held %s\n", held.Round(time.Millisecond))
	}
	if prof != nil {
		if err := prof.finish(); err != nil {
			return result{}, err
		}
		fmt.Fprintf(log, "profiles: %s\n", strings.Join(prof.files, ", "))
	}
	return x, nil
}

// readOp reports whether op only reads, so that rounds and warm-up leave
// the data as they found it.
func readOp(op string) bool {
	switch op {
	case "get", "list", opPeopleInclude, opPeopleIncludeFields:
		return true
	}
	return false
}

// warmUp loads t with op for cfg.warmup (if any), discarding the result,
// so that the measured rounds start with warm caches, connections and
// a grown heap.
func warmUp(ctx context.Context, t *target, op string, cfg config, log io.Writer) error {
	if cfg.warmup <= 0 {
		return nil
	}
	if err := t.setup(ctx, op); err != nil {
		return err
	}
	fmt.Fprintf(log, "%s %s: warm-up %s\n", t.name, op, cfg.warmup)
	t.phase(ctx, op, phaseConfig{duration: cfg.warmup, rate: cfg.rate}, io.Discard)
	t.hc.CloseIdleConnections()
	return ctx.Err()
}

// serveTimeout returns the --request-timeout to pass to phoneapi serve,
// 0 for none: -request-timeout if set, else with -hold-lock
// defaultLockTimeout if the binary has the flag. It fails when
// -request-timeout is set and the binary lacks the flag (an older
// phoneapi).
func serveTimeout(ctx context.Context, cfg config, log io.Writer) (time.Duration, error) {
	if cfg.baseline || (cfg.requestTimeout == 0 && !cfg.holdLock) {
		return 0, nil
	}
	help, _ := exec.CommandContext(ctx, cfg.bin, "serve", "-h").CombinedOutput() // exits 0 or 2, printing the flags
	known := strings.Contains(string(help), "-request-timeout")
	timeout := cmp.Or(cfg.requestTimeout, defaultLockTimeout)
	switch {
	case cfg.requestTimeout > 0 && !known:
		return 0, fmt.Errorf("-request-timeout: %s serve has no --request-timeout flag (an older phoneapi?)", cfg.bin)
	case !known:
		fmt.Fprintf(log, "note: %s serve has no --request-timeout flag: the locked writes wait until the lock is released at the end of the phase\n", cfg.bin)
		return 0, nil
	case cfg.holdLock && timeout >= cfg.duration:
		fmt.Fprintf(log, "note: the request timeout (%s) is not below -d (%s): the locked writes time out at most once per client and phase\n",
			timeout, cfg.duration)
	}
	return timeout, nil
}

// tokenUser returns the user id (lower-case) in the user_id claim, or else
// the sub claim, of the JWT tok, without checking its signature: the tool
// only needs to know whose data to address.
func tokenUser(tok string) (string, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", errors.New("-token: not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("-token: payload: %w", err)
	}
	var claims struct {
		UserID string `json:"user_id"`
		Sub    string `json:"sub"`
	}
	if err := json.Unmarshal(b, &claims); err != nil {
		return "", fmt.Errorf("-token: payload: %w", err)
	}
	id := cmp.Or(claims.UserID, claims.Sub)
	if id == "" {
		return "", errors.New("-token: no user_id or sub claim")
	}
	return strings.ToLower(id), nil
}

// redact hides the password of a PostgreSQL URL; a file path is returned
// as it is.
func redact(dsn string) string {
	if !isPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// run runs bin with args and returns its trimmed standard output.
func run(ctx context.Context, bin string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, args...).Output()
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
	*childproc.Server
	pprof string // base URL of its profiler; "" when off
}

// startServer starts `phoneapi serve` on the database dsn on a free
// loopback port, logging to the new file logPath, with --request-timeout
// timeout unless it is 0; with profile, its profiler listens on another
// port.
func startServer(bin, logPath, dsn, secret string, timeout time.Duration, profile bool) (*server, error) {
	args := []string{"--db", dsn, "--jwt-secret", secret, "--rate-limit", "0"}
	if timeout > 0 {
		args = append(args, "--request-timeout", timeout.String())
	}
	pprofBase := ""
	if profile {
		pa, err := childproc.FreeAddr()
		if err != nil {
			return nil, err
		}
		args = append(args, "--pprof-addr", pa)
		pprofBase = "http://" + pa
	}
	s, err := childproc.Serve(bin, nil, logPath, args...)
	if err != nil {
		return nil, err
	}
	return &server{Server: s, pprof: pprofBase}, nil
}
