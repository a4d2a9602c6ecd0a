package handlers

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// peoplePath is the people collection of a contact.
func peoplePath(contactID string) string { return "/api/v2/contacts/" + contactID + "/people" }

// createPerson creates a person under contactID and fails unless 201.
func createPerson(t testing.TB, a *api, tok, contactID string, id any, attrs map[string]any) *resp {
	t.Helper()
	r := a.do(req{Method: "POST", Path: peoplePath(contactID), Token: tok, Body: docWithID("people", id, attrs)})
	r.want(t, http.StatusCreated, "")
	return r
}

// checkPerson checks the shape of a person resource in r.
func checkPerson(t testing.TB, r *resp, id, first string, last any) {
	t.Helper()
	if r.data()["type"] != "people" {
		t.Errorf("type %v, want people", r.data()["type"])
	}
	if !uuidRE.MatchString(r.id()) {
		t.Errorf("id %q is not a lower-case UUID", r.id())
	}
	if id != "" && r.id() != id {
		t.Errorf("id %q, want %q", r.id(), id)
	}
	if r.attrs()["first_name"] != first {
		t.Errorf("first_name %v, want %q", r.attrs()["first_name"], first)
	}
	if got, ok := r.attrs()["last_name"]; !ok || got != last {
		t.Errorf("last_name %#v (present %v), want %#v", got, ok, last)
	}
	for _, k := range []string{"created_at", "updated_at", "updated_in_db_at"} {
		if s, _ := r.attrs()[k].(string); !timeRE.MatchString(s) {
			t.Errorf("%s = %v, want RFC 3339 UTC with milliseconds", k, r.attrs()[k])
		}
	}
}

func TestPeopleList(t *testing.T) {
	a := newAPI(t)
	tok := a.user()
	c := a.contact(tok)
	otherContact := a.contact(tok)

	r := mustGet(t, a, tok, peoplePath(c))
	if items, ok := r.Doc["data"].([]any); !ok || len(items) != 0 {
		t.Errorf("new contact's people: data = %#v, want []", r.Doc["data"])
	}
	if _, ok := r.Doc["meta"].(map[string]any); !ok {
		t.Errorf("list without meta object: %s", r.Raw)
	}

	// Id order is the reverse of created_at order; p4 ties with p3 on
	// created_at and sorts after it by id.
	p2 := createPerson(t, a, tok, c, idWithPrefix("c"), map[string]any{"first_name": "Second", "created_at": "2021-01-02T00:00:00.000Z"}).id()
	p4 := createPerson(t, a, tok, c, idWithPrefix("4"), map[string]any{"first_name": "Fourth", "created_at": "2021-01-03T00:00:00Z"}).id()
	p3 := createPerson(t, a, tok, c, idWithPrefix("3"), map[string]any{"first_name": "Third", "created_at": "2021-01-03T00:00:00Z"}).id()
	p1 := createPerson(t, a, tok, c, idWithPrefix("d"), map[string]any{"first_name": "First", "created_at": "2021-01-01T23:59:59.999Z"}).id()
	a.person(tok, otherContact) // not listed under c

	r = mustGet(t, a, tok, peoplePath(c))
	if _, ok := r.Doc["meta"].(map[string]any); !ok {
		t.Errorf("list without meta object: %s", r.Raw)
	}
	if got, want := idsOf(r.list()), []string{p1, p2, p3, p4}; !sameStrings(got, want) {
		t.Errorf("people %v, want %v (this contact's, by created_at)\n%s", got, want, r.Raw)
	}
	for i, it := range r.list() {
		if it["type"] != "people" {
			t.Errorf("item %d type %v", i, it["type"])
		}
	}
	if n := len(mustGet(t, a, tok, peoplePath(otherContact)).list()); n != 1 {
		t.Errorf("other contact has %d people, want 1", n)
	}
	wantErrorDoc(t, a.do(req{Method: "GET", Path: peoplePath(uuid.NewString()), Token: tok}), http.StatusNotFound, "")
}

func TestPeopleCreate(t *testing.T) {
	a := newAPI(t)
	tok := a.user()
	c := a.contact(tok)
	upper := strings.ToUpper(uuid.NewString())
	cases := []createCase{
		{name: "first_name only", attrs: map[string]any{"first_name": "Jane"}, code: 201, check: func(t *testing.T, r *resp) {
			checkPerson(t, r, "", "Jane", nil)
		}},
		{name: "both names", attrs: map[string]any{"first_name": "Jane", "last_name": "Doe"}, code: 201, check: func(t *testing.T, r *resp) {
			checkPerson(t, r, "", "Jane", "Doe")
		}},
		{name: "last_name null", attrs: map[string]any{"first_name": "Jane", "last_name": nil}, code: 201, check: func(t *testing.T, r *resp) {
			checkPerson(t, r, "", "Jane", nil)
		}},
		{name: "last_name empty", attrs: map[string]any{"first_name": "Jane", "last_name": ""}, code: 201, check: func(t *testing.T, r *resp) {
			checkPerson(t, r, "", "Jane", "")
		}},
		{name: "client id upper-case returned lower-case", id: upper, attrs: map[string]any{"first_name": "Up"}, code: 201, check: func(t *testing.T, r *resp) {
			checkPerson(t, r, strings.ToLower(upper), "Up", nil)
		}},
		{name: "client timestamps", attrs: map[string]any{"first_name": "Old", "created_at": "2010-10-10T10:10:10.1-05:00", "updated_at": "2011-01-01T00:00:00Z"}, code: 201, check: func(t *testing.T, r *resp) {
			if r.attrs()["created_at"] != "2010-10-10T15:10:10.100Z" || r.attrs()["updated_at"] != "2011-01-01T00:00:00.000Z" {
				t.Errorf("timestamps %v", r.attrs())
			}
		}},
		{name: "updated_in_db_at and overwrite ignored", attrs: map[string]any{"first_name": "X", "updated_in_db_at": "2001-01-01T00:00:00Z", "overwrite": false}, code: 201, check: func(t *testing.T, r *resp) {
			if s, _ := r.attrs()["updated_in_db_at"].(string); strings.HasPrefix(s, "2001") {
				t.Errorf("updated_in_db_at %s taken from the client", s)
			}
		}},
		{name: "first_name missing", attrs: map[string]any{"last_name": "Doe"}, code: 400, pointer: "/data/attributes/first_name"},
		{name: "no attributes", attrs: map[string]any{}, code: 400, pointer: "/data/attributes/first_name"},
		{name: "first_name empty", attrs: map[string]any{"first_name": ""}, code: 400, pointer: "/data/attributes/first_name"},
		{name: "first_name null", attrs: map[string]any{"first_name": nil}, code: 400, pointer: "/data/attributes/first_name"},
		{name: "first_name too long", attrs: map[string]any{"first_name": strings.Repeat("f", 256)}, code: 400, pointer: "/data/attributes/first_name"},
		{name: "last_name a number", attrs: map[string]any{"first_name": "J", "last_name": 5}, code: 400, pointer: "/data/attributes/last_name"},
		{name: "name is a contact attribute", attrs: map[string]any{"first_name": "J", "name": "J"}, code: 400, pointer: "/data/attributes/name"},
		{name: "id not a UUID", id: "p-1", attrs: map[string]any{"first_name": "J"}, code: 400, pointer: "/data/id"},
		{name: "contact_id in attributes", attrs: map[string]any{"first_name": "J", "contact_id": c}, code: 409, pointer: "/data/attributes/contact_id"},
	}
	runCreateCases(t, a, tok, peoplePath(c), "people", cases)

	t.Run("upper-case contact id in path", func(t *testing.T) {
		r := createPerson(t, a, tok, strings.ToUpper(c), nil, map[string]any{"first_name": "Path"})
		if loc, want := r.Header.Get("Location"), "/api/v2/contacts/"+c+"/people/"+r.id(); loc != want {
			t.Errorf("Location %q, want %q (lower-case)", loc, want)
		}
	})
	t.Run("unknown contact", func(t *testing.T) {
		r := a.do(req{Method: "POST", Path: peoplePath(uuid.NewString()), Token: tok, Body: doc("people", map[string]any{"first_name": "J"})})
		wantErrorDoc(t, r, http.StatusNotFound, "")
	})
	t.Run("duplicate id", func(t *testing.T) {
		id := uuid.NewString()
		first := createPerson(t, a, tok, c, id, map[string]any{"first_name": "One"})
		other := a.contact(tok)
		for _, tc := range []struct{ contact, id string }{{c, id}, {c, strings.ToUpper(id)}, {other, id}} {
			r := a.do(req{Method: "POST", Path: peoplePath(tc.contact), Token: tok, Body: docWithID("people", tc.id, map[string]any{"first_name": "Two"})})
			wantErrorDoc(t, r, http.StatusConflict, "/data/id")
		}
		if got := mustGet(t, a, tok, peoplePath(c)+"/"+id); string(got.Raw) != string(first.Raw) {
			t.Errorf("person changed by a failed create")
		}
		if n := len(mustGet(t, a, tok, peoplePath(other)).list()); n != 0 {
			t.Errorf("other contact has %d people, want 0", n)
		}
	})
}

func TestPeopleGet(t *testing.T) {
	a := newAPI(t)
	tok := a.user()
	c := a.contact(tok)
	otherContact := a.contact(tok)
	created := createPerson(t, a, tok, c, nil, map[string]any{"first_name": "Jane", "last_name": "Doe"})
	p := created.id()
	for _, tc := range []struct {
		name, path string
		code       int
	}{
		{"own", peoplePath(c) + "/" + p, 200},
		{"upper-case ids", peoplePath(strings.ToUpper(c)) + "/" + strings.ToUpper(p), 200},
		{"unknown person", peoplePath(c) + "/" + uuid.NewString(), 404},
		{"under another contact of the caller", peoplePath(otherContact) + "/" + p, 404},
		{"unknown contact", peoplePath(uuid.NewString()) + "/" + p, 404},
		{"contact id used as person id", peoplePath(c) + "/" + c, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := wantGet(t, a, tok, tc.path, tc.code, created); r != nil {
				checkPerson(t, r, p, "Jane", "Doe")
			}
		})
	}
}

func TestPeopleUpdate(t *testing.T) {
	a := newAPI(t)
	tok := a.user()
	c := a.contact(tok)
	otherContact := a.contact(tok)
	for _, method := range []string{"PUT", "PATCH"} {
		t.Run(method+"/partial updates", func(t *testing.T) {
			created := createPerson(t, a, tok, c, nil, map[string]any{"first_name": "Jane", "last_name": "Doe", "created_at": "2020-01-01T00:00:00.000Z"})
			path := peoplePath(c) + "/" + created.id()
			steps := []struct {
				attrs       map[string]any
				first, last any
			}{
				{map[string]any{"last_name": "Roe"}, "Jane", "Roe"},
				{map[string]any{"first_name": "Janet"}, "Janet", "Roe"},
				{map[string]any{"last_name": nil}, "Janet", nil},
				{map[string]any{}, "Janet", nil},
				{map[string]any{"last_name": "Doe", "first_name": "J"}, "J", "Doe"},
			}
			for i, st := range steps {
				attrs := with(st.attrs, "updated_in_db_at", storedAt(t, a, tok, path))
				r := a.do(req{Method: method, Path: path, Token: tok, Body: doc("people", attrs)})
				r.want(t, http.StatusOK, "")
				checkPerson(t, r, created.id(), st.first.(string), st.last)
				if r.attrs()["created_at"] != "2020-01-01T00:00:00.000Z" {
					t.Errorf("step %d: created_at changed to %v", i, r.attrs()["created_at"])
				}
				if got := mustGet(t, a, tok, path); string(got.Raw) != string(r.Raw) {
					t.Errorf("step %d: stored state differs from the response:\n%s\n%s", i, got.Raw, r.Raw)
				}
			}
		})

		t.Run(method+"/not found", func(t *testing.T) {
			p := createPerson(t, a, tok, c, nil, map[string]any{"first_name": "Here"}).id()
			for _, path := range []string{
				peoplePath(c) + "/" + uuid.NewString(),
				peoplePath(otherContact) + "/" + p,
				peoplePath(uuid.NewString()) + "/" + p,
			} {
				r := a.do(req{Method: method, Path: path, Token: tok, Body: doc("people", map[string]any{"overwrite": true, "first_name": "X"})})
				wantErrorDoc(t, r, http.StatusNotFound, "")
			}
			if mustGet(t, a, tok, peoplePath(c)+"/"+p).attrs()["first_name"] != "Here" {
				t.Errorf("person changed through another path")
			}
		})

		t.Run(method+"/invalid names", func(t *testing.T) {
			created := createPerson(t, a, tok, c, nil, map[string]any{"first_name": "Valid"})
			path := peoplePath(c) + "/" + created.id()
			for _, tc := range []struct {
				attr  string
				value any
			}{{"first_name", ""}, {"first_name", nil}, {"first_name", 1}, {"last_name", false}, {"last_name", strings.Repeat("l", 256)}} {
				r := a.do(req{Method: method, Path: path, Token: tok, Body: doc("people", map[string]any{"overwrite": true, tc.attr: tc.value})})
				wantErrorDoc(t, r, http.StatusBadRequest, "/data/attributes/"+tc.attr)
			}
			if got := mustGet(t, a, tok, path); string(got.Raw) != string(created.Raw) {
				t.Errorf("refused updates changed the person")
			}
		})
	}
}

// TestPeopleDelete: a person is deleted only through its own contact's
// path, and its contact stays (TestDeleteIsHard has the rest).
func TestPeopleDelete(t *testing.T) {
	a := newAPI(t)
	tok := a.user()
	c := a.contact(tok)
	otherContact := a.contact(tok)
	keep := a.person(tok, c)
	gone := a.person(tok, c)
	path := peoplePath(c) + "/" + gone

	for _, p := range []string{peoplePath(otherContact) + "/" + gone, peoplePath(uuid.NewString()) + "/" + gone, peoplePath(c) + "/" + uuid.NewString()} {
		wantErrorDoc(t, a.do(req{Method: "DELETE", Path: p, Token: tok}), http.StatusNotFound, "")
	}
	mustGet(t, a, tok, path) // still there

	a.do(req{Method: "DELETE", Path: path, Token: tok}).want(t, http.StatusNoContent, "")
	if ids := idsOf(mustGet(t, a, tok, peoplePath(c)).list()); !sameStrings(ids, []string{keep}) {
		t.Errorf("people after delete %v, want [%s]", ids, keep)
	}
	mustGet(t, a, tok, "/api/v2/contacts/"+c) // the contact stays
	createPerson(t, a, tok, c, gone, map[string]any{"first_name": "Again"})
}

// Deleting a person deletes its phones, and nothing else.
func TestPeopleDeleteCascade(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	phone2 := a.phone(tr.tok, tr.contact, tr.person, map[string]any{"number": "617-555-4040"}).id()
	sibling := a.person(tr.tok, tr.contact)
	siblingPhone := a.phone(tr.tok, tr.contact, sibling, map[string]any{"number": "617-555-4041"}).id()
	keepPaths := []string{
		tr.contactPath(),
		peoplePath(tr.contact) + "/" + sibling,
		phonesPath(tr.contact, sibling),
		phonesPath(tr.contact, sibling) + "/" + siblingPhone,
	}
	before := snapshot(t, a, tr.tok, keepPaths...)

	a.do(req{Method: "DELETE", Path: tr.personPath(), Token: tr.tok}).want(t, http.StatusNoContent, "")

	wantGone(t, a, tr.tok, []string{tr.personPath(), tr.phonesPath(), tr.phonePath(), tr.phonesPath() + "/" + phone2}, map[string][]string{
		"people": {tr.person},
		"phones": {tr.phone, phone2},
	})
	sameSnapshot(t, before, snapshot(t, a, tr.tok, keepPaths...))
	if ids := idsOf(mustGet(t, a, tr.tok, peoplePath(tr.contact)).list()); !sameStrings(ids, []string{sibling}) {
		t.Errorf("people after delete %v, want [%s]", ids, sibling)
	}

	// The person's and phones' ids may be used again.
	createPerson(t, a, tr.tok, tr.contact, tr.person, map[string]any{"first_name": "Reborn"})
	for _, ph := range []string{tr.phone, phone2} {
		r := a.do(req{Method: "POST", Path: tr.phonesPath(), Token: tr.tok, Body: docWithID("phone_numbers", ph, map[string]any{"number": "617-555-4042"})})
		r.want(t, http.StatusCreated, "")
	}
}
