package handlers

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// checkContact checks the shape of a contact resource in r.
func checkContact(t testing.TB, r *resp, id, name string) {
	t.Helper()
	d := r.data()
	if d["type"] != "contacts" {
		t.Errorf("type %v, want contacts", d["type"])
	}
	got, _ := d["id"].(string)
	if !uuidRE.MatchString(got) {
		t.Errorf("id %q is not a lower-case UUID", got)
	}
	if id != "" && got != id {
		t.Errorf("id %q, want %q", got, id)
	}
	if name != "" && r.attrs()["name"] != name {
		t.Errorf("name %v, want %q", r.attrs()["name"], name)
	}
	for _, k := range []string{"created_at", "updated_at", "updated_in_db_at"} {
		if s, _ := r.attrs()[k].(string); !timeRE.MatchString(s) {
			t.Errorf("%s = %v, want RFC 3339 UTC with milliseconds", k, r.attrs()[k])
		}
	}
}

// createContact creates a contact with attrs and returns the response.
func createContact(t testing.TB, a *api, tok string, id any, attrs map[string]any) *resp {
	t.Helper()
	r := a.do(req{Method: "POST", Path: "/api/v2/contacts", Token: tok, Body: docWithID("contacts", id, attrs)})
	r.want(t, http.StatusCreated, "")
	return r
}

func TestContactsList(t *testing.T) {
	a := newAPI(t)
	tok, other := a.user(), a.user()

	// A new user has an empty list, with meta.
	r := mustGet(t, a, tok, "/api/v2/contacts")
	if items, ok := r.Doc["data"].([]any); !ok || len(items) != 0 {
		t.Errorf("new user's list: data = %#v, want []", r.Doc["data"])
	}
	if _, ok := r.Doc["meta"].(map[string]any); !ok {
		t.Errorf("list without meta object: %s", r.Raw)
	}

	// Created out of created_at order; listed in created_at order.
	// A's created_at is 2021-06-01T01:00Z: after B's, although its local
	// date is earlier.
	// Ids are chosen so that id order is the reverse of created_at order;
	// D ties with C on created_at and sorts after it by id.
	bID := createContact(t, a, tok, idWithPrefix("f"), map[string]any{"name": "B", "created_at": "2021-06-01T00:00:00Z"}).id()
	dID := createContact(t, a, tok, idWithPrefix("2"), map[string]any{"name": "D", "created_at": "2022-01-01T00:00:00.000Z"}).id()
	cID := createContact(t, a, tok, idWithPrefix("1"), map[string]any{"name": "C", "created_at": "2022-01-01T00:00:00.000Z"}).id()
	aID := createContact(t, a, tok, idWithPrefix("e"), map[string]any{"name": "A", "created_at": "2021-05-31T23:00:00-02:00"}).id()
	createContact(t, a, other, idWithPrefix("a"), map[string]any{"name": "Not yours", "created_at": "2021-06-01T00:30:00Z"})

	r = mustGet(t, a, tok, "/api/v2/contacts")
	if _, ok := r.Doc["meta"].(map[string]any); !ok {
		t.Errorf("list without meta object: %s", r.Raw)
	}
	want := []string{bID, aID, cID, dID}
	if got := idsOf(r.list()); !sameStrings(got, want) {
		t.Errorf("list order %v, want %v (by created_at)\n%s", got, want, r.Raw)
	}
	for i, it := range r.list() {
		if it["type"] != "contacts" {
			t.Errorf("item %d type %v", i, it["type"])
		}
	}
	names := []string{}
	for _, it := range r.list() {
		attrs, _ := it["attributes"].(map[string]any)
		n, _ := attrs["name"].(string)
		names = append(names, n)
	}
	if strings.Join(names, ",") != "B,A,C,D" {
		t.Errorf("names in order %v, want B,A,C,D", names)
	}

	// The other user sees only their own.
	r = mustGet(t, a, other, "/api/v2/contacts")
	if len(r.list()) != 1 || r.list()[0]["attributes"].(map[string]any)["name"] != "Not yours" {
		t.Errorf("other user's list: %s", r.Raw)
	}
}

func TestContactsCreate(t *testing.T) {
	a := newAPI(t)
	tok := a.user()
	upper := strings.ToUpper(uuid.NewString())
	lower := uuid.NewString()
	v7, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	cases := []createCase{
		{name: "name only", attrs: map[string]any{"name": "Doe family"}, code: 201, check: func(t *testing.T, r *resp) {
			checkContact(t, r, "", "Doe family")
			at := r.attrs()
			if at["created_at"] != at["updated_at"] || at["created_at"] != at["updated_in_db_at"] {
				t.Errorf("server timestamps differ on create: %v", at)
			}
		}},
		{name: "client id honoured", id: lower, attrs: map[string]any{"name": "X"}, code: 201, check: func(t *testing.T, r *resp) {
			checkContact(t, r, lower, "X")
		}},
		{name: "client id upper-case returned lower-case", id: upper, attrs: map[string]any{"name": "X"}, code: 201, check: func(t *testing.T, r *resp) {
			checkContact(t, r, strings.ToLower(upper), "X")
		}},
		{name: "client id version 7", id: v7.String(), attrs: map[string]any{"name": "X"}, code: 201, check: func(t *testing.T, r *resp) {
			checkContact(t, r, v7.String(), "X")
		}},
		{name: "client timestamps kept, normalised to UTC milliseconds", attrs: map[string]any{
			"name": "Import", "created_at": "2019-03-04T05:06:07.891234+02:00", "updated_at": "2020-01-02T03:04:05Z",
		}, code: 201, check: func(t *testing.T, r *resp) {
			if r.attrs()["created_at"] != "2019-03-04T03:06:07.891Z" {
				t.Errorf("created_at %v", r.attrs()["created_at"])
			}
			if r.attrs()["updated_at"] != "2020-01-02T03:04:05.000Z" {
				t.Errorf("updated_at %v", r.attrs()["updated_at"])
			}
			if r.attrs()["updated_in_db_at"] == "2020-01-02T03:04:05.000Z" {
				t.Errorf("updated_in_db_at taken from the client")
			}
		}},
		{name: "updated_in_db_at and overwrite ignored", attrs: map[string]any{
			"name": "X", "updated_in_db_at": "2001-01-01T00:00:00.000Z", "overwrite": true,
		}, code: 201, check: func(t *testing.T, r *resp) {
			s, _ := r.attrs()["updated_in_db_at"].(string)
			if strings.HasPrefix(s, "2001") {
				t.Errorf("updated_in_db_at %q taken from the client", s)
			}
		}},
		{name: "unicode name", attrs: map[string]any{"name": "Zoë & José 🌻"}, code: 201, check: func(t *testing.T, r *resp) {
			checkContact(t, r, "", "Zoë & José 🌻")
		}},
		{name: "name of 255 characters", attrs: map[string]any{"name": strings.Repeat("n", 255)}, code: 201},
		{name: "name missing", attrs: map[string]any{}, code: 400, pointer: "/data/attributes/name"},
		{name: "name missing, other attributes sent", attrs: map[string]any{"created_at": "2020-01-01T00:00:00Z"}, code: 400, pointer: "/data/attributes/name"},
		{name: "name empty", attrs: map[string]any{"name": ""}, code: 400, pointer: "/data/attributes/name"},
		{name: "name null", attrs: map[string]any{"name": nil}, code: 400, pointer: "/data/attributes/name"},
		{name: "name too long", attrs: map[string]any{"name": strings.Repeat("n", 256)}, code: 400, pointer: "/data/attributes/name"},
		{name: "name a number", attrs: map[string]any{"name": 5}, code: 400, pointer: "/data/attributes/name"},
		{name: "id not a UUID", id: "contact-1", attrs: map[string]any{"name": "X"}, code: 400, pointer: "/data/id"},
		{name: "id a number", id: 12, attrs: map[string]any{"name": "X"}, code: 400, pointer: "/data/id"},
		{name: "id with braces", id: "{" + uuid.NewString() + "}", attrs: map[string]any{"name": "X"}, code: 400, pointer: "/data/id"},
		{name: "created_at invalid", attrs: map[string]any{"name": "X", "created_at": "2020-13-01T00:00:00Z"}, code: 400, pointer: "/data/attributes/created_at"},
	}
	runCreateCases(t, a, tok, "/api/v2/contacts", "contacts", cases)
}

func TestContactsCreateDuplicateID(t *testing.T) {
	a := newAPI(t)
	tok, other := a.user(), a.user()
	id := uuid.NewString()
	first := createContact(t, a, tok, id, map[string]any{"name": "First"})
	for _, tc := range []struct {
		name, tok, id string
	}{
		{"same id", tok, id},
		{"same id upper-case", tok, strings.ToUpper(id)},
		{"same id by another user", other, id},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do(req{Method: "POST", Path: "/api/v2/contacts", Token: tc.tok, Body: docWithID("contacts", tc.id, map[string]any{"name": "Second"})})
			wantErrorDoc(t, r, http.StatusConflict, "/data/id")
		})
	}
	if got := mustGet(t, a, tok, "/api/v2/contacts/"+id); string(got.Raw) != string(first.Raw) {
		t.Errorf("contact changed by a failed create:\n%s\n%s", got.Raw, first.Raw)
	}
	if n := len(mustGet(t, a, other, "/api/v2/contacts").list()); n != 0 {
		t.Errorf("other user has %d contacts, want 0", n)
	}
}

func TestContactsGet(t *testing.T) {
	a := newAPI(t)
	tok := a.user()
	created := createContact(t, a, tok, nil, map[string]any{"name": "Got"})
	id := created.id()
	for _, tc := range []struct {
		name, path string
		code       int
	}{
		{"own", "/api/v2/contacts/" + id, 200},
		{"upper-case id", "/api/v2/contacts/" + strings.ToUpper(id), 200},
		{"unknown", "/api/v2/contacts/" + uuid.NewString(), 404},
		{"nil UUID", "/api/v2/contacts/00000000-0000-0000-0000-000000000000", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := wantGet(t, a, tok, tc.path, tc.code, created); r != nil {
				checkContact(t, r, id, "Got")
			}
		})
	}
}

func TestContactsUpdate(t *testing.T) {
	a := newAPI(t)
	tok := a.user()
	for _, method := range []string{"PUT", "PATCH"} {
		t.Run(method+"/partial update keeps what is not sent", func(t *testing.T) {
			created := createContact(t, a, tok, nil, map[string]any{"name": "Kept", "created_at": "2020-01-01T00:00:00.000Z", "updated_at": "2020-02-01T00:00:00.000Z"})
			path := "/api/v2/contacts/" + created.id()
			r := a.do(req{Method: method, Path: path, Token: tok, Body: doc("contacts", map[string]any{"updated_in_db_at": storedAt(t, a, tok, path)})})
			r.want(t, http.StatusOK, "")
			if r.attrs()["name"] != "Kept" || r.attrs()["created_at"] != "2020-01-01T00:00:00.000Z" {
				t.Errorf("attributes not sent changed: %v", r.attrs())
			}
			if r.attrs()["updated_at"] == "2020-02-01T00:00:00.000Z" {
				t.Errorf("updated_at not advanced by a write without updated_at")
			}
		})

		t.Run(method+"/client timestamps", func(t *testing.T) {
			created := createContact(t, a, tok, nil, map[string]any{"name": "T"})
			path := "/api/v2/contacts/" + created.id()
			r := a.do(req{Method: method, Path: path, Token: tok, Body: doc("contacts", map[string]any{
				"overwrite": true, "created_at": "2018-01-01T01:00:00+01:00", "updated_at": "2018-06-01T00:00:00.5Z",
				"updated_in_db_at": "2000-01-01T00:00:00Z",
			})})
			r.want(t, http.StatusOK, "")
			if r.attrs()["created_at"] != "2018-01-01T00:00:00.000Z" || r.attrs()["updated_at"] != "2018-06-01T00:00:00.500Z" {
				t.Errorf("client timestamps: %v", r.attrs())
			}
			if s, _ := r.attrs()["updated_in_db_at"].(string); strings.HasPrefix(s, "2000") {
				t.Errorf("updated_in_db_at taken from the client: %s", s)
			}
		})

		t.Run(method+"/unknown contact", func(t *testing.T) {
			r := a.do(req{Method: method, Path: "/api/v2/contacts/" + uuid.NewString(), Token: tok, Body: doc("contacts", map[string]any{"overwrite": true, "name": "X"})})
			wantErrorDoc(t, r, http.StatusNotFound, "")
		})

		t.Run(method+"/invalid name", func(t *testing.T) {
			created := createContact(t, a, tok, nil, map[string]any{"name": "Valid"})
			path := "/api/v2/contacts/" + created.id()
			for _, v := range []any{"", nil, 5, strings.Repeat("x", 256)} {
				r := a.do(req{Method: method, Path: path, Token: tok, Body: doc("contacts", map[string]any{"overwrite": true, "name": v})})
				wantErrorDoc(t, r, http.StatusBadRequest, "/data/attributes/name")
			}
			if got := mustGet(t, a, tok, path); string(got.Raw) != string(created.Raw) {
				t.Errorf("refused updates changed the contact")
			}
		})
	}
}

// Deleting a contact deletes its people and their phones; other contacts
// keep theirs.
func TestContactsDeleteCascade(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	person2 := a.person(tr.tok, tr.contact)
	phone2 := a.phone(tr.tok, tr.contact, person2, map[string]any{"number": "617-555-3030"}).id()
	phone3 := a.phone(tr.tok, tr.contact, tr.person, map[string]any{"number": "617-555-3031"}).id()

	keepContact := a.contact(tr.tok)
	keepPerson := a.person(tr.tok, keepContact)
	keepPhone := a.phone(tr.tok, keepContact, keepPerson, map[string]any{"number": "617-555-3032"}).id()
	keepPaths := []string{
		"/api/v2/contacts/" + keepContact,
		"/api/v2/contacts/" + keepContact + "/people/" + keepPerson,
		phonesPath(keepContact, keepPerson) + "/" + keepPhone,
		phonesPath(keepContact, keepPerson),
	}
	before := snapshot(t, a, tr.tok, keepPaths...)

	r := a.do(req{Method: "DELETE", Path: tr.contactPath(), Token: tr.tok})
	r.want(t, http.StatusNoContent, "")

	wantGone(t, a, tr.tok, []string{
		tr.contactPath(), tr.contactPath() + "/people", tr.personPath(), tr.phonesPath(), tr.phonePath(),
		tr.contactPath() + "/people/" + person2, phonesPath(tr.contact, person2) + "/" + phone2,
	}, map[string][]string{
		"contacts": {tr.contact},
		"people":   {tr.person, person2},
		"phones":   {tr.phone, phone3, phone2},
	})
	sameSnapshot(t, before, snapshot(t, a, tr.tok, keepPaths...))

	// Every id may be used again, which needs the old rows to be gone.
	createContact(t, a, tr.tok, tr.contact, map[string]any{"name": "Reborn"})
	r = a.do(req{Method: "POST", Path: tr.contactPath() + "/people", Token: tr.tok, Body: docWithID("people", tr.person, map[string]any{"first_name": "Reborn"})})
	r.want(t, http.StatusCreated, "")
	r = a.do(req{Method: "POST", Path: tr.phonesPath(), Token: tr.tok, Body: docWithID("phone_numbers", tr.phone, map[string]any{"number": "617-555-3033"})})
	r.want(t, http.StatusCreated, "")
	if n := len(mustGet(t, a, tr.tok, tr.phonesPath()).list()); n != 1 {
		t.Errorf("reborn person has %d phones, want 1", n)
	}
}
