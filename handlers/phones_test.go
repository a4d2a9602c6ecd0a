package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestPhoneList(t *testing.T) {
	a := newAPI(t)
	tr := a.tree() // person already has one phone, created "now"
	// Created out of created_at order; the list must be in created_at order.
	stamps := []string{"2021-03-01T00:00:00.000Z", "2019-01-01T00:00:00.000Z", "2020-06-15T12:00:00.500Z"}
	ids := map[string]string{}
	for i, ts := range stamps {
		r := createPhone(t, a, tr.tok, tr.phonesPath(), map[string]any{"number": fmt.Sprintf("617-555-01%02d", i), "created_at": ts})
		ids[ts] = r.id()
	}
	// A phone of another person of the same contact must not show up.
	other := newPerson(t, a, tr)
	otherPhone := createPhone(t, a, tr.tok, other, map[string]any{"number": "617-555-0199"}).id()

	list := listPhones(t, a, tr.tok, tr.phonesPath())
	want := []string{ids[stamps[1]], ids[stamps[2]], ids[stamps[0]], tr.phone}
	if len(list) != len(want) {
		t.Fatalf("list has %d phones, want %d", len(list), len(want))
	}
	for i, it := range list {
		if it["id"] != want[i] {
			t.Errorf("list[%d] = %v, want %v", i, it["id"], want[i])
		}
		if it["type"] != "phone_numbers" {
			t.Errorf("list[%d].type = %v", i, it["type"])
		}
		if it["id"] == otherPhone {
			t.Errorf("another person's phone is listed")
		}
	}
	primaryInvariant(t, list)

	// The other person sees only their own phone; a person without phones
	// gets an empty array, with meta.
	if l := listPhones(t, a, tr.tok, other); len(l) != 1 || l[0]["id"] != otherPhone {
		t.Errorf("other person's list = %v", l)
	}
	empty := newPerson(t, a, tr)
	r := a.do(req{Method: "GET", Path: empty, Token: tr.tok})
	r.want(t, http.StatusOK, "")
	if !strings.Contains(string(r.Raw), `"data":[]`) {
		t.Errorf("empty list body = %s, want data []", r.Raw)
	}
	if _, ok := r.Doc["meta"].(map[string]any); !ok {
		t.Errorf("empty list without meta: %s", r.Raw)
	}
}

func TestPhoneCreate(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	path := newPerson(t, a, tr)
	start := time.Now().Add(-time.Second)
	r := createPhone(t, a, tr.tok, path, map[string]any{
		"number": "(617) 555-1234", "location": "home", "source": "Import",
	})
	id := r.id()
	if _, err := uuid.Parse(id); err != nil || id != strings.ToLower(id) {
		t.Errorf("id %q is not a lower-case UUID", id)
	}
	if loc := r.Header.Get("Location"); loc != path+"/"+id {
		t.Errorf("Location = %q, want %q", loc, path+"/"+id)
	}
	if r.data()["type"] != "phone_numbers" {
		t.Errorf("type = %v", r.data()["type"])
	}
	at := r.attrs()
	want := map[string]any{
		"number": "+16175551234", "country_code": "1", "location": "home", "source": "Import",
		"primary": true, "historic": false, "valid_values": true,
	}
	for k, v := range want {
		if at[k] != v {
			t.Errorf("%s = %#v, want %#v", k, at[k], v)
		}
	}
	if len(at) != 10 {
		t.Errorf("attributes has %d members, want the ten documented: %v", len(at), at)
	}
	for _, k := range []string{"created_at", "updated_at", "updated_in_db_at"} {
		ts := timestampOf(t, at[k])
		if ts.Before(start) || ts.After(time.Now().Add(time.Second)) {
			t.Errorf("%s = %v, not the server's time", k, ts)
		}
	}

	// GET by the Location returns the same representation.
	g := mustGet(t, a, tr.tok, r.Header.Get("Location"))
	if string(mustJSON(t, g.data())) != string(mustJSON(t, r.data())) {
		t.Errorf("GET = %s\nPOST = %s", g.Raw, r.Raw)
	}
}

func TestPhoneCreateClientID(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	path := tr.phonesPath()
	upper := strings.ToUpper(uuid.NewString())

	// An upper-case client id is honoured and returned lower-case.
	r := a.do(req{Method: "POST", Path: path, Token: tr.tok, Body: phoneDoc(upper, map[string]any{"number": "6175550001"})})
	r.want(t, http.StatusCreated, "")
	if r.id() != strings.ToLower(upper) {
		t.Errorf("id = %q, want %q", r.id(), strings.ToLower(upper))
	}
	if loc := r.Header.Get("Location"); loc != path+"/"+strings.ToLower(upper) {
		t.Errorf("Location = %q", loc)
	}
	mustGet(t, a, tr.tok, path+"/"+strings.ToLower(upper))

	cases := []struct {
		name    string
		id      any
		status  int
		pointer string
	}{
		{"duplicate lower-case", strings.ToLower(upper), http.StatusConflict, "/data/id"},
		{"duplicate upper-case", upper, http.StatusConflict, "/data/id"},
		{"duplicate of the fixture phone", tr.phone, http.StatusConflict, "/data/id"},
		{"not a uuid", "phone-1", http.StatusBadRequest, "/data/id"},
		{"uuid without hyphens", strings.ReplaceAll(uuid.NewString(), "-", ""), http.StatusBadRequest, "/data/id"},
		{"uuid in braces", "{" + uuid.NewString() + "}", http.StatusBadRequest, "/data/id"},
		{"urn uuid", "urn:uuid:" + uuid.NewString(), http.StatusBadRequest, "/data/id"},
		{"empty", "", http.StatusBadRequest, "/data/id"},
		{"number", 12345, http.StatusBadRequest, "/data/id"},
		{"null", nil, http.StatusBadRequest, "/data/id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := forTest(a, t)
			before := len(listPhones(t, a, tr.tok, path))
			body := doc("phone_numbers", map[string]any{"number": "6175550002"})
			body["data"].(map[string]any)["id"] = tc.id
			r := a.do(req{Method: "POST", Path: path, Token: tr.tok, Body: body})
			r.want(t, tc.status, tc.pointer)
			if after := len(listPhones(t, a, tr.tok, path)); after != before {
				t.Errorf("phones %d → %d after a rejected create", before, after)
			}
		})
	}
}

func TestPhoneGet(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	r := mustGet(t, a, tr.tok, tr.phonePath())
	if r.id() != tr.phone || r.data()["type"] != "phone_numbers" {
		t.Errorf("data = %v", r.data())
	}
	at := r.attrs()
	if at["number"] != "+16175551212" || at["location"] != "mobile" || at["country_code"] != "1" || at["source"] != "MPDX" {
		t.Errorf("attributes = %v", at)
	}
	for _, k := range []string{"created_at", "updated_at", "updated_in_db_at"} {
		timestampOf(t, at[k])
	}
}

func TestPhoneUpdatePartial(t *testing.T) {
	for _, method := range updateMethods {
		t.Run(method, func(t *testing.T) {
			a := newAPI(t)
			tr := a.tree()
			orig := createPhone(t, a, tr.tok, tr.phonesPath(), map[string]any{
				"number": "+44 20 7946 0958", "location": "work", "source": "Import",
				"valid_values": true, "created_at": "2020-01-02T03:04:05.678Z", "updated_at": "2020-01-02T03:04:05.678Z",
			})
			path := tr.phonesPath() + "/" + orig.id()
			o := orig.attrs()

			// Only location is sent, without data.id: the rest keeps its values.
			r := a.do(req{Method: method, Path: path, Token: tr.tok, Body: doc("phone_numbers", map[string]any{
				"location": "home", "updated_in_db_at": o["updated_in_db_at"],
			})})
			r.want(t, http.StatusOK, "")
			at := r.attrs()
			if at["location"] != "home" {
				t.Errorf("location = %v, want home", at["location"])
			}
			for _, k := range []string{"number", "country_code", "source", "valid_values", "historic", "primary", "created_at"} {
				if at[k] != o[k] {
					t.Errorf("%s changed from %v to %v", k, o[k], at[k])
				}
			}
			if at["updated_at"] == o["updated_at"] {
				t.Errorf("updated_at not changed by the server: %v", at["updated_at"])
			}
			if r.id() != orig.id() {
				t.Errorf("id = %v", r.id())
			}
			g := mustGet(t, a, tr.tok, path)
			if string(mustJSON(t, g.data())) != string(mustJSON(t, r.data())) {
				t.Errorf("GET after update = %s\nresponse = %s", g.Raw, r.Raw)
			}

			// data.id may be sent, in any case.
			r = a.do(req{Method: method, Path: path, Token: tr.tok, Body: phoneDoc(strings.ToUpper(orig.id()), map[string]any{
				"source": "Manual", "updated_in_db_at": g.attrs()["updated_in_db_at"],
			})})
			r.want(t, http.StatusOK, "")
			if r.attrs()["source"] != "Manual" || r.attrs()["location"] != "home" {
				t.Errorf("attributes = %v", r.attrs())
			}

			// location: null clears it.
			r = sendPhoneUpdate(t, a, method, tr.tok, path, map[string]any{"location": nil})
			if v, ok := r.attrs()["location"]; !ok || v != nil {
				t.Errorf("location = %#v (present %v), want null", v, ok)
			}
			if g := mustGet(t, a, tr.tok, path); g.attrs()["location"] != nil {
				t.Errorf("stored location = %v, want null", g.attrs()["location"])
			}

			// number: null is a 400 at number, and nothing changes.
			before := mustGet(t, a, tr.tok, path)
			r = a.do(req{Method: method, Path: path, Token: tr.tok, Body: doc("phone_numbers", map[string]any{
				"number": nil, "location": "x", "overwrite": true,
			})})
			r.want(t, http.StatusBadRequest, "/data/attributes/number")
			after := mustGet(t, a, tr.tok, path)
			if string(after.Raw) != string(before.Raw) {
				t.Errorf("rejected update changed the phone:\n%s\n%s", before.Raw, after.Raw)
			}

			// A number update re-parses and sets country_code.
			r = sendPhoneUpdate(t, a, method, tr.tok, path, map[string]any{"number": "+1 (617) 555-0000"})
			if r.attrs()["number"] != "+16175550000" || r.attrs()["country_code"] != "1" {
				t.Errorf("after number update: %v", r.attrs())
			}
		})
	}
}

// TestPhoneDelete: deleting a phone that is not primary leaves the primary
// alone, and the id comes back with its new number (TestDeleteIsHard has
// the rest).
func TestPhoneDelete(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	second := createPhone(t, a, tr.tok, tr.phonesPath(), map[string]any{"number": "6175550003"}).id()
	path := tr.phonesPath() + "/" + second

	a.do(req{Method: "DELETE", Path: path, Token: tr.tok}).want(t, http.StatusNoContent, "")
	list := listPhones(t, a, tr.tok, tr.phonesPath())
	if len(list) != 1 || list[0]["id"] != tr.phone {
		t.Errorf("list after delete = %v", list)
	}
	// Deleting a non-primary phone leaves the primary alone.
	if p := primaryInvariant(t, list); p != tr.phone {
		t.Errorf("primary = %q, want %q", p, tr.phone)
	}

	// Hard delete: the id can be used again, even in upper case.
	r := a.do(req{Method: "POST", Path: tr.phonesPath(), Token: tr.tok, Body: phoneDoc(strings.ToUpper(second), map[string]any{"number": "6175550004"})})
	r.want(t, http.StatusCreated, "")
	if r.id() != second || r.attrs()["number"] != "+16175550004" {
		t.Errorf("re-created phone = %s", r.Raw)
	}
}

func TestPhoneDefaults(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	f := false
	tru := true
	cases := []struct {
		name        string
		existing    int // phones the person has before the create
		source      *string
		validValues *bool
		wantSource  string
		wantValid   bool
	}{
		{"first, no source", 0, nil, nil, "MPDX", true},
		{"first, other source", 0, ptrTo("Import"), nil, "Import", true},
		{"second, other source", 1, ptrTo("Import"), nil, "Import", false},
		{"second, MPDX given", 1, ptrTo("MPDX"), nil, "MPDX", true},
		{"second, no source", 1, nil, nil, "MPDX", true},
		{"second, other source, historic existing", -1, ptrTo("Import"), nil, "Import", false},
		{"client false, MPDX", 0, nil, &f, "MPDX", false},
		{"client true, other source, second", 1, ptrTo("Import"), &tru, "Import", true},
		{"client false, other source, second", 1, ptrTo("Import"), &f, "Import", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := forTest(a, t)
			path := newPerson(t, a, tr)
			switch {
			case tc.existing == 1:
				createPhone(t, a, tr.tok, path, map[string]any{"number": "6175550010"})
			case tc.existing == -1: // a historic phone still counts as a phone
				createPhone(t, a, tr.tok, path, map[string]any{"number": "6175550010", "historic": true})
			}
			attrs := map[string]any{"number": "6175550011"}
			if tc.source != nil {
				attrs["source"] = *tc.source
			}
			if tc.validValues != nil {
				attrs["valid_values"] = *tc.validValues
			}
			r := createPhone(t, a, tr.tok, path, attrs)
			if r.attrs()["source"] != tc.wantSource || r.attrs()["valid_values"] != tc.wantValid {
				t.Errorf("source %v valid_values %v, want %s %v", r.attrs()["source"], r.attrs()["valid_values"], tc.wantSource, tc.wantValid)
			}
			g := mustGet(t, a, tr.tok, r.Header.Get("Location"))
			if g.attrs()["source"] != tc.wantSource || g.attrs()["valid_values"] != tc.wantValid {
				t.Errorf("stored source %v valid_values %v", g.attrs()["source"], g.attrs()["valid_values"])
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestPhoneHistoricSettable(t *testing.T) {
	for _, method := range updateMethods {
		t.Run(method, func(t *testing.T) {
			a := newAPI(t)
			tr := a.tree()
			r := createPhone(t, a, tr.tok, tr.phonesPath(), map[string]any{"number": "6175550020", "historic": true})
			if r.attrs()["historic"] != true || r.attrs()["primary"] != false {
				t.Errorf("created historic phone: %v", r.attrs())
			}
			path := tr.phonesPath() + "/" + r.id()
			r = sendPhoneUpdate(t, a, method, tr.tok, path, map[string]any{"historic": false})
			if r.attrs()["historic"] != false {
				t.Errorf("historic = %v after false", r.attrs()["historic"])
			}
			r = sendPhoneUpdate(t, a, method, tr.tok, path, map[string]any{"historic": true})
			if r.attrs()["historic"] != true {
				t.Errorf("historic = %v after true", r.attrs()["historic"])
			}
			if g := mustGet(t, a, tr.tok, path); g.attrs()["historic"] != true {
				t.Errorf("stored historic = %v", g.attrs()["historic"])
			}
			primaryInvariant(t, listPhones(t, a, tr.tok, tr.phonesPath()))
		})
	}
}

func TestPhoneCreateIgnoresPreconditionAttributes(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	start := time.Now().Add(-time.Second)
	for _, attrs := range []map[string]any{
		{"number": "6175550030", "updated_in_db_at": "2001-01-01T00:00:00.000Z", "overwrite": true},
		{"number": "6175550031", "updated_in_db_at": "2001-01-01T00:00:00Z", "overwrite": false},
		{"number": "6175550032", "updated_in_db_at": "not even a time"},
	} {
		r := createPhone(t, a, tr.tok, tr.phonesPath(), attrs)
		ts := timestampOf(t, r.attrs()["updated_in_db_at"])
		if ts.Before(start) {
			t.Errorf("updated_in_db_at = %v: taken from the client", ts)
		}
		if _, ok := r.attrs()["overwrite"]; ok {
			t.Errorf("overwrite is returned: %v", r.attrs())
		}
	}
}

func TestPhonePathLookups(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	// Another person of the same contact, with a phone.
	otherPerson := a.person(tr.tok, tr.contact)
	otherPhone := createPhone(t, a, tr.tok, phonesPath(tr.contact, otherPerson), map[string]any{"number": "6175550500"}).id()
	// Another contact of the same user, with a person.
	otherContact := a.contact(tr.tok)
	personElsewhere := a.person(tr.tok, otherContact)
	unknown := uuid.NewString()

	update := doc("phone_numbers", map[string]any{"location": "x", "overwrite": true})
	create := doc("phone_numbers", map[string]any{"number": "6175550501"})
	junk := doc("phone_numbers", map[string]any{"number": "junk", "overwrite": true})
	tooLong := doc("phone_numbers", map[string]any{"location": strings.Repeat("l", 65), "overwrite": true})
	cases := []struct {
		name, method, path string
		body               any
		noToken            bool
		status             int
	}{
		{"phone of another person, GET", "GET", tr.personPath() + "/phones/" + otherPhone, nil, false, 404},
		{"phone of another person, PUT", "PUT", tr.personPath() + "/phones/" + otherPhone, update, false, 404},
		{"phone of another person, PATCH", "PATCH", tr.personPath() + "/phones/" + otherPhone, update, false, 404},
		{"phone of another person, DELETE", "DELETE", tr.personPath() + "/phones/" + otherPhone, nil, false, 404},
		{"person not under contact, list", "GET", phonesPath(tr.contact, personElsewhere), nil, false, 404},
		{"person not under contact, create", "POST", phonesPath(tr.contact, personElsewhere), create, false, 404},
		{"person not under contact, GET phone", "GET", phonesPath(otherContact, tr.person) + "/" + tr.phone, nil, false, 404},
		{"person not under contact, PATCH phone", "PATCH", phonesPath(otherContact, tr.person) + "/" + tr.phone, update, false, 404},
		{"person not under contact, DELETE phone", "DELETE", phonesPath(otherContact, tr.person) + "/" + tr.phone, nil, false, 404},
		{"unknown person, list", "GET", phonesPath(tr.contact, unknown), nil, false, 404},
		{"unknown contact, list", "GET", phonesPath(unknown, tr.person), nil, false, 404},
		{"unknown phone, GET", "GET", tr.phonesPath() + "/" + unknown, nil, false, 404},
		{"unknown phone, PUT", "PUT", tr.phonesPath() + "/" + unknown, update, false, 404},
		{"unknown phone, PATCH", "PATCH", tr.phonesPath() + "/" + unknown, update, false, 404},
		{"unknown phone, DELETE", "DELETE", tr.phonesPath() + "/" + unknown, nil, false, 404},
		{"non-uuid phone, GET", "GET", tr.phonesPath() + "/not-a-uuid", nil, false, 404},
		{"non-uuid phone, GET, no token", "GET", tr.phonesPath() + "/not-a-uuid", nil, true, 404},
		{"non-uuid phone, PUT, no token", "PUT", tr.phonesPath() + "/123", update, true, 404},
		{"non-uuid phone, PATCH, no token", "PATCH", tr.phonesPath() + "/" + strings.ReplaceAll(tr.phone, "-", ""), update, true, 404},
		{"non-uuid phone, DELETE, no token", "DELETE", tr.phonesPath() + "/" + tr.phone + "0", nil, true, 404},
		{"non-uuid person, list, no token", "GET", phonesPath(tr.contact, "jane"), nil, true, 404},
		{"non-uuid person, create, no token", "POST", phonesPath(tr.contact, "jane"), create, true, 404},
		{"non-uuid contact, GET phone, no token", "GET", phonesPath("doe", tr.person) + "/" + tr.phone, nil, true, 404},
		{"valid path, no token", "GET", tr.phonePath(), nil, true, 401},
		// Lookups come before semantic validation, schema validation before lookups.
		{"unknown phone, junk number", "PUT", tr.phonesPath() + "/" + unknown, junk, false, 404},
		{"phone of another person, junk number", "PATCH", tr.personPath() + "/phones/" + otherPhone, junk, false, 404},
		{"person not under contact, create junk number", "POST", phonesPath(tr.contact, personElsewhere), doc("phone_numbers", map[string]any{"number": "junk"}), false, 404},
		{"unknown person, create junk number", "POST", phonesPath(tr.contact, unknown), doc("phone_numbers", map[string]any{"number": "junk"}), false, 404},
		{"unknown phone, location too long", "PATCH", tr.phonesPath() + "/" + unknown, tooLong, false, 400},
		{"non-uuid phone, junk body, no token", "PUT", tr.phonesPath() + "/x", tooLong, true, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := forTest(a, t)
			tok := tr.tok
			if tc.noToken {
				tok = ""
			}
			r := a.do(req{Method: tc.method, Path: tc.path, Token: tok, Body: tc.body})
			pointer := "-"
			if tc.status == http.StatusBadRequest {
				pointer = "/data/attributes/location"
			}
			r.want(t, tc.status, pointer)
		})
	}
	// Nothing was changed by the rejected requests.
	if l := listPhones(t, a, tr.tok, phonesPath(tr.contact, otherPerson)); len(l) != 1 || attrsOf(l[0])["location"] != nil {
		t.Errorf("other person's phones changed: %v", l)
	}
	if l := listPhones(t, a, tr.tok, tr.phonesPath()); len(l) != 1 || attrsOf(l[0])["location"] != "mobile" {
		t.Errorf("phones changed: %v", l)
	}
	if l := listPhones(t, a, tr.tok, phonesPath(otherContact, personElsewhere)); len(l) != 0 {
		t.Errorf("phones created under the wrong contact: %v", l)
	}
}

func TestPhoneUpperCasePathIDs(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	up := strings.ToUpper
	base := "/api/v2/contacts/" + up(tr.contact) + "/people/" + up(tr.person) + "/phones"
	item := base + "/" + up(tr.phone)

	l := listPhones(t, a, tr.tok, base)
	if len(l) != 1 || l[0]["id"] != tr.phone {
		t.Errorf("list via upper-case path = %v", l)
	}
	g := mustGet(t, a, tr.tok, item)
	if g.id() != tr.phone {
		t.Errorf("id = %q, want lower-case %q", g.id(), tr.phone)
	}
	for _, method := range updateMethods {
		r := a.do(req{Method: method, Path: item, Token: tr.tok, Body: phoneDoc(tr.phone, map[string]any{"location": method, "overwrite": true})})
		r.want(t, http.StatusOK, "")
		if r.id() != tr.phone || r.attrs()["location"] != method {
			t.Errorf("%s via upper-case path: %s", method, r.Raw)
		}
	}
	r := a.do(req{Method: "POST", Path: base, Token: tr.tok, Body: doc("phone_numbers", map[string]any{"number": "6175550600"})})
	r.want(t, http.StatusCreated, "")
	want := phonesPath(tr.contact, tr.person) + "/" + r.id()
	if r.Header.Get("Location") != want {
		t.Errorf("Location = %q, want lower-case %q", r.Header.Get("Location"), want)
	}
	a.do(req{Method: "DELETE", Path: base + "/" + up(r.id()), Token: tr.tok}).want(t, http.StatusNoContent, "")
	a.do(req{Method: "GET", Path: want, Token: tr.tok}).want(t, http.StatusNotFound, "")
}

// A phone goes with its person: afterwards its paths are 404.
func TestPhoneGoneWithPerson(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	second := createPhone(t, a, tr.tok, tr.phonesPath(), map[string]any{"number": "6175550800"}).id()
	a.do(req{Method: "DELETE", Path: tr.personPath(), Token: tr.tok}).want(t, http.StatusNoContent, "")
	for _, r := range []req{
		{Method: "GET", Path: tr.phonesPath()},
		{Method: "GET", Path: tr.phonePath()},
		{Method: "GET", Path: tr.phonesPath() + "/" + second},
		{Method: "PATCH", Path: tr.phonePath(), Body: doc("phone_numbers", map[string]any{"overwrite": true})},
		{Method: "DELETE", Path: tr.phonePath()},
		{Method: "POST", Path: tr.phonesPath(), Body: doc("phone_numbers", map[string]any{"number": "6175550801"})},
	} {
		r.Token = tr.tok
		a.do(r).want(t, http.StatusNotFound, "-")
	}
	// The phone ids are free again (hard delete), under another person.
	other := newPerson(t, a, tr)
	r := a.do(req{Method: "POST", Path: other, Token: tr.tok, Body: phoneDoc(tr.phone, map[string]any{"number": "6175550802"})})
	r.want(t, http.StatusCreated, "")
}
