package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phoneapi/phoneapi/handlers"
)

// step is one request of a scripted session. Its path, body and headers
// may name variables, {NAME}, that earlier steps captured.
type step struct {
	user    string            // "1", "2", "new" (a user the fixture lacks) or "" (no token)
	method  string            //
	path    string            // under the server's URL
	body    string            // JSON:API document, if any
	header  map[string]string // more request headers
	status  int               // the status the step must get
	capture string            // a name: saves data.id as NAME, the ETag as NAME_etag, updated_in_db_at as NAME_seen
}

const (
	fxContact = "c0000000-0000-4000-8000-000000000001"
	fxPerson  = "e0000000-0000-4000-8000-000000000001"
	fxPhone   = "f0000000-0000-4000-8000-000000000001"
	fxPhone2  = "f0000000-0000-4000-8000-000000000002"
	fxOther   = "c0000000-0000-4000-8000-000000000004" // user 2's
	clientID  = "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f"
	unknownID = "9e9e9e9e-9e9e-4e9e-8e9e-9e9e9e9e9e9e"
)

// sandboxScript is a session over the built-in fixture: reads of every
// kind, creates with server-made and client ids, updates with and without
// preconditions (200, 304, 409, 412), an idempotent retry, errors, deletes
// of phones, people and a contact (tombstones), the tombstone feed, a
// second user and a user the fixture does not have.
func sandboxScript() []step {
	api := "/api/v2"
	ph := func(c, p string) string { return api + "/contacts/" + c + "/people/" + p + "/phones" }
	attrs := func(typ, a string) string { return `{"data":{"type":"` + typ + `","attributes":{` + a + `}}}` }
	return []step{
		{user: "1", method: "GET", path: api + "/contacts", status: 200},
		{user: "1", method: "GET", path: api + "/contacts?sort=-name&per_page=2", status: 200},
		{user: "1", method: "GET", path: api + "/contacts?include=people.phone_numbers", status: 200},
		{user: "1", method: "GET", path: api + "/contacts/people?include=phone_numbers,contact&per_page=3", status: 200},
		{user: "1", method: "GET", path: api + "/deleted_records", status: 200},
		{user: "1", method: "GET", path: ph(fxContact, fxPerson) + "?fields[phone_numbers]=number,primary", status: 200},
		// Creates: ids and times from the server.
		{user: "1", method: "POST", path: api + "/contacts", body: attrs("contacts", `"name":"Deterministic Co"`), status: 201, capture: "C"},
		{user: "1", method: "POST", path: api + "/contacts/{C}/people", body: attrs("people", `"first_name":"Ada","last_name":"Lovelace"`), status: 201, capture: "P"},
		{user: "1", method: "POST", path: ph("{C}", "{P}"), body: attrs("phone_numbers", `"number":"(617) 555-1212","location":"mobile"`), status: 201, capture: "PH"},
		{user: "1", method: "POST", path: ph("{C}", "{P}"), body: attrs("phone_numbers", `"number":"+44 20 7946 0001","location":"work"`), status: 201, capture: "PH2"},
		{user: "1", method: "POST", path: ph("{C}", "{P}"), body: `{"data":{"type":"phone_numbers","id":"` + clientID + `","attributes":{"number":"202-555-0199"}}}`, status: 201, capture: "PH3"},
		{user: "1", method: "GET", path: api + "/contacts/{C}?include=people.phone_numbers", status: 200},
		{user: "1", method: "GET", path: api + "/contacts/people/{P}?include=phone_numbers,contact", status: 200},
		{user: "1", method: "GET", path: ph("{C}", "{P}") + "?sort=-created_at", status: 200},
		{user: "1", method: "GET", path: ph("{C}", "{P}") + "/{PH}?include=person.contact", status: 200, capture: "G"},
		{user: "1", method: "GET", path: ph("{C}", "{P}") + "/{PH}", header: map[string]string{"If-None-Match": "{G_etag}"}, status: 304},
		// Updates.
		{user: "1", method: "PATCH", path: ph("{C}", "{P}") + "/{PH}", body: attrs("phone_numbers", `"location":"work","updated_in_db_at":"{G_seen}"`), status: 200, capture: "U"},
		{user: "1", method: "PATCH", path: ph("{C}", "{P}") + "/{PH}", body: attrs("phone_numbers", `"location":"home","updated_in_db_at":"{G_seen}"`), status: 409},
		{user: "1", method: "PUT", path: ph("{C}", "{P}") + "/{PH}", body: attrs("phone_numbers", `"location":"home"`), header: map[string]string{"If-Match": "{G_etag}"}, status: 412},
		{user: "1", method: "PUT", path: ph("{C}", "{P}") + "/{PH}", body: attrs("phone_numbers", `"location":"home"`), header: map[string]string{"If-Match": "{U_etag}"}, status: 200},
		{user: "1", method: "PATCH", path: ph("{C}", "{P}") + "/{PH2}", body: attrs("phone_numbers", `"primary":true,"overwrite":true`), status: 200},
		{user: "1", method: "GET", path: ph("{C}", "{P}"), status: 200},
		{user: "1", method: "PATCH", path: api + "/contacts/{C}", body: attrs("contacts", `"name":"Deterministic Ltd","overwrite":true`), status: 200},
		{user: "1", method: "PATCH", path: api + "/contacts/{C}/people/{P}", body: attrs("people", `"first_name":"Augusta Ada","overwrite":true`), status: 200},
		// An idempotent create, its retry and a reuse with another body.
		{user: "1", method: "POST", path: ph("{C}", "{P}"), body: attrs("phone_numbers", `"number":"+1 312 555 0177"`), header: map[string]string{"Idempotency-Key": `"key-1"`}, status: 201, capture: "PH4"},
		{user: "1", method: "POST", path: ph("{C}", "{P}"), body: attrs("phone_numbers", `"number":"+1 312 555 0177"`), header: map[string]string{"Idempotency-Key": `"key-1"`}, status: 201},
		{user: "1", method: "POST", path: ph("{C}", "{P}"), body: attrs("phone_numbers", `"number":"+1 312 555 0178"`), header: map[string]string{"Idempotency-Key": `"key-1"`}, status: 422},
		// Errors.
		{user: "1", method: "POST", path: ph("{C}", "{P}"), body: attrs("phone_numbers", `"number":"not a number"`), status: 400},
		{user: "1", method: "POST", path: api + "/contacts", body: attrs("contacts", `"name":"X","colour":"red"`), status: 400},
		{user: "1", method: "POST", path: api + "/contacts", body: `{"data":`, status: 400},
		{user: "1", method: "GET", path: api + "/contacts?filter[nope]=1", status: 400},
		{user: "1", method: "GET", path: api + "/contacts?fields[contacts]=name,zzz,aaa&fields[people]=bbb", status: 400},
		{user: "1", method: "GET", path: api + "/contacts/" + unknownID, status: 404},
		{user: "1", method: "GET", path: api + "/contacts/not-a-uuid", status: 404},
		{user: "1", method: "POST", path: ph("{C}", "{P}") + "/{PH}", status: 405},
		{user: "1", method: "GET", path: api + "/contacts/" + fxOther, status: 403},
		{user: "", method: "GET", path: api + "/contacts", status: 401},
		// The fixture's own rows.
		{user: "1", method: "PATCH", path: ph(fxContact, fxPerson) + "/" + fxPhone, body: attrs("phone_numbers", `"location":"other","overwrite":true`), status: 200},
		{user: "1", method: "PATCH", path: api + "/contacts/" + fxContact + "/people/" + fxPerson, body: attrs("people", `"last_name":"Smith-Jones","overwrite":true`), status: 200},
		{user: "1", method: "DELETE", path: ph(fxContact, fxPerson) + "/" + fxPhone2, status: 204},
		{user: "1", method: "GET", path: ph(fxContact, fxPerson), status: 200},
		// Deletes: a phone, a person (its phones' tombstones), a contact
		// (its people's and their phones').
		{user: "1", method: "DELETE", path: ph("{C}", "{P}") + "/{PH3}", status: 204},
		{user: "1", method: "GET", path: ph("{C}", "{P}") + "/{PH3}", status: 404},
		{user: "1", method: "POST", path: api + "/contacts/{C}/people", body: attrs("people", `"first_name":"Charles"`), status: 201, capture: "P2"},
		{user: "1", method: "POST", path: ph("{C}", "{P2}"), body: attrs("phone_numbers", `"number":"+1 202 555 0142"`), status: 201},
		{user: "1", method: "DELETE", path: api + "/contacts/{C}/people/{P}", status: 204},
		{user: "1", method: "GET", path: api + "/contacts/people?filter[updated_in_db_at]=2025-01-01T09:00:30Z..&include=phone_numbers", status: 200},
		{user: "1", method: "DELETE", path: api + "/contacts/{C}", status: 204},
		{user: "1", method: "GET", path: api + "/deleted_records?filter[since]=2025-01-01T09:00:30Z&per_page=50", status: 200},
		{user: "1", method: "GET", path: api + "/deleted_records?filter[types]=people&sort=-deleted_at", status: 200},
		// Another fixture user, and a user the fixture does not have (its
		// account list is made on its first request).
		{user: "2", method: "POST", path: api + "/contacts", body: attrs("contacts", `"name":"Otra"`), status: 201, capture: "C2"},
		{user: "2", method: "GET", path: api + "/contacts?sort=-created_at", status: 200},
		{user: "2", method: "GET", path: api + "/contacts/people", status: 200},
		{user: "new", method: "GET", path: api + "/contacts", status: 200},
		{user: "new", method: "POST", path: api + "/contacts", body: attrs("contacts", `"name":"Newcomer"`), status: 201, capture: "C3"},
		{user: "new", method: "POST", path: api + "/contacts/{C3}/people", body: attrs("people", `"first_name":"Nova"`), status: 201, capture: "P3"},
		{user: "new", method: "POST", path: ph("{C3}", "{P3}"), body: attrs("phone_numbers", `"number":"+33 1 23 45 67 89"`), status: 201},
		{user: "new", method: "GET", path: api + "/contacts?include=people.phone_numbers", status: 200},
		{user: "1", method: "GET", path: api + "/contacts/{C3}", status: 403},
	}
}

// recorded is one response as the comparison sees it: status line, every
// header but Date (sorted) and the body.
func recordResponse(res *http.Response, body []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", res.Proto, res.Status)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range res.Header {
			if !yield(k) {
				return
			}
		}
	}) {
		if k == "Date" {
			continue
		}
		for _, v := range res.Header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	b.WriteString("\n")
	b.Write(body)
	return b.String()
}

// runScript sends script to the sandbox at url, one request at a time,
// checking each status, and returns the recorded responses.
func runScript(t *testing.T, url string, tokens map[string]string, script []step) []string {
	t.Helper()
	vars := map[string]string{}
	expand := func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, "{"+k+"}", v)
		}
		return s
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	var out []string
	for i, st := range script {
		var body io.Reader
		if st.body != "" {
			body = strings.NewReader(expand(st.body))
		}
		req, err := http.NewRequest(st.method, url+expand(st.path), body)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if st.user != "" {
			req.Header.Set("Authorization", "Bearer "+tokens[st.user])
		}
		if st.body != "" {
			req.Header.Set("Content-Type", "application/vnd.api+json")
		}
		for k, v := range st.header {
			req.Header.Set(k, expand(v))
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("step %d %s %s: %v", i, st.method, req.URL.Path, err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatalf("step %d: read body: %v", i, err)
		}
		if res.StatusCode != st.status {
			t.Fatalf("step %d %s %s: status %d, want %d: %s", i, st.method, req.URL, res.StatusCode, st.status, b)
		}
		if st.capture != "" {
			var doc struct {
				Data struct {
					ID         string `json:"id"`
					Attributes struct {
						Seen string `json:"updated_in_db_at"`
					} `json:"attributes"`
				} `json:"data"`
			}
			if err := json.Unmarshal(b, &doc); err != nil || doc.Data.ID == "" {
				t.Fatalf("step %d: no data.id to capture as %s: %v: %s", i, st.capture, err, b)
			}
			vars[st.capture] = doc.Data.ID
			vars[st.capture+"_etag"] = res.Header.Get("ETag")
			vars[st.capture+"_seen"] = doc.Data.Attributes.Seen
		}
		out = append(out, fmt.Sprintf("step %d: %s %s\n%s", i, st.method, req.URL.RequestURI(), recordResponse(res, b)))
	}
	return out
}

// firstDifference returns a description of the first response of a and b
// that differs, and its first differing line; "" if none does.
func firstDifference(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] == b[i] {
			continue
		}
		la, lb := strings.Split(a[i], "\n"), strings.Split(b[i], "\n")
		for j := range min(len(la), len(lb)) {
			if la[j] != lb[j] {
				return fmt.Sprintf("%s\nline %d:\n  first run:  %s\n  second run: %s", la[0], j, la[j], lb[j])
			}
		}
		return fmt.Sprintf("%s: lengths %d and %d", la[0], len(a[i]), len(b[i]))
	}
	if len(a) != len(b) {
		return fmt.Sprintf("%d and %d responses", len(a), len(b))
	}
	return ""
}

// sessionTwice starts a sandbox with args, runs the script, resets, polls
// /readyz a few times (which must change nothing), runs it again, and
// returns both runs' responses.
func sessionTwice(t *testing.T, args ...string) (first, second []string) {
	t.Helper()
	secret := "deterministic-test-secret-0123456789"
	s := startSandbox(t, env(nil), append([]string{"--jwt-secret", secret}, args...)...)
	tokens := map[string]string{"1": s.tokens[sandboxUser1], "2": s.tokens["22222222-2222-4222-8222-222222222222"]}
	tok, err := handlers.IssueToken([]byte(secret), "33333333-3333-4333-8333-333333333333", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokens["new"] = tok
	script := sandboxScript()
	first = runScript(t, s.URL, tokens, script)
	if code, body := call(t, "POST", s.URL+"/sandbox/reset", "", ""); code != 200 {
		t.Fatalf("reset: %d %s", code, body)
	}
	for range 3 {
		if code, _ := call(t, "GET", s.URL+"/readyz", "", ""); code != 200 {
			t.Fatalf("readyz: %d", code)
		}
	}
	second = runScript(t, s.URL, tokens, script)
	return first, second
}

// TestDeterministicReplay is issue 18's proof: with --deterministic, a
// scripted session run twice with a reset between gets byte-identical
// responses, headers but Date included; without it, the same session's
// responses differ (so the comparison can fail).
func TestDeterministicReplay(t *testing.T) {
	first, second := sessionTwice(t, "--deterministic", "--seed", "42")
	if d := firstDifference(first, second); d != "" {
		t.Fatalf("responses differ after a reset:\n%s", d)
	}
	t.Logf("%d requests per run, every response byte-identical (%d bytes per run)", len(first), len(strings.Join(first, "")))
	// What the clock gave: the fixture's latest time is 09:00:23, so the
	// clock starts at 09:01:00 and steps 1 s per write.
	joined := strings.Join(first, "")
	for _, want := range []string{`"created_at":"2025-01-01T09:01:00.000Z"`, "X-Request-Id: "} {
		if !strings.Contains(joined, want) {
			t.Errorf("no response holds %s", want)
		}
	}

	t.Run("same seed, another start", func(t *testing.T) {
		again, _ := sessionTwice(t, "--deterministic", "--seed", "42")
		if d := firstDifference(first, again); d != "" {
			t.Fatalf("a second sandbox with the same seed answered otherwise:\n%s", d)
		}
	})
	t.Run("another seed", func(t *testing.T) {
		other, _ := sessionTwice(t, "--deterministic", "--seed", "43")
		if firstDifference(first, other) == "" {
			t.Fatal("seeds 42 and 43 gave the same responses")
		}
	})
	t.Run("control: not deterministic", func(t *testing.T) {
		a, b := sessionTwice(t)
		if firstDifference(a, b) == "" {
			t.Fatal("without --deterministic the two runs were identical: the comparison proves nothing")
		}
	})
}

// TestSandboxSettingsRefused: --deterministic's settings and tracing's
// OTEL_* variables are checked before anything starts, and the errors
// name the sandbox.
func TestSandboxSettingsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{args: []string{"--seed", "3"}, want: "--seed needs --deterministic"},
		{args: []string{"--deterministic", "--seed", "-1"}, want: "seed"},
		{args: []string{"--deterministic", "--clock-step", "0s"}, want: "clock-step"},
		{args: []string{"--deterministic", "--clock-start", "yesterday"}, want: "clock-start"},
		{env: map[string]string{"PHONEAPI_DETERMINISTIC": "maybe"}, want: "PHONEAPI_DETERMINISTIC"},
		{env: map[string]string{"PHONEAPI_CLOCK_STEP": "1us"}, want: "PHONEAPI_CLOCK_STEP"},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "jaeger"}, want: "sandbox: OTEL_TRACES_EXPORTER"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), append([]string{"sandbox", "--addr", "127.0.0.1:0"}, tc.args...), env(tc.env), &stdout, &stderr)
		if err == nil {
			t.Errorf("%v %v: started", tc.args, tc.env)
			continue
		}
		if code := exitCode(err, io.Discard); code != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: exit %d, %v; want 2 naming %s", tc.args, tc.env, code, err, tc.want)
		}
	}
}
