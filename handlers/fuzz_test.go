package handlers

// Fuzz targets for everything a client controls before a handler runs: the
// request document (bodyShape.check, the request validation of each route,
// then the whole request path through the real Echo app on a SQLite file)
// and the query string (parseQuery and queryShape.check, then list and read
// requests through the app). Whatever the input, nothing may panic and no
// response may be a 5xx; responses must also match openapi.yaml; no accepted
// document may hold U+0000, invalid UTF-8 or a duplicate member name, and no
// accepted query string may fail to parse. `make fuzz` runs each target for
// FUZZTIME; the seed corpora
// under testdata/fuzz run with every `go test`.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/labstack/echo/v4"
)

// fuzzRoute is one operation of the spec with its method and path.
type fuzzRoute struct {
	method, path string
	rt           *route
}

// fuzzRoutes returns every operation of the embedded spec, sorted by path
// and method so that a selector byte always means the same operation.
func fuzzRoutes(t testing.TB) []fuzzRoute {
	t.Helper()
	spec, _ := loadSpec(t)
	var out []fuzzRoute
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			rt, err := newRoute(spec, path, item, method, op)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fuzzRoute{method: method, path: path, rt: rt})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].path != out[j].path {
			return out[i].path < out[j].path
		}
		return out[i].method < out[j].method
	})
	return out
}

// pick returns the routes that satisfy keep.
func pick(rs []fuzzRoute, keep func(fuzzRoute) bool) []fuzzRoute {
	var out []fuzzRoute
	for _, r := range rs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// flatErrors returns the JSON:API errors err carries, or fails the test if
// err is something else (which toErrors would turn into a 500).
func flatErrors(t *testing.T, err error) Errors {
	t.Helper()
	var one *Error
	var many Errors
	switch {
	case errors.As(err, &many):
		if len(many) == 0 {
			t.Fatalf("empty Errors")
		}
		return many
	case errors.As(err, &one):
		return Errors{one}
	}
	t.Fatalf("error %T %v is not a JSON:API error", err, err)
	return nil
}

const fuzzPathID = "0b7d4c52-8f4e-4a43-9a38-3f0c1d2e5a61"

// bodySeeds are request documents worth starting from: valid ones for each
// type, each structural rule broken once, and JSON oddities.
var bodySeeds = []string{
	`{"data":{"type":"contacts","attributes":{"name":"Doe family"}}}`,
	`{"data":{"type":"people","attributes":{"first_name":"Jane","last_name":null}}}`,
	`{"data":{"type":"phone_numbers","attributes":{"number":"617-555-1212","location":"mobile","primary":true}}}`,
	`{"data":{"type":"phone_numbers","attributes":{"number":6175551212,"country_code":44}}}`,
	`{"data":{"type":"phone_numbers","attributes":{"number":"+44 20 7946 0958 ext 12","historic":true,"source":"MPDX","valid_values":false}}}`,
	`{"data":{"type":"contacts","id":"` + fuzzPathID + `","attributes":{"name":"x","overwrite":true}}}`,
	`{"data":{"type":"contacts","attributes":{"name":"x","updated_in_db_at":"2026-11-28T05:51:57.123Z"}}}`,
	`{"data":{"type":"contacts","attributes":{"name":"x","created_at":"2026-11-28T05:51:57Z","updated_at":"2026-11-28"}}}`,
	`{"data":{"type":"people","id":"not-a-uuid","attributes":{"first_name":"J"}}}`,
	`{"data":{"type":"people","attributes":{"first_name":"J","contact_id":"x"}}}`,
	`{"data":{"type":"people","attributes":{"id":"x"}}}`,
	`{"data":{"type":"wrong","attributes":{}}}`,
	`{"data":{"attributes":{}}}`,
	`{"data":{"type":"contacts"}}`,
	`{"data":{"type":"contacts","attributes":[]}}`,
	`{"data":[]}`,
	`{"data":null}`,
	`{}`,
	`[]`,
	`"data"`,
	`null`,
	``,
	` `,
	`{`,
	`{"data":{}} {}`,
	`{"data":{"type":"contacts","attributes":{"name":"\ud800"}}}`,
	`{"data":{"type":"contacts","attributes":{"name":1e999}}}`,
	`{"data":{"type":"contacts","attributes":{"a/b~c":1}}}`,
	`{"data":{"type":"contacts","attributes":{"name":"x","name":2}}}`,
	`{"data":{"type":"phone_numbers","attributes":{"number":1.5e300}}}`,
	`{"data":{"type":"phone_numbers","attributes":{"number":"` + strings.Repeat("9", 300) + `"}}}`,
	`{"data":{"type":"people","attributes":{"first_name":"` + strings.Repeat("é", 300) + `"}}}`,
	`{"data":` + strings.Repeat(`[`, 1000) + strings.Repeat(`]`, 1000) + `}`,
	// What the server could not store or read back faithfully: U+0000 (an
	// escape, a raw byte), invalid UTF-8, duplicate member names.
	`{"data":{"type":"phone_numbers","attributes":{"location":"a\u0000b","overwrite":true}}}`,
	"{\"data\":{\"type\":\"contacts\",\"attributes\":{\"name\":\"a\x00b\"}}}",
	"{\"data\":{\"type\":\"people\",\"attributes\":{\"first_name\":\"caf\xc3\"}}}",
	`{"data":{"type":"contacts","attributes":{"name":"\udc00\ud83d\ude00"}}}`,
	`{"data":{"type":"phone_numbers","attributes":{"location":"a","location":"b","overwrite":true}}}`,
	`{"data":{"type":"phone_numbers","type":"phone_numbers","attributes":{"overwrite":true}}}`,
	`{"data":{"type":"contacts","attributes":{"name":"a"}},"data":{"type":"contacts","attributes":{"name":"b"}}}`,
	`{"data":{"type":"people","attributes":{"first_name":"a","first\u005fname":"b"}}}`,
}

// validBodies are valid create and update documents by resource type.
var validBodies = map[string]string{
	"contacts":      bodySeeds[0],
	"people":        bodySeeds[1],
	"phone_numbers": bodySeeds[2],
}

// addBodySeeds adds a valid document for each route, and each seed once,
// spread over the routes (the fuzzer mutates the route selector too): a
// small seed set keeps the baseline coverage pass short.
func addBodySeeds(f *testing.F, routes []fuzzRoute) {
	for i, r := range routes {
		f.Add(uint8(i), []byte(validBodies[r.rt.body.typ]))
	}
	for i, s := range bodySeeds {
		f.Add(uint8(i%len(routes)), []byte(s))
	}
}

// FuzzBodyCheck drives bodyShape.check, the JSON:API structural check of
// every request body, with each request schema of the spec.
func FuzzBodyCheck(f *testing.F) {
	routes := pick(fuzzRoutes(f), func(r fuzzRoute) bool { return r.rt.body != nil })
	addBodySeeds(f, routes)
	f.Fuzz(func(t *testing.T, op uint8, raw []byte) {
		r := routes[int(op)%len(routes)]
		_, err := r.rt.body.check(raw, fuzzPathID)
		if err == nil {
			// Accepted: it must be a JSON object whose data has this
			// endpoint's type and an attributes object.
			var doc struct {
				Data struct {
					Type       string                     `json:"type"`
					Attributes map[string]json.RawMessage `json:"attributes"`
				} `json:"data"`
			}
			if jerr := json.Unmarshal(raw, &doc); jerr != nil {
				t.Fatalf("%s %s: accepted %q, which encoding/json rejects: %v", r.method, r.path, raw, jerr)
			}
			if doc.Data.Type != r.rt.body.typ || doc.Data.Attributes == nil {
				t.Fatalf("%s %s: accepted %q without data.type %q and attributes", r.method, r.path, raw, r.rt.body.typ)
			}
			if why := notFaithful(raw); why != "" {
				t.Fatalf("%s %s: accepted %q, which %s", r.method, r.path, raw, why)
			}
			return
		}
		errs := flatErrors(t, err)
		status := errs[0].Status
		for _, e := range errs {
			if e.Status != status {
				t.Fatalf("%s %s: mixed statuses in one response: %v", r.method, r.path, errs)
			}
			if e.Status != http.StatusBadRequest && e.Status != http.StatusConflict {
				t.Fatalf("%s %s: status %d for %q, want 400 or 409", r.method, r.path, e.Status, raw)
			}
			if e.Detail == "" {
				t.Fatalf("%s %s: error without detail for %q", r.method, r.path, raw)
			}
			if e.Pointer != "" && !strings.HasPrefix(e.Pointer, "/") {
				t.Fatalf("%s %s: pointer %q is not a JSON pointer", r.method, r.path, e.Pointer)
			}
		}
	})
}

// FuzzBodyAccepted sends arbitrary bodies through the request validation
// of every create and update route (route.validate, as New mounts it, in
// front of a handler that only notes it was reached): whatever reaches the
// handler must be a document that an independent, strict parser
// (jsontext, of github.com/go-json-experiment/json, which checks RFC 7493)
// finds valid: UTF-8 throughout, escapes of surrogates in pairs, every
// member name once per object; and no string or name may hold U+0000.
// What it refuses must be a JSON:API error.
func FuzzBodyAccepted(f *testing.F) {
	routes := pick(fuzzRoutes(f), func(r fuzzRoute) bool { return r.rt.body != nil })
	addBodySeeds(f, routes)
	e := echo.New()
	f.Fuzz(func(t *testing.T, op uint8, raw []byte) {
		r := routes[int(op)%len(routes)]
		reached := false
		h := r.rt.validate(func(echo.Context) error { reached = true; return nil })
		hr := httptest.NewRequest(r.method, "/", bytes.NewReader(raw))
		hr.Header.Set("Content-Type", mediaType)
		c := e.NewContext(hr, httptest.NewRecorder())
		c.SetPath(r.path)
		var names, values []string
		for rest := r.path; strings.Contains(rest, "{"); {
			_, rest, _ = strings.Cut(rest, "{")
			var name string
			name, rest, _ = strings.Cut(rest, "}")
			names, values = append(names, name), append(values, fuzzPathID)
		}
		c.SetParamNames(names...)
		c.SetParamValues(values...)
		err := h(c)
		if !reached {
			if err == nil {
				t.Fatalf("%s %s: neither accepted nor refused %q", r.method, r.path, raw)
			}
			flatErrors(t, err)
			return
		}
		if why := notFaithful(raw); why != "" {
			t.Fatalf("%s %s: accepted %q, which %s", r.method, r.path, raw, why)
		}
	})
}

// notFaithful says what is wrong with an accepted document, checked
// without the body check's code: "" if it is valid I-JSON (RFC 7493:
// valid UTF-8, no unpaired surrogate escape, unique member names) and no
// string or member name holds U+0000.
func notFaithful(raw []byte) string {
	if !jsontext.Value(raw).IsValid() {
		return "is not valid I-JSON (invalid UTF-8, an unpaired surrogate escape or a duplicate member name)"
	}
	dec := jsontext.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.ReadToken()
		if err == io.EOF {
			return ""
		}
		if err != nil {
			return "does not read as I-JSON: " + err.Error()
		}
		if tok.Kind() == '"' && strings.IndexByte(tok.String(), 0) >= 0 {
			return "holds U+0000 in a string or member name"
		}
	}
}

// fuzzApp is an app with one user's contact, person and phone, for fuzz
// targets that go through the whole request path.
type fuzzApp struct {
	a  *api
	tr tree
}

func newFuzzApp(f *testing.F) *fuzzApp {
	a := newAPI(f)
	return &fuzzApp{a: a, tr: a.tree()}
}

// concrete fills an OpenAPI path template with the tree's ids.
func (fa *fuzzApp) concrete(template string) string {
	return strings.NewReplacer(
		"{contact_id}", fa.tr.contact,
		"{person_id}", fa.tr.person,
		"{id}", fa.tr.phone,
	).Replace(template)
}

// serve sends hr through the app as the tree's user, checks that the answer
// is not a 5xx and that it matches openapi.yaml, and returns its status.
func (fa *fuzzApp) serve(t *testing.T, hr *http.Request, body []byte) int {
	t.Helper()
	hr.Header.Set("Accept", mediaType)
	hr.Header.Set("Authorization", "Bearer "+fa.tr.tok)
	rec := httptest.NewRecorder()
	fa.a.e.ServeHTTP(rec, hr)
	if rec.Code >= 500 {
		t.Fatalf("%s %s: status %d\n%s", hr.Method, hr.URL, rec.Code, rec.Body.Bytes())
	}
	out := &resp{Code: rec.Code, Header: rec.Header(), Raw: rec.Body.Bytes()}
	if len(out.Raw) > 0 {
		if err := json.Unmarshal(out.Raw, &out.Doc); err != nil {
			t.Fatalf("%s %s: response is not JSON: %v\n%s", hr.Method, hr.URL, err, out.Raw)
		}
	}
	checker := *fa.a
	checker.t = t
	checker.validate(hr, body, out)
	return rec.Code
}

// FuzzRequestBody sends arbitrary bodies to every create and update
// operation of the real app (SQLite store): the size, syntax, structure and
// schema checks, attribute decoding, phone-number parsing, preconditions and
// the store must answer 2xx or 4xx, never 5xx.
func FuzzRequestBody(f *testing.F) {
	fa := newFuzzApp(f)
	routes := pick(fuzzRoutes(f), func(r fuzzRoute) bool { return r.rt.body != nil })
	addBodySeeds(f, routes)
	f.Fuzz(func(t *testing.T, op uint8, raw []byte) {
		r := routes[int(op)%len(routes)]
		path := fa.concrete(r.path)
		hr := httptest.NewRequest(r.method, path, bytes.NewReader(raw))
		hr.Header.Set("Content-Type", mediaType)
		fa.serve(t, hr, raw)
	})
}

// querySeeds are query strings worth starting from.
var querySeeds = []string{
	"",
	"page=2&per_page=10",
	"page[number]=3&page[size]=500",
	"page=1&page[number]=1",
	"per_page=501",
	"per_page=0",
	"page=-1",
	"page=2147483647&per_page=500",
	"page=99999999999999999999",
	"page=1&page=2",
	"sort=-updated_at",
	"sort=name,-created_at",
	"sort=last_name",
	"sort=-deleted_at",
	"sort=",
	"filter[updated_at]=2026-11-01..2026-11-28T05:51:57.123Z",
	"filter[updated_at]=2026-11-01...2026-11-02",
	"filter[updated_at]=..2026-11-28",
	"filter[updated_in_db_at]=2026-11-28T05:51:57.123%2B05:00..",
	"filter[updated_at]=...",
	"filter[updated_at]=9999-12-31T23:59:59.999999999Z",
	"filter[updated_at]=0000-01-01",
	"filter[primary]=true&filter[historic]=false&filter[location]=mobile",
	"filter[primary]=yes",
	"filter[since]=2026-11-28&filter[types]=people,phone_numbers",
	"filter[types]=contacts,,other",
	"filter[color]=red",
	"filter[=x",
	"fields[contacts]=name,updated_in_db_at",
	"fields[people]=first_name,,last_name",
	"fields[phone_numbers]=number,primary",
	"fields[deleted_records]=deletable_type",
	"fields[phone_numbers]=label",
	"fields[other]=x",
	"include=people",
	"access_token=x",
	"%zz=1&a=%",
	"page=%00",
	"sort=%E2%80%8B",
	"filter[location]=no;such",
	"filter[location]=no%zzsuch",
	"filter[primary]=true;",
	"filter[location]=%00",
	"filter[location]=%ff",
	"sort=-created_at;x",
	"fields[phone_numbers]=number;location",
	"a;b=1",
	"%00=1&%C3=2",
	"access_token=a.b.c;",
	"filter[location]=no%3Bsuch",
}

// addQuerySeeds adds an empty query for each route and each seed once,
// spread over the routes.
func addQuerySeeds(f *testing.F, routes []fuzzRoute) {
	for i := range routes {
		f.Add(uint8(i), "")
	}
	for i, s := range querySeeds {
		f.Add(uint8(i%len(routes)), s)
	}
}

// FuzzQueryParse drives parseQuery, the strict parse of checkQueryString
// (what it accepts must parse whole into clean text, what it refuses must
// not, with one 400), then queryShape.check, the page, sort, filter and
// fields rules, with the query parameters of each operation of the spec;
// what it accepts goes, typed as the generated binding types it, through
// fieldsOf and newList, as in the handlers.
func FuzzQueryParse(f *testing.F) {
	routes := fuzzRoutes(f)
	addQuerySeeds(f, routes)
	f.Fuzz(func(t *testing.T, op uint8, raw string) {
		r := routes[int(op)%len(routes)]
		values, err := parseQuery(raw) // checkQueryString's parse
		if err != nil {
			wantQueryRefused(t, raw, err)
			return
		}
		wantQueryAccepted(t, raw)
		err = r.rt.query.check(values)
		var l *listQuery
		if err == nil && r.rt.query.list {
			l, err = newList(r.path, paramsOf(values, r.rt.query.sort))
		}
		if err != nil {
			for _, e := range flatErrors(t, err) {
				if e.Status != http.StatusBadRequest || e.Parameter == "" || e.Detail == "" {
					t.Fatalf("%s %s ?%s: error %+v, want a 400 naming its parameter", r.method, r.path, raw, e)
				}
			}
			return
		}
		for param := range r.rt.query.fields {
			if v, ok := values[param]; ok {
				for name := range fieldsOf(&v[0]) {
					if !r.rt.query.fields[param][name] {
						t.Fatalf("%s %s ?%s: field %q is not an attribute", r.method, r.path, raw, name)
					}
				}
			}
		}
		if l == nil {
			return
		}
		switch {
		case l.page < 1, l.perPage < 1, l.perPage > maxPerPage:
			t.Fatalf("?%s: page %d, per_page %d", raw, l.page, l.perPage)
		case l.db.Limit != l.perPage, l.db.Offset != (l.page-1)*l.perPage, l.db.Offset < 0:
			t.Fatalf("?%s: limit %d offset %d for page %d per_page %d", raw, l.db.Limit, l.db.Offset, l.page, l.perPage)
		case !r.rt.query.sorts[l.sort]:
			t.Fatalf("?%s: sort %q is not one of the spec's", raw, l.sort)
		}
		for name := range l.filter {
			if !r.rt.query.declared["filter["+name+"]"] {
				t.Fatalf("?%s: filter %q is not declared", raw, name)
			}
		}
		for k := range l.rest {
			if k == "access_token" {
				t.Fatalf("?%s: access_token would be echoed into links", raw)
			}
		}
	})
}

// queryProblem returns why raw is not a query string the app may accept
// (url.ParseQuery fails on it, or a name or value decodes to U+0000 or
// invalid UTF-8), or "" when it is one. It is written apart from
// parseQuery, which the fuzz targets check against it.
func queryProblem(raw string) string {
	values, err := url.ParseQuery(raw)
	if err != nil {
		return "url.ParseQuery: " + err.Error()
	}
	for k, vs := range values {
		for _, s := range append([]string{k}, vs...) {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				return fmt.Sprintf("%q is not clean text", s)
			}
		}
	}
	return ""
}

// wantQueryAccepted fails t unless raw, which the app accepted, is a query
// string that url.ParseQuery reads whole (no pair dropped) into clean text.
func wantQueryAccepted(t *testing.T, raw string) {
	t.Helper()
	if p := queryProblem(raw); p != "" {
		t.Fatalf("?%q accepted, yet %s", raw, p)
	}
}

// wantQueryRefused fails t unless err, parseQuery's refusal of raw, is one
// 400 with a detail, raw indeed breaks a rule (queryProblem), and the
// detail does not repeat a token-like access_token value.
func wantQueryRefused(t *testing.T, raw string, err error) {
	t.Helper()
	errs := flatErrors(t, err)
	if len(errs) != 1 || errs[0].Status != http.StatusBadRequest || errs[0].Detail == "" {
		t.Fatalf("?%q: errors %+v, want one 400 with a detail", raw, errs)
	}
	if queryProblem(raw) == "" {
		t.Fatalf("?%q refused (%v), yet it parses whole into clean text", raw, errs[0])
	}
	if p := errs[0].Parameter; p != "" && (!utf8.ValidString(p) || strings.ContainsRune(p, 0) || !sentName(raw, p)) {
		t.Fatalf("?%q: source.parameter %q is not a clean name that was sent", raw, p)
	}
	for _, pair := range strings.Split(raw, "&") {
		tok, ok := strings.CutPrefix(pair, "access_token=")
		if !ok {
			continue
		}
		decoded, _ := url.QueryUnescape(tok)
		for _, v := range []string{tok, decoded} {
			// A token has dots; no detail's own words do.
			if len(v) >= 16 && strings.Contains(v, ".") && strings.Contains(errs[0].Detail, v) {
				t.Fatalf("?%q: the detail %q repeats the access_token", raw, errs[0].Detail)
			}
		}
	}
}

// sentName reports whether a pair of raw (without a raw ";") has the name
// name once unescaped.
func sentName(raw, name string) bool {
	for _, pair := range strings.Split(raw, "&") {
		k, _, _ := strings.Cut(pair, "=")
		if strings.Contains(k, ";") {
			continue
		}
		if got, err := url.QueryUnescape(k); err == nil && got == name {
			return true
		}
	}
	return false
}

// paramsOf types the list parameters of a query as the generated binding
// does (integers for paging), for newList.
func paramsOf(values url.Values, defaultSort string) listParams {
	p := listParams{defaultSort: defaultSort, filter: map[string]*string{}, keep: map[string]*string{}}
	number := func(names ...string) *int {
		for _, name := range names {
			if v, ok := values[name]; ok {
				n, _ := strconv.Atoi(v[0])
				return &n
			}
		}
		return nil
	}
	p.page, p.perPage = number("page", "page[number]"), number("per_page", "page[size]")
	for k, v := range values {
		switch name, isFilter := filterName(k); {
		case k == "sort":
			p.sort = &v[0]
		case isFilter:
			p.filter[name] = &v[0]
		case strings.HasPrefix(k, "fields[") || k == "include":
			p.keep[k] = &v[0]
		}
	}
	return p
}

// FuzzQuery sends arbitrary query strings to every GET operation of the real
// app: lists (page, sort, filter, fields) and single reads (fields). A query
// string the app answers with a 2xx must parse whole into clean text.
func FuzzQuery(f *testing.F) {
	fa := newFuzzApp(f)
	routes := pick(fuzzRoutes(f), func(r fuzzRoute) bool { return r.method == http.MethodGet })
	addQuerySeeds(f, routes)
	f.Fuzz(func(t *testing.T, op uint8, raw string) {
		r := routes[int(op)%len(routes)]
		hr := httptest.NewRequest(http.MethodGet, fa.concrete(r.path), nil)
		// Set the raw query directly: net/http would refuse some of these
		// bytes on the request line, and the app must cope with the rest.
		hr.URL.RawQuery = raw
		hr.RequestURI = hr.URL.RequestURI()
		if code := fa.serve(t, hr, nil); code < 300 {
			wantQueryAccepted(t, raw)
		}
	})
}
