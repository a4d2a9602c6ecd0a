package handlers

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// The contact-less people collection lists the people of every contact of
// the caller's account list, paged, sorted and filtered like the nested
// list, and no one else's.
func TestAccountPeopleList(t *testing.T) {
	a := newAPI(t)
	f := newIncludeFamily(t, a)
	extra := a.person(f.tok, f.b)
	all := []string{f.a1, f.a2, f.b1, extra}

	p := decodePage(t, mustGet(t, a, f.tok, "/api/v2/contacts/people"))
	if got := p.ids(); !sameStrings(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(all))) {
		t.Errorf("people %v, want %v", got, all)
	}
	if p.Meta.Pagination.TotalCount != 4 || p.Meta.Sort != "created_at" {
		t.Errorf("meta %+v", p.Meta)
	}
	// The nested lists' order, across contacts: created_at, then id.
	var byCreated []string
	for _, it := range mustGet(t, a, f.tok, "/api/v2/contacts/people?per_page=500").list() {
		byCreated = append(byCreated, it["id"].(string))
	}
	var paged []string
	for page := 1; page <= 2; page++ {
		r := mustGet(t, a, f.tok, "/api/v2/contacts/people?per_page=3&page="+itoa(page))
		pg := decodePage(t, r)
		paged = append(paged, pg.ids()...)
		wantLinks(t, pg.Links, "/api/v2/contacts/people", url.Values{}, 3, page, 2, page-1, map[int]int{1: 2, 2: 0}[page])
	}
	if !slices.Equal(paged, byCreated) {
		t.Errorf("pages %v, want %v", paged, byCreated)
	}
	// Sorted the other way, and by name.
	desc := decodePage(t, mustGet(t, a, f.tok, "/api/v2/contacts/people?sort=-created_at")).ids()
	rev := slices.Clone(byCreated)
	slices.Reverse(rev)
	if !slices.Equal(desc, rev) {
		t.Errorf("sort=-created_at %v, want %v", desc, rev)
	}
	// filter[updated_in_db_at] from the last person's stamp finds it (and
	// those written in the same millisecond).
	r := mustGet(t, a, f.tok, "/api/v2/contacts/people/"+extra)
	since := r.attrs()["updated_in_db_at"].(string)
	got := decodePage(t, mustGet(t, a, f.tok, "/api/v2/contacts/people?filter%5Bupdated_in_db_at%5D="+url.QueryEscape(since+".."))).ids()
	if !slices.Contains(got, extra) {
		t.Errorf("filter from %s: %v, want %s among them", since, got, extra)
	}
	// Someone else sees only their own.
	if got := decodePage(t, mustGet(t, a, f.otherTok, "/api/v2/contacts/people")).ids(); len(got) != 1 || slices.Contains(all, got[0]) {
		t.Errorf("the other user lists %v", got)
	}
	// Parameter errors as on every list.
	runParamCases(t, a, f.tok, "/api/v2/contacts/people", listErrors(
		badSorts("name", "-name"),
		refused("filter[primary]=true", "filter[contact_id]="+f.a, "include=people", "fields[people]=name"),
	))
}

// Each person by its id alone: GET, PUT, PATCH and DELETE with the nested
// routes' rules; someone else's person is 403, an unknown one 404.
func TestAccountPerson(t *testing.T) {
	a := newAPI(t)
	f := newIncludeFamily(t, a)
	path := "/api/v2/contacts/people/" + f.a1
	nested := f.personPath(f.a, f.a1)

	r, tag := getWithETag(t, a, f.tok, path)
	if !jsonEqual(r.Doc, mustGet(t, a, f.tok, nested).Doc) {
		t.Errorf("GET %s differs from GET %s", path, nested)
	}
	r = a.do(req{Method: "GET", Path: path, Token: f.tok, Header: map[string]string{"If-None-Match": tag}})
	r.want(t, http.StatusNotModified, "")

	// Updates: the precondition as on the nested route.
	r = a.do(req{Method: "PATCH", Path: path, Token: f.tok, Body: doc("people", map[string]any{"first_name": "No"})})
	r.want(t, http.StatusConflict, "/data/attributes/updated_in_db_at")
	r = a.do(req{Method: "PUT", Path: path, Token: f.tok, Header: map[string]string{"If-Match": `"nope"`},
		Body: doc("people", map[string]any{"first_name": "No"})})
	want412(t, r)
	stamp := storedAt(t, a, f.tok, path)
	r = a.do(req{Method: "PUT", Path: path, Token: f.tok, Body: doc("people", map[string]any{"first_name": "Put", "updated_in_db_at": stamp})})
	r.want(t, http.StatusOK, "")
	r = a.do(req{Method: "PATCH", Path: path, Token: f.tok, Header: map[string]string{"If-Match": etagOf(t, r)},
		Body: doc("people", map[string]any{"last_name": "Patched"})})
	r.want(t, http.StatusOK, "")
	if got := mustGet(t, a, f.tok, nested).attrs(); got["first_name"] != "Put" || got["last_name"] != "Patched" {
		t.Errorf("stored %v", got)
	}

	// Not the caller's, not there, not a UUID, not a method of the route.
	for _, m := range []string{"GET", "PUT", "PATCH", "DELETE"} {
		var body any
		if m == "PUT" || m == "PATCH" {
			body = doc("people", map[string]any{"first_name": "X", "overwrite": true})
		}
		a.do(req{Method: m, Path: path, Token: f.otherTok, Body: body}).want(t, http.StatusForbidden, "")
		a.do(req{Method: m, Path: "/api/v2/contacts/people/" + f.a1x, Token: f.tok, Body: body}).want(t, http.StatusNotFound, "")
		a.do(req{Method: m, Path: "/api/v2/contacts/people/nope", Token: f.tok, Body: body}).want(t, http.StatusNotFound, "")
	}
	r = a.do(req{Method: "POST", Path: "/api/v2/contacts/people", Token: f.tok, Body: doc("people", map[string]any{"first_name": "X"})})
	r.want(t, http.StatusMethodNotAllowed, "")
	if mustGet(t, a, f.tok, nested).attrs()["first_name"] != "Put" {
		t.Error("a refused request changed the person")
	}

	// Delete: the person and its phones go, with tombstones.
	a.do(req{Method: "DELETE", Path: path, Token: f.tok, Header: map[string]string{"If-Match": `"nope"`}}).want(t, http.StatusPreconditionFailed, "")
	a.do(req{Method: "DELETE", Path: path, Token: f.tok}).want(t, http.StatusNoContent, "")
	a.do(req{Method: "GET", Path: nested, Token: f.tok}).want(t, http.StatusNotFound, "")
	a.do(req{Method: "GET", Path: f.phonePath(f.a, f.a1, f.a1x), Token: f.tok}).want(t, http.StatusNotFound, "")
	var tombs []string
	for _, it := range mustGet(t, a, f.tok, "/api/v2/deleted_records").list() {
		tombs = append(tombs, attrsOf(it)["deletable_id"].(string))
	}
	slices.Sort(tombs)
	want := []string{f.a1, f.a1x, f.a1y}
	slices.Sort(want)
	if !slices.Equal(tombs, want) {
		t.Errorf("tombstones %v, want %v", tombs, want)
	}
}
