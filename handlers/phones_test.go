package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Helpers of this file are prefixed with ph.

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

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
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

func TestPhoneDelete(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	second := createPhone(t, a, tr.tok, tr.phonesPath(), map[string]any{"number": "6175550003"}).id()
	path := tr.phonesPath() + "/" + second

	r := a.do(req{Method: "DELETE", Path: path, Token: tr.tok})
	r.want(t, http.StatusNoContent, "")
	if len(r.Raw) != 0 {
		t.Errorf("204 with a body: %s", r.Raw)
	}
	a.do(req{Method: "GET", Path: path, Token: tr.tok}).want(t, http.StatusNotFound, "")
	a.do(req{Method: "DELETE", Path: path, Token: tr.tok}).want(t, http.StatusNotFound, "")
	a.do(req{Method: "PATCH", Path: path, Token: tr.tok, Body: doc("phone_numbers", map[string]any{"overwrite": true})}).want(t, http.StatusNotFound, "")
	list := listPhones(t, a, tr.tok, tr.phonesPath())
	if len(list) != 1 || list[0]["id"] != tr.phone {
		t.Errorf("list after delete = %v", list)
	}
	// Deleting a non-primary phone leaves the primary alone.
	if p := primaryInvariant(t, list); p != tr.phone {
		t.Errorf("primary = %q, want %q", p, tr.phone)
	}

	// Hard delete: the id can be used again, even in upper case.
	r = a.do(req{Method: "POST", Path: tr.phonesPath(), Token: tr.tok, Body: phoneDoc(strings.ToUpper(second), map[string]any{"number": "6175550004"})})
	r.want(t, http.StatusCreated, "")
	if r.id() != second || r.attrs()["number"] != "+16175550004" {
		t.Errorf("re-created phone = %s", r.Raw)
	}
}

func TestPhoneNumberNormalisation(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	path := newPerson(t, a, tr)
	cases := []struct {
		name    string
		attrs   map[string]any
		status  int
		pointer string
		number  string
		code    string
	}{
		{"digits only", map[string]any{"number": "6175551212"}, 201, "", "+16175551212", "1"},
		{"US national punctuation", map[string]any{"number": "(617) 555-1212"}, 201, "", "+16175551212", "1"},
		{"US with dots", map[string]any{"number": "617.555.1212"}, 201, "", "+16175551212", "1"},
		{"US national with trunk 1", map[string]any{"number": "1-617-555-1212"}, 201, "", "+16175551212", "1"},
		{"US international", map[string]any{"number": "+1 617 555 1212"}, 201, "", "+16175551212", "1"},
		{"UK international", map[string]any{"number": "+44 20 7946 0958"}, 201, "", "+442079460958", "44"},
		{"UK national with country_code 44", map[string]any{"number": "020 7946 0958", "country_code": "44"}, 201, "", "+442079460958", "44"},
		{"UK national with country_code +44", map[string]any{"number": "020 7946 0958", "country_code": "+44"}, 201, "", "+442079460958", "44"},
		{"UK national with JSON number country_code", map[string]any{"number": "020 7946 0958", "country_code": json.Number("44")}, 201, "", "+442079460958", "44"},
		{"plus wins over country_code", map[string]any{"number": "+44 20 7946 0958", "country_code": "1"}, 201, "", "+442079460958", "44"},
		{"country_code set from number", map[string]any{"number": "+1 617 555 1212", "country_code": "44"}, 201, "", "+16175551212", "1"},
		{"null country_code", map[string]any{"number": "617 555 1212", "country_code": nil}, 201, "", "+16175551212", "1"},
		{"extension x", map[string]any{"number": "617-555-1212 x123"}, 201, "", "+16175551212;ext=123", "1"},
		{"extension ext.", map[string]any{"number": "617-555-1212 ext. 123"}, 201, "", "+16175551212;ext=123", "1"},
		{"extension ext", map[string]any{"number": "617-555-1212 ext 123"}, 201, "", "+16175551212;ext=123", "1"},
		{"extension #", map[string]any{"number": "617-555-1212#123"}, 201, "", "+16175551212;ext=123", "1"},
		{"extension ;", map[string]any{"number": "617-555-1212;123"}, 201, "", "+16175551212;ext=123", "1"},
		{"UK extension", map[string]any{"number": "+44 20 7946 0958 ext 7"}, 201, "", "+442079460958;ext=7", "44"},
		{"JSON number", map[string]any{"number": json.Number("6175551212")}, 201, "", "+16175551212", "1"},
		{"JSON number with calling code", map[string]any{"number": json.Number("16175551212")}, 201, "", "+16175551212", "1"},
		{"JSON number in exponent form", map[string]any{"number": json.Number("6.175551212e9")}, 201, "", "+16175551212", "1"},
		{"JSON number UK national", map[string]any{"number": json.Number("2079460958"), "country_code": json.Number("44")}, 201, "", "+442079460958", "44"},
		{"junk letters", map[string]any{"number": "call me"}, 400, "/data/attributes/number", "", ""},
		{"junk punctuation", map[string]any{"number": "---"}, 400, "/data/attributes/number", "", ""},
		{"local only", map[string]any{"number": "555-1212"}, 400, "/data/attributes/number", "", ""},
		{"too short", map[string]any{"number": "12"}, 400, "/data/attributes/number", "", ""},
		{"too long", map[string]any{"number": "+1 617 555 1212 1234 5678 9012"}, 400, "/data/attributes/number", "", ""},
		{"empty string", map[string]any{"number": ""}, 400, "/data/attributes/number", "", ""},
		{"spaces", map[string]any{"number": "   "}, 400, "/data/attributes/number", "", ""},
		{"null", map[string]any{"number": nil}, 400, "/data/attributes/number", "", ""},
		{"boolean", map[string]any{"number": true}, 400, "/data/attributes/number", "", ""},
		{"object", map[string]any{"number": map[string]any{"n": "6175551212"}}, 400, "/data/attributes/number", "", ""},
		{"negative JSON number", map[string]any{"number": json.Number("-6175551212")}, 400, "/data/attributes/number", "", ""},
		{"fractional JSON number", map[string]any{"number": json.Number("6175551212.5")}, 400, "/data/attributes/number", "", ""},
		{"missing", map[string]any{"location": "home"}, 400, "/data/attributes/number", "", ""},
		{"unknown country_code", map[string]any{"number": "020 7946 0958", "country_code": "999"}, 400, "/data/attributes/country_code", "", ""},
		{"country_code not a code", map[string]any{"number": "020 7946 0958", "country_code": "UK"}, 400, "/data/attributes/country_code", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := forTest(a, t)
			before := listPhones(t, a, tr.tok, path)
			r := a.do(req{Method: "POST", Path: path, Token: tr.tok, Body: doc("phone_numbers", tc.attrs)})
			r.want(t, tc.status, tc.pointer)
			after := listPhones(t, a, tr.tok, path)
			if tc.status != http.StatusCreated {
				if len(after) != len(before) {
					t.Errorf("phones %d → %d after a rejected create", len(before), len(after))
				}
				return
			}
			if len(after) != len(before)+1 {
				t.Errorf("phones %d → %d after a create", len(before), len(after))
			}
			for _, at := range []map[string]any{r.attrs(), findByID(t, after, r.id())} {
				if at["number"] != tc.number {
					t.Errorf("number = %#v, want %q", at["number"], tc.number)
				}
				if at["country_code"] != tc.code {
					t.Errorf("country_code = %#v, want %q", at["country_code"], tc.code)
				}
			}
		})
	}
}

// On update, the region for a national number without country_code is the
// stored country_code's; with country_code, that one's.
func TestPhoneUpdateNumberRegion(t *testing.T) {
	for _, method := range updateMethods {
		t.Run(method, func(t *testing.T) {
			a := newAPI(t)
			tr := a.tree()
			uk := createPhone(t, a, tr.tok, tr.phonesPath(), map[string]any{"number": "+44 20 7946 0958"})
			ukPath := tr.phonesPath() + "/" + uk.id()

			cases := []struct {
				name          string
				path          string
				attrs         map[string]any
				status        int
				pointer       string
				number, code  string
				storedNumber  string
				storedCountry string
			}{
				{"UK national, stored 44", ukPath, map[string]any{"number": "020 7946 0959"}, 200, "", "+442079460959", "44", "", ""},
				{"UK national as JSON number, stored 44", ukPath, map[string]any{"number": json.Number("2079460957")}, 200, "", "+442079460957", "44", "", ""},
				{"UK with extension, stored 44", ukPath, map[string]any{"number": "020 7946 0959 x9"}, 200, "", "+442079460959;ext=9", "44", "", ""},
				{"US national, explicit country_code 1", ukPath, map[string]any{"number": "617 555 1299", "country_code": "1"}, 200, "", "+16175551299", "1", "", ""},
				{"US national, stored 1", ukPath, map[string]any{"number": "617 555 1298"}, 200, "", "+16175551298", "1", "", ""},
				{"back to UK via +", ukPath, map[string]any{"number": "+442079460958"}, 200, "", "+442079460958", "44", "", ""},
				{"junk", ukPath, map[string]any{"number": "nope"}, 400, "/data/attributes/number", "", "", "+442079460958", "44"},
				{"local only", ukPath, map[string]any{"number": "555-1212", "country_code": "1"}, 400, "/data/attributes/number", "", "", "+442079460958", "44"},
				{"unknown country_code without number", ukPath, map[string]any{"country_code": "999"}, 400, "/data/attributes/country_code", "", "", "+442079460958", "44"},
				{"country_code alone changes nothing", ukPath, map[string]any{"country_code": "1"}, 200, "", "+442079460958", "44", "", ""},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					a := forTest(a, t)
					before := mustGet(t, a, tr.tok, tc.path)
					attrs := map[string]any{"updated_in_db_at": before.attrs()["updated_in_db_at"]}
					for k, v := range tc.attrs {
						attrs[k] = v
					}
					r := a.do(req{Method: method, Path: tc.path, Token: tr.tok, Body: doc("phone_numbers", attrs)})
					r.want(t, tc.status, tc.pointer)
					after := mustGet(t, a, tr.tok, tc.path)
					if tc.status != http.StatusOK {
						if string(after.Raw) != string(before.Raw) {
							t.Errorf("rejected update changed the phone:\n%s\n%s", before.Raw, after.Raw)
						}
						if after.attrs()["number"] != tc.storedNumber || after.attrs()["country_code"] != tc.storedCountry {
							t.Errorf("stored %v / %v", after.attrs()["number"], after.attrs()["country_code"])
						}
						return
					}
					for _, at := range []map[string]any{r.attrs(), after.attrs()} {
						if at["number"] != tc.number || at["country_code"] != tc.code {
							t.Errorf("number %v country_code %v, want %s %s", at["number"], at["country_code"], tc.number, tc.code)
						}
					}
				})
			}
		})
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

func TestPhoneAttributeLimits(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	long := strings.Repeat("x", 65)
	max := strings.Repeat("é", 64) // 64 characters, 128 bytes
	cases := []struct {
		name    string
		attrs   map[string]any
		status  int
		pointer string
	}{
		{"location 64", map[string]any{"location": max}, 0, ""},
		{"location 65", map[string]any{"location": long}, 400, "/data/attributes/location"},
		{"source 64", map[string]any{"source": max}, 0, ""},
		{"source 65", map[string]any{"source": long}, 400, "/data/attributes/source"},
		{"source empty", map[string]any{"source": ""}, 400, "/data/attributes/source"},
		{"source null", map[string]any{"source": nil}, 400, "/data/attributes/source"},
		{"primary string", map[string]any{"primary": "yes"}, 400, "/data/attributes/primary"},
		{"historic number", map[string]any{"historic": 1}, 400, "/data/attributes/historic"},
		{"valid_values string", map[string]any{"valid_values": "true"}, 400, "/data/attributes/valid_values"},
		{"unknown attribute", map[string]any{"extension": "12"}, 400, "/data/attributes/extension"},
		{"created_at not a time", map[string]any{"created_at": "yesterday"}, 400, "/data/attributes/created_at"},
	}
	for _, tc := range cases {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch} {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				a := forTest(a, t)
				attrs := map[string]any{}
				for k, v := range tc.attrs {
					attrs[k] = v
				}
				path := tr.phonePath()
				want := tc.status
				if method == http.MethodPost {
					attrs["number"] = "6175550040"
					path = tr.phonesPath()
					if want == 0 {
						want = http.StatusCreated
					}
				} else {
					attrs["overwrite"] = true
					if want == 0 {
						want = http.StatusOK
					}
				}
				before := listPhones(t, a, tr.tok, tr.phonesPath())
				r := a.do(req{Method: method, Path: path, Token: tr.tok, Body: doc("phone_numbers", attrs)})
				r.want(t, want, tc.pointer)
				after := listPhones(t, a, tr.tok, tr.phonesPath())
				if want >= 400 && string(mustJSON(t, after)) != string(mustJSON(t, before)) {
					t.Errorf("rejected request changed the phones")
				}
				if want < 400 {
					for k, v := range tc.attrs {
						if r.attrs()[k] != v {
							t.Errorf("%s = %v, want %v", k, r.attrs()[k], v)
						}
					}
				}
			})
		}
	}
}

// One-primary invariant through every transition, checked via the list
// after each step.
func TestPhonePrimaryInvariant(t *testing.T) {
	for _, method := range updateMethods {
		t.Run(method, func(t *testing.T) {
			a := newAPI(t)
			tr := a.tree()
			path := newPerson(t, a, tr)
			ph := func(id string) string { return path + "/" + id }
			list := func() []map[string]any { t.Helper(); return listPhones(t, a, tr.tok, path) }
			expect := func(step, want string) []map[string]any {
				t.Helper()
				l := list()
				if got := primaryInvariant(t, l); got != want {
					t.Errorf("%s: primary = %q, want %q", step, got, want)
				}
				return l
			}
			dbAt := func(l []map[string]any, id string) time.Time {
				t.Helper()
				return timestampOf(t, findByID(t, l, id)["updated_in_db_at"])
			}

			// First phone is primary even when sent false.
			p1 := createPhone(t, a, tr.tok, path, map[string]any{"number": "6175550101", "primary": false, "created_at": "2020-01-01T00:00:00.000Z"})
			if p1.attrs()["primary"] != true {
				t.Errorf("first phone primary = %v, want true", p1.attrs()["primary"])
			}
			l := expect("first phone", p1.id())

			// Second with primary:true demotes the first, whose
			// updated_in_db_at and updated_at change.
			time.Sleep(2 * time.Millisecond)
			p2 := createPhone(t, a, tr.tok, path, map[string]any{"number": "6175550102", "primary": true, "created_at": "2020-01-02T00:00:00.000Z"})
			if p2.attrs()["primary"] != true {
				t.Errorf("second phone primary = %v, want true", p2.attrs()["primary"])
			}
			l2 := expect("second phone primary", p2.id())
			if !dbAt(l2, p1.id()).After(dbAt(l, p1.id())) {
				t.Errorf("demoted phone's updated_in_db_at did not advance: %v → %v", dbAt(l, p1.id()), dbAt(l2, p1.id()))
			}
			if findByID(t, l2, p1.id())["updated_at"] == findByID(t, l, p1.id())["updated_at"] {
				t.Errorf("demoted phone's updated_at did not change")
			}

			// A third phone, not primary, leaves p2 primary.
			p3 := createPhone(t, a, tr.tok, path, map[string]any{"number": "6175550103", "created_at": "2020-01-03T00:00:00.000Z"})
			if p3.attrs()["primary"] != false {
				t.Errorf("third phone primary = %v", p3.attrs()["primary"])
			}
			l = expect("third phone", p2.id())

			// primary:false on the primary promotes the earliest remaining
			// non-historic phone (p1), whose updated_in_db_at advances.
			time.Sleep(2 * time.Millisecond)
			r := sendPhoneUpdate(t, a, method, tr.tok, ph(p2.id()), map[string]any{"primary": false})
			if r.attrs()["primary"] != false {
				t.Errorf("demoted phone response primary = %v", r.attrs()["primary"])
			}
			l2 = expect("primary:false on primary", p1.id())
			if !dbAt(l2, p1.id()).After(dbAt(l, p1.id())) {
				t.Errorf("promoted phone's updated_in_db_at did not advance")
			}

			// Making a non-primary primary demotes the primary.
			r = sendPhoneUpdate(t, a, method, tr.tok, ph(p3.id()), map[string]any{"primary": true})
			if r.attrs()["primary"] != true {
				t.Errorf("promoted phone response primary = %v", r.attrs()["primary"])
			}
			expect("primary:true on p3", p3.id())
			sendPhoneUpdate(t, a, method, tr.tok, ph(p1.id()), map[string]any{"primary": true})
			expect("primary:true on p1", p1.id())

			// Sending primary:true to the primary keeps it.
			sendPhoneUpdate(t, a, method, tr.tok, ph(p1.id()), map[string]any{"primary": true})
			expect("primary:true on primary", p1.id())

			// primary:false on a non-primary changes nothing, and the
			// other phones are not rewritten.
			l = list()
			sendPhoneUpdate(t, a, method, tr.tok, ph(p3.id()), map[string]any{"primary": false})
			l2 = expect("primary:false on non-primary", p1.id())
			for _, id := range []string{p1.id(), p2.id()} {
				if bef, aft := findByID(t, l, id), findByID(t, l2, id); bef["updated_in_db_at"] != aft["updated_in_db_at"] || bef["updated_at"] != aft["updated_at"] {
					t.Errorf("untouched phone %s was rewritten: %v → %v", id, bef, aft)
				}
			}

			// Historicising the primary promotes the earliest remaining (p2).
			r = sendPhoneUpdate(t, a, method, tr.tok, ph(p1.id()), map[string]any{"historic": true})
			if r.attrs()["primary"] != false || r.attrs()["historic"] != true {
				t.Errorf("historicised primary: %v", r.attrs())
			}
			expect("historicise primary", p2.id())

			// A historic phone sent primary:true is stored false.
			r = sendPhoneUpdate(t, a, method, tr.tok, ph(p1.id()), map[string]any{"primary": true})
			if r.attrs()["primary"] != false {
				t.Errorf("historic phone primary = %v, want false", r.attrs()["primary"])
			}
			expect("primary:true on historic", p2.id())

			// Historic and primary in one request: historic wins.
			r = sendPhoneUpdate(t, a, method, tr.tok, ph(p3.id()), map[string]any{"primary": true, "historic": true})
			if r.attrs()["primary"] != false {
				t.Errorf("primary+historic phone primary = %v", r.attrs()["primary"])
			}
			expect("primary+historic on p3", p2.id())
			sendPhoneUpdate(t, a, method, tr.tok, ph(p3.id()), map[string]any{"historic": false})
			expect("un-historicise p3", p2.id())

			// A historic phone created with primary:true is stored false.
			p4 := createPhone(t, a, tr.tok, path, map[string]any{"number": "6175550104", "primary": true, "historic": true, "created_at": "2019-12-31T00:00:00.000Z"})
			if p4.attrs()["primary"] != false {
				t.Errorf("historic create primary = %v", p4.attrs()["primary"])
			}
			expect("historic create", p2.id())

			// Deleting the primary promotes the earliest remaining
			// non-historic phone (p3; p1 and p4 are historic).
			a.do(req{Method: "DELETE", Path: ph(p2.id()), Token: tr.tok}).want(t, http.StatusNoContent, "")
			expect("delete primary", p3.id())

			// The only non-historic phone stays primary when sent false.
			r = sendPhoneUpdate(t, a, method, tr.tok, ph(p3.id()), map[string]any{"primary": false})
			if r.attrs()["primary"] != true {
				t.Errorf("only non-historic phone primary = %v, want true", r.attrs()["primary"])
			}
			expect("primary:false on only phone", p3.id())

			// Un-historicising an earlier phone does not steal primary.
			sendPhoneUpdate(t, a, method, tr.tok, ph(p1.id()), map[string]any{"historic": false})
			expect("un-historicise p1", p3.id())

			// Historicising the primary promotes p1 (earlier than p3 anyway).
			sendPhoneUpdate(t, a, method, tr.tok, ph(p3.id()), map[string]any{"historic": true})
			expect("historicise p3", p1.id())

			// No non-historic phone left: no primary.
			sendPhoneUpdate(t, a, method, tr.tok, ph(p1.id()), map[string]any{"historic": true})
			expect("all historic", "")

			// A new non-historic phone among historic ones is primary even
			// when sent false.
			p5 := createPhone(t, a, tr.tok, path, map[string]any{"number": "6175550105", "primary": false})
			if p5.attrs()["primary"] != true {
				t.Errorf("first non-historic phone primary = %v", p5.attrs()["primary"])
			}
			expect("first non-historic among historic", p5.id())

			// Un-historicising a phone when one is primary keeps the primary;
			// deleting the primary then promotes the earliest by created_at.
			sendPhoneUpdate(t, a, method, tr.tok, ph(p4.id()), map[string]any{"historic": false})
			sendPhoneUpdate(t, a, method, tr.tok, ph(p3.id()), map[string]any{"historic": false})
			expect("un-historicise p4 and p3", p5.id())
			a.do(req{Method: "DELETE", Path: ph(p5.id()), Token: tr.tok}).want(t, http.StatusNoContent, "")
			expect("delete primary again", p4.id())

			// Deleting a non-primary keeps the primary; deleting the last
			// leaves an empty list.
			a.do(req{Method: "DELETE", Path: ph(p3.id()), Token: tr.tok}).want(t, http.StatusNoContent, "")
			expect("delete non-primary", p4.id())
			a.do(req{Method: "DELETE", Path: ph(p4.id()), Token: tr.tok}).want(t, http.StatusNoContent, "")
			expect("delete p4", "")
			a.do(req{Method: "DELETE", Path: ph(p1.id()), Token: tr.tok}).want(t, http.StatusNoContent, "")
			if l := expect("empty", ""); len(l) != 0 {
				t.Errorf("list = %v, want empty", l)
			}
		})
	}
}

// Equal created_at: the earliest by id is promoted.
func TestPhonePrimaryTieBreakByID(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	path := newPerson(t, a, tr)
	ids := []string{
		"cccccccc-0000-4000-8000-000000000000",
		"aaaaaaaa-0000-4000-8000-000000000000",
		"bbbbbbbb-0000-4000-8000-000000000000",
	}
	ts := "2020-05-05T05:05:05.555Z"
	for _, id := range ids {
		r := a.do(req{Method: "POST", Path: path, Token: tr.tok, Body: phoneDoc(id, map[string]any{"number": "6175550200", "created_at": ts})})
		r.want(t, http.StatusCreated, "")
	}
	l := listPhones(t, a, tr.tok, path)
	for i, want := range []string{ids[1], ids[2], ids[0]} {
		if l[i]["id"] != want {
			t.Errorf("list[%d] = %v, want %s (ties by id)", i, l[i]["id"], want)
		}
	}
	if p := primaryInvariant(t, l); p != ids[0] {
		t.Fatalf("primary = %s, want the first created %s", p, ids[0])
	}
	sendPhoneUpdate(t, a, http.MethodPatch, tr.tok, path+"/"+ids[0], map[string]any{"primary": false})
	if p := primaryInvariant(t, listPhones(t, a, tr.tok, path)); p != ids[1] {
		t.Errorf("primary = %s, want %s (earliest by id)", p, ids[1])
	}
}

func TestPhonePrecondition(t *testing.T) {
	type pcase struct {
		name string
		// attrs builds the precondition attributes from the stored value.
		attrs   func(stored time.Time) map[string]any
		status  int
		pointer string
	}
	ms := func(ts time.Time) string { return ts.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
	cases := []pcase{
		{"missing", func(time.Time) map[string]any { return map[string]any{} }, 409, "/data/attributes/updated_in_db_at"},
		{"missing, overwrite false", func(time.Time) map[string]any { return map[string]any{"overwrite": false} }, 409, "/data/attributes/updated_in_db_at"},
		{"stale by 1ms", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": ms(s.Add(-time.Millisecond))}
		}, 409, "/data/attributes/updated_in_db_at"},
		{"future by 1ms", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": ms(s.Add(time.Millisecond))}
		}, 409, "/data/attributes/updated_in_db_at"},
		{"stale, overwrite false", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": ms(s.Add(-time.Hour)), "overwrite": false}
		}, 409, "/data/attributes/updated_in_db_at"},
		{"whole seconds, other second", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": s.Add(-time.Second).UTC().Format(time.RFC3339)}
		}, 409, "/data/attributes/updated_in_db_at"},
		{"overwrite true, no value", func(time.Time) map[string]any { return map[string]any{"overwrite": true} }, 200, ""},
		{"overwrite true, stale value", func(s time.Time) map[string]any {
			return map[string]any{"overwrite": true, "updated_in_db_at": ms(s.Add(-time.Hour))}
		}, 200, ""},
		{"exact ms", func(s time.Time) map[string]any { return map[string]any{"updated_in_db_at": ms(s)} }, 200, ""},
		{"exact ms, +02:00", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": s.In(time.FixedZone("", 2*3600)).Format("2006-01-02T15:04:05.000-07:00")}
		}, 200, ""},
		{"exact ms, -05:30", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": s.In(time.FixedZone("", -(5*3600 + 1800))).Format("2006-01-02T15:04:05.000-07:00")}
		}, 200, ""},
		{"microseconds", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": s.UTC().Format("2006-01-02T15:04:05.000") + "000Z"}
		}, 200, ""},
		{"whole seconds", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": s.UTC().Format(time.RFC3339)}
		}, 200, ""},
		{"whole seconds, +02:00", func(s time.Time) map[string]any {
			return map[string]any{"updated_in_db_at": s.In(time.FixedZone("", 2*3600)).Format(time.RFC3339)}
		}, 200, ""},
		{"not a timestamp", func(time.Time) map[string]any { return map[string]any{"updated_in_db_at": "yesterday"} }, 400, "/data/attributes/updated_in_db_at"},
		{"overwrite not boolean", func(time.Time) map[string]any { return map[string]any{"overwrite": "true"} }, 400, "/data/attributes/overwrite"},
		// Semantic and schema validation come before the precondition.
		{"junk number, missing", func(time.Time) map[string]any { return map[string]any{"number": "junk"} }, 400, "/data/attributes/number"},
		{"local-only number, stale", func(s time.Time) map[string]any {
			return map[string]any{"number": "555-1212", "updated_in_db_at": ms(s.Add(-time.Hour))}
		}, 400, "/data/attributes/number"},
		{"unknown country_code, missing", func(time.Time) map[string]any { return map[string]any{"country_code": "999"} }, 400, "/data/attributes/country_code"},
		{"location too long, missing", func(time.Time) map[string]any {
			return map[string]any{"location": strings.Repeat("l", 65)}
		}, 400, "/data/attributes/location"},
	}
	for _, method := range updateMethods {
		t.Run(method, func(t *testing.T) {
			a := newAPI(t)
			tr := a.tree()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					a := forTest(a, t)
					// A phone whose stored updated_in_db_at has a non-zero
					// millisecond part, so second-precision matching is
					// really exercised.
					p := createPhone(t, a, tr.tok, tr.phonesPath(), map[string]any{"number": "6175550300", "location": "before"})
					path := tr.phonesPath() + "/" + p.id()
					before := mustGet(t, a, tr.tok, path)
					stored := timestampOf(t, before.attrs()["updated_in_db_at"])

					attrs := tc.attrs(stored)
					if _, ok := attrs["location"]; !ok {
						attrs["location"] = "after"
					}
					r := a.do(req{Method: method, Path: path, Token: tr.tok, Body: doc("phone_numbers", attrs)})
					r.want(t, tc.status, tc.pointer)
					after := mustGet(t, a, tr.tok, path)
					if tc.status != http.StatusOK {
						if string(after.Raw) != string(before.Raw) {
							t.Errorf("rejected update changed the phone:\n%s\n%s", before.Raw, after.Raw)
						}
						if tc.status == http.StatusConflict {
							meta, _ := r.firstError()["meta"].(map[string]any)
							if meta["updated_in_db_at"] != before.attrs()["updated_in_db_at"] {
								t.Errorf("meta.updated_in_db_at = %v, want %v", meta["updated_in_db_at"], before.attrs()["updated_in_db_at"])
							}
						}
						return
					}
					if r.attrs()["location"] != "after" || after.attrs()["location"] != "after" {
						t.Errorf("update not applied: %s", after.Raw)
					}
					if !timestampOf(t, after.attrs()["updated_in_db_at"]).After(stored) {
						t.Errorf("updated_in_db_at did not advance")
					}
				})
			}
		})
	}
}

// With a controlled clock: a write's time is the server's clock, but never
// before the latest time an earlier write stamped (on any row), so
// updated_in_db_at never goes backwards across rows; per row it moves on by
// 1 ms when the write's time is not past the stored value (also for rows
// demoted or promoted as a side effect). updated_at and created_at default
// to the write's time. Preconditions are compared at the precision sent.
func TestPhoneUpdatedInDBAtClock(t *testing.T) {
	a := newAPI(t)
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	clk := newClock(a, t0)
	tr := a.tree()
	path := tr.phonePath()
	ms := func(d int) string {
		return t0.Add(time.Duration(d) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	}

	at := mustGet(t, a, tr.tok, path).attrs()
	for _, k := range []string{"created_at", "updated_at", "updated_in_db_at"} {
		if at[k] != ms(0) {
			t.Errorf("%s = %v, want the clock's %s", k, at[k], ms(0))
		}
	}

	// Frozen clock: each write adds 1 ms. Its time is the latest stamp
	// issued so far, the previous write's (the clock's for the first).
	for i := 1; i <= 5; i++ {
		r := a.do(req{Method: updateMethods[i%2], Path: path, Token: tr.tok, Body: doc("phone_numbers", map[string]any{
			"location": fmt.Sprint(i), "updated_in_db_at": ms(i - 1),
		})})
		r.want(t, http.StatusOK, "")
		if got := r.attrs()["updated_in_db_at"]; got != ms(i) {
			t.Fatalf("write %d: updated_in_db_at %v, want %s", i, got, ms(i))
		}
		if got := r.attrs()["updated_at"]; got != ms(i-1) {
			t.Errorf("write %d: updated_at %v, want the previous write's %s", i, got, ms(i-1))
		}
	}

	// Clock behind the stored value: still strictly increasing, and the
	// write's time is the latest stamp, not the clock's.
	clk.Set(t0.Add(-time.Hour))
	r := sendPhoneUpdate(t, a, http.MethodPatch, tr.tok, path, map[string]any{"location": "back"})
	if got := r.attrs()["updated_in_db_at"]; got != ms(6) {
		t.Errorf("clock behind: updated_in_db_at %v, want %s", got, ms(6))
	}
	if got := r.attrs()["updated_at"]; got != ms(5) {
		t.Errorf("clock behind: updated_at %v, want the previous write's %s", got, ms(5))
	}

	// A second phone made primary, with the clock behind the latest stamp:
	// it is stamped with that latest stamp, not the clock, so no row is
	// written before an earlier write. It demotes the first, whose
	// updated_in_db_at moves on by 1 ms and whose updated_at is the write's
	// time.
	clk.Set(t0)
	p2 := createPhone(t, a, tr.tok, tr.phonesPath(), map[string]any{"number": "6175550700", "primary": true}).attrs()
	for _, k := range []string{"created_at", "updated_at", "updated_in_db_at"} {
		if p2[k] != ms(6) {
			t.Errorf("new phone %s %v, want the latest stamp %s", k, p2[k], ms(6))
		}
	}
	first := mustGet(t, a, tr.tok, path).attrs()
	if first["primary"] != false || first["updated_in_db_at"] != ms(7) || first["updated_at"] != ms(6) {
		t.Errorf("demoted phone: primary %v updated_in_db_at %v updated_at %v; want false %s %s",
			first["primary"], first["updated_in_db_at"], first["updated_at"], ms(7), ms(6))
	}

	// Clock ahead: the clock's time is used.
	clk.Set(t0.Add(time.Minute))
	r = sendPhoneUpdate(t, a, http.MethodPut, tr.tok, path, map[string]any{"location": "ahead"})
	want := t0.Add(time.Minute).Format("2006-01-02T15:04:05.000Z")
	if r.attrs()["updated_in_db_at"] != want || r.attrs()["updated_at"] != want {
		t.Errorf("clock ahead: updated_in_db_at %v updated_at %v, want %s", r.attrs()["updated_in_db_at"], r.attrs()["updated_at"], want)
	}

	// Preconditions at the precision sent; the stored value is now
	// 03:05:05.600Z (t0 + 1 min), then +1 ms per write below.
	clk.Set(t0)
	cur := t0.Add(time.Minute)
	cases := []struct {
		name   string
		pre    string
		status int
	}{
		{"seconds", "2030-01-02T03:05:05Z", 200},
		{"seconds, +01:00", "2030-01-02T04:05:05+01:00", 200},
		{"previous second", "2030-01-02T03:05:04Z", 409},
		{"next second", "2030-01-02T03:05:06Z", 409},
		{"tenths", "2030-01-02T03:05:05.6Z", 200},
		{"wrong tenth", "2030-01-02T03:05:05.5Z", 409},
		{"hundredths", "2030-01-02T03:05:05.60Z", 200},
		{"milliseconds, .000 of the same second", "2030-01-02T03:05:05.000Z", 409},
		{"milliseconds, -02:00", "", 200},
		{"nanoseconds", "", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := forTest(a, t)
			pre := tc.pre
			switch tc.name {
			case "milliseconds, -02:00":
				pre = cur.In(time.FixedZone("", -2*3600)).Format("2006-01-02T15:04:05.000-07:00")
			case "nanoseconds":
				pre = cur.Format("2006-01-02T15:04:05.000") + "999999Z"
			}
			stored := cur.Format("2006-01-02T15:04:05.000Z")
			if got := mustGet(t, a, tr.tok, path).attrs()["updated_in_db_at"]; got != stored {
				t.Fatalf("stored updated_in_db_at %v, want %s", got, stored)
			}
			r := a.do(req{Method: http.MethodPatch, Path: path, Token: tr.tok, Body: doc("phone_numbers", map[string]any{
				"updated_in_db_at": pre, "location": tc.name,
			})})
			if tc.status == http.StatusConflict {
				r.want(t, http.StatusConflict, "/data/attributes/updated_in_db_at")
				meta, _ := r.firstError()["meta"].(map[string]any)
				if meta["updated_in_db_at"] != stored {
					t.Errorf("meta.updated_in_db_at %v, want %s", meta["updated_in_db_at"], stored)
				}
				return
			}
			r.want(t, http.StatusOK, "")
			cur = cur.Add(time.Millisecond)
		})
	}
}

func TestPhoneTimestamps(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()

	// Client-supplied created_at and updated_at are kept, to the millisecond
	// and in UTC.
	r := createPhone(t, a, tr.tok, tr.phonesPath(), map[string]any{
		"number":     "6175550400",
		"created_at": "2019-05-06T07:08:09.123456+02:00",
		"updated_at": "2019-05-07T00:00:00Z",
	})
	path := tr.phonesPath() + "/" + r.id()
	for _, at := range []map[string]any{r.attrs(), mustGet(t, a, tr.tok, path).attrs()} {
		if at["created_at"] != "2019-05-06T05:08:09.123Z" {
			t.Errorf("created_at = %v", at["created_at"])
		}
		if at["updated_at"] != "2019-05-07T00:00:00.000Z" {
			t.Errorf("updated_at = %v", at["updated_at"])
		}
		timestampOf(t, at["updated_in_db_at"])
	}

	for _, method := range updateMethods {
		// Supplied on update: kept.
		r = sendPhoneUpdate(t, a, method, tr.tok, path, map[string]any{
			"created_at": "2018-01-01T00:00:00.9999-01:00",
			"updated_at": "2018-02-02T02:02:02.002Z",
		})
		if r.attrs()["created_at"] != "2018-01-01T01:00:00.999Z" || r.attrs()["updated_at"] != "2018-02-02T02:02:02.002Z" {
			t.Errorf("%s: created_at %v updated_at %v", method, r.attrs()["created_at"], r.attrs()["updated_at"])
		}
		// Not supplied: created_at kept, updated_at becomes the server's time.
		start := time.Now().Add(-time.Second)
		r = sendPhoneUpdate(t, a, method, tr.tok, path, map[string]any{"location": method})
		if r.attrs()["created_at"] != "2018-01-01T01:00:00.999Z" {
			t.Errorf("%s: created_at %v not kept", method, r.attrs()["created_at"])
		}
		if u := timestampOf(t, r.attrs()["updated_at"]); u.Before(start) {
			t.Errorf("%s: updated_at %v is not the server's time", method, u)
		}
	}

	// Rapid successive updates: updated_in_db_at strictly increases, both
	// with overwrite and when chaining preconditions.
	prev := timestampOf(t, mustGet(t, a, tr.tok, path).attrs()["updated_in_db_at"])
	prevRaw := mustGet(t, a, tr.tok, path).attrs()["updated_in_db_at"]
	for i := range 30 {
		method := updateMethods[i%2]
		var r *resp
		if i%3 == 0 {
			r = sendPhoneUpdate(t, a, method, tr.tok, path, map[string]any{"location": fmt.Sprint(i)})
		} else {
			r = a.do(req{Method: method, Path: path, Token: tr.tok, Body: doc("phone_numbers", map[string]any{
				"location": fmt.Sprint(i), "updated_in_db_at": prevRaw,
			})})
			r.want(t, http.StatusOK, "")
		}
		cur := timestampOf(t, r.attrs()["updated_in_db_at"])
		if !cur.After(prev) {
			t.Fatalf("update %d: updated_in_db_at %v not after %v", i, cur, prev)
		}
		prev, prevRaw = cur, r.attrs()["updated_in_db_at"]
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
