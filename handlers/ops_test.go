package handlers

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/db/dbtest"
)

// logSink is the server's log, safe for its goroutines and the test.
type logSink struct{ dbtest.Buffer }

// lines returns the JSON log records written so far.
func (b *logSink) lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// accessLines returns the access-log records.
func (b *logSink) accessLines(t testing.TB) []map[string]any {
	var out []map[string]any
	for _, m := range b.lines(t) {
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

// opsServer is newAPI on the given store (a *db.Store or a wrapper of
// one), logging JSON to the returned buffer.
func opsServer(t testing.TB, store Store, base *db.Store) (*api, *logSink) {
	t.Helper()
	logs := &logSink{}
	e, err := New(store, Config{Secret: testSecret, Version: "v9.9.9-test",
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return &api{t: t, e: e, store: base}, logs
}

func jsonFields(t testing.TB, rec *httptest.ResponseRecorder) map[string]string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body is not a JSON object of strings: %v\n%s", err, rec.Body)
	}
	return m
}

// probe GETs a health endpoint and wants code with a JSON object of
// strings, which it returns.
func probe(t testing.TB, a *api, path string, code int) map[string]string {
	t.Helper()
	rec := a.get(http.MethodGet, path, nil)
	if rec.Code != code {
		t.Fatalf("GET %s: %d, want %d\n%s", path, rec.Code, code, rec.Body)
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Errorf("GET %s: Content-Type %q, want application/json", path, rec.Header().Get("Content-Type"))
	}
	return jsonFields(t, rec)
}

func TestHealthz(t *testing.T) {
	store := testStore(t)
	a, _ := opsServer(t, store, store)
	if got := probe(t, a, "/healthz", http.StatusOK)["status"]; got != "ok" {
		t.Errorf("status %q, want ok", got)
	}
	// Alive even when the database is not: healthz does not touch it.
	store.Close()
	if got := probe(t, a, "/healthz", http.StatusOK)["status"]; got != "ok" {
		t.Errorf("status with the store closed %q, want ok", got)
	}
}

func TestReadyz(t *testing.T) {
	t.Run("ready", func(t *testing.T) {
		store := testStore(t)
		a, _ := opsServer(t, store, store)
		if got := probe(t, a, "/readyz", http.StatusOK)["database"]; got != "ok" {
			t.Errorf("database %q, want ok", got)
		}
	})
	t.Run("store closed", func(t *testing.T) {
		store := testStore(t)
		a, logs := opsServer(t, store, store)
		store.Close()
		body := probe(t, a, "/readyz", http.StatusServiceUnavailable)
		if body["status"] != "unavailable" || body["database"] != "unreachable" {
			t.Errorf("body %v, want status unavailable, database unreachable", body)
		}
		if !strings.Contains(logs.String(), `"msg":"not ready"`) {
			t.Errorf("the failure is not logged:\n%s", logs)
		}
	})
	t.Run("not migrated", func(t *testing.T) {
		store, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "new.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		a, _ := opsServer(t, store, store)
		rec := a.get(http.MethodGet, "/readyz", nil)
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("GET /readyz: %d, want 503\n%s", rec.Code, rec.Body)
		}
		if got := jsonFields(t, rec)["database"]; got != "not migrated" {
			t.Errorf("database %q, want not migrated", got)
		}
		if err := store.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		if rec := a.get(http.MethodGet, "/readyz", nil); rec.Code != http.StatusOK {
			t.Errorf("GET /readyz after Migrate: %d, want 200\n%s", rec.Code, rec.Body)
		}
	})
}

// scrape returns the /metrics text.
func scrape(t testing.TB, a *api) string {
	t.Helper()
	rec := a.get(http.MethodGet, "/metrics", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("metrics Content-Type %q, want the Prometheus text format", ct)
	}
	return rec.Body.String()
}

// metricValue returns the value of the unlabelled series name in a
// Prometheus text scrape, failing the test when it is absent.
func metricValue(t *testing.T, text, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("metrics lack %s", name)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func TestMetrics(t *testing.T) {
	store := testStore(t)
	a, _ := opsServer(t, store, store)
	other, _ := opsServer(t, store, store) // a second server must get its own registry
	tr := a.tree()

	a.do(req{Method: "GET", Path: tr.contactPath(), Token: tr.tok}).want(t, http.StatusOK, "")
	a.do(req{Method: "GET", Path: tr.contactPath(), Token: tr.tok}).want(t, http.StatusOK, "")
	a.do(req{Method: "GET", Path: "/api/v2/contacts/" + uuid.NewString(), Token: tr.tok}).want(t, http.StatusNotFound, "-")
	a.get(http.MethodGet, "/no-such-route-xyz", nil)
	text := scrape(t, a)

	for _, want := range []string{
		`phoneapi_http_requests_total{method="GET",route="/api/v2/contacts/:contact_id",status="200"} 2`,
		`phoneapi_http_requests_total{method="GET",route="/api/v2/contacts/:contact_id",status="404"} 1`,
		`phoneapi_http_requests_total{method="POST",route="/api/v2/contacts",status="201"} 1`,
		`phoneapi_http_request_duration_seconds_count{method="GET",route="/api/v2/contacts/:contact_id",status="200"} 2`,
		`phoneapi_http_request_duration_seconds_bucket{method="GET",route="/api/v2/contacts/:contact_id",status="200",le="+Inf"} 2`,
		`phoneapi_http_requests_in_flight 1`, // the scrape itself
		`phoneapi_build_info{goversion="go`,
		`version="v9.9.9-test"} 1`,
		`go_sql_open_connections{db_name="write"}`,
		`go_sql_max_open_connections{db_name="write"} 1`,
		`go_sql_in_use_connections{db_name="read"}`,
		`go_sql_wait_count_total{db_name="write"}`,
		`go_sql_wait_duration_seconds_total{db_name="read"}`,
		`go_sql_max_lifetime_closed_total{db_name="read"}`,
		`go_goroutines `,
		`process_start_time_seconds `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Route templates only: no id, no raw path.
	for _, bad := range []string{tr.contact, "no-such-route-xyz"} {
		if strings.Contains(text, bad) {
			t.Errorf("metrics contain the raw path segment %q", bad)
		}
	}
	// Group commits (SQLite): the tree's writes were committed, in as many
	// commits or fewer.
	commits, writes := metricValue(t, text, "phoneapi_db_commits_total"), metricValue(t, text, "phoneapi_db_writes_committed_total")
	if commits < 1 || writes < commits {
		t.Errorf("phoneapi_db_commits_total %g, phoneapi_db_writes_committed_total %g; want at least one commit and writes ≥ commits", commits, writes)
	}
	route := regexp.MustCompile(`route="([^"]*)"`)
	for _, m := range route.FindAllStringSubmatch(text, -1) {
		if m[1] != "unmatched" && !strings.HasPrefix(m[1], "/") {
			t.Errorf("route label %q is neither a template nor unmatched", m[1])
		}
	}

	// The other server counted nothing of this.
	if strings.Contains(scrape(t, other), `route="/api/v2/contacts/:contact_id"`) {
		t.Error("the servers share a metrics registry")
	}
	// The scrape before this one is counted.
	if !strings.Contains(scrape(t, a), `phoneapi_http_requests_total{method="GET",route="/metrics",status="200"} 1`) {
		t.Error("metrics lack the count of the first scrape")
	}
}

func TestRequestID(t *testing.T) {
	store := testStore(t)
	a, _ := opsServer(t, store, store)
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	long := strings.Repeat("a", 128)
	for _, tc := range []struct {
		name, sent string
		kept       bool
	}{
		{"absent", "", false},
		{"sane", "req-42.abc_DEF:1/2", true},
		{"128 chars", long, true},
		{"129 chars", long + "a", false},
		{"space", "two words", false},
		{"non-ascii", "réq", false},
		{"control", "a\x01b", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, target := range []string{"/healthz", "/api/v2/contacts", "/no-such-route"} {
				var header map[string]string
				if tc.sent != "" {
					header = map[string]string{HeaderRequestID: tc.sent}
				}
				rec := a.get(http.MethodGet, target, header) // /api/v2/contacts: 401, no token
				got := rec.Header().Get(HeaderRequestID)
				switch {
				case tc.kept && got != tc.sent:
					t.Errorf("%s: X-Request-ID %q, want %q echoed", target, got, tc.sent)
				case !tc.kept && !uuidRE.MatchString(got):
					t.Errorf("%s: X-Request-ID %q, want a generated UUID", target, got)
				}
			}
		})
	}
	first := a.get(http.MethodGet, "/healthz", nil).Header().Get(HeaderRequestID)
	if second := a.get(http.MethodGet, "/healthz", nil).Header().Get(HeaderRequestID); first == second {
		t.Errorf("two requests got the same generated id %q", first)
	}
}

func TestAccessLog(t *testing.T) {
	store := testStore(t)
	a, logs := opsServer(t, store, store)
	userID := uuid.NewString()
	tok, err := IssueToken(testSecret, userID, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := a.contact(tok)
	p := a.person(tok, c)
	ph := a.phone(tok, c, p, map[string]any{"number": "617-555-0199", "location": "mobile"})
	if ph.attrs()["number"] == nil {
		t.Fatalf("phone without a number: %s", ph.Raw)
	}
	// The token in the query, a phone number in the query.
	rec := a.get(http.MethodGet, phonesPath(c, p)+"?access_token="+tok+"&filter[number]=%2B16175550199",
		map[string]string{HeaderRequestID: "trace-me-1"})
	if rec.Code >= 500 {
		t.Fatalf("list phones: %d\n%s", rec.Code, rec.Body)
	}
	a.get(http.MethodGet, "/api/v2/contacts", map[string]string{"Authorization": "Bearer " + tok + "x"}) // 401

	lines := logs.accessLines(t)
	if len(lines) != 5 {
		t.Fatalf("%d access-log lines for 5 requests:\n%s", len(lines), logs)
	}
	var traced map[string]any
	for _, l := range lines {
		for _, k := range []string{"time", "level", "method", "route", "status", "duration_ms", "request_id"} {
			if _, ok := l[k]; !ok {
				t.Errorf("access-log line without %s: %v", k, l)
			}
		}
		if d, ok := l["duration_ms"].(float64); !ok || d < 0 {
			t.Errorf("duration_ms %v, want a non-negative number", l["duration_ms"])
		}
		if id, _ := l["request_id"].(string); id == "" {
			t.Errorf("empty request_id: %v", l)
		}
		if l["request_id"] == "trace-me-1" {
			traced = l
		}
	}
	if traced == nil {
		t.Fatalf("no access-log line with the client's request id:\n%s", logs)
	}
	if traced["method"] != "GET" || traced["route"] != "/api/v2/contacts/:contact_id/people/:person_id/phones" ||
		traced["status"] != float64(rec.Code) || traced["user_id"] != userID {
		t.Errorf("access-log line %v, want GET, the phones route template, status %d, user %s", traced, rec.Code, userID)
	}
	if lines[0]["route"] != "/api/v2/contacts" || lines[0]["status"] != float64(201) || lines[0]["method"] != "POST" {
		t.Errorf("first line %v, want POST /api/v2/contacts 201", lines[0])
	}
	if last := lines[4]; last["status"] != float64(401) || last["user_id"] != nil {
		t.Errorf("unauthenticated line %v, want status 401 and no user_id", last)
	}
	all := logs.String()
	for _, secret := range []string{tok, "access_token", "Bearer", "617-555-0199", "6175550199", "555-0199", c, p} {
		if strings.Contains(all, secret) {
			t.Errorf("the log contains %q:\n%s", secret, all)
		}
	}
}

// panicStore panics in ListContacts while panicking is set.
type panicStore struct {
	*db.Store
	panicking atomic.Bool
}

func (s *panicStore) ListContacts(ctx context.Context, accountListID string, q db.ListQuery) ([]db.Contact, int, error) {
	if s.panicking.Load() {
		panic("test: store exploded")
	}
	return s.Store.ListContacts(ctx, accountListID, q)
}

func TestPanicBecomes500(t *testing.T) {
	base := testStore(t)
	store := &panicStore{Store: base}
	a, logs := opsServer(t, store, base)
	srv := httptest.NewServer(a.e)
	defer srv.Close()
	tok := a.user()
	get := func(id string) (*http.Response, []byte) {
		t.Helper()
		hr, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v2/contacts", nil)
		hr.Header.Set("Authorization", "Bearer "+tok)
		hr.Header.Set(HeaderRequestID, id)
		res, err := srv.Client().Do(hr)
		if err != nil {
			t.Fatalf("GET /api/v2/contacts: %v", err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, body
	}

	store.panicking.Store(true)
	res, body := get("boom-1")
	if res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500\n%s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != mediaType {
		t.Errorf("Content-Type %q, want %q", ct, mediaType)
	}
	if res.Header.Get(HeaderRequestID) != "boom-1" {
		t.Errorf("X-Request-ID %q, want boom-1", res.Header.Get(HeaderRequestID))
	}
	var doc struct {
		Errors []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Errors) != 1 {
		t.Fatalf("not a JSON:API error document (%v):\n%s", err, body)
	}
	if e := doc.Errors[0]; e["status"] != "500" || e["title"] != "Internal Server Error" {
		t.Errorf("error %v, want status 500, title Internal Server Error", e)
	}
	if strings.Contains(string(body), "exploded") {
		t.Errorf("the panic value leaks into the response: %s", body)
	}
	// The same response through the harness, validated against the spec.
	a.do(req{Method: "GET", Path: "/api/v2/contacts", Token: tok}).want(t, http.StatusInternalServerError, "")

	var panicLine, accessLine map[string]any
	for _, l := range logs.lines(t) {
		if l["request_id"] != "boom-1" {
			continue
		}
		switch l["msg"] {
		case "panic":
			panicLine = l
		case "request":
			accessLine = l
		}
	}
	if panicLine == nil || !strings.Contains(panicLine["panic"].(string), "store exploded") ||
		!strings.Contains(panicLine["stack"].(string), "ListContacts") || panicLine["level"] != "ERROR" {
		t.Errorf("panic log line %v, want the value and the stack at ERROR", panicLine)
	}
	if accessLine == nil || accessLine["status"] != float64(500) {
		t.Errorf("access-log line %v, want status 500", accessLine)
	}

	// The server keeps serving.
	store.panicking.Store(false)
	if res, body := get("after-1"); res.StatusCode != http.StatusOK {
		t.Fatalf("after the panic: status %d, want 200\n%s", res.StatusCode, body)
	}
	if !strings.Contains(scrape(t, a), `phoneapi_http_requests_total{method="GET",route="/api/v2/contacts",status="500"} 2`) {
		t.Error("metrics do not count the 500s")
	}
}
