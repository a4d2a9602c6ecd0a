package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/handlers"
)

// `phoneapi sandbox` is serve on a new temporary SQLite database loaded
// with a fixture (an export, see db.ReadFixture), for contract tests and
// front-end development: known data, POST /sandbox/reset to restore it
// between tests, tokens for its users printed at start. The database is a
// file in a new temporary directory, removed on exit, start-up failures
// included.
//
// Exit codes: 2 for every problem of the fixture (unreadable file, a bad
// line, a row the database refuses: all name the line), like every
// setting refused before serving; 1 for the rest, as serve.

// defaultFixture is the built-in example fixture (README "Sandbox" lists
// what it holds); TestDefaultFixture checks it is what
// writeDefaultFixture generates.
//
//go:embed sandbox/fixture.jsonl
var defaultFixture []byte

// defaultFixtureName names the built-in fixture in messages.
const defaultFixtureName = "built-in example"

// defaultSandboxTokenTTL is how long the printed tokens are valid for.
const defaultSandboxTokenTTL = 24 * time.Hour

// sandboxServer is what runServer needs to be a sandbox.
type sandboxServer struct {
	fixture    *db.Fixture
	name       string        // the fixture file, or defaultFixtureName
	flag, env  string        // where name came from, for errors
	tokenTTL   time.Duration // of the printed tokens
	stdout     io.Writer     // the token lines
	secretFrom string        // "--jwt-secret" or ""
	det        *detOptions   // --deterministic and its settings

	// onReset runs after each successful restore, inside the reset
	// request, in order (e.g. to rewind generators); an error fails the
	// reset (500) though the data is restored.
	onReset []func(ctx context.Context) error
}

func sandbox(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o options
	fs := newFlags("sandbox", getenv, stderr, &o, "addr", "secret", "region")
	sf := addServerFlags(fs, getenv, 0) // run.go: the rate limit is off by default
	fixtures := fs.String("fixtures", getenv("PHONEAPI_FIXTURES"),
		"export file to load, and restore on POST /sandbox/reset; - for standard input (env PHONEAPI_FIXTURES; default: the built-in example)")
	tokenTTL := defaultSandboxTokenTTL
	var tokenTTLErr error
	if v := getenv("PHONEAPI_TOKEN_TTL"); v != "" {
		if err := setPositiveDuration(&tokenTTL, v); err != nil {
			tokenTTLErr = configError("sandbox", "token-ttl", "PHONEAPI_TOKEN_TTL", v, err.Error())
		}
	}
	fs.Func("token-ttl", fmt.Sprintf("how long the printed tokens are valid for; at most --max-token-ttl (env PHONEAPI_TOKEN_TTL; default %s)", defaultSandboxTokenTTL), func(v string) error {
		tokenTTLErr = nil
		return setPositiveDuration(&tokenTTL, v)
	})
	det := addDeterministicFlags(fs, getenv) // deterministic.go
	if help, err := parse(fs, args, &o, stdout); help || err != nil {
		return err
	}
	if err := det.check(fs); err != nil {
		return err
	}
	if tokenTTLErr != nil {
		return tokenTTLErr
	}
	if err := sf.check("sandbox", fs, getenv); err != nil {
		return err
	}
	if tokenTTL < time.Second || tokenTTL > sf.ttl.max {
		return configError("sandbox", "token-ttl", "PHONEAPI_TOKEN_TTL", tokenTTL.String(),
			fmt.Sprintf("must be between 1s and the maximum token lifetime %s (--max-token-ttl)", sf.ttl.max))
	}
	sb := &sandboxServer{name: defaultFixtureName, flag: "fixtures", env: "PHONEAPI_FIXTURES", tokenTTL: tokenTTL, stdout: stdout, det: det}
	if o.secret != "" {
		sb.secretFrom = "--jwt-secret"
	}
	var in io.Reader = bytes.NewReader(defaultFixture)
	switch *fixtures {
	case "":
	case "-":
		in, sb.name = stdin, "standard input"
	default:
		f, err := os.Open(*fixtures)
		if err != nil {
			return configError("sandbox", "fixtures", "PHONEAPI_FIXTURES", *fixtures, "cannot be read: "+errors.Unwrap(err).Error())
		}
		defer f.Close()
		in, sb.name = f, *fixtures
	}
	f, err := db.ReadFixture(in)
	if err != nil {
		return sb.fixtureError(err)
	}
	sb.fixture = f

	dir, err := os.MkdirTemp("", "phoneapi-sandbox-")
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer os.RemoveAll(dir)
	o.dbPath = filepath.Join(dir, "sandbox.db")
	// Throwaway data: commits need not survive a power loss.
	o.sqlite.Synchronous = "normal"

	return sf.serve(ctx, o, stdout, stderr, sb)
}

// fixtureError is a problem of the fixture, err naming the line: a usage
// error (exit 2) naming the file.
func (sb *sandboxServer) fixtureError(err error) error {
	return &usageError{msg: fmt.Sprintf("sandbox: --%s / %s: fixture %s: %v", sb.flag, sb.env, sb.name, err), cmd: "sandbox"}
}

// load writes the fixture into the new database; a row the database
// refuses is a fixtureError naming its line.
func (sb *sandboxServer) load(ctx context.Context, store *db.Store) error {
	if _, err := store.Restore(ctx, sb.fixture); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return sb.fixtureError(err)
	}
	return nil
}

// start prints a line per fixture user with a token signed with secret,
// sets cfg's reset (and, with --deterministic, makes store and cfg
// deterministic), and returns the attributes of the "listening" log line.
func (sb *sandboxServer) start(store *db.Store, secret []byte, limits *limitOptions, cfg *handlers.Config) ([]any, error) {
	now := time.Now()
	users := sb.fixture.Users()
	for _, u := range users {
		tok, err := handlers.IssueToken(secret, u.ID, sb.tokenTTL, now)
		if err != nil {
			return nil, sb.fixtureError(fmt.Errorf("user %s: %w", u.ID, err))
		}
		fmt.Fprintf(sb.stdout, "user %s account_list %s (%d contacts, %d people, %d phones) token %s\n",
			u.ID, u.AccountListID, u.Contacts, u.People, u.Phones, tok)
	}
	if len(users) == 0 {
		// Still a token: its user is created, empty, on first use.
		id := uuid.NewString()
		tok, err := handlers.IssueToken(secret, id, sb.tokenTTL, now)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(sb.stdout, "user %s account_list - (the fixture has no users: created empty on first use) token %s\n", id, tok)
	}
	rate := "off"
	if limits.rate > 0 {
		rate = fmt.Sprintf("%g/s per user, burst %d", limits.rate, limits.burst)
	}
	secretFrom := sb.secretFrom
	if secretFrom == "" {
		if _, ok := sb.fixture.Setting(secretKey); ok {
			secretFrom = "fixture"
		} else {
			secretFrom = "generated"
		}
	}
	var detAttrs []any
	if sb.det != nil {
		var rewind func(context.Context) error
		if rewind, detAttrs = sb.det.apply(store, cfg, sb.fixture); rewind != nil {
			sb.onReset = append(sb.onReset, rewind)
		}
	}
	cfg.Reset = func(ctx context.Context) (map[string]int, error) {
		res, err := store.Restore(ctx, sb.fixture)
		if err != nil {
			return nil, err
		}
		for _, hook := range sb.onReset {
			if err := hook(ctx); err != nil {
				return nil, err
			}
		}
		delete(res.Tables, "settings") // never restored: the secret stays
		return res.Tables, nil
	}
	return append([]any{"sandbox", true, "fixtures", sb.name, "users", len(users),
		"rate_limit", rate, "jwt_secret", secretFrom, "token_ttl", sb.tokenTTL.String()}, detAttrs...), nil
}
