package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Tests of the strict query string (checkQueryString): a query string that
// url.ParseQuery refuses, or with U+0000 or invalid UTF-8 in a name or a
// value, is 400 on every route, before anything reads it, on both engines.

// TestQueryStringStrict sends query strings that url.ParseQuery refuses
// (Echo's QueryParams drops such pairs, so the filter, sort or fields they
// carry was silently ignored: 200 with every phone) or that decode to
// U+0000 or invalid UTF-8 (a NUL in filter[location] was a 500 on
// PostgreSQL) to lists, single reads and a create: each is 400 naming the
// parameter when its name is known, and the create writes nothing. Query
// strings that parse, ";" and UTF-8 escaped, still work.
func TestQueryStringStrict(t *testing.T) { forEngines(t, nil, testQueryStringStrict) }

func testQueryStringStrict(t *testing.T, a *api) {
	tr := a.tree()
	// A second, non-primary phone: a dropped filter[primary] shows.
	a.phone(tr.tok, tr.contact, tr.person, map[string]any{"number": "617-555-1313", "location": "home"})
	accountPeople := "/api/v2/contacts/people"
	phoneDoc := doc("phone_numbers", map[string]any{"number": "617-555-1414", "location": "work"})
	tooMany := "filter[location]=nowhere" + strings.Repeat("&a=1", 10000)

	cases := []struct {
		name, method, path, query string
		body                      any
		code                      int
		param                     string // source.parameter of a 400; "" for none
		n                         int    // list length of a 200, -1 unchecked
	}{
		// Finding 2: pairs url.ParseQuery refuses.
		{name: "raw semicolon in a filter", path: tr.phonesPath(), query: "filter[location]=no;such", code: 400, param: "filter[location]"},
		{name: "bad escape in a filter", path: tr.phonesPath(), query: "filter[location]=no%zzsuch", code: 400, param: "filter[location]"},
		{name: "trailing semicolon on a boolean filter", path: tr.phonesPath(), query: "filter[primary]=true;", code: 400, param: "filter[primary]"},
		{name: "semicolon in sort", path: tr.phonesPath(), query: "sort=-created_at;", code: 400, param: "sort"},
		{name: "semicolon in fields", path: tr.phonesPath(), query: "fields[phone_numbers]=number;location", code: 400, param: "fields[phone_numbers]"},
		{name: "truncated escape", path: tr.phonesPath(), query: "per_page=1&filter[location]=mobile%", code: 400, param: "filter[location]"},
		{name: "people list sort", path: tr.contactPath() + "/people", query: "sort=-first_name;x", code: 400, param: "sort"},
		{name: "people list range filter", path: tr.contactPath() + "/people", query: "filter[updated_at]=2026-01-01;2027-01-01", code: 400, param: "filter[updated_at]"},
		{name: "account people list fields", path: accountPeople, query: "fields[people]=first_name%zz", code: 400, param: "fields[people]"},
		{name: "single phone fields", path: tr.phonePath(), query: "fields[phone_numbers]=number;primary", code: 400, param: "fields[phone_numbers]"},
		{name: "single person include", path: tr.personPath(), query: "include=phone_numbers;contact", code: 400, param: "include"},
		{name: "single contact include escape", path: tr.contactPath(), query: "include=people%g1", code: 400, param: "include"},
		{name: "undeclared parameter", path: tr.phonesPath(), query: "x=1;2", code: 400, param: "x"},
		{name: "semicolon in a name", path: tr.phonesPath(), query: "a;filter[location]=nowhere", code: 400},
		{name: "bad escape in a name", path: tr.phonesPath(), query: "filter%zz=1", code: 400},
		{name: "more parameters than url.ParseQuery allows", path: tr.phonesPath(), query: tooMany, code: 400},
		{name: "create with a bad include", method: "POST", path: tr.phonesPath(), query: "include=person;x", body: phoneDoc, code: 400, param: "include"},

		// Finding 1, query side: U+0000 and invalid UTF-8.
		{name: "NUL in a filter", path: tr.phonesPath(), query: "filter[location]=%00", code: 400, param: "filter[location]"},
		{name: "NUL inside a filter", path: tr.phonesPath(), query: "filter[location]=a%00b", code: 400, param: "filter[location]"},
		{name: "invalid UTF-8 in a filter", path: tr.phonesPath(), query: "filter[location]=%ff", code: 400, param: "filter[location]"},
		{name: "raw invalid UTF-8 in a filter", path: tr.phonesPath(), query: "filter[location]=caf\xe9", code: 400, param: "filter[location]"},
		{name: "NUL in account people query", path: accountPeople, query: "sort=-created_at&q=%00", code: 400, param: "q"},
		{name: "NUL in single contact query", path: tr.contactPath(), query: "fields[contacts]=name&q=a%00", code: 400, param: "q"},
		{name: "invalid UTF-8 in an undeclared parameter", path: tr.phonePath(), query: "x=%C3", code: 400, param: "x"},
		{name: "NUL in a name", path: tr.phonesPath(), query: "%00=1", code: 400},
		{name: "invalid UTF-8 in a name", path: tr.phonesPath(), query: "a%ff=1", code: 400},
		{name: "create with invalid UTF-8 in the query", method: "POST", path: tr.phonesPath(), query: "include=person&note=%ff", body: phoneDoc, code: 400, param: "note"},

		// What parses is read as before.
		{name: "escaped semicolon", path: tr.phonesPath(), query: "filter[location]=no%3Bsuch", code: 200, n: 0},
		{name: "filter applied", path: tr.phonesPath(), query: "filter[location]=home", code: 200, n: 1},
		{name: "boolean filter applied", path: tr.phonesPath(), query: "filter[primary]=true", code: 200, n: 1},
		{name: "UTF-8 value", path: tr.phonesPath(), query: "filter[location]=caf%C3%A9&sort=-created_at", code: 200, n: 0},
		{name: "empty pairs", path: tr.phonesPath(), query: "&&filter[location]=home&", code: 200, n: 1},
		{name: "single read", path: tr.phonePath(), query: "fields[phone_numbers]=number,primary", code: 200, n: -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := a.on(t)
			method := tc.method
			if method == "" {
				method = "GET"
			}
			before := a.phoneCount(tr)
			r := a.do(req{Method: method, Path: tc.path + "?" + tc.query, Token: tr.tok, Body: tc.body})
			if tc.code != http.StatusBadRequest {
				r.want(t, tc.code, "")
				if tc.n >= 0 && len(r.list()) != tc.n {
					t.Errorf("%d resources, want %d\n%s", len(r.list()), tc.n, r.Raw)
				}
				return
			}
			wantParam(t, r, tc.param, "")
			if d, _ := r.firstError()["detail"].(string); d == "" {
				t.Errorf("error without detail:\n%s", r.Raw)
			}
			if after := a.phoneCount(tr); after != before {
				t.Errorf("%d phones after a refused request, %d before", after, before)
			}
		})
	}
}

// on returns a copy of a that reports to t, for a subtest.
func (a *api) on(t testing.TB) *api {
	sub := *a
	sub.t = t
	return &sub
}

// phoneCount returns how many phones tr's person has.
func (a *api) phoneCount(tr tree) int {
	a.t.Helper()
	r := a.do(req{Method: "GET", Path: tr.phonesPath(), Token: tr.tok})
	r.want(a.t, http.StatusOK, "")
	return len(r.list())
}

// TestQueryStringAccessToken checks that a query string carrying
// access_token is held to the same rule before the token is read (a raw
// ";" after the token used to drop it: 401; a bad pair beside it was
// ignored: 200), and that no error repeats the token.
func TestQueryStringAccessToken(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	tok := url.QueryEscape(tr.tok)
	cases := []struct {
		name, query string
		code        int
		param       string
	}{
		{"valid", "access_token=" + tok, 200, ""},
		{"semicolon after the token", "access_token=" + tok + ";", 400, "access_token"},
		{"bad escape in the token", "access_token=" + tok + "%zz", 400, "access_token"},
		{"NUL in the token", "access_token=%00" + tok, 400, "access_token"},
		{"bad pair beside the token", "access_token=" + tok + "&filter[location]=no;such", 400, "filter[location]"},
		{"semicolon before the token", "x;access_token=" + tok, 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := a.on(t)
			r := a.do(req{Method: "GET", Path: tr.phonesPath() + "?" + tc.query})
			if tc.code == 200 {
				r.want(t, http.StatusOK, "")
				return
			}
			wantParam(t, r, tc.param, "")
			if strings.Contains(string(r.Raw), tr.tok) || strings.Contains(string(r.Raw), tok) {
				t.Errorf("the error repeats the token:\n%s", r.Raw)
			}
		})
	}
}

// TestFieldsErrorNamesFirstUnknown: with several unknown names in
// fields[TYPE] the 400 names the first, every time (it named one in map
// order, so the same request got different answers: about 1 in 5 named
// aaa).
func TestFieldsErrorNamesFirstUnknown(t *testing.T) {
	a := newAPI(t)
	tok := a.user()
	for range 30 {
		r := a.do(req{Method: "GET", Path: "/api/v2/contacts?" + url.QueryEscape("fields[contacts]") + "=name,zzz,aaa", Token: tok})
		r.want(t, 400, "")
		if got := r.firstError()["detail"]; got != `"zzz" is not an attribute or relationship of contacts` {
			t.Fatalf("detail %q, want the first unknown name, zzz", got)
		}
	}
}
