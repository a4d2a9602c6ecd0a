package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/handlers"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `phoneapi — the contacts, people and phones API (JSON:API, API v2)

Usage:
  phoneapi serve   [--addr ADDR] [--db DB] [--jwt-secret S] [--default-region R] [--log-level L] [--log-format F] [PG FLAGS]
  phoneapi token   [--user UUID] [--ttl 720h] [--max-token-ttl D] [--db DB] [--jwt-secret S]
  phoneapi migrate [--db DB] [PG FLAGS]
  phoneapi seed    [--contacts N] [--people-per-contact P] [--phones-per-person K] [--user UUID] [--db DB] [PG FLAGS]
  phoneapi export  [--db DB] [--out FILE|-] [PG FLAGS]
  phoneapi import  [--db DB] [--in FILE|-] [PG FLAGS]
  phoneapi sandbox [--fixtures FILE] [--token-ttl 24h] [--deterministic] [--addr ADDR] [--jwt-secret S] [--rate-limit N] [SERVE FLAGS]
  phoneapi version          (also -v, --version)
  phoneapi help [COMMAND]   (also -h, --help)

DB is a SQLite file path (a "sqlite:" prefix is accepted) or a PostgreSQL
URL (postgres://user:password@host:5432/dbname?sslmode=disable, or
postgresql://...). PG FLAGS apply to PostgreSQL only (token has none):
  --pg-max-conns N          PHONEAPI_PG_MAX_CONNS          size of each of the two pools, writes and
                                                           reads (default: writes max(16, 4×CPUs),
                                                           reads max(8, 2×CPUs))
  --pg-connect-timeout D    PHONEAPI_PG_CONNECT_TIMEOUT    per connection attempt, e.g. 5s (default 10s)
  --pg-statement-timeout D  PHONEAPI_PG_STATEMENT_TIMEOUT  per statement, e.g. 30s (default: the server's)

export writes every row of DB (ids, timestamps, tombstones, users,
settings, the write clock) as JSON Lines to FILE, default standard output;
import reads such a file, default standard input, into DB, which must be
new (migrated, with no data). Both migrate DB first and report progress on
stderr. To move a SQLite file to PostgreSQL:
  phoneapi export --db phoneapi.db --out data.jsonl
  phoneapi import --db postgres://... --in data.jsonl

sandbox serves the API like serve, but on a new temporary SQLite
database (removed on exit) loaded with a fixture: FILE, an export
(--fixtures, PHONEAPI_FIXTURES), else a small built-in example. It prints
one line per fixture user with a token (--token-ttl, PHONEAPI_TOKEN_TTL,
default 24h) on stdout, has the rate limit off unless --rate-limit is
given, and restores exactly the fixture on POST /sandbox/reset (no token
needed; see GET /sandbox/openapi.yaml). It takes serve's flags but --db,
--sqlite-synchronous and PG FLAGS. A bad fixture is refused (exit 2)
naming the line. With --deterministic (PHONEAPI_DETERMINISTIC) the ids it
generates come from a generator seeded with --seed (default 1) and its
timestamps from a clock that starts at --clock-start and advances by
--clock-step (default 1s) per write, both rewound by every reset: the same
requests get byte-identical responses (headers but Date too).

Flags fall back to environment variables:
  --addr            PHONEAPI_ADDR            listen address (default 127.0.0.1:8080)
  --db              PHONEAPI_DB              SQLite file or PostgreSQL URL (default ./phoneapi.db)
  --jwt-secret      PHONEAPI_JWT_SECRET      HS256 secret; when unset, one is generated
                                             on first start and kept in the database
  --default-region  PHONEAPI_DEFAULT_REGION  region for national numbers (default US)
  --rate-limit      PHONEAPI_RATE_LIMIT      requests a second per user, 0 disables (default 50)
  --rate-burst      PHONEAPI_RATE_BURST      requests a user may send at once (default 100)
  --max-token-ttl   PHONEAPI_MAX_TOKEN_TTL   longest a token may be valid for (default 720h):
                                             serve refuses (401) a token whose exp is further
                                             ahead or whose exp - iat is longer; token refuses
                                             a longer --ttl
  --sqlite-synchronous  PHONEAPI_SQLITE_SYNCHRONOUS  full (default): every answered
                        write survives power loss; normal: faster commits that
                        survive a crash of phoneapi, but the last ones may be
                        lost if the machine loses power (SQLite only)

serve's request deadline and HTTP timeouts (durations such as 30s):
  --request-timeout      PHONEAPI_REQUEST_TIMEOUT      every request (default 10s): past it,
                                                       503 with Retry-After, and a write not
                                                       yet committed is rolled back; must be
                                                       below --write-timeout
  --read-header-timeout  PHONEAPI_READ_HEADER_TIMEOUT  request headers (default 10s)
  --read-timeout         PHONEAPI_READ_TIMEOUT         whole request (default 30s)
  --write-timeout        PHONEAPI_WRITE_TIMEOUT        handling and response (default 30s)
  --idle-timeout         PHONEAPI_IDLE_TIMEOUT         idle keep-alive connection (default 120s)
  --shutdown-grace       PHONEAPI_SHUTDOWN_GRACE       in-flight requests on shutdown (default 15s)

serve's log (start-up and shutdown lines too):
  --log-level            PHONEAPI_LOG_LEVEL            debug, info (default), warn or error
  --log-format           PHONEAPI_LOG_FORMAT           json (default) or text

Settings are checked before the database is opened or created; a bad one
is refused (exit 2) naming its flag and variable.

serve's profiler (off by default; it needs no token, so keep it on loopback):
  --pprof-addr           PHONEAPI_PPROF_ADDR           serve /debug/pprof/ here, e.g. 127.0.0.1:6060

serve's tracing (OpenTelemetry; off by default) takes the standard variables:
  OTEL_TRACES_EXPORTER   none (default), console (spans on stdout) or otlp
                         (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, ...)
  OTEL_SERVICE_NAME      service.name of the spans (default phoneapi)

Run 'phoneapi COMMAND --help' for a command's flags.
`

// usageError is a mistake in the command line: exit code 2. cmd names
// the command whose help the hint points to; when empty, it is taken from
// msg's "command: " prefix.
type usageError struct{ msg, cmd string }

func (e *usageError) Error() string { return e.msg }

// exitCode reports err on stderr and returns the process exit code:
// 0 for nil, 2 for usage errors, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		if ue.msg != "" {
			cmd := ue.cmd
			if name, _, ok := strings.Cut(ue.msg, ":"); ok && cmd == "" && commands[name] != nil {
				cmd = name
			}
			fmt.Fprintf(stderr, "phoneapi: %s\n%s\n", ue.msg, hint(cmd))
		}
		return 2
	}
	if errors.As(err, new(*loggedError)) {
		return 1
	}
	fmt.Fprintf(stderr, "phoneapi: %v\n", err)
	return 1
}

// commands are the subcommands, by name; each parses its own flags.
var commands = map[string]func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error{
	"serve":   serve,
	"token":   token,
	"migrate": migrate,
	"seed":    seed,
	"export":  exportData,
	"import":  importData,
	"sandbox": sandbox,
}

// run executes the command line args (without the program name).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &usageError{}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help", "help":
		if cmd == "help" && len(rest) > 0 {
			if _, ok := commands[rest[0]]; !ok {
				return &usageError{msg: fmt.Sprintf("help: unknown command %q", rest[0])}
			}
			return commands[rest[0]](ctx, []string{"--help"}, getenv, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	case "version", "-v", "-version", "--version":
		fmt.Fprintln(stdout, "phoneapi", buildVersion())
		return nil
	}
	if command, ok := commands[cmd]; ok {
		return command(ctx, rest, getenv, stdout, stderr)
	}
	return &usageError{msg: fmt.Sprintf("unknown command %q", cmd)}
}

// buildVersion is the version set at link time (-X main.version), else
// the module's (handlers.BuildVersion).
func buildVersion() string {
	if version != "dev" {
		return version
	}
	return handlers.BuildVersion()
}

// options are the settings shared by the commands.
type options struct {
	addr, dbPath, secret, region string
	pg                           db.PGOptions
	sqlite                       db.SQLiteOptions
	pgErr                        error  // a bad PHONEAPI_PG_* value
	pgErrFlag                    string // the flag that overrides it
}

// newFlags returns a flag set for cmd with the shared settings registered
// (those named in want), defaulted from the environment.
// "pool" adds the PostgreSQL pool and SQLite durability flags.
// Help is printed by parse; errors are returned, not printed.
func newFlags(cmd string, getenv func(string) string, stderr io.Writer, o *options, want ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	o.pg.ConnectTimeout = defaultPGConnectTimeout
	o.sqlite.Synchronous = "full"
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	for _, w := range want {
		switch w {
		case "addr":
			fs.StringVar(&o.addr, "addr", env("PHONEAPI_ADDR", "127.0.0.1:8080"), "listen address (env PHONEAPI_ADDR)")
		case "db":
			fs.StringVar(&o.dbPath, "db", env("PHONEAPI_DB", "./phoneapi.db"), "SQLite database file, or PostgreSQL postgres:// URL (env PHONEAPI_DB)")
		case "pool":
			if v := getenv("PHONEAPI_PG_MAX_CONNS"); v != "" {
				n, err := strconv.ParseInt(v, 10, 32)
				if err != nil || n < 1 {
					o.pgErr = fmt.Errorf("PHONEAPI_PG_MAX_CONNS=%q: want a positive integer", v)
					o.pgErrFlag = "pg-max-conns"
				}
				o.pg.MaxConns = int32(n)
			}
			for _, d := range []struct {
				name, flag string
				dst        *time.Duration
			}{
				{"PHONEAPI_PG_CONNECT_TIMEOUT", "pg-connect-timeout", &o.pg.ConnectTimeout},
				{"PHONEAPI_PG_STATEMENT_TIMEOUT", "pg-statement-timeout", &o.pg.StatementTimeout},
			} {
				if v := getenv(d.name); v != "" {
					dur, err := time.ParseDuration(v)
					if err != nil || dur < 0 {
						o.pgErr = fmt.Errorf("%s=%q: want a duration such as 5s", d.name, v)
						o.pgErrFlag = d.flag
					}
					*d.dst = dur
				}
			}
			fs.Func("pg-max-conns", "size of each PostgreSQL pool, one for writes and one for reads (env PHONEAPI_PG_MAX_CONNS; default: writes max(16, 4×CPUs), reads max(8, 2×CPUs))", func(v string) error {
				n, err := strconv.ParseInt(v, 10, 32)
				if err != nil || n < 1 {
					return errors.New("want a positive integer")
				}
				o.pg.MaxConns = int32(n)
				return nil
			})
			fs.DurationVar(&o.pg.ConnectTimeout, "pg-connect-timeout", o.pg.ConnectTimeout, "PostgreSQL connect timeout per attempt (env PHONEAPI_PG_CONNECT_TIMEOUT)")
			fs.DurationVar(&o.pg.StatementTimeout, "pg-statement-timeout", o.pg.StatementTimeout, "PostgreSQL statement timeout; 0 keeps the server's (env PHONEAPI_PG_STATEMENT_TIMEOUT)")
			fs.StringVar(&o.sqlite.Synchronous, "sqlite-synchronous", env("PHONEAPI_SQLITE_SYNCHRONOUS", "full"), "SQLite synchronous: full (every commit survives power loss) or normal (faster; survives a process crash, the last commits may be lost on power loss) (env PHONEAPI_SQLITE_SYNCHRONOUS)")
		case "secret":
			fs.StringVar(&o.secret, "jwt-secret", env("PHONEAPI_JWT_SECRET", ""), "HS256 secret (env PHONEAPI_JWT_SECRET); generated and kept in the database when empty")
		case "region":
			fs.StringVar(&o.region, "default-region", env("PHONEAPI_DEFAULT_REGION", "US"), "region for national numbers (env PHONEAPI_DEFAULT_REGION)")
		}
	}
	return fs
}

// defaultPGConnectTimeout bounds each PostgreSQL connection attempt unless
// configured otherwise.
const defaultPGConnectTimeout = 10 * time.Second

// parse parses args, turning flag errors into usage errors; help is not
// an error: it is printed on stdout.
func parse(fs *flag.FlagSet, args []string, o *options, stdout io.Writer) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, stdout)
			return true, nil
		}
		return false, &usageError{msg: fs.Name() + ": " + dashes.Replace(err.Error())}
	}
	if fs.NArg() > 0 {
		return false, &usageError{msg: fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	if o.pgErr != nil {
		// Only if no flag overrode the bad variable: flags are applied
		// after the environment.
		overridden := false
		fs.Visit(func(f *flag.Flag) { overridden = overridden || f.Name == o.pgErrFlag })
		if !overridden {
			return false, &usageError{msg: fs.Name() + ": " + o.pgErr.Error()}
		}
	}
	if o.pg.ConnectTimeout < 0 || o.pg.StatementTimeout < 0 {
		return false, &usageError{msg: fs.Name() + ": PostgreSQL timeouts must not be negative"}
	}
	if err := o.sqlite.Validate(); err != nil {
		return false, &usageError{msg: fmt.Sprintf("%s: %v", fs.Name(), err)}
	}
	if fs.Lookup("db") != nil {
		if problem := checkDB(o.dbPath); problem != "" {
			return false, configError(fs.Name(), "db", "PHONEAPI_DB", displayDB(o.dbPath), problem)
		}
	}
	if fs.Lookup("addr") != nil && !checkAddr(o.addr) {
		return false, configError(fs.Name(), "addr", "PHONEAPI_ADDR", o.addr, "is not host:port with a port 0..65535")
	}
	if fs.Lookup("default-region") != nil && !checkRegion(o.region) {
		return false, configError(fs.Name(), "default-region", "PHONEAPI_DEFAULT_REGION", o.region, "is not a region the phone number library knows (e.g. US, GB, DE)")
	}
	return false, nil
}

// dashes respells the flag package's "-name" in its errors as "--name".
var dashes = strings.NewReplacer("provided but not defined: -", "provided but not defined: --", "for flag -", "for flag --")

// openStore opens and migrates the database: a SQLite file with the
// options o.sqlite or, for a postgres:// URL, PostgreSQL with the pool
// options o.pg.
func openStore(ctx context.Context, o options) (*db.Store, error) {
	store, err := db.OpenWith(ctx, o.dbPath, o.pg, o.sqlite)
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

// secretKey is the settings key of the generated JWT secret.
const secretKey = "jwt_secret"

// resolveSecret returns the configured secret, else the one kept in the
// database, generating and storing it on first use.
func resolveSecret(ctx context.Context, store *db.Store, configured string) ([]byte, error) {
	if configured != "" {
		return []byte(configured), nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return nil, fmt.Errorf("generate secret: %w", err)
	}
	s, err := store.InitSetting(ctx, secretKey, hex.EncodeToString(buf))
	if err != nil {
		return nil, fmt.Errorf("store secret: %w", err)
	}
	return []byte(s), nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlags("serve", getenv, stderr, &o, "addr", "db", "pool", "secret", "region")
	sf := addServerFlags(fs, getenv, handlers.DefaultRateLimit)
	if help, err := parse(fs, args, &o, stdout); help || err != nil {
		return err
	}
	if err := sf.check("serve", fs, getenv); err != nil {
		return err
	}
	return sf.serve(ctx, o, stdout, stderr, nil)
}

// serverFlags are the settings serve and sandbox share: the rate limit,
// the timeouts, the profiler, the token lifetime, logging and tracing.
type serverFlags struct {
	limits    *limitOptions
	timeouts  *serverTimeouts
	pprofAddr *string
	ttl       *tokenTTL
	log       *logOptions
	tracing   traceOptions // set by check
}

// addServerFlags adds the shared flags to fs; defRate is the rate limit
// when neither --rate-limit nor PHONEAPI_RATE_LIMIT sets one.
func addServerFlags(fs *flag.FlagSet, getenv func(string) string, defRate float64) *serverFlags {
	return &serverFlags{
		limits:    addLimitFlags(fs, getenv, defRate), // limits.go
		timeouts:  addTimeoutFlags(fs, getenv),        // timeouts.go
		pprofAddr: addPprofFlag(fs, getenv),           // pprof.go
		ttl:       addMaxTokenTTLFlag(fs, getenv),     // tokens.go
		log:       addLogFlags(fs, getenv),            // cli.go
	}
}

// check validates the shared settings of cmd once fs is parsed, and the
// OTEL_* variables of tracing; it returns a usage error naming the flag or
// the variable.
func (sf *serverFlags) check(cmd string, fs *flag.FlagSet, getenv func(string) string) error {
	if err := sf.limits.check(fs); err != nil {
		return err
	}
	if err := sf.ttl.check(fs); err != nil {
		return err
	}
	if err := sf.timeouts.check(fs); err != nil {
		return err
	}
	if *sf.pprofAddr != "" && !checkAddr(*sf.pprofAddr) {
		return configError(cmd, "pprof-addr", "PHONEAPI_PPROF_ADDR", *sf.pprofAddr, "is not host:port with a port 0..65535")
	}
	if err := sf.log.check(cmd); err != nil {
		return err
	}
	tracing, err := traceConfig(cmd, getenv) // tracing.go
	if err != nil {
		return err
	}
	sf.tracing = tracing
	return nil
}

// serve runs the server (a sandbox when sb is not nil) until ctx is
// done. From here on, start-up errors are log lines in the configured
// format.
func (sf *serverFlags) serve(ctx context.Context, o options, stdout, stderr io.Writer, sb *sandboxServer) error {
	logOut := newLineBuffer(stderr) // logbuf.go
	defer logOut.Close()
	log := sf.log.logger(logOut)
	err := runServer(ctx, o, sf, log, stdout, sb)
	if err != nil && ctx.Err() == nil {
		var ue *usageError
		if !errors.As(err, &ue) {
			return logged(log, err)
		}
	}
	return err
}

// runServer opens the store and serves until ctx is done, as a sandbox
// (sandbox.go) when sb is not nil. Tracing, when configured, goes to its
// exporter (console spans to stdout); the spans left are flushed after the
// HTTP server has stopped.
func runServer(ctx context.Context, o options, sf *serverFlags, log *slog.Logger, stdout io.Writer, sb *sandboxServer) error {
	limits, timeouts, pprofAddr, ttl, tracing := sf.limits, sf.timeouts, *sf.pprofAddr, sf.ttl, sf.tracing
	store, err := openStore(ctx, o)
	if err != nil {
		return err
	}
	defer store.Close()
	if sb != nil {
		if err := sb.load(ctx, store); err != nil {
			return err
		}
	}
	secret, err := resolveSecret(ctx, store, o.secret)
	if err != nil {
		return err
	}
	tp, stopTracing, err := tracing.provider(ctx, buildVersion(), stdout)
	if err != nil {
		return err
	}
	defer func() {
		if err := stopTracing(); err != nil {
			log.Warn("tracing: flush the last spans", "err", err)
		}
	}()
	store.SetTracerProvider(tp)
	cfg := handlers.Config{Secret: secret, DefaultRegion: o.region, Logger: log,
		RateLimit: limits.rate, RateBurst: limits.burst, Version: buildVersion(), RequestTimeout: timeouts.request,
		MaxTokenTTL: ttl.max, TracerProvider: tp}
	var listening []any
	if sb != nil {
		if listening, err = sb.start(store, secret, limits, &cfg); err != nil {
			return err
		}
	}
	e, err := handlers.New(store, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Header fields up to handlers.MaxHeaderBytes reach e, which answers a
	// JSON:API 431 above it; beyond HTTPMaxHeaderBytes Go answers itself.
	// "OPTIONS *" goes to e too (a JSON:API 404) rather than to Go's 200.
	srv := &http.Server{Handler: e, MaxHeaderBytes: handlers.HTTPMaxHeaderBytes, DisableGeneralOptionsHandler: true}
	timeouts.apply(srv)
	if pprofAddr != "" {
		addr, stop, err := startPprof(pprofAddr, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
		log.Info("profiler listening", "addr", "http://"+addr+"/debug/pprof/")
	}
	if sb != nil {
		listening = append(listening, "reset", "POST http://"+ln.Addr().String()+"/sandbox/reset")
	}
	log.Info("listening", append([]any{"addr", "http://" + ln.Addr().String(), "db", displayDB(o.dbPath), "version", buildVersion(),
		"tracing", tracing.describe()}, listening...)...)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), timeouts.grace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

func token(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlags("token", getenv, stderr, &o, "db", "secret")
	user := fs.String("user", "", "user id (UUID); a new one when empty")
	ttl := fs.Duration("ttl", 720*time.Hour, "how long the token is valid (whole seconds); at most --max-token-ttl")
	maxTTL := addMaxTokenTTLFlag(fs, getenv) // tokens.go
	if help, err := parse(fs, args, &o, stdout); help || err != nil {
		return err
	}
	if err := maxTTL.check(fs); err != nil {
		return err
	}
	if *user == "" {
		*user = uuid.NewString()
	}
	if *ttl < time.Second {
		return &usageError{msg: "token: --ttl must be at least 1s"}
	}
	if *ttl > maxTTL.max {
		return &usageError{msg: fmt.Sprintf("token: --ttl %s is longer than the maximum token lifetime %s, "+
			"so serve would refuse the token; shorten --ttl or raise --max-token-ttl (on serve too)", *ttl, maxTTL.max)}
	}
	var secret []byte
	if o.secret != "" {
		secret = []byte(o.secret)
	} else {
		store, err := openStore(ctx, o)
		if err != nil {
			return err
		}
		defer store.Close()
		if secret, err = resolveSecret(ctx, store, ""); err != nil {
			return err
		}
	}
	tok, err := handlers.IssueToken(secret, *user, *ttl, time.Now())
	if err != nil {
		return &usageError{msg: "token: " + err.Error()}
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlags("migrate", getenv, stderr, &o, "db", "pool")
	if help, err := parse(fs, args, &o, stdout); help || err != nil {
		return err
	}
	store, err := openStore(ctx, o)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(stdout, "migrated %s\n", displayDB(o.dbPath))
	return nil
}

// displayDB returns dsn for logs and messages: a PostgreSQL URL without
// its password.
func displayDB(dsn string) string {
	if !db.IsPostgresURL(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "(PostgreSQL URL)"
	}
	return u.Redacted()
}

func seed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlags("seed", getenv, stderr, &o, "db", "pool")
	contacts := fs.Int("contacts", 1000, "contacts to create")
	people := fs.Int("people-per-contact", 2, "people per contact")
	phones := fs.Int("phones-per-person", 3, "phones per person")
	user := fs.String("user", "", "owner's user id (UUID); a new one when empty")
	if help, err := parse(fs, args, &o, stdout); help || err != nil {
		return err
	}
	if *contacts < 1 || *people < 0 || *phones < 0 {
		return &usageError{msg: "seed: --contacts must be at least 1, the others at least 0"}
	}
	if *user == "" {
		*user = uuid.NewString()
	}
	if _, err := uuid.Parse(*user); err != nil {
		return &usageError{msg: fmt.Sprintf("seed: --user %q is not a uuid", *user)}
	}
	store, err := openStore(ctx, o)
	if err != nil {
		return err
	}
	defer store.Close()
	accountList, err := store.EnsureUser(ctx, *user)
	if err != nil {
		return err
	}
	start := time.Now()
	last := start
	res, err := store.Seed(ctx, db.SeedOptions{
		AccountListID:    accountList,
		Contacts:         *contacts,
		PeoplePerContact: *people,
		PhonesPerPerson:  *phones,
		Progress: func(done, total int) {
			if now := time.Now(); now.Sub(last) >= time.Second || done == total {
				last = now
				fmt.Fprintf(stderr, "seed: %d/%d phones (%.0f%%), %s\n", done, total,
					100*float64(done)/float64(max(total, 1)), now.Sub(start).Round(100*time.Millisecond))
			}
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d contacts, %d people, %d phones for user %s in %s\n",
		res.Contacts, res.People, res.Phones, strings.ToLower(*user), time.Since(start).Round(time.Millisecond))
	return nil
}

// stdin is import's default input; tests replace it.
var stdin io.Reader = os.Stdin

func exportData(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlags("export", getenv, stderr, &o, "db", "pool")
	out := fs.String("out", "-", "file to write the export to; - for standard output")
	if help, err := parse(fs, args, &o, stdout); help || err != nil {
		return err
	}
	if !db.IsPostgresURL(o.dbPath) {
		// Opening a SQLite path creates the file: a typo must not export
		// an empty database.
		if _, err := os.Stat(strings.TrimPrefix(o.dbPath, "sqlite:")); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	store, err := openStore(ctx, o)
	if err != nil {
		return err
	}
	defer store.Close()
	w, summary, dest := stdout, stderr, "standard output" // the summary must not end up in the export
	var f *os.File
	if *out != "-" {
		if f, err = os.Create(*out); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		w, summary, dest = f, stdout, *out
	}
	p := newProgress("export", stderr)
	res, err := store.Export(ctx, w, p.report)
	if f != nil {
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(*out) // no partial export
		}
	}
	if err != nil {
		return err
	}
	elapsed := p.done(res.Rows)
	fmt.Fprintf(summary, "exported %d rows (%s) from %s to %s in %s\n",
		res.Rows, res.Summary(), displayDB(o.dbPath), dest, elapsed.Round(time.Millisecond))
	return nil
}

func importData(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlags("import", getenv, stderr, &o, "db", "pool")
	in := fs.String("in", "-", "export file to read; - for standard input")
	if help, err := parse(fs, args, &o, stdout); help || err != nil {
		return err
	}
	r, src := stdin, "standard input"
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		r, src = f, *in
	}
	store, err := openStore(ctx, o)
	if err != nil {
		return err
	}
	defer store.Close()
	p := newProgress("import", stderr)
	res, err := store.Import(ctx, r, p.report)
	if err != nil {
		return err
	}
	elapsed := p.done(res.Rows)
	fmt.Fprintf(stdout, "imported %d rows (%s) from %s into %s in %s\n",
		res.Rows, res.Summary(), src, displayDB(o.dbPath), elapsed.Round(time.Millisecond))
	return nil
}

// progress prints the rows an export or import has done on stderr, at
// most once a second, and a last line at the end.
type progress struct {
	cmd         string
	w           io.Writer
	start, last time.Time
}

func newProgress(cmd string, w io.Writer) *progress {
	now := time.Now()
	return &progress{cmd: cmd, w: w, start: now, last: now}
}

func (p *progress) report(rows int) {
	if now := time.Now(); now.Sub(p.last) >= time.Second {
		p.last = now
		p.print(rows, now.Sub(p.start), ",")
	}
}

// done prints the last line and returns the time taken.
func (p *progress) done(rows int) time.Duration {
	elapsed := time.Since(p.start)
	p.print(rows, elapsed, " done,")
	return elapsed
}

func (p *progress) print(rows int, elapsed time.Duration, sep string) {
	fmt.Fprintf(p.w, "%s: %d rows%s %s, %.0f rows/s\n", p.cmd, rows, sep,
		elapsed.Round(100*time.Millisecond), float64(rows)/max(elapsed.Seconds(), 1e-3))
}
