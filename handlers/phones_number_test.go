package handlers

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

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
