package handlers

import (
	"net/http"
	"strings"
	"testing"
)

// withRels returns a write document of typ with attrs and relationships.
func withRels(typ string, attrs, rels map[string]any) map[string]any {
	d := doc(typ, attrs)
	d["data"].(map[string]any)["relationships"] = rels
	return d
}

func toOne(typ, id string) map[string]any {
	return map[string]any{"data": map[string]any{"type": typ, "id": id}}
}

func toMany(typ string, ids ...string) map[string]any {
	data := []any{}
	for _, id := range ids {
		data = append(data, map[string]any{"type": typ, "id": id})
	}
	return map[string]any{"data": data}
}

// Writes accept relationships that move nothing (what a JSON:API client
// library sends back) and refuse, with 400 at the relationship and nothing
// saved, any that would move a resource to another parent or move
// resources to or from it.
func TestWriteRelationships(t *testing.T) {
	a := newAPI(t)
	f := newIncludeFamily(t, a)
	A, B := f.contactPath(f.a), f.contactPath(f.b)
	a1 := f.personPath(f.a, f.a1)
	a1x := f.phonePath(f.a, f.a1, f.a1x)
	over := map[string]any{"overwrite": true}
	up := strings.ToUpper
	cases := []struct {
		name, method, path string
		body               any
		code               int
		pointer            string
	}{
		// Phones: person must be the path's.
		{"create phone, same person", "POST", f.personPath(f.a, f.a2) + "/phones", withRels("phone_numbers", map[string]any{"number": "617-555-0111"},
			map[string]any{"person": toOne("people", up(f.a2))}), http.StatusCreated, ""},
		{"create phone, other person", "POST", a1 + "/phones", withRels("phone_numbers", map[string]any{"number": "617-555-0112"},
			map[string]any{"person": toOne("people", f.a2)}), http.StatusBadRequest, "/data/relationships/person/data/id"},
		{"update phone, same person, links echoed", "PATCH", a1x, withRels("phone_numbers", with(over, "location", "home"),
			map[string]any{"person": with(toOne("people", f.a1), "links", map[string]any{"related": "/x"})}), http.StatusOK, ""},
		{"update phone, other person", "PUT", a1x, withRels("phone_numbers", with(over, "location", "moved"),
			map[string]any{"person": toOne("people", f.b1)}), http.StatusBadRequest, "/data/relationships/person/data/id"},
		{"update phone, wrong linkage type", "PATCH", a1x, withRels("phone_numbers", with(over, "location", "moved"),
			map[string]any{"person": toOne("contacts", f.a1)}), http.StatusBadRequest, "-"},
		{"update phone, null person", "PATCH", a1x, withRels("phone_numbers", with(over, "location", "moved"),
			map[string]any{"person": map[string]any{"data": nil}}), http.StatusBadRequest, "-"},
		{"update phone, unknown relationship", "PATCH", a1x, withRels("phone_numbers", with(over, "location", "moved"),
			map[string]any{"contact": toOne("contacts", f.a)}), http.StatusBadRequest, "-"},

		// People: contact must be the path's; phone_numbers exactly the
		// person's phones.
		{"create person, same contact, no phones", "POST", A + "/people", withRels("people", map[string]any{"first_name": "N"},
			map[string]any{"contact": toOne("contacts", f.a), "phone_numbers": toMany("phone_numbers")}), http.StatusCreated, ""},
		{"create person, other contact", "POST", A + "/people", withRels("people", map[string]any{"first_name": "N"},
			map[string]any{"contact": toOne("contacts", f.b)}), http.StatusBadRequest, "/data/relationships/contact/data/id"},
		{"create person with phones", "POST", A + "/people", withRels("people", map[string]any{"first_name": "N"},
			map[string]any{"phone_numbers": toMany("phone_numbers", f.a2x)}), http.StatusBadRequest, "/data/relationships/phone_numbers"},
		{"update person, its phones in another order", "PATCH", a1, withRels("people", with(over, "first_name", "Same"),
			map[string]any{"contact": toOne("contacts", f.a), "phone_numbers": toMany("phone_numbers", up(f.a1y), f.a1x)}), http.StatusOK, ""},
		{"update person, a phone missing", "PUT", a1, withRels("people", with(over, "first_name", "Moved"),
			map[string]any{"phone_numbers": toMany("phone_numbers", f.a1x)}), http.StatusBadRequest, "/data/relationships/phone_numbers"},
		{"update person, another's phone", "PATCH", a1, withRels("people", with(over, "first_name", "Moved"),
			map[string]any{"phone_numbers": toMany("phone_numbers", f.a1x, f.a1y, f.a2x)}), http.StatusBadRequest, "/data/relationships/phone_numbers"},
		{"update person, a phone twice", "PATCH", a1, withRels("people", with(over, "first_name", "Moved"),
			map[string]any{"phone_numbers": toMany("phone_numbers", f.a1x, f.a1x)}), http.StatusBadRequest, "/data/relationships/phone_numbers"},
		{"update person, other contact", "PATCH", a1, withRels("people", with(over, "first_name", "Moved"),
			map[string]any{"contact": toOne("contacts", f.b)}), http.StatusBadRequest, "/data/relationships/contact/data/id"},
		{"update account person, its contact", "PATCH", "/api/v2/contacts/people/" + f.b1, withRels("people", with(over, "first_name", "B"),
			map[string]any{"contact": toOne("contacts", f.b)}), http.StatusOK, ""},
		{"update account person, other contact", "PUT", "/api/v2/contacts/people/" + f.b1, withRels("people", with(over, "first_name", "Moved"),
			map[string]any{"contact": toOne("contacts", f.a)}), http.StatusBadRequest, "/data/relationships/contact/data/id"},

		// Contacts: people exactly the contact's.
		{"create contact, no people", "POST", "/api/v2/contacts", withRels("contacts", map[string]any{"name": "N"},
			map[string]any{"people": toMany("people")}), http.StatusCreated, ""},
		{"create contact with people", "POST", "/api/v2/contacts", withRels("contacts", map[string]any{"name": "N"},
			map[string]any{"people": toMany("people", f.b1)}), http.StatusBadRequest, "/data/relationships/people"},
		{"update contact, its people", "PATCH", B, withRels("contacts", with(over, "name", "B"),
			map[string]any{"people": toMany("people", f.b1)}), http.StatusOK, ""},
		{"update contact, another's person", "PUT", B, withRels("contacts", with(over, "name", "Moved"),
			map[string]any{"people": toMany("people", f.b1, f.a1)}), http.StatusBadRequest, "/data/relationships/people"},
		{"update contact, none", "PATCH", B, withRels("contacts", with(over, "name", "Moved"),
			map[string]any{"people": toMany("people")}), http.StatusBadRequest, "/data/relationships/people"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fa := forTest(a, t)
			paths := []string{A, B, a1, a1x, f.personPath(f.a, f.a2), f.personPath(f.b, f.b1), a1 + "/phones", A + "/people", "/api/v2/contacts"}
			before := snapshot(t, fa, f.tok, paths...)
			r := fa.do(req{Method: tc.method, Path: tc.path, Token: f.tok, Body: tc.body})
			r.want(t, tc.code, tc.pointer)
			if tc.code == http.StatusBadRequest {
				sameSnapshot(t, before, snapshot(t, fa, f.tok, paths...))
			}
		})
	}
	// A path that fails still comes first: someone else's person is 403
	// whatever the relationships say.
	r := a.do(req{Method: "PATCH", Path: "/api/v2/contacts/people/" + f.a1, Token: f.otherTok,
		Body: withRels("people", with(over, "first_name", "X"), map[string]any{"contact": toOne("contacts", f.b)})})
	r.want(t, http.StatusForbidden, "")
}
