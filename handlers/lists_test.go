package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phoneapi/phoneapi/db/dbtest"
)

// Tests of paging, sorting, filtering, sparse fieldsets and include on the
// list endpoints (contacts, people, phones; deleted_records is in
// sync_test.go), against fixtures whose timestamps are fixed by the client
// (created_at, updated_at) or by a controlled store clock (updated_in_db_at),
// with ties everywhere so that the tie-break by id is visible.

// fixedID returns the n-th fixture id: a valid lower-case UUID whose string
// order is the order of n.
func fixedID(n int) string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
}

// fixedIDs maps fixture numbers to ids.
func fixedIDs(ns ...int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = fixedID(n)
	}
	return out
}

// restOf returns the query parameters of rawQuery other than paging.
func restOf(t testing.TB, rawQuery string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(rawQuery)
	if err != nil {
		t.Fatalf("bad query %q: %v", rawQuery, err)
	}
	for _, k := range []string{"page", "per_page", "page[number]", "page[size]"} {
		v.Del(k)
	}
	return v
}

// wantParam checks a 400 whose first error names param in
// source.parameter (and has no pointer); detail, when not "", must equal
// the error's detail.
func wantParam(t testing.TB, r *resp, param, detail string) {
	t.Helper()
	r.want(t, http.StatusBadRequest, "")
	e := r.firstError()
	src, _ := e["source"].(map[string]any)
	if got, _ := src["parameter"].(string); got != param {
		t.Errorf("source.parameter %q, want %q\n%s", got, param, r.Raw)
	}
	if detail != "" && e["detail"] != detail {
		t.Errorf("detail %q, want %q", e["detail"], detail)
	}
}

// listCase is one list request with its exact expected page.
type listCase struct {
	name    string
	query   string // raw query string, without "?"
	ids     []int  // expected data, in order (fixture numbers)
	page    int
	perPage int
	total   int
	pages   int
	last    int // links.last page
	prev    int // links.prev page, 0 when absent
	next    int // links.next page, 0 when absent
	sort    string
	filter  map[string]string // nil means {}
}

// runListCases runs cases against path; each case must match exactly.
func runListCases(t *testing.T, a *api, tok, path string, cases []listCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			full := path
			if tc.query != "" {
				full += "?" + tc.query
			}
			p := decodePage(t, rawGet(a, tok, full))
			if got, want := p.ids(), fixedIDs(tc.ids...); !slices.Equal(got, want) {
				t.Errorf("data ids\n got %v\nwant %v", got, want)
			}
			wantPg := pagination{Page: tc.page, PerPage: tc.perPage, TotalCount: tc.total, TotalPages: tc.pages}
			if p.Meta.Pagination != wantPg {
				t.Errorf("meta.pagination %+v, want %+v", p.Meta.Pagination, wantPg)
			}
			if p.Meta.Sort != tc.sort {
				t.Errorf("meta.sort %q, want %q", p.Meta.Sort, tc.sort)
			}
			wantFilter := tc.filter
			if wantFilter == nil {
				wantFilter = map[string]string{}
			}
			if !reflect.DeepEqual(p.Meta.Filter, wantFilter) {
				t.Errorf("meta.filter %v, want %v", p.Meta.Filter, wantFilter)
			}
			wantLinks(t, p.Links, path, restOf(t, tc.query), tc.perPage, tc.page, tc.last, tc.prev, tc.next)
		})
	}
}

// rangeErrors are malformed range filters for param.
func rangeErrors(param string) []paramCase {
	var out []paramCase
	for _, v := range []string{
		"yesterday", "..", "...", "2030-01-01...", "...2030-01-01", "2030-13-01",
		"2030-1-1", "2030-01-01 00:00:00", "2030-01-01T00:00:00", "1893456000",
		"2030-01-01..2030-01-02..2030-01-03", "2030-01-01..x", "x..2030-01-01",
	} {
		out = append(out, paramCase{
			query: url.QueryEscape(param) + "=" + url.QueryEscape(v), param: param,
			// the accepted forms are named
			substr: []string{param, "A..B", "A...B", "YYYY-MM-DD", "RFC 3339"},
		})
	}
	return out
}

// pagingErrors are the paging errors every list shares.
func pagingErrors() []paramCase {
	out := []paramCase{
		{query: "page=0", param: "page"},
		{query: "page=-1", param: "page"},
		{query: "page=abc", param: "page"},
		{query: "page=1.5", param: "page"},
		{query: "page=", param: "page"},
		{query: "page=1&page=2", param: "page"},
		{query: "per_page=0", param: "per_page"},
		{query: "per_page=-5", param: "per_page"},
		{query: "per_page=501", param: "per_page"},
		{query: "per_page=ten", param: "per_page"},
		{query: "page%5Bnumber%5D=0", param: "page[number]"},
		{query: "page%5Bnumber%5D=x", param: "page[number]"},
		{query: "page%5Bsize%5D=501", param: "page[size]"},
		{query: "page%5Bsize%5D=-1", param: "page[size]"},
		{query: "page=1&page%5Bnumber%5D=1", alts: []string{"page", "page[number]"}},
		{query: "per_page=2&page%5Bsize%5D=2", alts: []string{"per_page", "page[size]"}},
		{query: "page%5Boffset%5D=1", param: "page[offset]"},
	}
	out = append(out, badSorts("created_at,updated_at", "-created_at,-updated_at", "bogus", "-bogus", "updated_in_db_at", "id")...)
	return append(out, refused("filter[bogus]=1", "filter[since]=2030-01-01", "filter[types]=people")...)
}

// onePage is a list request whose ids (in order) all fit on page 1 of 25.
func onePage(name, query string, ids []int, sortBy string, filter map[string]string) listCase {
	return listCase{name: name, query: query, ids: ids, page: 1, perPage: 25, total: len(ids), pages: min(len(ids), 1), last: 1, sort: sortBy, filter: filter}
}

// filterQuery is filter[key]=v, escaped.
func filterQuery(key, v string) string {
	return url.QueryEscape("filter["+key+"]") + "=" + url.QueryEscape(v)
}

// filters is the meta.filter expected from key, value pairs.
func filters(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// listErrors are a list's parameter errors: those every list shares, the
// list's own, then the range errors of both updated filters.
func listErrors(own ...[]paramCase) []paramCase {
	errs := pagingErrors()
	for _, o := range own {
		errs = append(errs, o...)
	}
	errs = append(errs, rangeErrors("filter[updated_at]")...)
	return append(errs, rangeErrors("filter[updated_in_db_at]")...)
}

// Contacts fixture. Numbers are ids (fixedID); insertion order is 3, 1, 5, 2, 4.
//
//	id name     created_at                updated_at                updated_in_db_at
//	1  alpha    2030-01-01T00:00:00.000Z  2030-01-02T23:59:59.999Z  2030-02-01T00:00:00.000Z
//	2  Bravo    2029-12-31T23:59:59.999Z  2030-01-01T00:00:00.000Z  2030-02-02T10:00:00.500Z
//	3  Bravo    2030-01-01T00:00:00.000Z  2030-01-02T00:00:00.000Z  2030-02-01T00:00:00.000Z
//	4  delta    2030-01-02T00:00:00.000Z  2030-01-02T00:00:00.000Z  2030-02-02T10:00:00.500Z
//	5  Charlie  2030-01-01T00:00:00.001Z  2030-01-03T00:00:00.000Z  2030-02-01T00:00:00.001Z
func contactsFixture(t *testing.T, a *api, clk *dbtest.Clock, tok string) {
	t.Helper()
	rows := []struct {
		n                      int
		name, created, updated string
		inDB                   string
	}{
		{3, "Bravo", "2030-01-01T00:00:00.000Z", "2030-01-02T00:00:00.000Z", "2030-02-01T00:00:00.000Z"},
		{1, "alpha", "2030-01-01T00:00:00.000Z", "2030-01-02T23:59:59.999Z", "2030-02-01T00:00:00.000Z"},
		{5, "Charlie", "2030-01-01T00:00:00.001Z", "2030-01-03T00:00:00.000Z", "2030-02-01T00:00:00.001Z"},
		{2, "Bravo", "2029-12-31T23:59:59.999Z", "2030-01-01T00:00:00.000Z", "2030-02-02T10:00:00.500Z"},
		{4, "delta", "2030-01-02T00:00:00.000Z", "2030-01-02T00:00:00.000Z", "2030-02-02T10:00:00.500Z"},
	}
	for _, row := range rows {
		clk.Set(mustParseTime(t, row.inDB))
		r := a.do(req{Method: "POST", Path: "/api/v2/contacts", Token: tok, Body: docWithID("contacts", fixedID(row.n),
			map[string]any{"name": row.name, "created_at": row.created, "updated_at": row.updated})})
		r.want(t, http.StatusCreated, "")
		want := map[string]any{"name": row.name, "created_at": row.created, "updated_at": row.updated, "updated_in_db_at": row.inDB}
		if !reflect.DeepEqual(r.attrs(), want) {
			t.Fatalf("fixture contact %d stored as %v, want %v", row.n, r.attrs(), want)
		}
	}
}

func TestListsContacts(t *testing.T) {
	a := newAPI(t)
	clk := newClock(a, time.Date(2030, 2, 1, 0, 0, 0, 0, time.UTC))
	tok := a.user()
	contactsFixture(t, a, clk, tok)
	// Someone else's contacts never show up nor count.
	other := a.user()
	for i := 0; i < 3; i++ {
		a.contact(other)
	}

	const ua, uidb = "updated_at", "updated_in_db_at"
	cases := []listCase{
		// Defaults: page 1 of 25, created_at ascending, ties by id.
		onePage("defaults", "", []int{2, 1, 3, 5, 4}, "created_at", nil),
		// Sorting, each direction; ties (1/3 on created_at, 3/4 on
		// updated_at, 2/3 on name) broken by id in the same direction.
		onePage("sort created_at", "sort=created_at", []int{2, 1, 3, 5, 4}, "created_at", nil),
		onePage("sort -created_at", "sort=-created_at", []int{4, 5, 3, 1, 2}, "-created_at", nil),
		onePage("sort updated_at", "sort=updated_at", []int{2, 3, 4, 1, 5}, "updated_at", nil),
		onePage("sort -updated_at", "sort=-updated_at", []int{5, 1, 4, 3, 2}, "-updated_at", nil),
		onePage("sort name (bytes: upper case first)", "sort=name", []int{2, 3, 5, 1, 4}, "name", nil),
		onePage("sort -name", "sort=-name", []int{4, 1, 5, 3, 2}, "-name", nil),

		// Paging.
		{name: "page 1 of 3", query: "per_page=2", ids: []int{2, 1}, page: 1, perPage: 2, total: 5, pages: 3, last: 3, next: 2, sort: "created_at"},
		{name: "page 2 of 3", query: "page=2&per_page=2", ids: []int{3, 5}, page: 2, perPage: 2, total: 5, pages: 3, last: 3, prev: 1, next: 3, sort: "created_at"},
		{name: "page 3 of 3", query: "page=3&per_page=2", ids: []int{4}, page: 3, perPage: 2, total: 5, pages: 3, last: 3, prev: 2, sort: "created_at"},
		{name: "page past the end", query: "page=4&per_page=2", ids: []int{}, page: 4, perPage: 2, total: 5, pages: 3, last: 3, prev: 3, sort: "created_at"},
		{name: "page far past the end", query: "page=9&per_page=2", ids: []int{}, page: 9, perPage: 2, total: 5, pages: 3, last: 3, prev: 3, sort: "created_at"},
		{name: "per_page 1, last page", query: "page=5&per_page=1", ids: []int{4}, page: 5, perPage: 1, total: 5, pages: 5, last: 5, prev: 4, sort: "created_at"},
		{name: "per_page 500", query: "per_page=500", ids: []int{2, 1, 3, 5, 4}, page: 1, perPage: 500, total: 5, pages: 1, last: 1, sort: "created_at"},
		{name: "aliases", query: "page%5Bnumber%5D=2&page%5Bsize%5D=2", ids: []int{3, 5}, page: 2, perPage: 2, total: 5, pages: 3, last: 3, prev: 1, next: 3, sort: "created_at"},
		{name: "page[size] alias alone", query: "page%5Bsize%5D=3", ids: []int{2, 1, 3}, page: 1, perPage: 3, total: 5, pages: 2, last: 2, next: 2, sort: "created_at"},
		{name: "page[number] alias alone", query: "page%5Bnumber%5D=1", ids: []int{2, 1, 3, 5, 4}, page: 1, perPage: 25, total: 5, pages: 1, last: 1, sort: "created_at"},
		{name: "paged descending sort", query: "sort=-name&per_page=2&page=2", ids: []int{5, 3}, page: 2, perPage: 2, total: 5, pages: 3, last: 3, prev: 1, next: 3, sort: "-name"},
		{
			name:  "links keep filter, sort, fields and include",
			query: filterQuery(ua, "2030-01-02..") + "&sort=-updated_at&page%5Bsize%5D=1&page%5Bnumber%5D=2&include=people&fields%5Bcontacts%5D=name",
			ids:   []int{1}, page: 2, perPage: 1, total: 4, pages: 4, last: 4, prev: 1, next: 3, sort: "-updated_at",
			filter: filters(ua, "2030-01-02.."),
		},

		// filter[updated_at]: every form; boundaries exactly at rows.
		onePage("single date", filterQuery(ua, "2030-01-02"), []int{1, 3, 4}, "created_at", filters(ua, "2030-01-02")),
		onePage("date..date inclusive", filterQuery(ua, "2030-01-02..2030-01-03"), []int{1, 3, 5, 4}, "created_at", filters(ua, "2030-01-02..2030-01-03")),
		onePage("date...date exclusive", filterQuery(ua, "2030-01-02...2030-01-03"), []int{1, 3, 4}, "created_at", filters(ua, "2030-01-02...2030-01-03")),
		onePage("ts..ts inclusive at a row", filterQuery(ua, "2030-01-02T00:00:00Z..2030-01-03T00:00:00Z"), []int{1, 3, 5, 4}, "created_at", filters(ua, "2030-01-02T00:00:00Z..2030-01-03T00:00:00Z")),
		onePage("ts...ts exclusive at a row", filterQuery(ua, "2030-01-02T00:00:00Z...2030-01-03T00:00:00Z"), []int{1, 3, 4}, "created_at", filters(ua, "2030-01-02T00:00:00Z...2030-01-03T00:00:00Z")),
		onePage("lower bound 1 ms after a row", filterQuery(ua, "2030-01-02T00:00:00.001Z..2030-01-03T00:00:00Z"), []int{1, 5}, "created_at", filters(ua, "2030-01-02T00:00:00.001Z..2030-01-03T00:00:00Z")),
		onePage("single timestamp", filterQuery(ua, "2030-01-03T00:00:00.000Z"), []int{5}, "created_at", filters(ua, "2030-01-03T00:00:00.000Z")),
		onePage("single timestamp with offset", filterQuery(ua, "2030-01-03T01:00:00+01:00"), []int{5}, "created_at", filters(ua, "2030-01-03T01:00:00+01:00")),
		onePage("single timestamp, no row at that instant", filterQuery(ua, "2030-01-03T00:00:00.001Z"), []int{}, "created_at", filters(ua, "2030-01-03T00:00:00.001Z")),
		onePage("single sub-millisecond timestamp", filterQuery(ua, "2030-01-03T00:00:00.0001Z"), []int{}, "created_at", filters(ua, "2030-01-03T00:00:00.0001Z")),
		onePage("from, negative offset", filterQuery(ua, "2030-01-02T19:00:00-05:00.."), []int{5}, "created_at", filters(ua, "2030-01-02T19:00:00-05:00..")),
		onePage("from, at a row with milliseconds", filterQuery(ua, "2030-01-02T23:59:59.999Z.."), []int{1, 5}, "created_at", filters(ua, "2030-01-02T23:59:59.999Z..")),
		onePage("from, sub-millisecond after a row", filterQuery(ua, "2030-01-02T23:59:59.9995Z.."), []int{5}, "created_at", filters(ua, "2030-01-02T23:59:59.9995Z..")),
		onePage("from a date", filterQuery(ua, "2030-01-03.."), []int{5}, "created_at", filters(ua, "2030-01-03..")),
		onePage("up to a date (its last instant)", filterQuery(ua, "..2030-01-01"), []int{2}, "created_at", filters(ua, "..2030-01-01")),
		onePage("up to a timestamp at rows", filterQuery(ua, "..2030-01-02T00:00:00Z"), []int{2, 3, 4}, "created_at", filters(ua, "..2030-01-02T00:00:00Z")),
		onePage("up to a sub-millisecond timestamp", filterQuery(ua, "..2030-01-02T23:59:59.9999Z"), []int{2, 1, 3, 4}, "created_at", filters(ua, "..2030-01-02T23:59:59.9999Z")),
		onePage("exclusive sub-millisecond end", filterQuery(ua, "2030-01-02T00:00:00Z...2030-01-02T00:00:00.0005Z"), []int{3, 4}, "created_at", filters(ua, "2030-01-02T00:00:00Z...2030-01-02T00:00:00.0005Z")),
		onePage("exclusive end with offset", filterQuery(ua, "2030-01-01...2030-01-03T02:00:00+02:00"), []int{2, 1, 3, 4}, "created_at", filters(ua, "2030-01-01...2030-01-03T02:00:00+02:00")),
		onePage("inverted range", filterQuery(ua, "2030-01-04..2030-01-01"), []int{}, "created_at", filters(ua, "2030-01-04..2030-01-01")),
		onePage("day without rows", filterQuery(ua, "2030-01-05"), []int{}, "created_at", filters(ua, "2030-01-05")),

		// filter[updated_in_db_at], set by the controlled clock.
		onePage("db: single date", filterQuery(uidb, "2030-02-01"), []int{1, 3, 5}, "created_at", filters(uidb, "2030-02-01")),
		onePage("db: from 1 ms after a tie", filterQuery(uidb, "2030-02-01T00:00:00.001Z.."), []int{2, 5, 4}, "created_at", filters(uidb, "2030-02-01T00:00:00.001Z..")),
		onePage("db: up to a tie", filterQuery(uidb, "..2030-02-01T00:00:00Z"), []int{1, 3}, "created_at", filters(uidb, "..2030-02-01T00:00:00Z")),
		onePage("db: one fractional instant", filterQuery(uidb, "2030-02-02T10:00:00.5Z"), []int{2, 4}, "created_at", filters(uidb, "2030-02-02T10:00:00.5Z")),
		onePage("db: same instant with offset", filterQuery(uidb, "2030-02-02T11:00:00.500+01:00"), []int{2, 4}, "created_at", filters(uidb, "2030-02-02T11:00:00.500+01:00")),
		onePage("db: exclusive end at a row", filterQuery(uidb, "2030-02-01...2030-02-02T10:00:00.500Z"), []int{1, 3, 5}, "created_at", filters(uidb, "2030-02-01...2030-02-02T10:00:00.500Z")),
		onePage("db: inclusive end at a row", filterQuery(uidb, "2030-02-01..2030-02-02T10:00:00.500Z"), []int{2, 1, 3, 5, 4}, "created_at", filters(uidb, "2030-02-01..2030-02-02T10:00:00.500Z")),
		onePage("db: sorted desc", filterQuery(uidb, "2030-02-01..")+"&sort=-updated_at", []int{5, 1, 4, 3, 2}, "-updated_at", filters(uidb, "2030-02-01..")),
		onePage("both filters", filterQuery(ua, "2030-01-02")+"&"+filterQuery(uidb, "2030-02-01"), []int{1, 3}, "created_at", filters(ua, "2030-01-02", uidb, "2030-02-01")),
		onePage("include keeps the page", "include=people,people.phone_numbers", []int{2, 1, 3, 5, 4}, "created_at", nil),
	}
	runListCases(t, a, tok, "/api/v2/contacts", cases)

	t.Run("another user sees only theirs", func(t *testing.T) {
		p := decodePage(t, rawGet(a, other, "/api/v2/contacts?per_page=2"))
		if p.Meta.Pagination != (pagination{Page: 1, PerPage: 2, TotalCount: 3, TotalPages: 2}) {
			t.Errorf("pagination %+v", p.Meta.Pagination)
		}
		for _, id := range p.ids() {
			if strings.HasPrefix(id, "00000000-") {
				t.Errorf("other user sees fixture contact %s", id)
			}
		}
	})
	t.Run("empty list", func(t *testing.T) {
		p := decodePage(t, rawGet(a, a.user(), "/api/v2/contacts"))
		if len(p.Data) != 0 || p.Meta.Pagination != (pagination{Page: 1, PerPage: 25, TotalCount: 0, TotalPages: 0}) {
			t.Errorf("empty list: %d rows, pagination %+v", len(p.Data), p.Meta.Pagination)
		}
		wantLinks(t, p.Links, "/api/v2/contacts", url.Values{}, 25, 1, 1, 0, 0)
	})

	t.Run("errors", func(t *testing.T) {
		runParamCases(t, a, tok, "/api/v2/contacts", listErrors(
			badSorts("first_name", "-last_name", "name,-created_at", "Name"),
			refused("filter[primary]=true", "filter[location]=mobile", "filter[name]=alpha",
				"fields[contacts]=name,bogus", "fields[contacts]=id", "fields[people]=name",
				"fields[deleted_records]=deleted_at", "include=phone_numbers", "include=people.contact", "include=people,bogus"),
		))
	})
}

// People fixture under one contact (id 100); insertion order 1, 2, 3, 4.
//
//	id first last   created_at            updated_at            updated_in_db_at
//	1  anna  Smith  2030-01-01T00:00:00Z  2030-01-01T00:00:00Z  T
//	2  Bob   smith  2030-01-01T00:00:00Z  2030-01-03T00:00:00Z  T
//	3  Bob   Adams  2030-01-02T00:00:00Z  2030-01-02T00:00:00Z  T+1ms
//	4  Carl  Smith  2029-12-31T00:00:00Z  2030-01-02T00:00:00Z  T+1ms
func TestListsPeople(t *testing.T) {
	a := newAPI(t)
	t0 := time.Date(2030, 2, 1, 12, 0, 0, 0, time.UTC)
	clk := newClock(a, t0)
	tok := a.user()
	r := a.do(req{Method: "POST", Path: "/api/v2/contacts", Token: tok, Body: docWithID("contacts", fixedID(100), map[string]any{"name": "C"})})
	r.want(t, http.StatusCreated, "")
	path := "/api/v2/contacts/" + fixedID(100) + "/people"
	rows := []struct {
		n                             int
		first, last, created, updated string
		inDB                          time.Duration
	}{
		{1, "anna", "Smith", "2030-01-01T00:00:00.000Z", "2030-01-01T00:00:00.000Z", 0},
		{2, "Bob", "smith", "2030-01-01T00:00:00.000Z", "2030-01-03T00:00:00.000Z", 0},
		{3, "Bob", "Adams", "2030-01-02T00:00:00.000Z", "2030-01-02T00:00:00.000Z", time.Millisecond},
		{4, "Carl", "Smith", "2029-12-31T00:00:00.000Z", "2030-01-02T00:00:00.000Z", time.Millisecond},
	}
	for _, row := range rows {
		clk.Set(t0.Add(row.inDB))
		r := a.do(req{Method: "POST", Path: path, Token: tok, Body: docWithID("people", fixedID(row.n),
			map[string]any{"first_name": row.first, "last_name": row.last, "created_at": row.created, "updated_at": row.updated})})
		r.want(t, http.StatusCreated, "")
		if r.attrs()["updated_in_db_at"] != fmtTime(t0.Add(row.inDB)) {
			t.Fatalf("fixture person %d: updated_in_db_at %v", row.n, r.attrs()["updated_in_db_at"])
		}
	}
	// Another contact's people never show up nor count.
	other := a.contact(tok)
	a.person(tok, other)

	cases := []listCase{
		onePage("defaults", "", []int{4, 1, 2, 3}, "created_at", nil),
		onePage("sort -created_at", "sort=-created_at", []int{3, 2, 1, 4}, "-created_at", nil),
		onePage("sort updated_at", "sort=updated_at", []int{1, 3, 4, 2}, "updated_at", nil),
		onePage("sort -updated_at", "sort=-updated_at", []int{2, 4, 3, 1}, "-updated_at", nil),
		onePage("sort first_name", "sort=first_name", []int{2, 3, 4, 1}, "first_name", nil),
		onePage("sort -first_name", "sort=-first_name", []int{1, 4, 3, 2}, "-first_name", nil),
		onePage("sort last_name", "sort=last_name", []int{3, 1, 4, 2}, "last_name", nil),
		onePage("sort -last_name", "sort=-last_name", []int{2, 4, 1, 3}, "-last_name", nil),
		{name: "page 2 of 2", query: "per_page=3&page=2&sort=last_name", ids: []int{2}, page: 2, perPage: 3, total: 4, pages: 2, last: 2, prev: 1, sort: "last_name"},
		{name: "aliases", query: "page%5Bsize%5D=3&page%5Bnumber%5D=1&sort=-first_name", ids: []int{1, 4, 3}, page: 1, perPage: 3, total: 4, pages: 2, last: 2, next: 2, sort: "-first_name"},
		{name: "past the end", query: "per_page=3&page=3", ids: []int{}, page: 3, perPage: 3, total: 4, pages: 2, last: 2, prev: 2, sort: "created_at"},
		onePage("filter updated_at date", "filter%5Bupdated_at%5D=2030-01-02", []int{4, 3}, "created_at", map[string]string{"updated_at": "2030-01-02"}),
		onePage("filter updated_in_db_at instant", "filter%5Bupdated_in_db_at%5D="+url.QueryEscape(fmtTime(t0.Add(time.Millisecond))), []int{4, 3}, "created_at", map[string]string{"updated_in_db_at": fmtTime(t0.Add(time.Millisecond))}),
		onePage("filter updated_in_db_at exclusive", "filter%5Bupdated_in_db_at%5D="+url.QueryEscape(fmtTime(t0)+"..."+fmtTime(t0.Add(time.Millisecond))), []int{1, 2}, "created_at", map[string]string{"updated_in_db_at": fmtTime(t0) + "..." + fmtTime(t0.Add(time.Millisecond))}),
		onePage("include keeps the page", "include=contact,phone_numbers", []int{4, 1, 2, 3}, "created_at", nil),
	}
	runListCases(t, a, tok, path, cases)

	t.Run("errors", func(t *testing.T) {
		runParamCases(t, a, tok, path, listErrors(
			badSorts("name", "-name", "first_name,last_name"),
			refused("filter[primary]=true", "filter[historic]=false", "filter[location]=home", "filter[first_name]=Bob",
				"fields[people]=first_name,name", "fields[contacts]=first_name",
				"include=people", "include=contact.people", "include=phone_numbers.person"),
		))
	})
}

// Phones fixture of one person (contact 200, person 201); insertion order
// 1, 4, 2, 3, 5 (1 is the first, hence primary, and stays so).
//
//	id created_at            updated_at            location historic primary
//	1  2030-01-01T00:00:00Z  2030-01-04T00:00:00Z  mobile   false    true
//	2  2030-01-02T00:00:00Z  2030-01-03T00:00:00Z  mobile   false    false
//	3  2029-12-31T00:00:00Z  2030-01-01T00:00:00Z  work     false    false
//	4  2030-01-01T00:00:00Z  2030-01-03T00:00:00Z  home     true     false
//	5  2030-01-05T00:00:00Z  2030-01-05T00:00:00Z  null     false    false
func phonesFixture(t *testing.T, a *api, tok string) (contactID, personID string) {
	t.Helper()
	contactID, personID = fixedID(200), fixedID(201)
	r := a.do(req{Method: "POST", Path: "/api/v2/contacts", Token: tok, Body: docWithID("contacts", contactID, map[string]any{"name": "C"})})
	r.want(t, http.StatusCreated, "")
	r = a.do(req{Method: "POST", Path: "/api/v2/contacts/" + contactID + "/people", Token: tok, Body: docWithID("people", personID, map[string]any{"first_name": "P"})})
	r.want(t, http.StatusCreated, "")
	rows := []struct {
		n                 int
		created, updated  string
		location          any
		historic, primary bool
	}{
		{1, "2030-01-01T00:00:00.000Z", "2030-01-04T00:00:00.000Z", "mobile", false, true},
		{4, "2030-01-01T00:00:00.000Z", "2030-01-03T00:00:00.000Z", "home", true, false},
		{2, "2030-01-02T00:00:00.000Z", "2030-01-03T00:00:00.000Z", "mobile", false, false},
		{3, "2029-12-31T00:00:00.000Z", "2030-01-01T00:00:00.000Z", "work", false, false},
		{5, "2030-01-05T00:00:00.000Z", "2030-01-05T00:00:00.000Z", nil, false, false},
	}
	for _, row := range rows {
		attrs := map[string]any{
			"number": fmt.Sprintf("617-555-%04d", row.n), "created_at": row.created, "updated_at": row.updated,
			"historic": row.historic, "primary": row.primary,
		}
		if row.location != nil {
			attrs["location"] = row.location
		}
		r := a.do(req{Method: "POST", Path: phonesPath(contactID, personID), Token: tok, Body: docWithID("phone_numbers", fixedID(row.n), attrs)})
		r.want(t, http.StatusCreated, "")
	}
	// Every row kept its fixture values (no primary fix-up touched them).
	p := decodePage(t, rawGet(a, tok, phonesPath(contactID, personID)))
	for _, d := range p.Data {
		for _, row := range rows {
			if d.ID != fixedID(row.n) {
				continue
			}
			if d.Attributes["updated_at"] != row.updated || d.Attributes["primary"] != row.primary || d.Attributes["historic"] != row.historic {
				t.Fatalf("fixture phone %d stored as %v", row.n, d.Attributes)
			}
		}
	}
	return contactID, personID
}

func TestListsPhones(t *testing.T) {
	a := newAPI(t)
	newClock(a, time.Date(2030, 2, 1, 0, 0, 0, 0, time.UTC))
	tok := a.user()
	c, p := phonesFixture(t, a, tok)
	// Another person's phones never show up nor count.
	a.phone(tok, c, a.person(tok, c), map[string]any{"number": "617-555-9999", "location": "mobile"})
	path := phonesPath(c, p)

	cases := []listCase{
		onePage("defaults", "", []int{3, 1, 4, 2, 5}, "created_at", nil),
		onePage("sort -created_at", "sort=-created_at", []int{5, 2, 4, 1, 3}, "-created_at", nil),
		onePage("sort updated_at", "sort=updated_at", []int{3, 2, 4, 1, 5}, "updated_at", nil),
		onePage("sort -updated_at", "sort=-updated_at", []int{5, 1, 4, 2, 3}, "-updated_at", nil),
		onePage("primary true", filterQuery("primary", "true"), []int{1}, "created_at", filters("primary", "true")),
		onePage("primary false", filterQuery("primary", "false"), []int{3, 4, 2, 5}, "created_at", filters("primary", "false")),
		onePage("historic true", filterQuery("historic", "true"), []int{4}, "created_at", filters("historic", "true")),
		onePage("historic false", filterQuery("historic", "false"), []int{3, 1, 2, 5}, "created_at", filters("historic", "false")),
		onePage("location mobile", filterQuery("location", "mobile"), []int{1, 2}, "created_at", filters("location", "mobile")),
		onePage("location home", filterQuery("location", "home"), []int{4}, "created_at", filters("location", "home")),
		onePage("location is exact", filterQuery("location", "Mobile"), []int{}, "created_at", filters("location", "Mobile")),
		onePage("location nowhere", filterQuery("location", "nowhere"), []int{}, "created_at", filters("location", "nowhere")),
		onePage("location and primary", filterQuery("location", "mobile")+"&"+filterQuery("primary", "false"), []int{2}, "created_at", filters("location", "mobile", "primary", "false")),
		onePage("historic false, -updated_at", filterQuery("historic", "false")+"&sort=-updated_at", []int{5, 1, 2, 3}, "-updated_at", filters("historic", "false")),
		onePage("updated_at date and historic", filterQuery("updated_at", "2030-01-03")+"&"+filterQuery("historic", "false"), []int{2}, "created_at", filters("updated_at", "2030-01-03", "historic", "false")),
		onePage("updated_at exclusive at rows", filterQuery("updated_at", "2030-01-01T00:00:00Z...2030-01-04T00:00:00Z"), []int{3, 4, 2}, "created_at", filters("updated_at", "2030-01-01T00:00:00Z...2030-01-04T00:00:00Z")),
		{name: "paged filter", query: filterQuery("historic", "false") + "&per_page=3&page=2", ids: []int{5}, page: 2, perPage: 3, total: 4, pages: 2, last: 2, prev: 1, sort: "created_at", filter: filters("historic", "false")},
		{name: "paged filter page 1", query: filterQuery("historic", "false") + "&per_page=3", ids: []int{3, 1, 2}, page: 1, perPage: 3, total: 4, pages: 2, last: 2, next: 2, sort: "created_at", filter: filters("historic", "false")},
		{name: "empty filter past the end", query: filterQuery("location", "nowhere") + "&page=2", ids: []int{}, page: 2, perPage: 25, total: 0, pages: 0, last: 1, prev: 1, sort: "created_at", filter: filters("location", "nowhere")},
		onePage("include keeps the page", "include=person.contact", []int{3, 1, 4, 2, 5}, "created_at", nil),
	}
	runListCases(t, a, tok, path, cases)

	t.Run("errors", func(t *testing.T) {
		own := refused("filter[number]="+url.QueryEscape("+16175550001"), "filter[location]="+strings.Repeat("x", 65),
			"fields[phone_numbers]=number,phone", "fields[people]=number",
			"include=contact", "include=person.phone_numbers", "include=person,")
		for _, key := range []string{"primary", "historic"} {
			for _, v := range []string{"1", "0", "yes", "no", "TRUE", "False", "t", ""} {
				own = append(own, paramCase{query: filterQuery(key, v), param: "filter[" + key + "]"})
			}
		}
		runParamCases(t, a, tok, path, listErrors(badSorts("name", "-first_name", "-primary", "created_at,-updated_at"), own))
	})
}

// A page past the end on a list with rows, and the totals of a person's
// phones do not include other people's (total_count is per parent).
func TestListsTotalsPerParent(t *testing.T) {
	a := newAPI(t)
	tok := a.user()
	c := a.contact(tok)
	p1, p2 := a.person(tok, c), a.person(tok, c)
	for i := 0; i < 3; i++ {
		a.phone(tok, c, p1, map[string]any{"number": fmt.Sprintf("617-555-01%02d", i)})
	}
	a.phone(tok, c, p2, map[string]any{"number": "617-555-0200"})
	for _, tc := range []struct {
		person string
		total  int
	}{{p1, 3}, {p2, 1}} {
		p := decodePage(t, rawGet(a, tok, phonesPath(c, tc.person)+"?per_page=2"))
		if p.Meta.Pagination.TotalCount != tc.total || len(p.Data) != min(tc.total, 2) {
			t.Errorf("person %s: total_count %d, %d rows; want %d", tc.person, p.Meta.Pagination.TotalCount, len(p.Data), tc.total)
		}
	}
	p := decodePage(t, rawGet(a, tok, "/api/v2/contacts/"+c+"/people?page=2&per_page=2"))
	if len(p.Data) != 0 || p.Meta.Pagination != (pagination{Page: 2, PerPage: 2, TotalCount: 2, TotalPages: 1}) {
		t.Errorf("people page 2: %d rows, %+v", len(p.Data), p.Meta.Pagination)
	}
}

// Sparse fieldsets limit attributes on list, get, create, PUT and PATCH of
// every resource; unknown names are 400; include leaves them as they are.
func TestListsSparseFieldsets(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	stamp := func(path string) string {
		r := a.do(req{Method: "GET", Path: path, Token: tr.tok})
		r.want(t, http.StatusOK, "")
		s, _ := r.attrs()["updated_in_db_at"].(string)
		return s
	}
	kinds := []struct {
		typ, param  string
		include     string // a path the type can include
		list, item  string
		create      map[string]any
		update      map[string]any
		fields      string   // the fieldset asked for
		want        []string // attribute names then returned
		all         []string // every attribute name
		unknownName string
	}{
		{
			typ: "contacts", param: "fields[contacts]", include: "people", list: "/api/v2/contacts", item: tr.contactPath(),
			create: map[string]any{"name": "New"}, update: map[string]any{"name": "Renamed"},
			fields: "name", want: []string{"name"},
			all:         []string{"created_at", "name", "updated_at", "updated_in_db_at"},
			unknownName: "first_name",
		},
		{
			typ: "people", param: "fields[people]", include: "contact", list: tr.contactPath() + "/people", item: tr.personPath(),
			create: map[string]any{"first_name": "Ann", "last_name": "Lee"}, update: map[string]any{"last_name": nil},
			fields: "last_name,updated_in_db_at", want: []string{"last_name", "updated_in_db_at"},
			all:         []string{"created_at", "first_name", "last_name", "updated_at", "updated_in_db_at"},
			unknownName: "name",
		},
		{
			typ: "phone_numbers", param: "fields[phone_numbers]", include: "person", list: tr.phonesPath(), item: tr.phonePath(),
			create: map[string]any{"number": "617-555-0101"}, update: map[string]any{"location": "work"},
			fields: "number,primary", want: []string{"number", "primary"},
			all:         []string{"country_code", "created_at", "historic", "location", "number", "primary", "source", "updated_at", "updated_in_db_at", "valid_values"},
			unknownName: "phone",
		},
	}
	for _, k := range kinds {
		t.Run(k.typ, func(t *testing.T) {
			fq := "?" + url.QueryEscape(k.param) + "=" + url.QueryEscape(k.fields)
			check := func(t *testing.T, what string, attrs map[string]any, want []string) {
				t.Helper()
				if got := attrKeys(attrs); !slices.Equal(got, want) {
					t.Errorf("%s: attributes %v, want %v", what, got, want)
				}
			}
			// Without a fieldset, every attribute.
			r := a.do(req{Method: "GET", Path: k.item, Token: tr.tok})
			r.want(t, http.StatusOK, "")
			check(t, "get without fields", r.attrs(), k.all)

			r = a.do(req{Method: "GET", Path: k.list + fq + "&include=" + k.include, Token: tr.tok})
			p := decodePage(t, r)
			if len(p.Data) == 0 {
				t.Fatal("empty list")
			}
			for _, d := range p.Data {
				check(t, "list", d.Attributes, k.want)
			}
			if p.Meta.Filter == nil || len(p.Meta.Filter) != 0 {
				t.Errorf("meta.filter %v, want {}", p.Meta.Filter)
			}
			r = a.do(req{Method: "GET", Path: k.item + fq + "&include=" + k.include, Token: tr.tok})
			r.want(t, http.StatusOK, "")
			check(t, "get", r.attrs(), k.want)

			r = a.do(req{Method: "POST", Path: k.list + fq + "&include=" + k.include, Token: tr.tok, Body: doc(k.typ, k.create)})
			r.want(t, http.StatusCreated, "")
			check(t, "create", r.attrs(), k.want)
			created := r.id()
			if created == "" {
				t.Fatal("create returned no id")
			}
			for _, m := range []string{"PUT", "PATCH"} {
				body := map[string]any{}
				for kk, v := range k.update {
					body[kk] = v
				}
				body["updated_in_db_at"] = stamp(k.item)
				r = a.do(req{Method: m, Path: k.item + fq + "&include=" + k.include, Token: tr.tok, Body: doc(k.typ, body)})
				r.want(t, http.StatusOK, "")
				check(t, m, r.attrs(), k.want)
			}
			// An empty fieldset asks for no attributes.
			r = a.do(req{Method: "GET", Path: k.item + "?" + url.QueryEscape(k.param) + "=", Token: tr.tok})
			r.want(t, http.StatusOK, "")
			check(t, "empty fieldset", r.attrs(), []string{})

			// Unknown names, on every operation that takes fields: 400
			// naming the parameter; nothing is created or changed.
			bad := "?" + url.QueryEscape(k.param) + "=" + url.QueryEscape(k.want[0]+","+k.unknownName)
			before := stamp(k.item)
			for _, rq := range []req{
				{Method: "GET", Path: k.list + bad},
				{Method: "GET", Path: k.item + bad},
				{Method: "POST", Path: k.list + bad, Body: doc(k.typ, k.create)},
				{Method: "PUT", Path: k.item + bad, Body: doc(k.typ, map[string]any{"overwrite": true})},
				{Method: "PATCH", Path: k.item + bad, Body: doc(k.typ, map[string]any{"overwrite": true})},
			} {
				rq.Token = tr.tok
				wantParam(t, a.do(rq), k.param, "")
			}
			if after := stamp(k.item); after != before {
				t.Errorf("a rejected update changed updated_in_db_at %s → %s", before, after)
			}
			p = decodePage(t, a.do(req{Method: "GET", Path: k.list, Token: tr.tok}))
			if p.Meta.Pagination.TotalCount != 2 {
				t.Errorf("after a rejected create the list has %d rows, want 2", p.Meta.Pagination.TotalCount)
			}
		})
	}
}

// Paging links repeat the parameters of the operation that the request
// gave (sort, filters, fields, include) and nothing else: not an
// undeclared parameter, not access_token. Each list operation builds them
// from its generated params.
func TestListLinksRepeatDeclaredParams(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	for _, tc := range []struct{ path, declared string }{
		{"/api/v2/contacts", "sort=-name&filter[updated_at]=2020-01-01..&fields[contacts]=name&include=people"},
		{tr.contactPath() + "/people", "sort=last_name&filter[updated_in_db_at]=2020-01-01..&fields[people]=first_name"},
		{tr.phonesPath(), "sort=-updated_at&filter[primary]=true&filter[location]=home&fields[phone_numbers]=number"},
		{"/api/v2/deleted_records", "sort=-deleted_at&filter[types]=phone_numbers&fields[deleted_records]=deletable_id"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := a.do(req{Method: http.MethodGet, Path: tc.path + "?" + tc.declared + "&unknown=1&per_page=7", Token: tr.tok})
			if r.Code != http.StatusOK {
				t.Fatalf("status %d\n%s", r.Code, r.Raw)
			}
			links := linksOf(t, r)
			want, _ := url.ParseQuery(tc.declared)
			want.Set("page", "1")
			want.Set("per_page", "7")
			self, err := url.Parse(links["self"])
			if err != nil {
				t.Fatalf("self %q: %v", links["self"], err)
			}
			if self.Path != tc.path {
				t.Errorf("self path %q, want %q", self.Path, tc.path)
			}
			if got := self.Query().Encode(); got != want.Encode() {
				t.Errorf("self query\n got %s\nwant %s", got, want.Encode())
			}
		})
	}
	// A token given as access_token is never written into a link.
	r := a.do(req{Method: http.MethodGet, Path: "/api/v2/contacts?access_token=" + url.QueryEscape(tr.tok)})
	if r.Code != http.StatusOK {
		t.Fatalf("access_token: status %d\n%s", r.Code, r.Raw)
	}
	for name, link := range linksOf(t, r) {
		if u, _ := url.Parse(link); u == nil || u.Query().Has("access_token") {
			t.Errorf("links.%s = %q repeats the token", name, link)
		}
	}
}

// linksOf returns the links member of a list response.
// TestLinksOmitAccessToken: a token sent as ?access_token= authenticates
// the request but is never echoed into the list's links.
func TestLinksOmitAccessToken(t *testing.T) {
	a := newAPI(t)
	tok := a.user()
	a.contact(tok)
	r := a.do(req{Method: "GET", Path: "/api/v2/contacts?per_page=1&access_token=" + tok})
	r.want(t, http.StatusOK, "")
	links, _ := r.Doc["links"].(map[string]any)
	if len(links) == 0 {
		t.Fatalf("no links in %s", r.Raw)
	}
	for name, v := range links {
		if s, _ := v.(string); strings.Contains(s, "access_token") || strings.Contains(s, tok) {
			t.Errorf("links.%s = %q echoes the token", name, s)
		}
	}
}

func linksOf(t testing.TB, r *resp) map[string]string {
	t.Helper()
	var doc struct {
		Links map[string]string `json:"links"`
	}
	if err := json.Unmarshal(r.Raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Links
}
