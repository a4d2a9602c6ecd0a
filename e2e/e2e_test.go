// Package e2e drives a real phoneapi server through the Go client that
// oapi-codegen generates from openapi.yaml (generated/client).
//
// By default TestMain builds cmd/phoneapi into a temporary directory (with
// -race when the tests run with -race), starts `phoneapi serve --addr
// 127.0.0.1:0` on a fresh database, learns the port from its "listening" log
// line, mints tokens with `phoneapi token`, and at the end stops it with
// SIGTERM and requires exit status 0. With -short no server is started and
// the tests skip.
//
// With PHONEAPI_E2E_URL set the tests target that server instead (make contract
// points it at a Prism proxy in front of a real server): PHONEAPI_E2E_TOKEN is
// then required, and PHONEAPI_E2E_TOKEN_B (another user's token) enables the
// 403 checks. PHONEAPI_E2E_PRISM=1 says the target is a Prism proxy that
// validates requests: the few requests that break openapi.yaml on purpose (no
// token, a wrong data.type) are then skipped, because Prism answers them
// itself instead of forwarding them. Every response is checked for Prism's
// sl-violations header, and every request body for the JSON:API media type.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

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

	srv, err := startServer(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
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

// server is a phoneapi child process.
type server struct {
	cmd  *exec.Cmd
	done chan error // the result of cmd.Wait

	mu     sync.Mutex
	stderr bytes.Buffer // everything the server logged
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// startServer builds the binary into dir, starts it on a free loopback port
// with a database in dir, and mints the tokens of users A and B.
func startServer(dir string) (*server, error) {
	bin := filepath.Join(dir, "phoneapi")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "github.com/phoneapi/phoneapi/cmd/phoneapi")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("go build: %w", err)
	}
	serverBin = bin
	dbPath := filepath.Join(dir, "e2e.db")
	env := cleanEnv()

	s, addrc, err := spawn(bin, "serve", "--addr", "127.0.0.1:0", "--db", dbPath)
	if err != nil {
		return nil, err
	}
	select {
	case target.url = <-addrc:
	case err := <-s.done:
		return nil, fmt.Errorf("server exited before listening (%v):\n%s", err, s.log())
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		return nil, fmt.Errorf("no \"listening\" log line within 30s:\n%s", s.log())
	}

	// The server generated the JWT secret and kept it in the database on
	// start; `phoneapi token --db` signs with the same secret.
	for _, tok := range []*string{&target.token, &target.tokenB} {
		cmd := exec.Command(bin, "token", "--db", dbPath, "--ttl", "1h")
		cmd.Env = env
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			_ = s.stop()
			return nil, fmt.Errorf("phoneapi token: %w", err)
		}
		*tok = strings.TrimSpace(string(out))
	}
	return s, nil
}

// spawn starts `bin args...` with the test's clean environment. It keeps
// reading the process's JSON log lines into s.stderr (so it never blocks on
// a full pipe) and sends the address of the "listening" line on addr.
func spawn(bin string, args ...string) (s *server, addr <-chan string, err error) {
	s = &server{cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	s.cmd.Env = cleanEnv()
	pipe, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	addrc := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		sent := false
		for sc.Scan() {
			line := sc.Bytes()
			s.mu.Lock()
			s.stderr.Write(line)
			s.stderr.WriteByte('\n')
			s.mu.Unlock()
			var rec struct{ Msg, Addr string }
			if !sent && json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
				addrc <- rec.Addr
				sent = true
			}
		}
	}()
	go func() {
		<-copied // Wait must not run before the pipe is drained
		s.done <- s.cmd.Wait()
	}()
	return s, addrc, nil
}

// stop sends SIGTERM and requires a clean exit (status 0) within 20s.
func (s *server) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal server: %w", err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			return fmt.Errorf("server did not exit cleanly after SIGTERM: %w", err)
		}
		if !strings.Contains(s.log(), `"msg":"stopped"`) {
			return errors.New(`server exited 0 without logging "stopped"`)
		}
		return nil
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		return errors.New("server still running 20s after SIGTERM; killed")
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

// newClient returns a generated client that sends token (none when empty).
// It skips the test when there is no server (-short).
func newClient(t *testing.T, token string) *client.ClientWithResponses {
	t.Helper()
	if target.url == "" {
		t.Skip("no server under test (-short)")
	}
	opts := []client.ClientOption{client.WithHTTPClient(checkingDoer{t: t, hc: &http.Client{Timeout: 30 * time.Second}})}
	if token != "" {
		opts = append(opts, client.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
	}
	c, err := client.NewClientWithResponses(target.url, opts...)
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

// specInvalid reports whether a check that sends a request openapi.yaml
// forbids must be skipped: a validating proxy answers such requests itself.
func specInvalid(t *testing.T, what string) bool {
	t.Helper()
	if target.prism {
		t.Logf("skipped through Prism (the request breaks openapi.yaml on purpose): %s", what)
	}
	return target.prism
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

// TestPhoneLifecycle is the main flow: create a contact, a person and two
// phones, list them, update with the updated_in_db_at precondition, get 409
// for a stale precondition and 412 for a stale If-Match, delete, and get 404.
func TestPhoneLifecycle(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, target.token)

	// Contact.
	var contactID string
	{
		body := client.ContactCreateDocument{}
		body.Data.Type = "contacts"
		body.Data.Attributes.Name = "Jane and John Doe"
		r, err := c.CreateContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, nil, body)
		wantStatus(t, "create contact", r, err, http.StatusCreated)
		doc := r.ApplicationvndApiJSON201
		if doc == nil || doc.Data.Type != "contacts" || deref(doc.Data.Attributes.Name) != "Jane and John Doe" {
			t.Fatalf("create contact: body %s", r.Body)
		}
		contactID = doc.Data.Id
		if _, err := uuid.Parse(contactID); err != nil || contactID != strings.ToLower(contactID) {
			t.Errorf("create contact: id %q is not a lower-case UUID", contactID)
		}
		if got, want := r.Headers201.Location, "/api/v2/contacts/"+contactID; got != want {
			t.Errorf("create contact: Location %q, want %q", got, want)
		}
		if r.Headers201.ETag == "" {
			t.Error("create contact: no ETag")
		}
	}
	cid := uuid.MustParse(contactID)

	// Person.
	var personID string
	{
		body := client.PersonCreateDocument{}
		body.Data.Type = "people"
		body.Data.Attributes.FirstName = "Jane"
		body.Data.Attributes.LastName = nullable.NewNullableWithValue("Doe")
		r, err := c.CreatePersonWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, nil, body)
		wantStatus(t, "create person", r, err, http.StatusCreated)
		doc := r.ApplicationvndApiJSON201
		if doc == nil || doc.Data.Type != "people" || deref(doc.Data.Attributes.FirstName) != "Jane" ||
			doc.Data.Attributes.LastName.MustGet() != "Doe" {
			t.Fatalf("create person: body %s", r.Body)
		}
		personID = doc.Data.Id
	}
	pid := uuid.MustParse(personID)

	// Two phones: the first becomes primary, the second is parsed from
	// national UK form with a country code hint.
	createPhone := func(what string, attrs client.PhoneCreateAttributes) client.PhoneResource {
		t.Helper()
		body := client.PhoneCreateDocument{}
		body.Data.Type = "phone_numbers"
		body.Data.Attributes = attrs
		r, err := c.CreatePhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, nil, body)
		wantStatus(t, what, r, err, http.StatusCreated)
		if r.ApplicationvndApiJSON201 == nil || r.ApplicationvndApiJSON201.Data.Type != "phone_numbers" {
			t.Fatalf("%s: body %s", what, r.Body)
		}
		if got, want := r.Headers201.Location, "/api/v2/contacts/"+contactID+"/people/"+personID+"/phones/"+r.ApplicationvndApiJSON201.Data.Id; got != want {
			t.Errorf("%s: Location %q, want %q", what, got, want)
		}
		return r.ApplicationvndApiJSON201.Data
	}
	mobile := createPhone("create mobile phone", client.PhoneCreateAttributes{
		Number:   rawString("(617) 555-1212"),
		Location: nullable.NewNullableWithValue("mobile"),
	})
	work := createPhone("create work phone", client.PhoneCreateAttributes{
		Number:      rawString("020 7946 0958 ext. 12"),
		CountryCode: nullable.NewNullableWithValue(client.CountryCodeInput(`"44"`)),
		Location:    nullable.NewNullableWithValue("work"),
		Source:      ptr("import"),
	})
	if a := mobile.Attributes; deref(a.Number) != "+16175551212" || deref(a.CountryCode) != "1" ||
		!deref(a.Primary) || deref(a.Historic) || a.Location.MustGet() != "mobile" || deref(a.Source) != "MPDX" || !deref(a.ValidValues) {
		t.Errorf("mobile phone attributes: %+v", a)
	}
	if a := work.Attributes; deref(a.Number) != "+442079460958;ext=12" || deref(a.CountryCode) != "44" ||
		deref(a.Primary) || deref(a.Source) != "import" {
		t.Errorf("work phone attributes: %+v", a)
	}
	mobileID, workID := uuid.MustParse(mobile.Id), uuid.MustParse(work.Id)

	// List: both phones, in created_at order; then only the primary one.
	{
		r, err := c.ListPhonesWithResponse(ctx, cid, pid, &client.ListPhonesParams{PerPage: ptr(10)})
		wantStatus(t, "list phones", r, err, http.StatusOK)
		doc := r.ApplicationvndApiJSON200
		if doc == nil || len(doc.Data) != 2 || doc.Data[0].Id != mobile.Id || doc.Data[1].Id != work.Id {
			t.Fatalf("list phones: body %s", r.Body)
		}
		if p := doc.Meta.Pagination; p.Page != 1 || p.PerPage != 10 || p.TotalCount != 2 || p.TotalPages != 1 {
			t.Errorf("list phones: pagination %+v", p)
		}
		if doc.Meta.Sort != "created_at" || doc.Links.Self == "" || doc.Links.Next != nil {
			t.Errorf("list phones: meta %+v links %+v", doc.Meta, doc.Links)
		}

		primary := client.ListPhonesParamsFilterPrimary("true")
		r, err = c.ListPhonesWithResponse(ctx, cid, pid, &client.ListPhonesParams{FilterPrimary: &primary})
		wantStatus(t, "list primary phones", r, err, http.StatusOK)
		if doc := r.ApplicationvndApiJSON200; doc == nil || len(doc.Data) != 1 || doc.Data[0].Id != mobile.Id ||
			doc.Meta.Filter["primary"] != "true" {
			t.Errorf("list primary phones: body %s", r.Body)
		}

		rc, err := c.ListContactsWithResponse(ctx, nil)
		wantStatus(t, "list contacts", rc, err, http.StatusOK)
		if doc := rc.ApplicationvndApiJSON200; doc == nil || len(doc.Data) != 1 || doc.Data[0].Id != contactID {
			t.Errorf("list contacts: body %s", rc.Body)
		}
		rp, err := c.ListPeopleWithResponse(ctx, cid, nil)
		wantStatus(t, "list people", rp, err, http.StatusOK)
		if doc := rp.ApplicationvndApiJSON200; doc == nil || len(doc.Data) != 1 || doc.Data[0].Id != personID {
			t.Errorf("list people: body %s", rp.Body)
		}
	}

	// Update with the precondition: make the work phone primary.
	staleStamp := deref(work.Attributes.UpdatedInDbAt)
	var staleETag, currentETag string
	{
		g, err := c.GetPhoneWithResponse(ctx, cid, pid, workID, nil)
		wantStatus(t, "get work phone", g, err, http.StatusOK)
		staleETag = g.Headers200.ETag

		body := client.PhoneUpdateDocument{}
		body.Data.Type = "phone_numbers"
		body.Data.Attributes.Primary = ptr(true)
		body.Data.Attributes.UpdatedInDbAt = ptr(staleStamp)
		r, err := c.PatchPhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, workID, nil, body)
		wantStatus(t, "update work phone with precondition", r, err, http.StatusOK)
		a := r.ApplicationvndApiJSON200.Data.Attributes
		if !deref(a.Primary) || deref(a.UpdatedInDbAt) <= staleStamp || deref(a.Number) != "+442079460958;ext=12" {
			t.Errorf("update work phone: attributes %+v", a)
		}
		currentETag = r.Headers200.ETag
		if currentETag == "" || currentETag == staleETag {
			t.Errorf("update work phone: ETag %q (was %q)", currentETag, staleETag)
		}

		m, err := c.GetPhoneWithResponse(ctx, cid, pid, mobileID, nil)
		wantStatus(t, "get mobile phone", m, err, http.StatusOK)
		if deref(m.ApplicationvndApiJSON200.Data.Attributes.Primary) {
			t.Error("mobile phone is still primary after the work phone became primary")
		}
	}
	currentStamp := ""
	{
		g, err := c.GetPhoneWithResponse(ctx, cid, pid, workID, &client.GetPhoneParams{IfNoneMatch: &currentETag})
		wantStatus(t, "get work phone with If-None-Match", g, err, http.StatusNotModified)
		g, err = c.GetPhoneWithResponse(ctx, cid, pid, workID, nil)
		wantStatus(t, "get work phone", g, err, http.StatusOK)
		currentStamp = deref(g.ApplicationvndApiJSON200.Data.Attributes.UpdatedInDbAt)
	}

	// A stale updated_in_db_at: 409 naming the stored value; nothing saved.
	{
		body := client.PhoneUpdateDocument{}
		body.Data.Type = "phone_numbers"
		body.Data.Attributes.Location = nullable.NewNullableWithValue("home")
		body.Data.Attributes.UpdatedInDbAt = ptr(staleStamp)
		r, err := c.PutPhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, workID, nil, body)
		wantStatus(t, "update with a stale updated_in_db_at", r, err, http.StatusConflict)
		e := wantError(t, "stale updated_in_db_at", r.ApplicationvndApiJSON409, http.StatusConflict, "/data/attributes/updated_in_db_at")
		if e.Meta == nil || (*e.Meta)["updated_in_db_at"] != currentStamp {
			t.Errorf("stale updated_in_db_at: meta %v, want updated_in_db_at %q", deref(e.Meta), currentStamp)
		}
	}

	// A stale If-Match: 412; nothing saved.
	{
		body := client.PhoneUpdateDocument{}
		body.Data.Type = "phone_numbers"
		body.Data.Attributes.Location = nullable.NewNullableWithValue("home")
		r, err := c.PatchPhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, workID,
			&client.PatchPhoneParams{IfMatch: &staleETag}, body)
		wantStatus(t, "update with a stale If-Match", r, err, http.StatusPreconditionFailed)
		wantError(t, "stale If-Match", r.ApplicationvndApiJSON412, http.StatusPreconditionFailed, "")

		g, err := c.GetPhoneWithResponse(ctx, cid, pid, workID, nil)
		wantStatus(t, "get work phone after the failed updates", g, err, http.StatusOK)
		if a := g.ApplicationvndApiJSON200.Data.Attributes; a.Location.MustGet() != "work" || deref(a.UpdatedInDbAt) != currentStamp {
			t.Errorf("a failed precondition changed the phone: %+v", a)
		}
	}

	// The current If-Match works as the precondition (no updated_in_db_at).
	{
		body := client.PhoneUpdateDocument{}
		body.Data.Type = "phone_numbers"
		body.Data.Attributes.Location = nullable.NewNullableWithValue("office")
		r, err := c.PutPhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, workID,
			&client.PutPhoneParams{IfMatch: &currentETag}, body)
		wantStatus(t, "update with the current If-Match", r, err, http.StatusOK)
		if a := r.ApplicationvndApiJSON200.Data.Attributes; a.Location.MustGet() != "office" {
			t.Errorf("update with If-Match: attributes %+v", a)
		}
		currentETag = r.Headers200.ETag
	}

	// Delete: a stale If-Match is refused, the current one deletes; then 404.
	{
		r, err := c.DeletePhoneWithResponse(ctx, cid, pid, workID, &client.DeletePhoneParams{IfMatch: &staleETag})
		wantStatus(t, "delete work phone with a stale If-Match", r, err, http.StatusPreconditionFailed)
		r, err = c.DeletePhoneWithResponse(ctx, cid, pid, workID, &client.DeletePhoneParams{IfMatch: &currentETag})
		wantStatus(t, "delete work phone", r, err, http.StatusNoContent)
		g, err := c.GetPhoneWithResponse(ctx, cid, pid, workID, nil)
		wantStatus(t, "get deleted phone", g, err, http.StatusNotFound)
		wantError(t, "get deleted phone", g.ApplicationvndApiJSON404, http.StatusNotFound, "")

		// Deleting the primary promoted the remaining phone.
		m, err := c.GetPhoneWithResponse(ctx, cid, pid, mobileID, nil)
		wantStatus(t, "get mobile phone", m, err, http.StatusOK)
		if !deref(m.ApplicationvndApiJSON200.Data.Attributes.Primary) {
			t.Error("the remaining phone was not promoted to primary")
		}
	}

	// Deleting the contact cascades; the tombstones name every deleted row.
	since := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	{
		r, err := c.DeleteContactWithResponse(ctx, cid, nil)
		wantStatus(t, "delete contact", r, err, http.StatusNoContent)
		for what, get := range map[string]func() (response, error){
			"get deleted contact": func() (response, error) { return c.GetContactWithResponse(ctx, cid, nil) },
			"get deleted person":  func() (response, error) { return c.GetPersonWithResponse(ctx, cid, pid, nil) },
			"get cascaded phone":  func() (response, error) { return c.GetPhoneWithResponse(ctx, cid, pid, mobileID, nil) },
		} {
			g, err := get()
			wantStatus(t, what, g, err, http.StatusNotFound)
		}

		dr, err := c.ListDeletedRecordsWithResponse(ctx, &client.ListDeletedRecordsParams{FilterSince: &since, PerPage: ptr(500)})
		wantStatus(t, "list deleted records", dr, err, http.StatusOK)
		got := map[string]string{}
		for _, rec := range dr.ApplicationvndApiJSON200.Data {
			got[deref(rec.Attributes.DeletableId)] = string(deref(rec.Attributes.DeletableType))
		}
		for id, typ := range map[string]string{contactID: "contacts", personID: "people", mobile.Id: "phone_numbers", work.Id: "phone_numbers"} {
			if got[id] != typ {
				t.Errorf("deleted records: %s %s missing (got %v)", typ, id, got)
			}
		}
	}
}

// TestContactAndPersonUpdates covers the contact and person update and delete
// operations, PUT and PATCH, with both kinds of precondition.
func TestContactAndPersonUpdates(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, target.token)

	cb := client.ContactCreateDocument{}
	cb.Data.Type = "contacts"
	cb.Data.Id = ptr(strings.ToUpper(uuid.NewString()))
	cb.Data.Attributes.Name = "Acme Ltd"
	rc, err := c.CreateContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, nil, cb)
	wantStatus(t, "create contact with a client id", rc, err, http.StatusCreated)
	contact := rc.ApplicationvndApiJSON201.Data
	if contact.Id != strings.ToLower(*cb.Data.Id) {
		t.Errorf("client-supplied id: got %q, want %q", contact.Id, strings.ToLower(*cb.Data.Id))
	}
	cid := uuid.MustParse(contact.Id)

	rc2, err := c.CreateContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, nil, cb)
	wantStatus(t, "create contact with an existing id", rc2, err, http.StatusConflict)
	wantError(t, "existing id", rc2.ApplicationvndApiJSON409, http.StatusConflict, "")

	// PUT the contact with updated_in_db_at; then PATCH it with If-Match.
	{
		body := client.ContactUpdateDocument{}
		body.Data.Type = "contacts"
		body.Data.Id = ptr(contact.Id)
		body.Data.Attributes.Name = ptr("Acme Limited")
		body.Data.Attributes.UpdatedInDbAt = contact.Attributes.UpdatedInDbAt
		r, err := c.PutContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, nil, body)
		wantStatus(t, "put contact", r, err, http.StatusOK)
		if deref(r.ApplicationvndApiJSON200.Data.Attributes.Name) != "Acme Limited" {
			t.Errorf("put contact: body %s", r.Body)
		}

		// The same (now stale) precondition again: 409.
		r, err = c.PutContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, nil, body)
		wantStatus(t, "put contact with a stale updated_in_db_at", r, err, http.StatusConflict)
		wantError(t, "stale contact precondition", r.ApplicationvndApiJSON409, http.StatusConflict, "/data/attributes/updated_in_db_at")

		etag := r.HTTPResponse.Header.Get("ETag") // none on errors; fetch it
		g, err := c.GetContactWithResponse(ctx, cid, &client.GetContactParams{FieldsContacts: ptr("name")})
		wantStatus(t, "get contact with a sparse fieldset", g, err, http.StatusOK)
		if a := g.ApplicationvndApiJSON200.Data.Attributes; a.UpdatedInDbAt != nil || deref(a.Name) != "Acme Limited" {
			t.Errorf("sparse fieldset: attributes %+v", a)
		}
		etag = g.Headers200.ETag

		pb := client.ContactUpdateDocument{}
		pb.Data.Type = "contacts"
		pb.Data.Attributes.Name = ptr("Acme plc")
		p, err := c.PatchContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, &client.PatchContactParams{IfMatch: &etag}, pb)
		wantStatus(t, "patch contact with If-Match", p, err, http.StatusOK)
		p, err = c.PatchContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, &client.PatchContactParams{IfMatch: &etag}, pb)
		wantStatus(t, "patch contact with a stale If-Match", p, err, http.StatusPreconditionFailed)

		// overwrite: true needs no precondition.
		ob := client.ContactUpdateDocument{}
		ob.Data.Type = "contacts"
		ob.Data.Attributes.Name = ptr("Acme Group")
		ob.Data.Attributes.Overwrite = ptr(true)
		p, err = c.PatchContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, nil, ob)
		wantStatus(t, "patch contact with overwrite", p, err, http.StatusOK)

		// A wrong data.type: 409.
		if !specInvalid(t, "patch contact with the wrong type") {
			wb := client.ContactUpdateDocument{}
			wb.Data.Type = "people"
			wb.Data.Attributes.Overwrite = ptr(true)
			p, err = c.PatchContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, nil, wb)
			wantStatus(t, "patch contact with the wrong type", p, err, http.StatusConflict)
			wantError(t, "wrong type", p.ApplicationvndApiJSON409, http.StatusConflict, "/data/type")
		}
	}

	// A person: PATCH with updated_in_db_at, PUT with If-Match, delete.
	{
		body := client.PersonCreateDocument{}
		body.Data.Type = "people"
		body.Data.Attributes.FirstName = "Wile"
		r, err := c.CreatePersonWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, nil, body)
		wantStatus(t, "create person", r, err, http.StatusCreated)
		person := r.ApplicationvndApiJSON201.Data
		if !person.Attributes.LastName.IsNull() {
			t.Errorf("create person without last_name: last_name %v, want null", person.Attributes.LastName)
		}
		pid := uuid.MustParse(person.Id)

		ub := client.PersonUpdateDocument{}
		ub.Data.Type = "people"
		ub.Data.Attributes.LastName = nullable.NewNullableWithValue("Coyote")
		ub.Data.Attributes.UpdatedInDbAt = person.Attributes.UpdatedInDbAt
		p, err := c.PatchPersonWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, nil, ub)
		wantStatus(t, "patch person", p, err, http.StatusOK)
		if a := p.ApplicationvndApiJSON200.Data.Attributes; a.LastName.MustGet() != "Coyote" || deref(a.FirstName) != "Wile" {
			t.Errorf("patch person: attributes %+v", a)
		}
		etag := p.Headers200.ETag

		ub2 := client.PersonUpdateDocument{}
		ub2.Data.Type = "people"
		ub2.Data.Attributes.LastName = nullable.NewNullNullable[string]()
		u, err := c.PutPersonWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, &client.PutPersonParams{IfMatch: &etag}, ub2)
		wantStatus(t, "put person with If-Match", u, err, http.StatusOK)
		if !u.ApplicationvndApiJSON200.Data.Attributes.LastName.IsNull() {
			t.Errorf("put person last_name null: body %s", u.Body)
		}
		u, err = c.PutPersonWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, nil, ub2)
		wantStatus(t, "put person without a precondition", u, err, http.StatusConflict)

		d, err := c.DeletePersonWithResponse(ctx, cid, pid, &client.DeletePersonParams{IfMatch: &etag})
		wantStatus(t, "delete person with a stale If-Match", d, err, http.StatusPreconditionFailed)
		d, err = c.DeletePersonWithResponse(ctx, cid, pid, nil)
		wantStatus(t, "delete person", d, err, http.StatusNoContent)
		g, err := c.GetPersonWithResponse(ctx, cid, pid, nil)
		wantStatus(t, "get deleted person", g, err, http.StatusNotFound)
	}

	d, err := c.DeleteContactWithResponse(ctx, cid, nil)
	wantStatus(t, "delete contact", d, err, http.StatusNoContent)
	d, err = c.DeleteContactWithResponse(ctx, cid, nil)
	wantStatus(t, "delete the contact again", d, err, http.StatusNotFound)
}

// TestAuthErrors: no token gives 401 with WWW-Authenticate; another user's
// contact gives 403.
func TestAuthErrors(t *testing.T) {
	ctx := context.Background()
	if !specInvalid(t, "list contacts without a token") {
		anon := newClient(t, "")
		r, err := anon.ListContactsWithResponse(ctx, nil)
		wantStatus(t, "list contacts without a token", r, err, http.StatusUnauthorized)
		wantError(t, "no token", r.ApplicationvndApiJSON401, http.StatusUnauthorized, "")
		if r.Headers401 == nil || !strings.HasPrefix(r.Headers401.WWWAuthenticate, "Bearer") {
			t.Errorf("no token: WWW-Authenticate %+v, want Bearer", r.Headers401)
		}
	}

	if target.tokenB == "" {
		t.Skip("PHONEAPI_E2E_TOKEN_B not set: skipping the 403 checks")
	}
	a, b := newClient(t, target.token), newClient(t, target.tokenB)
	body := client.ContactCreateDocument{}
	body.Data.Type = "contacts"
	body.Data.Attributes.Name = "Private"
	rc, err := a.CreateContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, nil, body)
	wantStatus(t, "create contact as A", rc, err, http.StatusCreated)
	cid := uuid.MustParse(rc.ApplicationvndApiJSON201.Data.Id)

	g, err := b.GetContactWithResponse(ctx, cid, nil)
	wantStatus(t, "get A's contact as B", g, err, http.StatusForbidden)
	wantError(t, "A's contact as B", g.ApplicationvndApiJSON403, http.StatusForbidden, "")
	lb, err := b.ListContactsWithResponse(ctx, nil)
	wantStatus(t, "list contacts as B", lb, err, http.StatusOK)
	for _, ct := range lb.ApplicationvndApiJSON200.Data {
		if ct.Id == cid.String() {
			t.Error("B's contact list shows A's contact")
		}
	}
	d, err := b.DeleteContactWithResponse(ctx, cid, nil)
	wantStatus(t, "delete A's contact as B", d, err, http.StatusForbidden)
	d, err = a.DeleteContactWithResponse(ctx, cid, nil)
	wantStatus(t, "delete contact as A", d, err, http.StatusNoContent)
}

// TestValidationErrors: a phone number that does not parse gives 400 naming
// the attribute, and an unknown sparse-fieldset name gives 400 naming the
// parameter.
func TestValidationErrors(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, target.token)
	body := client.ContactCreateDocument{}
	body.Data.Type = "contacts"
	body.Data.Attributes.Name = "Validation"
	rc, err := c.CreateContactWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, nil, body)
	wantStatus(t, "create contact", rc, err, http.StatusCreated)
	cid := uuid.MustParse(rc.ApplicationvndApiJSON201.Data.Id)
	defer func() {
		d, err := c.DeleteContactWithResponse(ctx, cid, nil)
		wantStatus(t, "delete contact", d, err, http.StatusNoContent)
	}()

	pb := client.PersonCreateDocument{}
	pb.Data.Type = "people"
	pb.Data.Attributes.FirstName = "Road"
	rp, err := c.CreatePersonWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, nil, pb)
	wantStatus(t, "create person", rp, err, http.StatusCreated)
	pid := uuid.MustParse(rp.ApplicationvndApiJSON201.Data.Id)

	ph := client.PhoneCreateDocument{}
	ph.Data.Type = "phone_numbers"
	ph.Data.Attributes.Number = rawString("555-1212") // dialable only locally
	r, err := c.CreatePhoneWithApplicationVndAPIPlusJSONBodyWithResponse(ctx, cid, pid, nil, ph)
	wantStatus(t, "create phone with a local-only number", r, err, http.StatusBadRequest)
	wantError(t, "local-only number", r.ApplicationvndApiJSON400, http.StatusBadRequest, "/data/attributes/number")

	l, err := c.ListPhonesWithResponse(ctx, cid, pid, &client.ListPhonesParams{FieldsPhoneNumbers: ptr("number,colour")})
	wantStatus(t, "list phones with an unknown field", l, err, http.StatusBadRequest)
	e := wantError(t, "unknown field", l.ApplicationvndApiJSON400, http.StatusBadRequest, "")
	if e.Source == nil || deref(e.Source.Parameter) != "fields[phone_numbers]" {
		t.Errorf("unknown field: source %+v, want parameter fields[phone_numbers]", e.Source)
	}

	g, err := c.GetPersonWithResponse(ctx, cid, uuid.New(), nil)
	wantStatus(t, "get a person that does not exist", g, err, http.StatusNotFound)
}
