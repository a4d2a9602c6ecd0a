package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phoneapi/phoneapi/db"
)

// sandboxRun is `phoneapi sandbox` running in this process.
type sandboxRun struct {
	URL       string
	listening map[string]any // its "listening" log line
	tokens    map[string]string
	stdout    *syncBuffer
	cancel    context.CancelFunc
	done      chan error
}

// startSandbox runs `sandbox --addr 127.0.0.1:0 args...` through run and
// waits for its "listening" line; a cleanup stops it.
func startSandbox(t *testing.T, getenv func(string) string, args ...string) *sandboxRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &sandboxRun{cancel: cancel, done: make(chan error, 1), stdout: &syncBuffer{}, tokens: map[string]string{}}
	pr, pw := io.Pipe()
	go func() {
		s.done <- run(ctx, append([]string{"sandbox", "--addr", "127.0.0.1:0"}, args...), getenv, s.stdout, pw)
		pw.Close()
	}()
	listening := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "listening" {
				listening <- line
			}
		}
		io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case s.listening = <-listening:
	case err := <-s.done:
		t.Fatalf("sandbox ended before listening: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("sandbox did not log its address")
	}
	s.URL = s.listening["addr"].(string)
	// The token lines come before "listening".
	for _, l := range strings.Split(strings.TrimSpace(s.stdout.String()), "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || f[0] != "user" || f[len(f)-2] != "token" {
			t.Fatalf("start-up line %q", l)
		}
		s.tokens[f[1]] = f[len(f)-1]
	}
	return s
}

func (s *sandboxRun) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("sandbox returned %v after shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("sandbox did not stop")
	}
}

// call sends a request and returns the status and body.
func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/vnd.api+json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

const (
	sandboxUser1   = "11111111-1111-4111-8111-111111111111"
	sandboxPhones1 = "/api/v2/contacts/c0000000-0000-4000-8000-000000000001/people/e0000000-0000-4000-8000-000000000001/phones"
)

// TestSandbox: the sandbox starts on a temporary database with the built-in
// fixture, prints a working token per user, says the rate limit is off,
// restores the fixture on POST /sandbox/reset (a phone created meanwhile is
// gone, the fixture's are back; the printed token still works), its export
// is the fixture again, and its directory is removed on exit.
func TestSandbox(t *testing.T) {
	s := startSandbox(t, env(nil))
	l := s.listening
	if l["rate_limit"] != "off" || l["fixtures"] != defaultFixtureName || l["sandbox"] != true ||
		l["reset"] != "POST "+s.URL+"/sandbox/reset" || l["jwt_secret"] != "generated" {
		t.Errorf("listening line %v", l)
	}
	if !strings.Contains(s.stdout.String(), "user "+sandboxUser1+" account_list a0000000-0000-4000-8000-000000000001 (3 contacts, 4 people, 5 phones) token ") {
		t.Errorf("start-up output:\n%s", s.stdout)
	}
	tok := s.tokens[sandboxUser1]
	if len(s.tokens) != 2 || tok == "" {
		t.Fatalf("tokens %v", s.tokens)
	}

	// Its export is the fixture (but the header's time).
	dbPath := l["db"].(string)
	var out bytes.Buffer
	if err := run(t.Context(), []string{"export", "--db", dbPath}, env(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	// The export has the generated secret besides: as a fixture, its
	// tokens keep working.
	f, err := db.ReadFixture(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatalf("the sandbox's export is no fixture: %v", err)
	}
	if _, ok := f.Setting(secretKey); !ok {
		t.Error("the sandbox's export lacks its secret")
	}
	var got []string
	for _, line := range strings.SplitAfter(out.String(), "\n")[1:] {
		if !strings.HasPrefix(line, `{"type":"settings"`) {
			got = append(got, line)
		}
	}
	_, want, _ := strings.Cut(string(defaultFixture), "\n")
	if strings.Join(got, "") != want {
		t.Errorf("export of the sandbox is not its fixture:\n%s", got)
	}

	code, body := call(t, "GET", s.URL+sandboxPhones1, tok, "")
	if code != 200 || strings.Count(body, `"type":"phone_numbers"`) != 2 {
		t.Fatalf("GET phones: %d %s", code, body)
	}
	code, body = call(t, "POST", s.URL+sandboxPhones1, tok, `{"data":{"type":"phone_numbers","attributes":{"number":"202-555-0199"}}}`)
	if code != 201 {
		t.Fatalf("POST phone: %d %s", code, body)
	}
	var created struct{ Data struct{ ID string } }
	json.Unmarshal([]byte(body), &created)
	code, body = call(t, "DELETE", s.URL+sandboxPhones1+"/f0000000-0000-4000-8000-000000000001", tok, "")
	if code != 204 {
		t.Fatalf("DELETE phone: %d %s", code, body)
	}

	code, body = call(t, "POST", s.URL+"/sandbox/reset", "", "")
	if code != 200 || body != `{"meta":{"restored":{"account_lists":2,"contacts":4,"deleted_records":1,"people":6,"phones":8,"users":2}}}`+"\n" {
		t.Fatalf("reset: %d %s", code, body)
	}
	if code, _ := call(t, "GET", s.URL+sandboxPhones1+"/"+created.Data.ID, tok, ""); code != 404 {
		t.Errorf("the phone created before the reset: %d, want 404", code)
	}
	if code, _ := call(t, "GET", s.URL+sandboxPhones1+"/f0000000-0000-4000-8000-000000000001", tok, ""); code != 200 {
		t.Errorf("the fixture's deleted phone after the reset: %d, want 200", code)
	}

	s.stop(t)
	if _, err := os.Stat(filepath.Dir(dbPath)); !os.IsNotExist(err) {
		t.Errorf("the sandbox's directory %s is still there: %v", filepath.Dir(dbPath), err)
	}
}

// TestSandboxOptions: a fixture file with its JWT secret (an export of a
// real database) is used as it is; the rate limit is on when asked for;
// a fixture without users still serves, with a token for a new user.
func TestSandboxOptions(t *testing.T) {
	dir := t.TempDir()
	const secret = "fixture-secret-fixture-secret-0123"
	withSecret := strings.Replace(string(defaultFixture), `"settings":0`, `"settings":1`, 1)
	i := strings.Index(withSecret, `{"type":"contacts"`)
	withSecret = withSecret[:i] + `{"type":"settings","id":"jwt_secret","attributes":{"value":"` + secret + `"}}` + "\n" + withSecret[i:]
	path := filepath.Join(dir, "secret.jsonl")
	if err := os.WriteFile(path, []byte(withSecret), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startSandbox(t, env(map[string]string{"PHONEAPI_FIXTURES": path}), "--rate-limit", "5")
	if s.listening["jwt_secret"] != "fixture" || s.listening["fixtures"] != path || s.listening["rate_limit"] != "5/s per user, burst 100" {
		t.Errorf("listening %v", s.listening)
	}
	var tok bytes.Buffer
	if err := run(t.Context(), []string{"token", "--jwt-secret", secret, "--user", sandboxUser1}, env(nil), &tok, io.Discard); err != nil {
		t.Fatal(err)
	}
	if code, body := call(t, "GET", s.URL+"/api/v2/contacts", strings.TrimSpace(tok.String()), ""); code != 200 || !strings.Contains(body, "Smith family") {
		t.Errorf("a token minted with the fixture's secret: %d %s", code, body)
	}

	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, []byte(`{"type":"phoneapi-export","version":3,"counts":{"account_lists":0,"users":0,"settings":0,"contacts":0,"people":0,"phones":0,"deleted_records":0}}`+"\n"), 0o644)
	e := startSandbox(t, env(nil), "--fixtures", empty)
	if len(e.tokens) != 1 || !strings.Contains(e.stdout.String(), "the fixture has no users") {
		t.Fatalf("start-up output:\n%s", e.stdout)
	}
	for _, tok := range e.tokens {
		if code, body := call(t, "GET", e.URL+"/api/v2/contacts", tok, ""); code != 200 {
			t.Errorf("GET with the printed token: %d %s", code, body)
		}
	}
}

// TestSandboxBadFixture: a bad fixture is refused before serving, exit 2,
// naming the file, the line and the reason; so is a bad --token-ttl.
func TestSandboxBadFixture(t *testing.T) {
	dir := t.TempDir()
	lines := strings.SplitAfter(string(defaultFixture), "\n")
	write := func(name string, ls []string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(ls, "")), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badJSON := append([]string(nil), lines...)
	badJSON[2] = "{nope\n"
	orphan := append([]string(nil), lines...)
	orphan[5] = strings.Replace(orphan[5], `"account_list_id":"a0000000-0000-4000-8000-000000000001"`, `"account_list_id":"a0000000-0000-4000-8000-00000000dead"`, 1)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"bad line", []string{"--fixtures", write("bad.jsonl", badJSON)}, []string{"bad.jsonl", "line 3: invalid JSON"}},
		{"missing parent", []string{"--fixtures", write("orphan.jsonl", orphan)}, []string{"orphan.jsonl", "line 6: contacts", "does not exist"}},
		{"no file", []string{"--fixtures", filepath.Join(dir, "none.jsonl")}, []string{"--fixtures / PHONEAPI_FIXTURES", "none.jsonl", "cannot be read"}},
		{"token ttl", []string{"--token-ttl", "1000h"}, []string{"--token-ttl / PHONEAPI_TOKEN_TTL", "maximum token lifetime"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(t.Context(), append([]string{"sandbox", "--addr", "127.0.0.1:0"}, tc.args...), env(nil), io.Discard, &stderr)
			if code := exitCode(err, &stderr); code != 2 {
				t.Errorf("exit code %d, want 2 (%v)", code, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q lacks %q", stderr.String(), w)
				}
			}
			if strings.Contains(stderr.String(), "listening") {
				t.Error("served a bad fixture")
			}
		})
	}
}

// TestServeHasNoSandboxReset: serve answers POST /sandbox/reset 404.
func TestServeHasNoSandboxReset(t *testing.T) {
	s := startServe(t, serveEnv(t, nil))
	if code, body := call(t, "POST", s.URL+"/sandbox/reset", "", ""); code != 404 || !strings.Contains(body, `"errors"`) {
		t.Errorf("serve: POST /sandbox/reset: %d %s, want a JSON:API 404", code, body)
	}
}
