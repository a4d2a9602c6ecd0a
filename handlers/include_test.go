package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Tests of relationships and compound documents (include.go).

// rid is a resource identifier: "type/id".
type rid string

func ridOf(obj map[string]any) rid {
	return rid(fmt.Sprint(obj["type"]) + "/" + fmt.Sprint(obj["id"]))
}

// primaryObjects returns a document's primary data as a list.
func primaryObjects(r *resp) []map[string]any {
	if d := r.data(); d != nil {
		return []map[string]any{d}
	}
	return r.list()
}

// includedObjects returns a document's included resources, and whether
// the member is present.
func includedObjects(r *resp) ([]map[string]any, bool) {
	raw, ok := r.Doc["included"]
	if !ok {
		return nil, false
	}
	items, _ := raw.([]any)
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i], _ = it.(map[string]any)
	}
	return out, true
}

// linked returns the resource identifiers of obj's relationship data.
func linked(obj map[string]any) []rid {
	rels, _ := obj["relationships"].(map[string]any)
	var out []rid
	for _, rel := range rels {
		switch d := rel.(map[string]any)["data"].(type) {
		case map[string]any:
			out = append(out, ridOf(d))
		case []any:
			for _, it := range d {
				out = append(out, ridOf(it.(map[string]any)))
			}
		}
	}
	return out
}

// checkCompound requires r's included resources to be exactly want, each
// once, and every one of them reached from the primary data through
// relationship linkage (JSON:API full linkage).
func checkCompound(t *testing.T, r *resp, want []rid) {
	t.Helper()
	inc, present := includedObjects(r)
	if !present {
		t.Fatalf("no included member\n%s", r.Raw)
	}
	byID := map[rid]map[string]any{}
	var got []rid
	for _, obj := range inc {
		id := ridOf(obj)
		if _, dup := byID[id]; dup {
			t.Errorf("%s included twice", id)
		}
		byID[id] = obj
		got = append(got, id)
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("included %v\nwant     %v", got, want)
	}
	reached := map[rid]bool{}
	queue := []map[string]any{}
	queue = append(queue, primaryObjects(r)...)
	for len(queue) > 0 {
		obj := queue[0]
		queue = queue[1:]
		for _, id := range linked(obj) {
			if inc, ok := byID[id]; ok && !reached[id] {
				reached[id] = true
				queue = append(queue, inc)
			}
		}
	}
	for id := range byID {
		if !reached[id] {
			t.Errorf("%s is included but not linked from the primary data (full linkage)", id)
		}
	}
}

// family is one user's data for the include tests: contact A with people
// a1 (phones a1x, a1y) and a2 (phone a2x); contact B with person b1 (no
// phones). Another user has a contact with a person and a phone.
type family struct {
	tok                  string
	a, b                 string // contact ids
	a1, a2, b1           string // person ids
	a1x, a1y, a2x        string // phone ids
	otherTok, otherPhone string
	otherPath            string // the other user's phone path
}

func newIncludeFamily(t *testing.T, a *api) family {
	t.Helper()
	f := family{tok: a.user()}
	f.a, f.b = a.contact(f.tok), a.contact(f.tok)
	f.a1, f.a2, f.b1 = a.person(f.tok, f.a), a.person(f.tok, f.a), a.person(f.tok, f.b)
	f.a1x = a.phone(f.tok, f.a, f.a1, map[string]any{"number": "617-555-0101"}).id()
	f.a1y = a.phone(f.tok, f.a, f.a1, map[string]any{"number": "617-555-0102"}).id()
	f.a2x = a.phone(f.tok, f.a, f.a2, map[string]any{"number": "617-555-0103"}).id()
	f.otherTok = a.user()
	oc := a.contact(f.otherTok)
	op := a.person(f.otherTok, oc)
	f.otherPhone = a.phone(f.otherTok, oc, op, map[string]any{"number": "617-555-0199"}).id()
	f.otherPath = phonesPath(oc, op) + "/" + f.otherPhone
	return f
}

func (f family) contactPath(c string) string   { return "/api/v2/contacts/" + c }
func (f family) personPath(c, p string) string { return f.contactPath(c) + "/people/" + p }
func (f family) phonePath(c, p, ph string) string {
	return f.personPath(c, p) + "/phones/" + ph
}

func refs(typ string, ids ...string) []rid {
	out := make([]rid, len(ids))
	for i, id := range ids {
		out[i] = rid(typ + "/" + id)
	}
	return out
}

func concat(lists ...[]rid) []rid {
	var out []rid
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// Every include path of every read and write, on lists too: each related
// resource once, full linkage, the caller's resources only.
func TestIncludePaths(t *testing.T) {
	a := newAPI(t)
	f := newIncludeFamily(t, a)
	A, B := f.contactPath(f.a), f.contactPath(f.b)
	a1 := f.personPath(f.a, f.a1)
	phonesA1 := a1 + "/phones"
	a1x := f.phonePath(f.a, f.a1, f.a1x)
	allPeople := refs("people", f.a1, f.a2, f.b1)
	allPhones := refs("phone_numbers", f.a1x, f.a1y, f.a2x)
	cases := []struct {
		name, method, path string
		body               any
		want               []rid
	}{
		{"contacts list, people", "GET", "/api/v2/contacts?include=people", nil, allPeople},
		{"contacts list, people.phone_numbers", "GET", "/api/v2/contacts?include=people.phone_numbers", nil, concat(allPeople, allPhones)},
		{"contacts list, both and a repeat", "GET", "/api/v2/contacts?include=people,people.phone_numbers,people", nil, concat(allPeople, allPhones)},
		{"contact, people", "GET", A + "?include=people", nil, refs("people", f.a1, f.a2)},
		{"contact without people", "GET", B + "?include=people.phone_numbers", nil, refs("people", f.b1)},
		{"contact, people.phone_numbers", "GET", A + "?include=people.phone_numbers", nil, concat(refs("people", f.a1, f.a2), allPhones)},
		{"people list, contact and phones", "GET", A + "/people?include=contact,phone_numbers", nil, concat(refs("contacts", f.a), allPhones)},
		{"people list, contact", "GET", A + "/people?include=contact", nil, refs("contacts", f.a)},
		{"person, phones", "GET", a1 + "?include=phone_numbers", nil, refs("phone_numbers", f.a1x, f.a1y)},
		{"person, contact", "GET", a1 + "?include=contact", nil, refs("contacts", f.a)},
		{"phones list, person", "GET", phonesA1 + "?include=person", nil, refs("people", f.a1)},
		{"phones list, person.contact", "GET", phonesA1 + "?include=person.contact", nil, concat(refs("people", f.a1), refs("contacts", f.a))},
		{"phone, person.contact", "GET", a1x + "?include=person.contact", nil, concat(refs("people", f.a1), refs("contacts", f.a))},
		{"account people, phones and contacts", "GET", "/api/v2/contacts/people?include=phone_numbers,contact", nil,
			concat(allPhones, refs("contacts", f.a, f.b))},
		{"account person, phones", "GET", "/api/v2/contacts/people/" + f.a2 + "?include=phone_numbers", nil, refs("phone_numbers", f.a2x)},
		{"spaces around paths", "GET", a1 + "?include=" + url.QueryEscape(" contact , phone_numbers"), nil,
			concat(refs("contacts", f.a), refs("phone_numbers", f.a1x, f.a1y))},
		{"patch contact, people", "PATCH", A + "?include=people", doc("contacts", map[string]any{"name": "A2", "overwrite": true}), refs("people", f.a1, f.a2)},
		{"put person, contact and phones", "PUT", a1 + "?include=contact,phone_numbers",
			doc("people", map[string]any{"first_name": "P", "overwrite": true}), concat(refs("contacts", f.a), refs("phone_numbers", f.a1x, f.a1y))},
		{"patch phone, person.contact", "PATCH", a1x + "?include=person.contact",
			doc("phone_numbers", map[string]any{"location": "work", "overwrite": true}), concat(refs("people", f.a1), refs("contacts", f.a))},
		{"patch account person, phones", "PATCH", "/api/v2/contacts/people/" + f.a1 + "?include=phone_numbers",
			doc("people", map[string]any{"last_name": "Q", "overwrite": true}), refs("phone_numbers", f.a1x, f.a1y)},
		{"create person, contact", "POST", B + "/people?include=contact,phone_numbers", doc("people", map[string]any{"first_name": "New"}),
			refs("contacts", f.b)},
		{"create contact, people", "POST", "/api/v2/contacts?include=people.phone_numbers", doc("contacts", map[string]any{"name": "New"}), nil},
		{"empty include", "GET", A + "?include=", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := forTest(a, t).do(req{Method: tc.method, Path: tc.path, Token: f.tok, Body: tc.body})
			if r.Code != http.StatusOK && r.Code != http.StatusCreated {
				t.Fatalf("status %d\n%s", r.Code, r.Raw)
			}
			if tc.name == "empty include" {
				if _, ok := includedObjects(r); ok {
					t.Errorf("an empty include gave an included member\n%s", r.Raw)
				}
				return
			}
			checkCompound(t, r, tc.want)
		})
	}
}

// Relationships are on every resource object, with links.related leading
// to the related resource or collection; to-one ones always carry
// linkage, to-many ones only when included (then every related resource,
// in created_at order).
func TestRelationshipsOnEveryResource(t *testing.T) {
	a := newAPI(t)
	f := newIncludeFamily(t, a)
	a1 := f.personPath(f.a, f.a1)
	check := func(t *testing.T, obj map[string]any, name string, wantData any) string {
		t.Helper()
		rels, _ := obj["relationships"].(map[string]any)
		rel, ok := rels[name].(map[string]any)
		if !ok {
			t.Fatalf("%s has no %s relationship: %v", ridOf(obj), name, obj["relationships"])
		}
		data, has := rel["data"]
		switch {
		case wantData == nil && has:
			t.Errorf("%s.%s has linkage %v, want none", ridOf(obj), name, data)
		case wantData != nil && !jsonEqual(data, wantData):
			t.Errorf("%s.%s linkage %v, want %v", ridOf(obj), name, data, wantData)
		}
		related, _ := rel["links"].(map[string]any)["related"].(string)
		return related
	}
	ident := func(typ, id string) map[string]any { return map[string]any{"type": typ, "id": id} }
	// idents is the linkage of the ids listed, in the list's order
	// (created_at, then id: the order of to-many linkage).
	idents := func(typ string, ids []string) []any {
		out := []any{}
		for _, id := range ids {
			out = append(out, ident(typ, id))
		}
		return out
	}
	sameSet := func(got, want []string) bool {
		return sameStrings(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
	}

	contact := mustGet(t, a, f.tok, f.contactPath(f.a)).data()
	related := check(t, contact, "people", nil)
	people := idsOf(mustGet(t, a, f.tok, related).list())
	if !sameSet(people, []string{f.a1, f.a2}) {
		t.Errorf("contact's people link %s lists %v", related, people)
	}
	contact = mustGet(t, a, f.tok, f.contactPath(f.a)+"?include=people").data()
	check(t, contact, "people", idents("people", people))

	person := mustGet(t, a, f.tok, a1).data()
	if related := check(t, person, "contact", ident("contacts", f.a)); mustGet(t, a, f.tok, related).id() != f.a {
		t.Errorf("person's contact link %s", related)
	}
	related = check(t, person, "phone_numbers", nil)
	phones := idsOf(mustGet(t, a, f.tok, related).list())
	if !sameSet(phones, []string{f.a1x, f.a1y}) {
		t.Errorf("person's phones link %s lists %v", related, phones)
	}
	person = mustGet(t, a, f.tok, a1+"?include=phone_numbers").data()
	check(t, person, "phone_numbers", idents("phone_numbers", phones))
	// A person without phones, its phones included: empty linkage.
	b1 := mustGet(t, a, f.tok, f.personPath(f.b, f.b1)+"?include=phone_numbers").data()
	check(t, b1, "phone_numbers", []any{})

	phone := mustGet(t, a, f.tok, f.phonePath(f.a, f.a1, f.a1x)).data()
	if related := check(t, phone, "person", ident("people", f.a1)); mustGet(t, a, f.tok, related).id() != f.a1 {
		t.Errorf("phone's person link %s", related)
	}
}

// fields[TYPE] selects relationships as it selects attributes, and
// applies to included resources too.
func TestIncludeSparseFieldsets(t *testing.T) {
	a := newAPI(t)
	f := newIncludeFamily(t, a)
	q := url.Values{
		"include":               {"people.phone_numbers"},
		"fields[contacts]":      {"name"},
		"fields[people]":        {"first_name,phone_numbers"},
		"fields[phone_numbers]": {"number"},
	}
	r := mustGet(t, a, f.tok, f.contactPath(f.a)+"?"+q.Encode())
	if _, ok := r.data()["relationships"]; ok {
		t.Errorf("fields[contacts]=name kept the relationships: %v", r.data()["relationships"])
	}
	if got := attrKeys(r.attrs()); !slices.Equal(got, []string{"name"}) {
		t.Errorf("contact attributes %v", got)
	}
	inc, _ := includedObjects(r)
	if len(inc) != 5 {
		t.Fatalf("%d included, want 2 people and 3 phones\n%s", len(inc), r.Raw)
	}
	for _, obj := range inc {
		attrs, _ := obj["attributes"].(map[string]any)
		rels, _ := obj["relationships"].(map[string]any)
		switch obj["type"] {
		case "people":
			if got := attrKeys(attrs); !slices.Equal(got, []string{"first_name"}) {
				t.Errorf("included person attributes %v", got)
			}
			if _, ok := rels["contact"]; ok || rels["phone_numbers"] == nil {
				t.Errorf("included person relationships %v, want phone_numbers only", rels)
			}
		case "phone_numbers":
			if got := attrKeys(attrs); !slices.Equal(got, []string{"number"}) {
				t.Errorf("included phone attributes %v", got)
			}
			if rels != nil {
				t.Errorf("included phone relationships %v, want none", rels)
			}
		}
	}
	// Relationship names are checked like attribute names.
	r = a.do(req{Method: "GET", Path: f.contactPath(f.a) + "?" + url.QueryEscape("fields[people]") + "=phones", Token: f.tok})
	wantParam(t, r, "fields[people]", "")
}

// An include path the type does not have is 400 naming the parameter and
// listing the paths there are, on every operation that takes include; a
// write refused for it changes nothing.
func TestIncludeUnknownPath(t *testing.T) {
	a := newAPI(t)
	f := newIncludeFamily(t, a)
	a1 := f.personPath(f.a, f.a1)
	cases := []struct {
		method, path string
		body         any
		paths        []string
	}{
		{"GET", "/api/v2/contacts?include=phone_numbers", nil, includePaths["contacts"]},
		{"GET", f.contactPath(f.a) + "?include=people.contact", nil, includePaths["contacts"]},
		{"POST", "/api/v2/contacts?include=persons", doc("contacts", map[string]any{"name": "X"}), includePaths["contacts"]},
		{"GET", "/api/v2/contacts/people?include=people", nil, includePaths["people"]},
		{"GET", a1 + "?include=contact.people", nil, includePaths["people"]},
		{"PATCH", a1 + "?include=phones", doc("people", map[string]any{"first_name": "X", "overwrite": true}), includePaths["people"]},
		{"GET", a1 + "/phones?include=person.phone_numbers", nil, includePaths["phone_numbers"]},
		{"PUT", a1 + "/phones/" + f.a1x + "?include=contact", doc("phone_numbers", map[string]any{"location": "X", "overwrite": true}), includePaths["phone_numbers"]},
		{"GET", "/api/v2/deleted_records?include=deletable", nil, nil},
	}
	before := snapshot(t, a, f.tok, f.contactPath(f.a), a1, a1+"/phones/"+f.a1x)
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := forTest(a, t).do(req{Method: tc.method, Path: tc.path, Token: f.tok, Body: tc.body})
			wantParam(t, r, "include", "")
			detail, _ := r.firstError()["detail"].(string)
			for _, p := range tc.paths {
				if !strings.Contains(detail, p) {
					t.Errorf("detail %q does not list %q", detail, p)
				}
			}
		})
	}
	sameSnapshot(t, before, snapshot(t, a, f.tok, f.contactPath(f.a), a1, a1+"/phones/"+f.a1x))
}

// A GET that includes resources is not answered 304 from the primary
// resource's ETag: its included resources may have changed.
func TestIncludeIgnoresIfNoneMatch(t *testing.T) {
	a := newAPI(t)
	f := newIncludeFamily(t, a)
	a1 := f.personPath(f.a, f.a1)
	_, tag := getWithETag(t, a, f.tok, f.contactPath(f.a))
	r := a.do(req{Method: "GET", Path: f.contactPath(f.a) + "?include=people", Token: f.tok, Header: map[string]string{"If-None-Match": tag}})
	r.want(t, http.StatusOK, "")
	if got := r.Header.Get("ETag"); got != tag {
		t.Errorf("ETag %q, want the contact's %q", got, tag)
	}
	r = a.do(req{Method: "GET", Path: a1 + "?include=contact", Token: f.tok, Header: map[string]string{"If-None-Match": "*"}})
	r.want(t, http.StatusOK, "")
}
