package handlers

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/phoneapi/phoneapi/db"
	"github.com/phoneapi/phoneapi/db/dbtest"
	"github.com/phoneapi/phoneapi/db/pgtest"
	"github.com/phoneapi/phoneapi/generated"
)

var testSecret = []byte("test-secret-test-secret-test-secret")

// spec and router are the embedded openapi.yaml, used to validate every
// response the tests see.
var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
)

func loadSpec(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		doc, err := generated.GetSpec()
		if err != nil {
			panic(err)
		}
		doc.Servers = nil
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			panic(err)
		}
		specDoc, specRouter = doc, r
	})
	return specDoc, specRouter
}

// sparseSpecs caches, by the request's fields[...] parameters, the spec as
// it reads for a sparse response (see sparseSpec).
var sparseSpecs sync.Map // canonical fields query → *sparseSpecEntry

type sparseSpecEntry struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
}

// sparseSpec returns the spec and router that a response to a request with
// the sparse fieldsets fields (fields[TYPE] → its value) must match. As the
// spec's "Sparse fieldsets" section says, such a response is the full one
// without the members not listed: for each TYPE, the required attributes
// and relationships are those listed, and the resource's relationships
// member is required only when a relationship is listed. Everything else
// (types, lengths, additionalProperties, nullability) is checked as
// always.
func sparseSpec(t testing.TB, fields url.Values) (*openapi3.T, routers.Router) {
	t.Helper()
	key := fields.Encode()
	v, _ := sparseSpecs.LoadOrStore(key, &sparseSpecEntry{})
	e := v.(*sparseSpecEntry)
	e.once.Do(func() {
		doc, err := generated.GetSpec() // a fresh copy, narrowed below
		if err != nil {
			panic(err)
		}
		doc.Servers = nil
		for param := range fields {
			typ := strings.TrimSuffix(strings.TrimPrefix(param, "fields["), "]")
			narrowResource(doc, typ, fieldsOf(ptrTo(fields.Get(param))))
		}
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			panic(err)
		}
		e.doc, e.router = doc, r
	})
	return e.doc, e.router
}

// narrowResource limits the required members of type typ's resource
// schema to the fieldset f.
func narrowResource(doc *openapi3.T, typ string, f fieldset) {
	keep := func(required []string) []string {
		var out []string
		for _, name := range required {
			if f.has(name) {
				out = append(out, name)
			}
		}
		return out
	}
	for _, ref := range doc.Components.Schemas {
		s := ref.Value
		tp, attrs := s.Properties["type"], s.Properties["attributes"]
		if tp == nil || attrs == nil || len(tp.Value.Enum) != 1 || fmt.Sprint(tp.Value.Enum[0]) != typ {
			continue
		}
		attrs.Value.Required = keep(attrs.Value.Required)
		rel := s.Properties["relationships"]
		if rel == nil {
			continue
		}
		rel.Value.Required = keep(rel.Value.Required)
		listed := false
		for name := range rel.Value.Properties {
			listed = listed || f.has(name)
		}
		if !listed {
			s.Required = slices.DeleteFunc(slices.Clone(s.Required), func(n string) bool { return n == "relationships" })
		}
	}
}

// api is a server on a real SQLite file, driven through the real Echo stack.
type api struct {
	t      testing.TB
	e      *echo.Echo
	store  *db.Store
	dbPath string // the store's SQLite file
}

func newAPI(t testing.TB) *api {
	t.Helper()
	return newAPIWith(t, Config{})
}

// newAPIWith is newAPI with cfg (its Secret and Logger are filled in).
func newAPIWith(t testing.TB, cfg Config) *api {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	store := openStore(t, path)
	cfg.Secret = testSecret
	cfg.Logger = slog.New(slog.DiscardHandler)
	e, err := New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &api{t: t, e: e, store: store, dbPath: path}
}

// testStore opens a migrated SQLite store on a file in t's temporary
// directory, closed when the test ends.
func testStore(t testing.TB) *db.Store {
	t.Helper()
	return openStore(t, filepath.Join(t.TempDir(), "test.db"))
}

// engines are the engines forEngines runs on.
var engines = []string{"sqlite", "postgres"}

// engineStore returns a store on a new database of engine, "sqlite" or
// "postgres" (skipped unless PHONEAPI_TEST_POSTGRES_URL is set; see
// pgStore).
func engineStore(t *testing.T, engine string) *db.Store {
	t.Helper()
	if engine == "sqlite" {
		return testStore(t)
	}
	return pgStore(t)
}

// forEngines runs fn as the subtests sqlite and postgres, each with an
// API on a new database of that engine whose store is wrapped by wrap
// (nil: none). The postgres half is skipped unless
// PHONEAPI_TEST_POSTGRES_URL is set (and fails under CI; see pgtest).
func forEngines(t *testing.T, wrap func(*db.Store) Store, fn func(t *testing.T, a *api)) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			base := engineStore(t, engine)
			var store Store = base
			if wrap != nil {
				store = wrap(base)
			}
			e, err := New(store, Config{Secret: testSecret, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			fn(t, &api{t: t, e: e, store: base})
		})
	}
}

// pgStore opens a migrated store on a throwaway PostgreSQL database,
// closed when the test ends.
func pgStore(t *testing.T) *db.Store {
	t.Helper()
	dsn := pgtest.Database(t, "handler tests", "phoneapi_handlers_test")
	s, err := db.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// openStore opens a migrated SQLite store on the file at path, closed
// when the test ends.
func openStore(t testing.TB, path string) *db.Store {
	t.Helper()
	ctx := context.Background()
	store, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return store
}

// user returns a token for a new user.
func (a *api) user() string {
	a.t.Helper()
	tok, err := IssueToken(testSecret, uuid.NewString(), time.Hour, time.Now())
	if err != nil {
		a.t.Fatal(err)
	}
	return tok
}

// resp is a response as the tests see it.
type resp struct {
	Code   int
	Header http.Header
	Raw    []byte
	Doc    map[string]any
}

// req describes one request; Body is marshalled unless it is a string or []byte.
type req struct {
	Method, Path, Token string
	Body                any
	Header              map[string]string // overrides; "" deletes
}

// do sends r through Echo and validates the response against openapi.yaml.
func (a *api) do(r req) *resp {
	a.t.Helper()
	var body io.Reader
	var raw []byte
	switch b := r.Body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			a.t.Fatal(err)
		}
	}
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	hr := httptest.NewRequest(r.Method, r.Path, body)
	if raw != nil {
		hr.Header.Set("Content-Type", mediaType)
	}
	hr.Header.Set("Accept", mediaType)
	if r.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Header {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	a.e.ServeHTTP(rec, hr)
	out := &resp{Code: rec.Code, Header: rec.Header(), Raw: rec.Body.Bytes()}
	if len(out.Raw) > 0 {
		if err := json.Unmarshal(out.Raw, &out.Doc); err != nil {
			a.t.Fatalf("%s %s: response is not JSON: %v\n%s", r.Method, r.Path, err, out.Raw)
		}
	}
	a.validate(hr, raw, out)
	return out
}

// validate checks a response against the operation's declared responses,
// or, where no operation matches (404/405 routing errors), against the
// error document schema.
func (a *api) validate(hr *http.Request, reqBody []byte, out *resp) {
	a.t.Helper()
	doc, router := loadSpec(a.t)
	fields := url.Values{}
	for name, vals := range hr.URL.Query() {
		if strings.HasPrefix(name, "fields[") && len(vals) == 1 {
			fields[name] = vals
		}
	}
	if len(fields) > 0 {
		doc, router = sparseSpec(a.t, fields)
	}
	if out.Code != http.StatusNoContent && out.Code != http.StatusNotModified && out.Header.Get("Content-Type") != mediaType {
		a.t.Errorf("%s %s: Content-Type %q, want %q", hr.Method, hr.URL, out.Header.Get("Content-Type"), mediaType)
	}
	// Route lookup needs a fresh request with the body it was sent with.
	vr := hr.Clone(context.Background())
	if reqBody != nil {
		vr.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	route, params, err := router.FindRoute(vr)
	if err != nil {
		if out.Code != http.StatusNotFound && out.Code != http.StatusMethodNotAllowed {
			a.t.Errorf("%s %s: no operation in the spec, yet status %d", hr.Method, hr.URL, out.Code)
		}
		schema := doc.Components.Schemas["ErrorDocument"].Value
		var v any
		if err := json.Unmarshal(out.Raw, &v); err != nil {
			a.t.Fatalf("error body is not JSON: %v", err)
		}
		if err := schema.VisitJSON(v); err != nil {
			a.t.Errorf("%s %s: error body does not match ErrorDocument: %v", hr.Method, hr.URL, err)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: vr, PathParams: params, Route: route,
		},
		Status:  out.Code,
		Header:  out.Header,
		Body:    io.NopCloser(bytes.NewReader(out.Raw)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		a.t.Errorf("%s %s: response %d does not match openapi.yaml: %v\n%s", hr.Method, hr.URL, out.Code, err, out.Raw)
	}
}

// data returns the response's data object.
func (r *resp) data() map[string]any {
	d, _ := r.Doc["data"].(map[string]any)
	return d
}

// attrs returns the response's data.attributes.
func (r *resp) attrs() map[string]any {
	a, _ := r.data()["attributes"].(map[string]any)
	return a
}

// id returns the response's data.id.
func (r *resp) id() string {
	s, _ := r.data()["id"].(string)
	return s
}

// list returns the response's data array.
func (r *resp) list() []map[string]any {
	items, _ := r.Doc["data"].([]any)
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i], _ = it.(map[string]any)
	}
	return out
}

// firstError returns the first error object.
func (r *resp) firstError() map[string]any {
	errs, _ := r.Doc["errors"].([]any)
	if len(errs) == 0 {
		return nil
	}
	e, _ := errs[0].(map[string]any)
	return e
}

// pointers returns every error's source.pointer.
func (r *resp) pointers() []string {
	errs, _ := r.Doc["errors"].([]any)
	var out []string
	for _, e := range errs {
		src, _ := e.(map[string]any)["source"].(map[string]any)
		p, _ := src["pointer"].(string)
		out = append(out, p)
	}
	return out
}

// want fails the test unless the response has status code; for errors it
// also checks the JSON:API error shape and, when pointer is not "-", that
// the first error's source.pointer equals pointer ("" meaning none).
func (r *resp) want(t testing.TB, code int, pointer string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d\n%s", r.Code, code, r.Raw)
	}
	if code < 400 {
		return
	}
	e := r.firstError()
	if e == nil {
		t.Fatalf("status %d without an errors array:\n%s", code, r.Raw)
	}
	if e["status"] != itoa(code) {
		t.Errorf("error status %v, want %q", e["status"], itoa(code))
	}
	if e["title"] != http.StatusText(code) {
		t.Errorf("error title %v, want %q", e["title"], http.StatusText(code))
	}
	if pointer == "-" {
		return
	}
	got := ""
	if src, ok := e["source"].(map[string]any); ok {
		got, _ = src["pointer"].(string)
	}
	if got != pointer {
		t.Errorf("error pointer %q, want %q\n%s", got, pointer, r.Raw)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// doc builds a JSON:API request document.
func doc(typ string, attrs map[string]any) map[string]any {
	return map[string]any{"data": map[string]any{"type": typ, "attributes": attrs}}
}

// Fixtures: each creates a resource and fails the test unless it gets 201.

func (a *api) contact(tok string) string {
	a.t.Helper()
	r := a.do(req{Method: "POST", Path: "/api/v2/contacts", Token: tok, Body: doc("contacts", map[string]any{"name": "Doe family"})})
	r.want(a.t, http.StatusCreated, "")
	return r.id()
}

func (a *api) person(tok, contactID string) string {
	a.t.Helper()
	r := a.do(req{Method: "POST", Path: "/api/v2/contacts/" + contactID + "/people", Token: tok, Body: doc("people", map[string]any{"first_name": "Jane", "last_name": "Doe"})})
	r.want(a.t, http.StatusCreated, "")
	return r.id()
}

func (a *api) phone(tok, contactID, personID string, attrs map[string]any) *resp {
	a.t.Helper()
	r := a.do(req{Method: "POST", Path: phonesPath(contactID, personID), Token: tok, Body: doc("phone_numbers", attrs)})
	r.want(a.t, http.StatusCreated, "")
	return r
}

func phonesPath(contactID, personID string) string {
	return "/api/v2/contacts/" + contactID + "/people/" + personID + "/phones"
}

// tree is one user's contact, person and phone.
type tree struct {
	tok, contact, person, phone string
}

func (a *api) tree() tree {
	a.t.Helper()
	tok := a.user()
	c := a.contact(tok)
	p := a.person(tok, c)
	ph := a.phone(tok, c, p, map[string]any{"number": "617-555-1212", "location": "mobile"})
	return tree{tok: tok, contact: c, person: p, phone: ph.id()}
}

func (tr tree) contactPath() string { return "/api/v2/contacts/" + tr.contact }
func (tr tree) personPath() string  { return tr.contactPath() + "/people/" + tr.person }
func (tr tree) phonesPath() string  { return tr.personPath() + "/phones" }
func (tr tree) phonePath() string   { return tr.phonesPath() + "/" + tr.phone }

// TestTreeSmoke checks the tree fixture the other tests build on.
func TestTreeSmoke(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	r := a.do(req{Method: "GET", Path: tr.phonePath(), Token: tr.tok})
	r.want(t, http.StatusOK, "")
	if r.attrs()["number"] != "+16175551212" || r.attrs()["primary"] != true {
		t.Errorf("phone = %v", r.attrs())
	}
}

// rowExists reports whether table has a row with the given id, read
// straight from the store's file: deletes must remove rows, not hide them
// behind a path that no longer holds.
func (a *api) rowExists(table, id string) bool {
	a.t.Helper()
	conn, err := sql.Open("sqlite3", "file:"+a.dbPath+"?mode=ro")
	if err != nil {
		a.t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRow(`SELECT count(*) FROM `+table+` WHERE id = ?`, strings.ToLower(id)).Scan(&n); err != nil {
		a.t.Fatalf("rows of %s: %v", table, err)
	}
	return n > 0
}

// mustParseTime parses a response timestamp.
func mustParseTime(t testing.TB, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("timestamp %q: %v", s, err)
	}
	return at
}

// docWithID builds a request document with an optional data.id.
func docWithID(typ string, id any, attrs map[string]any) map[string]any {
	d := map[string]any{"type": typ, "attributes": attrs}
	if id != nil {
		d["id"] = id
	}
	return map[string]any{"data": d}
}

// timeRE is the response timestamp format: RFC 3339 UTC with milliseconds.
var timeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// uuidRE is a UUID as the API returns it.
var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// mustGet fetches path and fails unless it gets 200.
func mustGet(t testing.TB, a *api, tok, path string) *resp {
	t.Helper()
	r := a.do(req{Method: "GET", Path: path, Token: tok})
	r.want(t, http.StatusOK, "")
	return r
}

// resourceKind is one resource type with paths under a tree and update bodies.
type resourceKind struct {
	typ        string
	collection func(tr tree) string
	item       func(tr tree) string
	create     map[string]any
	attr       string // a text attribute the updates change
}

var resourceKinds = []resourceKind{
	{
		typ: "contacts", collection: func(tree) string { return "/api/v2/contacts" },
		item: tree.contactPath, create: map[string]any{"name": "Roe family"}, attr: "name",
	},
	{
		typ: "people", collection: func(tr tree) string { return tr.contactPath() + "/people" },
		item: tree.personPath, create: map[string]any{"first_name": "Ann", "last_name": "Roe"}, attr: "first_name",
	},
	{
		typ: "phone_numbers", collection: tree.phonesPath,
		item: tree.phonePath, create: map[string]any{"number": "617-555-0100"}, attr: "location",
	},
}

// storedAt returns the stored updated_in_db_at of the resource at path.
func storedAt(t testing.TB, a *api, tok, path string) string {
	t.Helper()
	s, _ := mustGet(t, a, tok, path).attrs()["updated_in_db_at"].(string)
	if s == "" {
		t.Fatalf("GET %s: no updated_in_db_at", path)
	}
	return s
}

// forTest returns a view of a whose failures are reported on t (for
// subtests), sharing the same server and database.
func forTest(a *api, t testing.TB) *api {
	return &api{t: t, e: a.e, store: a.store}
}

// phoneDoc builds a phone_numbers document, with data.id when id is not "".
func phoneDoc(id string, attrs map[string]any) map[string]any {
	d := doc("phone_numbers", attrs)
	if id != "" {
		d["data"].(map[string]any)["id"] = id
	}
	return d
}

// listPhones lists a person's phones, checking the list document shape.
func listPhones(t testing.TB, a *api, tok, path string) []map[string]any {
	t.Helper()
	r := a.do(req{Method: "GET", Path: path, Token: tok})
	r.want(t, http.StatusOK, "")
	if _, ok := r.Doc["meta"].(map[string]any); !ok {
		t.Errorf("list without a meta object:\n%s", r.Raw)
	}
	if _, ok := r.Doc["data"].([]any); !ok {
		t.Errorf("list data is not an array:\n%s", r.Raw)
	}
	return r.list()
}

// attrsOf returns the attributes of a resource object.
func attrsOf(item map[string]any) map[string]any {
	a, _ := item["attributes"].(map[string]any)
	return a
}

// findByID returns the list item with id, or fails.
func findByID(t testing.TB, list []map[string]any, id string) map[string]any {
	t.Helper()
	for _, it := range list {
		if it["id"] == id {
			return attrsOf(it)
		}
	}
	t.Fatalf("phone %s not in list", id)
	return nil
}

// newPerson creates a person under tr's contact and returns the phones path.
func newPerson(t testing.TB, a *api, tr tree) string {
	t.Helper()
	return phonesPath(tr.contact, a.person(tr.tok, tr.contact))
}

// createPhone posts a phone and fails unless it gets 201.
func createPhone(t testing.TB, a *api, tok, path string, attrs map[string]any) *resp {
	t.Helper()
	r := a.do(req{Method: "POST", Path: path, Token: tok, Body: doc("phone_numbers", attrs)})
	r.want(t, http.StatusCreated, "")
	return r
}

// sendPhoneUpdate sends PUT or PATCH with overwrite: true plus attrs and fails
// unless it gets 200.
func sendPhoneUpdate(t testing.TB, a *api, method, tok, path string, attrs map[string]any) *resp {
	t.Helper()
	all := map[string]any{"overwrite": true}
	for k, v := range attrs {
		all[k] = v
	}
	r := a.do(req{Method: method, Path: path, Token: tok, Body: doc("phone_numbers", all)})
	r.want(t, http.StatusOK, "")
	return r
}

var updateMethods = []string{http.MethodPut, http.MethodPatch}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// attrKeys returns the sorted attribute names of a resource object.
func attrKeys(attrs map[string]any) []string {
	out := make([]string, 0, len(attrs))
	for k := range attrs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// decodePage decodes a 200 list response.
func decodePage(t testing.TB, r *resp) listPage {
	t.Helper()
	r.want(t, http.StatusOK, "")
	var p listPage
	if err := json.Unmarshal(r.Raw, &p); err != nil {
		t.Fatalf("list response does not decode (pagination must be integers): %v\n%s", err, r.Raw)
	}
	if p.Data == nil {
		t.Fatalf("data is missing or null, want an array:\n%s", r.Raw)
	}
	if p.Meta.Filter == nil {
		t.Fatalf("meta.filter is missing or null, want an object:\n%s", r.Raw)
	}
	return p
}

// fmtTime formats t as the server does (UTC, milliseconds).
func fmtTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// idWithPrefix returns a new lower-case UUID whose first hex digit is p.
func idWithPrefix(p string) string {
	return p + uuid.NewString()[1:]
}

func idsOf(items []map[string]any) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it["id"].(string)
	}
	return out
}

// listPage is a list response decoded strictly: the pagination numbers must be
// JSON integers to decode into int.
type listPage struct {
	Data []struct {
		ID         string         `json:"id"`
		Type       string         `json:"type"`
		Attributes map[string]any `json:"attributes"`
	} `json:"data"`
	Meta struct {
		Pagination pagination        `json:"pagination"`
		Sort       string            `json:"sort"`
		Filter     map[string]string `json:"filter"`
	} `json:"meta"`
	Links map[string]string `json:"links"`
}

// newClock installs a controlled clock set to start on a's store.
func newClock(a *api, start time.Time) *dbtest.Clock {
	c := dbtest.NewClock(start)
	a.store.SetClock(c.Now)
	return c
}

type pagination struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

// paramCase is a request that must fail with 400 naming a parameter.
type paramCase struct {
	query  string
	param  string // "" with alts: any of alts
	alts   []string
	detail string // exact detail, or ""
	substr []string
}

// badSorts are sort values a list refuses: one naming several fields
// (a comma) with the "multiple sorting parameters" detail, any other with
// "Sorting by FIELD is not supported", FIELD being the value without its "-".
func badSorts(values ...string) []paramCase {
	var out []paramCase
	for _, v := range values {
		detail := "Sorting by " + strings.TrimPrefix(v, "-") + " is not supported for this endpoint."
		if strings.Contains(v, ",") {
			detail = "This endpoint does not support multiple sorting parameters."
		}
		out = append(out, paramCase{query: "sort=" + v, param: "sort", detail: detail})
	}
	return out
}

// refused are queries, each "name=value" with the name unescaped, that a
// list refuses naming that parameter. The name is escaped in the query
// sent; the value is sent as written.
func refused(queries ...string) []paramCase {
	var out []paramCase
	for _, q := range queries {
		name, value, _ := strings.Cut(q, "=")
		out = append(out, paramCase{query: url.QueryEscape(name) + "=" + value, param: name})
	}
	return out
}

// primaryInvariant checks the one-primary rule on a list and returns the id of
// the primary ("" when there is none).
func primaryInvariant(t testing.TB, list []map[string]any) string {
	t.Helper()
	primary, primaries, live := "", 0, 0
	for _, it := range list {
		at := attrsOf(it)
		hist, prim := at["historic"] == true, at["primary"] == true
		if !hist {
			live++
		}
		if hist && prim {
			t.Errorf("historic phone %v is primary", it["id"])
		}
		if prim {
			primaries++
			primary, _ = it["id"].(string)
		}
	}
	switch {
	case live > 0 && primaries != 1:
		t.Errorf("%d non-historic phones, %d primaries; want exactly one", live, primaries)
	case live == 0 && primaries != 0:
		t.Errorf("no non-historic phones, yet %d primaries", primaries)
	}
	return primary
}

// get sends an unauthenticated request for target (a path, or an absolute
// URL whose host becomes the request's Host) through the full Echo stack,
// from 192.0.2.1 (httptest's default) or from remote when given. Unlike
// do, it checks nothing against openapi.yaml: it is for the routes outside
// the API (docs, health, metrics).
func (a *api) get(method, target string, header map[string]string, remote ...string) *httptest.ResponseRecorder {
	a.t.Helper()
	r := httptest.NewRequest(method, target, nil)
	if len(remote) > 0 {
		r.RemoteAddr = remote[0]
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	a.e.ServeHTTP(w, r)
	return w
}

// rawGet sends an authenticated GET.
func rawGet(a *api, tok, path string) *resp {
	a.t.Helper()
	return a.do(req{Method: "GET", Path: path, Token: tok})
}

func runParamCases(t *testing.T, a *api, tok, path string, cases []paramCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			r := rawGet(a, tok, path+"?"+tc.query)
			r.want(t, http.StatusBadRequest, "")
			e := r.firstError()
			src, _ := e["source"].(map[string]any)
			got, _ := src["parameter"].(string)
			switch {
			case tc.param != "" && got != tc.param:
				t.Errorf("source.parameter %q, want %q\n%s", got, tc.param, r.Raw)
			case tc.param == "" && !slices.Contains(tc.alts, got):
				t.Errorf("source.parameter %q, want one of %v\n%s", got, tc.alts, r.Raw)
			}
			detail, _ := e["detail"].(string)
			if tc.detail != "" && detail != tc.detail {
				t.Errorf("detail %q, want %q", detail, tc.detail)
			}
			for _, s := range tc.substr {
				if !strings.Contains(detail, s) {
					t.Errorf("detail %q does not mention %q", detail, s)
				}
			}
		})
	}
}

func sameSnapshot(t testing.TB, before, after map[string]string) {
	t.Helper()
	for p, b := range before {
		if after[p] != b {
			t.Errorf("GET %s changed:\nbefore %s\nafter  %s", p, b, after[p])
		}
	}
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// snapshot returns the raw bodies of GETs of paths, for before/after
// comparisons.
func snapshot(t testing.TB, a *api, tok string, paths ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range paths {
		out[p] = string(mustGet(t, a, tok, p).Raw)
	}
	return out
}

// timestampOf parses a returned timestamp, checking its form.
func timestampOf(t testing.TB, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	if !timeRE.MatchString(s) {
		t.Fatalf("timestamp %q is not of the form 2006-01-02T15:04:05.000Z", s)
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// tokenSegment is one base64url JSON segment of a JWT.
func tokenSegment(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// wantErrorDoc checks status and first pointer (see resp.want), then the shape
// of every error object: status is the code as a string, title the standard
// phrase, and detail a short human sentence, never a dump of the schema.
func wantErrorDoc(t testing.TB, r *resp, code int, pointer string) {
	t.Helper()
	r.want(t, code, pointer)
	checkErrorDoc(t, r, code)
}

// wantLinks checks links exactly: the set of keys, and each link as a
// path-absolute URL on path whose query is the request's other parameters
// (rest) plus page and per_page. prev and next are 0 when absent.
func wantLinks(t testing.TB, links map[string]string, path string, rest url.Values, perPage, self, last, prev, next int) {
	t.Helper()
	want := map[string]int{"self": self, "first": 1, "last": last}
	if prev > 0 {
		want["prev"] = prev
	}
	if next > 0 {
		want["next"] = next
	}
	var gotKeys, wantKeys []string
	for k := range links {
		gotKeys = append(gotKeys, k)
	}
	for k := range want {
		wantKeys = append(wantKeys, k)
	}
	sort.Strings(gotKeys)
	sort.Strings(wantKeys)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("links has %v, want %v: %v", gotKeys, wantKeys, links)
	}
	for k, page := range want {
		link, ok := links[k]
		if !ok {
			continue
		}
		u, err := url.Parse(link)
		if err != nil {
			t.Errorf("links.%s %q: %v", k, link, err)
			continue
		}
		if u.Scheme != "" || u.Host != "" || !strings.HasPrefix(link, "/api/v2/") {
			t.Errorf("links.%s %q is not path-absolute", k, link)
		}
		if u.Path != path {
			t.Errorf("links.%s path %q, want %q", k, u.Path, path)
		}
		wq := url.Values{}
		for name, vs := range rest {
			wq[name] = vs
		}
		wq.Set("page", fmt.Sprint(page))
		wq.Set("per_page", fmt.Sprint(perPage))
		if got := u.Query(); !reflect.DeepEqual(got, wq) {
			t.Errorf("links.%s query %v, want %v", k, got, wq)
		}
	}
}

// with returns a copy of m with the extra keys set.
func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m)+len(kv)/2)
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func checkErrorDoc(t testing.TB, r *resp, code int) {
	t.Helper()
	errs, ok := r.Doc["errors"].([]any)
	if !ok || len(errs) == 0 {
		t.Fatalf("status %d without errors:\n%s", r.Code, r.Raw)
	}
	if _, ok := r.Doc["data"]; ok {
		t.Errorf("error document also has data:\n%s", r.Raw)
	}
	for i, raw := range errs {
		e, _ := raw.(map[string]any)
		if s, ok := e["status"].(string); !ok || s != strconv.Itoa(code) {
			t.Errorf("errors[%d].status = %#v, want the string %q", i, e["status"], strconv.Itoa(code))
		}
		if e["title"] != http.StatusText(code) {
			t.Errorf("errors[%d].title = %#v, want %q", i, e["title"], http.StatusText(code))
		}
		detail, _ := e["detail"].(string)
		switch {
		case detail == "":
			t.Errorf("errors[%d] has no detail:\n%s", i, r.Raw)
		case len(detail) >= 200,
			strings.Contains(detail, "\n"),
			strings.Contains(detail, `"type":`),
			strings.Contains(detail, "Schema:"),
			strings.Contains(detail, "Value:"),
			strings.Contains(detail, "Error at"):
			t.Errorf("errors[%d].detail looks like a dump, not a message: %q", i, detail)
		}
	}
}

// operation is any operation of the API.
type operation struct {
	name, method, path string
	body               any
}

func (p listPage) ids() []string {
	out := make([]string, len(p.Data))
	for i, d := range p.Data {
		out[i] = d.ID
	}
	return out
}

// createCase is one POST to a collection: the body's id (nil for none) and
// attributes, the status wanted, and for a refusal the error's pointer;
// check, when set, looks further at a 201.
type createCase struct {
	name    string
	id      any
	attrs   map[string]any
	code    int
	pointer string
	check   func(t *testing.T, r *resp)
}

// runCreateCases POSTs each case to collection as a typ document. A refusal
// must be an error document that leaves the list as it was; a 201 must add
// one item, point its Location at collection/id, and GET there must return
// the 201's body.
func runCreateCases(t *testing.T, a *api, tok, collection, typ string, cases []createCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(mustGet(t, a, tok, collection).list())
			r := a.do(req{Method: "POST", Path: collection, Token: tok, Body: docWithID(typ, tc.id, tc.attrs)})
			after := len(mustGet(t, a, tok, collection).list())
			if tc.code != http.StatusCreated {
				wantErrorDoc(t, r, tc.code, tc.pointer)
				if after != before {
					t.Errorf("a failed create changed the list from %d to %d %s", before, after, typ)
				}
				return
			}
			r.want(t, http.StatusCreated, "")
			if after != before+1 {
				t.Errorf("list has %d %s after create, want %d", after, typ, before+1)
			}
			loc := r.Header.Get("Location")
			if want := collection + "/" + r.id(); loc != want {
				t.Errorf("Location %q, want %q", loc, want)
			}
			// The Location names the stored resource, equal to the response.
			if got := mustGet(t, a, tok, loc); string(got.Raw) != string(r.Raw) {
				t.Errorf("GET Location differs from the 201 body:\n%s\n%s", got.Raw, r.Raw)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// wantGone checks that every path answers GET with 404 and that no row of
// rows (table → ids) is left: deleted, not just hidden.
func wantGone(t testing.TB, a *api, tok string, paths []string, rows map[string][]string) {
	t.Helper()
	for _, path := range paths {
		wantErrorDoc(t, a.do(req{Method: "GET", Path: path, Token: tok}), http.StatusNotFound, "")
	}
	for table, ids := range rows {
		for _, id := range ids {
			if a.rowExists(table, id) {
				t.Errorf("%s row %s is still there", table, id)
			}
		}
	}
}

// wantGet GETs path. For code 200 the body must be created's, and the
// response is returned for further checks; for any other code it must be
// an error document, and wantGet returns nil.
func wantGet(t testing.TB, a *api, tok, path string, code int, created *resp) *resp {
	t.Helper()
	r := a.do(req{Method: "GET", Path: path, Token: tok})
	if code != http.StatusOK {
		wantErrorDoc(t, r, code, "")
		return nil
	}
	r.want(t, http.StatusOK, "")
	if string(r.Raw) != string(created.Raw) {
		t.Errorf("GET differs from the create response:\n%s\n%s", r.Raw, created.Raw)
	}
	return r
}

// etagOf returns a response's ETag, failing unless it is a strong entity tag.
func etagOf(t testing.TB, r *resp) string {
	t.Helper()
	tag := r.Header.Get("ETag")
	if len(tag) < 3 || strings.HasPrefix(tag, "W/") || tag[0] != '"' || tag[len(tag)-1] != '"' || strings.Contains(tag[1:len(tag)-1], `"`) {
		t.Fatalf("ETag %q is not a strong entity tag (status %d)", tag, r.Code)
	}
	return tag
}

// getWithETag GETs path and returns the response and its ETag.
func getWithETag(t testing.TB, a *api, tok, path string) (*resp, string) {
	t.Helper()
	r := a.do(req{Method: "GET", Path: path, Token: tok})
	r.want(t, http.StatusOK, "")
	return r, etagOf(t, r)
}

// want412 checks a 412 naming the If-Match header.
func want412(t testing.TB, r *resp) {
	t.Helper()
	r.want(t, http.StatusPreconditionFailed, "")
	src, _ := r.firstError()["source"].(map[string]any)
	if src["header"] != "If-Match" {
		t.Errorf("412 source %v, want header If-Match", src)
	}
}
