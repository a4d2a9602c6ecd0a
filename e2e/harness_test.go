// Package e2e drives a real phoneapi server through the Go client that
// oapi-codegen generates from openapi.yaml (generated/client).
//
// By default TestMain builds cmd/phoneapi into a temporary directory (with
// -race when the tests run with -race), starts `phoneapi serve` on a free
// loopback port and a fresh database, waits until GET /readyz answers 200,
// mints tokens with `phoneapi token`, and at the end stops it with SIGTERM
// and requires exit status 0. With -short no server is started and the
// tests skip.
//
// With PHONEAPI_E2E_URL set the tests target that server instead (make contract
// points it at a Prism proxy in front of a real server): PHONEAPI_E2E_TOKEN is
// then required, and PHONEAPI_E2E_TOKEN_B (another user's token) enables the
// 403 checks. PHONEAPI_E2E_PRISM=1 says the target is a Prism proxy that
// validates requests: the few requests that break openapi.yaml on purpose (no
// token, a wrong data.type) are then skipped, because Prism answers them
// itself instead of forwarding them. Every response is checked for Prism's
// sl-violations header, and every request body for the JSON:API media type.
//
// This file is the home of the helpers the tests share: the server under
// test (target), starting servers of a test's own (serve, servePair, on
// cmd/childproc), tokens and secrets, the checking client, the status and
// error checks, and creating contacts, people and phones. A helper that one
// file uses stays in that file.
package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/phoneapi/phoneapi/cmd/childproc"
	"github.com/phoneapi/phoneapi/db/dbtest"
	"github.com/phoneapi/phoneapi/db/pgtest"
	"github.com/phoneapi/phoneapi/generated/client"
)

const mediaType = "application/vnd.api+json"

// target is the server under test, set up by TestMain.
var target struct {
	url    string // base URL, e.g. http://127.0.0.1:43583
	token  string // user A
	tokenB string // user B; empty when not available (403 checks are skipped)
	prism  bool   // the target validates requests against openapi.yaml
}

// serverBin is the phoneapi binary TestMain built, for tests that start
// servers of their own; "" when it built none (PHONEAPI_E2E_URL or -short).
var serverBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if u := os.Getenv("PHONEAPI_E2E_URL"); u != "" {
		target.url = strings.TrimRight(u, "/")
		target.token = os.Getenv("PHONEAPI_E2E_TOKEN")
		target.tokenB = os.Getenv("PHONEAPI_E2E_TOKEN_B")
		target.prism = os.Getenv("PHONEAPI_E2E_PRISM") == "1"
		if target.token == "" {
			fmt.Fprintln(os.Stderr, "e2e: PHONEAPI_E2E_URL is set but PHONEAPI_E2E_TOKEN is not")
			return 1
		}
		fmt.Fprintf(os.Stderr, "e2e: targeting %s\n", target.url)
		return m.Run()
	}

	flag.Parse()
	if testing.Short() {
		fmt.Fprintln(os.Stderr, "e2e: -short: not starting a server; the tests skip")
		return m.Run()
	}

	dir, err := os.MkdirTemp("", "phoneapi-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	srv, err := startTarget(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		if srv != nil {
			fmt.Fprintf(os.Stderr, "e2e: server log:\n%s", srv.log())
		}
		return 1
	}
	code := m.Run()
	if err := srv.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		fmt.Fprintf(os.Stderr, "e2e: server log:\n%s", srv.log())
		return 1
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: server log:\n%s", srv.log())
	}
	return code
}

// startTarget builds the binary into dir, starts it with a database in
// dir, and mints the tokens of users A and B. The server it returns on an
// error, if any, is stopped; its log says why.
func startTarget(dir string) (*server, error) {
	bin := filepath.Join(dir, "phoneapi")
	var flags []string
	if raceEnabled {
		flags = append(flags, "-race")
	}
	if err := childproc.Build(bin, flags...); err != nil {
		return nil, err
	}
	serverBin = bin
	dbPath := filepath.Join(dir, "e2e.db")
	s, err := launch(dir, "server", "--db", dbPath)
	if err != nil {
		return s, err
	}
	target.url = s.URL

	// The server generated the JWT secret and kept it in the database on
	// start; `phoneapi token --db` signs with the same secret.
	for _, tok := range []*string{&target.token, &target.tokenB} {
		if *tok, err = mintToken("--db", dbPath); err != nil {
			_ = s.stop()
			return nil, err
		}
	}
	return s, nil
}

// readyWithin bounds how long a server may take to answer GET /readyz
// with 200 after its start (a -race binary migrating a new database).
const readyWithin = 60 * time.Second

// server is a `phoneapi serve` child process of the tests.
type server struct {
	*childproc.Server
	name    string // "server", "process A", "restarted server", ...
	stopped bool   // stop was called (by the test; else the cleanup calls it)
}

// log is everything the server logged so far.
func (s *server) log() string {
	b, err := os.ReadFile(s.Log)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// launch starts `phoneapi serve` with args on a loopback port of its own and the
// test's clean environment, logging to a file in dir, and waits until GET
// /readyz answers 200. On an error the server, if it started, is returned
// stopped.
func launch(dir, name string, args ...string) (*server, error) {
	logPath := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".log")
	cs, err := childproc.Serve(serverBin, cleanEnv(), logPath, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s := &server{Server: cs, name: name}
	if err := cs.WaitReady(cs.URL+"/readyz", "", readyWithin); err != nil {
		s.stopped = true
		_ = s.Stop()
		return s, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// stop sends SIGTERM and requires a clean exit: status 0 within 20 s, after
// logging "stopped".
func (s *server) stop() error {
	s.stopped = true
	if err := s.Stop(); err != nil {
		return fmt.Errorf("%s did not exit cleanly after SIGTERM: %w", s.name, err)
	}
	if !strings.Contains(s.log(), `"msg":"stopped"`) {
		return fmt.Errorf(`%s exited 0 without logging "stopped"`, s.name)
	}
	return nil
}

// serve starts one `phoneapi serve` with args (see servers).
func serve(t *testing.T, name string, args ...string) *server {
	t.Helper()
	return servers(t, []string{name}, args...)[0]
}

// servePair starts two `phoneapi serve` processes, A and B, at the same
// moment with the same args (see servers).
func servePair(t *testing.T, args ...string) [2]*server {
	t.Helper()
	s := servers(t, []string{"process A", "process B"}, args...)
	return [2]*server{s[0], s[1]}
}

// servers starts one `phoneapi serve` per name at the same moment, each
// with args on a free loopback port, and waits until all are ready. A
// cleanup stops any the test did not (requiring a clean exit) and prints
// their logs when the test failed.
func servers(t *testing.T, names []string, args ...string) []*server {
	t.Helper()
	needServerBin(t)
	dirs := make([]string, len(names))
	for i := range dirs {
		dirs[i] = t.TempDir()
	}
	type started struct {
		s   *server
		err error
	}
	res := dbtest.Together(len(names), func(i int) started {
		s, err := launch(dirs[i], names[i], args...)
		return started{s, err}
	})
	out := make([]*server, len(res))
	for i, r := range res {
		out[i] = r.s
		if r.s == nil {
			continue
		}
		t.Cleanup(func() {
			if !r.s.stopped {
				if err := r.s.stop(); err != nil {
					t.Error(err)
				}
			}
			if t.Failed() {
				t.Logf("%s log (last 64 KiB):\n%s", r.s.name, tail(r.s.log(), 64<<10))
			}
		})
	}
	for _, r := range res {
		if r.err != nil {
			t.Fatal(r.err)
		}
	}
	return out
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// needServerBin skips a test that starts servers of its own when TestMain
// built no binary.
func needServerBin(t *testing.T) {
	t.Helper()
	if serverBin == "" {
		t.Skip("no phoneapi binary built (PHONEAPI_E2E_URL or -short): the test starts servers of its own")
	}
}

// skipUnlessCI skips t, or fails it when the environment variable CI is set:
// CI must run every part of the test.
func skipUnlessCI(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI must run this test: "+format, args...)
	}
	t.Skipf(format, args...)
}

// nodeOrSkip returns the path of node, or skips t (fails under CI) when
// Node.js is not on PATH.
func nodeOrSkip(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipUnlessCI(t, "no node on PATH (Node.js 20+ is needed, as for `make tools`): %v", err)
	}
	return node
}

// runTool runs cmd, made with ctx, and returns its trimmed combined
// output; it fails t, with the output, when cmd fails, when ctx ends first
// (limit names the limit in the message) or when the output lacks summary,
// the line a script prints when everything held.
func runTool(t *testing.T, ctx context.Context, limit, what, summary string, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	output := strings.TrimSpace(string(out))
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s did not finish within %s; output:\n%s", what, limit, output)
	case errors.As(err, &exit):
		t.Fatalf("%s: exit status %d; output:\n%s", what, exit.ExitCode(), output)
	case err != nil:
		t.Fatalf("%s: %v; output:\n%s", what, err, output)
	case summary != "" && !strings.Contains(output, summary):
		t.Fatalf("%s exited 0 without its summary %q; output:\n%s", what, summary, output)
	}
	return output
}

// forEachEngine runs f as a subtest per engine: on a new SQLite file
// named file, then on a throwaway PostgreSQL database (see pgtest).
func forEachEngine(t *testing.T, file string, f func(t *testing.T, engine, dsn string)) {
	needServerBin(t)
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			var dsn string
			if engine == "sqlite" {
				dsn = filepath.Join(t.TempDir(), file)
			} else {
				dsn = pgtest.Database(t, "replica test", "phoneapi_e2e_replicas")
			}
			f(t, engine, dsn)
		})
	}
}

// cleanEnv is the test's environment without PHONEAPI_* settings, so the
// child process uses only the flags given here.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PHONEAPI_") {
			env = append(env, kv)
		}
	}
	return env
}

// mintToken runs `phoneapi token args... --ttl 1h` and returns the token.
func mintToken(args ...string) (string, error) {
	cmd := exec.Command(serverBin, append(append([]string{"token"}, args...), "--ttl", "1h")...)
	cmd.Env = cleanEnv()
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("phoneapi token: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// newToken mints a token for user (uuid.NewString() for a new one) signed
// with secret; no database is needed.
func newToken(t *testing.T, secret, user string) string {
	t.Helper()
	tok, err := mintToken("--jwt-secret", secret, "--user", user)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// newSecret returns a new random JWT secret.
func newSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// checkingDoer is the generated client's HTTP doer. It fails the test when a
// request body is not sent as JSON:API, when a response carries Prism's
// sl-violations header (a request or response that breaks openapi.yaml), or
// when a response body is not JSON:API.
type checkingDoer struct {
	t  *testing.T
	hc *http.Client
}

func (d checkingDoer) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		if ct := req.Header.Get("Content-Type"); ct != mediaType {
			d.t.Errorf("%s %s: request Content-Type %q, want %q", req.Method, req.URL.Path, ct, mediaType)
		}
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if v := resp.Header.Values("sl-violations"); len(v) > 0 {
		d.t.Errorf("%s %s: %d: Prism reports contract violations: %s", req.Method, req.URL.RequestURI(), resp.StatusCode, strings.Join(v, "; "))
	}
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, mediaType) {
			d.t.Errorf("%s %s: %d: response Content-Type %q, want %q", req.Method, req.URL.RequestURI(), resp.StatusCode, ct, mediaType)
		}
	}
	return resp, nil
}

// newClient returns a generated client of the server under test that sends
// token (none when empty). It skips the test when there is no server
// (-short).
func newClient(t *testing.T, token string) *client.ClientWithResponses {
	t.Helper()
	if target.url == "" {
		t.Skip("no server under test (-short)")
	}
	return clientAt(t, target.url, token, &http.Client{Timeout: 30 * time.Second})
}

// clientAt is a generated client of the server at baseURL that sends token
// (none when empty) through hc and checkingDoer.
func clientAt(t *testing.T, baseURL, token string, hc *http.Client) *client.ClientWithResponses {
	t.Helper()
	opts := []client.ClientOption{client.WithHTTPClient(checkingDoer{t: t, hc: hc})}
	if token != "" {
		opts = append(opts, client.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
	}
	c, err := client.NewClientWithResponses(baseURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// response is what every generated *Response type has.
type response interface {
	StatusCode() int
	GetBody() []byte
}

// wantStatus fails the test now unless r has the status code want.
func wantStatus(t *testing.T, what string, r response, err error, want int) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if r.StatusCode() != want {
		t.Fatalf("%s: status %d, want %d; body: %s", what, r.StatusCode(), want, r.GetBody())
	}
}

// wantError checks a decoded JSON:API error document: its first error's status
// and title must match code and, when pointer is not empty, its source.pointer
// must be pointer. It returns that error.
func wantError(t *testing.T, what string, doc *client.ErrorDocument, code int, pointer string) client.Error {
	t.Helper()
	if doc == nil || len(doc.Errors) == 0 {
		t.Fatalf("%s: no decoded error document", what)
	}
	e := doc.Errors[0]
	if e.Status != fmt.Sprint(code) || e.Title != http.StatusText(code) {
		t.Errorf("%s: error status %q title %q, want %q %q", what, e.Status, e.Title, fmt.Sprint(code), http.StatusText(code))
	}
	if pointer != "" {
		if e.Source == nil || e.Source.Pointer == nil || *e.Source.Pointer != pointer {
			t.Errorf("%s: error source %+v, want pointer %q", what, e.Source, pointer)
		}
	}
	return e
}

// want503 checks a 503 answer: Retry-After in whole seconds, and a
// JSON:API error document with status "503".
func want503(t *testing.T, what string, resp *http.Response, body []byte, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("%s: status %d, want 503; body %s", what, resp.StatusCode, body)
		return
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("%s: Retry-After %q, want whole seconds ≥ 1", what, resp.Header.Get("Retry-After"))
	}
	var doc client.ErrorDocument
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Errors) != 1 || doc.Errors[0].Status != "503" {
		t.Errorf("%s: body %s, want one JSON:API error with status \"503\" (%v)", what, body, err)
	}
}

// specInvalid reports whether a check that sends a request openapi.yaml
// forbids must be skipped: a validating proxy answers such requests itself.
func specInvalid(t *testing.T, what string) bool {
	t.Helper()
	if target.prism {
		t.Logf("skipped through Prism (the request breaks openapi.yaml on purpose): %s", what)
	}
	return target.prism
}

// sparseUnchecked reports whether a read with fields[...] must be sent
// without them: the spec's response schemas describe the full documents
// (a sparse one is that document less the members not listed), and a
// validating proxy checks a sparse response against them.
func sparseUnchecked(t *testing.T, what string) bool {
	t.Helper()
	if target.prism {
		t.Logf("without fields[...] through Prism (it checks a sparse response against the full schema): %s", what)
	}
	return target.prism
}

// newContact creates a contact named name through c and returns its id.
func newContact(t *testing.T, c *client.ClientWithResponses, name string) uuid.UUID {
	t.Helper()
	body := client.ContactCreateDocument{}
	body.Data.Type = "contacts"
	body.Data.Attributes.Name = name
	r, err := c.CreateContactWithApplicationVndAPIPlusJSONBodyWithResponse(context.Background(), nil, body)
	wantStatus(t, "create contact "+name, r, err, http.StatusCreated)
	return uuid.MustParse(r.ApplicationvndApiJSON201.Data.Id)
}

// newPerson creates a person of contact cid through c and returns its id.
func newPerson(t *testing.T, c *client.ClientWithResponses, cid uuid.UUID, name string) uuid.UUID {
	t.Helper()
	body := client.PersonCreateDocument{}
	body.Data.Type = "people"
	body.Data.Attributes.FirstName = name
	r, err := c.CreatePersonWithApplicationVndAPIPlusJSONBodyWithResponse(context.Background(), cid, nil, body)
	wantStatus(t, "create person "+name, r, err, http.StatusCreated)
	return uuid.MustParse(r.ApplicationvndApiJSON201.Data.Id)
}

// newPhone creates a phone through c and returns it.
func newPhone(t *testing.T, c *client.ClientWithResponses, cid, pid uuid.UUID, number string) client.PhoneResource {
	t.Helper()
	body := client.PhoneCreateDocument{}
	body.Data.Type = "phone_numbers"
	body.Data.Attributes.Number = rawString(number)
	r, err := c.CreatePhoneWithApplicationVndAPIPlusJSONBodyWithResponse(context.Background(), cid, pid, nil, body)
	wantStatus(t, "create phone "+number, r, err, http.StatusCreated)
	return r.ApplicationvndApiJSON201.Data
}

// postPhone sends the POST of a phone with number and, when not empty,
// location and source set to it; id is the new phone's on a 201.
func postPhone(ctx context.Context, c *client.ClientWithResponses, cid, pid uuid.UUID, number, location string) (resp *http.Response, body []byte, id string, err error) {
	doc := client.PhoneCreateDocument{}
	doc.Data.Type = "phone_numbers"
	doc.Data.Attributes.Number = rawString(number)
	if location != "" {
		doc.Data.Attributes.Location = nullable.NewNullableWithValue(location)
		doc.Data.Attributes.Source = ptr(location)
	}
	r, err := c.CreatePhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, nil, doc)
	if err != nil {
		return nil, nil, "", err
	}
	if r.ApplicationvndApiJSON201 != nil {
		id = r.ApplicationvndApiJSON201.Data.Id
	}
	return r.HTTPResponse, r.Body, id, nil
}

// locationUpdate is the document of an update of a phone's location.
func locationUpdate(location string) client.PhoneUpdateDocument {
	body := client.PhoneUpdateDocument{}
	body.Data.Type = "phone_numbers"
	body.Data.Attributes.Location = nullable.NewNullableWithValue(location)
	return body
}

// patchLocation sends the PATCH of phone id's location (overwrite: true,
// no precondition) through c and returns the answer.
func patchLocation(ctx context.Context, c *client.ClientWithResponses, cid, pid, id uuid.UUID, location string) (*http.Response, []byte, error) {
	body := locationUpdate(location)
	body.Data.Attributes.Overwrite = ptr(true)
	r, err := c.PatchPhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, id, nil, body)
	if err != nil {
		return nil, nil, err
	}
	return r.HTTPResponse, r.Body, nil
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// rawString is a JSON string, for the json.RawMessage number inputs.
func rawString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
