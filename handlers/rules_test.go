package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// Tests of the JSON:API request rules, content negotiation, routing errors,
// the order of checks and the shape of error documents. Their shared
// helpers live in harness_test.go.

// hasPointer reports whether any error of r points at p.
func hasPointer(r *resp, p string) bool {
	for _, got := range r.pointers() {
		if got == p {
			return true
		}
	}
	return false
}

// without returns a copy of m without key.
func without(m map[string]any, key string) map[string]any {
	out := with(m)
	delete(out, key)
	return out
}

// bodyOp is one operation that takes a request body.
type bodyOp struct {
	name     string
	method   string
	path     string
	typ      string
	otherTyp string // another resource's type, wrong here
	create   bool
	pathID   string         // the resource id in the path (updates)
	valid    map[string]any // attributes that succeed
	okCode   int
}

// bodyOps returns the nine body-taking operations against tr.
func bodyOps(tr tree) []bodyOp {
	contact := map[string]any{"name": "Rule family"}
	person := map[string]any{"first_name": "Rule"}
	phone := map[string]any{"number": "617-555-1313"}
	return []bodyOp{
		{"createContact", "POST", "/api/v2/contacts", "contacts", "people", true, "", contact, 201},
		{"putContact", "PUT", tr.contactPath(), "contacts", "people", false, tr.contact, with(contact, "overwrite", true), 200},
		{"patchContact", "PATCH", tr.contactPath(), "contacts", "people", false, tr.contact, with(contact, "overwrite", true), 200},
		{"createPerson", "POST", tr.contactPath() + "/people", "people", "contacts", true, "", person, 201},
		{"putPerson", "PUT", tr.personPath(), "people", "contacts", false, tr.person, with(person, "overwrite", true), 200},
		{"patchPerson", "PATCH", tr.personPath(), "people", "contacts", false, tr.person, with(person, "overwrite", true), 200},
		{"createPhone", "POST", tr.phonesPath(), "phone_numbers", "people", true, "", phone, 201},
		{"putPhone", "PUT", tr.phonePath(), "phone_numbers", "people", false, tr.phone, map[string]any{"location": "work", "overwrite": true}, 200},
		{"patchPhone", "PATCH", tr.phonePath(), "phone_numbers", "people", false, tr.phone, map[string]any{"location": "home", "overwrite": true}, 200},
	}
}

func TestRulesContentType(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	cases := []struct {
		name, contentType string // "" removes the header
		code              int
	}{
		{"missing", "", http.StatusUnsupportedMediaType},
		{"application/json", "application/json", http.StatusUnsupportedMediaType},
		{"text/plain", "text/plain", http.StatusUnsupportedMediaType},
		{"form", "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"other parameter", `application/vnd.api+json; ext="https://example.com/ext"`, http.StatusUnsupportedMediaType},
		{"malformed", "application/vnd.api+json;;;=", http.StatusUnsupportedMediaType},
		{"exact", "application/vnd.api+json", 0},
		{"charset tolerated", "application/vnd.api+json; charset=utf-8", 0},
		{"media type case-insensitive", "Application/Vnd.Api+JSON", 0},
	}
	for _, op := range bodyOps(tr) {
		for _, tc := range cases {
			t.Run(op.name+"/"+tc.name, func(t *testing.T) {
				r := a.do(req{Method: op.method, Path: op.path, Token: tr.tok,
					Body:   docWithID(op.typ, nil, op.valid),
					Header: map[string]string{"Content-Type": tc.contentType}})
				if tc.code == 0 {
					r.want(t, op.okCode, "")
					return
				}
				wantErrorDoc(t, r, tc.code, "")
			})
		}
	}
}

func TestRulesAccept(t *testing.T) {
	cases := []struct {
		name, accept string // "" removes the header
		ok           bool
	}{
		{"absent", "", true},
		{"any", "*/*", true},
		{"jsonapi", "application/vnd.api+json", true},
		{"listed among others", "text/html, application/vnd.api+json;q=0.9", true},
		{"any with quality", "text/html, */*;q=0.1", true},
		{"application/json alone", "application/json", false},
		{"text/html", "text/html", false},
		{"jsonapi refused with q=0", "application/vnd.api+json;q=0, application/json", false},
		// JSON:API: 406 when every instance of its media type carries
		// media type parameters (q is a weight, not one of them).
		{"jsonapi with an ext parameter", "application/vnd.api+json; ext=bulk", false},
		{"jsonapi with a charset", "application/vnd.api+json;charset=test", false},
		{"jsonapi only with parameters, among others", "application/vnd.api+json;profile=x, application/vnd.api+json;ext=y, text/html", false},
		{"jsonapi with parameters and a plain one", "application/vnd.api+json;charset=test, application/vnd.api+json", true},
		{"jsonapi with parameters and a wildcard", "application/vnd.api+json; ext=bulk, */*", true},
		{"jsonapi with parameters and application/*", "application/vnd.api+json; ext=bulk, application/*;q=0.5", true},
	}
	a := newAPI(t)
	tr := a.tree()
	var ops []operation
	for _, op := range bodyOps(tr) {
		ops = append(ops, operation{op.name, op.method, op.path, docWithID(op.typ, nil, op.valid)})
	}
	ops = append(ops,
		operation{"listContacts", "GET", "/api/v2/contacts", nil},
		operation{"getContact", "GET", tr.contactPath(), nil},
		operation{"listPeople", "GET", tr.contactPath() + "/people", nil},
		operation{"getPerson", "GET", tr.personPath(), nil},
		operation{"listPhones", "GET", tr.phonesPath(), nil},
		operation{"getPhone", "GET", tr.phonePath(), nil},
	)
	for _, op := range ops {
		for _, tc := range cases {
			t.Run(op.name+"/"+tc.name, func(t *testing.T) {
				r := a.do(req{Method: op.method, Path: op.path, Token: tr.tok, Body: op.body,
					Header: map[string]string{"Accept": tc.accept}})
				if !tc.ok {
					wantErrorDoc(t, r, http.StatusNotAcceptable, "")
					return
				}
				if r.Code >= 300 {
					t.Fatalf("Accept %q: status %d\n%s", tc.accept, r.Code, r.Raw)
				}
			})
		}
	}
	// DELETE: a refused Accept deletes nothing; an accepted one deletes.
	for _, tc := range cases {
		t.Run("deleteContact/"+tc.name, func(t *testing.T) {
			c := a.contact(tr.tok)
			r := a.do(req{Method: "DELETE", Path: "/api/v2/contacts/" + c, Token: tr.tok,
				Header: map[string]string{"Accept": tc.accept}})
			if !tc.ok {
				wantErrorDoc(t, r, http.StatusNotAcceptable, "")
				mustGet(t, a, tr.tok, "/api/v2/contacts/"+c)
				return
			}
			r.want(t, http.StatusNoContent, "")
		})
	}
}

// Requests without a body need no Content-Type, and one sent is ignored.
func TestRulesBodilessRequestsIgnoreContentType(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	for _, ct := range []string{"", "text/plain", "application/json"} {
		for _, path := range []string{"/api/v2/contacts", tr.contactPath(), tr.contactPath() + "/people", tr.personPath(), tr.phonesPath(), tr.phonePath()} {
			t.Run("GET "+path+" "+ct, func(t *testing.T) {
				r := a.do(req{Method: "GET", Path: path, Token: tr.tok, Header: map[string]string{"Content-Type": ct}})
				r.want(t, http.StatusOK, "")
			})
		}
		t.Run("DELETE "+ct, func(t *testing.T) {
			c := a.contact(tr.tok)
			p := a.person(tr.tok, c)
			ph := a.phone(tr.tok, c, p, map[string]any{"number": "617-555-1414"}).id()
			base := "/api/v2/contacts/" + c
			for _, path := range []string{base + "/people/" + p + "/phones/" + ph, base + "/people/" + p, base} {
				r := a.do(req{Method: "DELETE", Path: path, Token: tr.tok, Header: map[string]string{"Content-Type": ct}})
				r.want(t, http.StatusNoContent, "")
			}
		})
	}
}

// TestRulesDocument runs the JSON:API document rules against every
// body-taking operation of contacts, people and phones.
func TestRulesDocument(t *testing.T) {
	const (
		both   = ""
		create = "create"
		update = "update"
	)
	type body func(op bodyOp) any
	data := func(m map[string]any) map[string]any { return map[string]any{"data": m} }
	cases := []struct {
		name    string
		only    string
		body    body
		code    int // 0: the operation's success code
		pointer string
	}{
		{"valid", both, func(op bodyOp) any { return docWithID(op.typ, nil, op.valid) }, 0, ""},
		{"type missing", both, func(op bodyOp) any {
			return data(map[string]any{"attributes": op.valid})
		}, 409, "/data/type"},
		{"type unknown", both, func(op bodyOp) any { return docWithID("things", nil, op.valid) }, 409, "/data/type"},
		{"type of another resource", both, func(op bodyOp) any { return docWithID(op.otherTyp, nil, op.valid) }, 409, "/data/type"},
		{"type in other case", both, func(op bodyOp) any { return docWithID(strings.ToUpper(op.typ), nil, op.valid) }, 409, "/data/type"},
		{"type not a string", both, func(op bodyOp) any {
			return data(map[string]any{"type": 5, "attributes": op.valid})
		}, 409, "/data/type"},
		{"type null", both, func(op bodyOp) any {
			return data(map[string]any{"type": nil, "attributes": op.valid})
		}, 409, "/data/type"},
		{"id in attributes", both, func(op bodyOp) any {
			return docWithID(op.typ, nil, with(op.valid, "id", uuid.NewString()))
		}, 409, "/data/attributes/id"},
		{"remote_id in attributes", both, func(op bodyOp) any {
			return docWithID(op.typ, nil, with(op.valid, "remote_id", "abc"))
		}, 409, "/data/attributes/remote_id"},
		{"person_id in attributes", both, func(op bodyOp) any {
			return docWithID(op.typ, nil, with(op.valid, "person_id", uuid.NewString()))
		}, 409, "/data/attributes/person_id"},
		{"contact_id in attributes", both, func(op bodyOp) any {
			return docWithID(op.typ, nil, with(op.valid, "contact_id", uuid.NewString()))
		}, 409, "/data/attributes/contact_id"},
		{"account_list_id null in attributes", both, func(op bodyOp) any {
			return docWithID(op.typ, nil, with(op.valid, "account_list_id", nil))
		}, 409, "/data/attributes/account_list_id"},
		{"unknown attribute", both, func(op bodyOp) any {
			return docWithID(op.typ, nil, with(op.valid, "nickname", "x"))
		}, 400, "/data/attributes/nickname"},
		{"unknown attribute needing pointer escapes", both, func(op bodyOp) any {
			return docWithID(op.typ, nil, with(op.valid, "a/b~c", "x"))
		}, 400, "/data/attributes/a~1b~0c"},
		{"attribute name in other case", both, func(op bodyOp) any {
			return docWithID(op.typ, nil, with(op.valid, "Updated_At", "2020-01-01T00:00:00Z"))
		}, 400, "/data/attributes/Updated_At"},
		{"malformed JSON", both, func(op bodyOp) any { return `{"data": {"type": "` + op.typ + `",` }, 400, "-"},
		{"trailing data after the document", both, func(op bodyOp) any {
			return `{"data":{"type":"` + op.typ + `","attributes":{}}} {}`
		}, 400, "-"},
		{"a stray closing brace after the document", both, func(op bodyOp) any {
			return `{"data":{"type":"` + op.typ + `","attributes":{}}}}`
		}, 400, "-"},
		{"a stray closing bracket after the document", both, func(op bodyOp) any {
			return `{"data":{"type":"` + op.typ + `","attributes":{}}}` + "\n]"
		}, 400, "-"},
		{"single quotes", both, func(op bodyOp) any { return `{'data': {}}` }, 400, "-"},
		{"empty body", both, func(op bodyOp) any { return "" }, 400, "-"},
		{"whitespace body", both, func(op bodyOp) any { return " \n\t " }, 400, "-"},
		{"array document", both, func(op bodyOp) any { return `[]` }, 400, "-"},
		{"null document", both, func(op bodyOp) any { return `null` }, 400, "-"},
		{"string document", both, func(op bodyOp) any { return `"data"` }, 400, "-"},
		{"no data member", both, func(op bodyOp) any { return `{}` }, 400, "-"},
		{"attributes at top level", both, func(op bodyOp) any {
			return map[string]any{"type": op.typ, "attributes": op.valid}
		}, 400, "-"},
		{"data null", both, func(op bodyOp) any { return `{"data":null}` }, 400, "-"},
		{"data an array", both, func(op bodyOp) any {
			return map[string]any{"data": []any{map[string]any{"type": op.typ, "attributes": op.valid}}}
		}, 400, "-"},
		{"attributes missing", both, func(op bodyOp) any {
			return data(map[string]any{"type": op.typ})
		}, 400, "/data/attributes"},
		{"attributes not an object", both, func(op bodyOp) any {
			return data(map[string]any{"type": op.typ, "attributes": []any{}})
		}, 400, "/data/attributes"},
		{"created_at not a string", both, func(op bodyOp) any {
			return docWithID(op.typ, nil, with(op.valid, "created_at", 1700000000))
		}, 400, "/data/attributes/created_at"},
		{"created_at not a timestamp", both, func(op bodyOp) any {
			return docWithID(op.typ, nil, with(op.valid, "created_at", "yesterday"))
		}, 400, "/data/attributes/created_at"},
		{"updated_at without zone", both, func(op bodyOp) any {
			return docWithID(op.typ, nil, with(op.valid, "updated_at", "2020-01-02T03:04:05"))
		}, 400, "/data/attributes/updated_at"},
		// Create only.
		{"client id honoured", create, func(op bodyOp) any { return docWithID(op.typ, uuid.NewString(), op.valid) }, 0, ""},
		{"data.id not a UUID", create, func(op bodyOp) any { return docWithID(op.typ, "123", op.valid) }, 400, "/data/id"},
		{"data.id a UUID without hyphens", create, func(op bodyOp) any {
			return docWithID(op.typ, strings.ReplaceAll(uuid.NewString(), "-", ""), op.valid)
		}, 400, "/data/id"},
		{"data.id a number", create, func(op bodyOp) any { return docWithID(op.typ, 42, op.valid) }, 400, "/data/id"},
		{"data.id empty", create, func(op bodyOp) any { return docWithID(op.typ, "", op.valid) }, 400, "/data/id"},
		{"updated_in_db_at and overwrite ignored", create, func(op bodyOp) any {
			return docWithID(op.typ, nil, with(op.valid, "updated_in_db_at", "2000-01-01T00:00:00Z", "overwrite", false))
		}, 0, ""},
		// Update only.
		{"data.id equal to the path id", update, func(op bodyOp) any { return docWithID(op.typ, op.pathID, op.valid) }, 0, ""},
		{"data.id equal in upper case", update, func(op bodyOp) any {
			return docWithID(op.typ, strings.ToUpper(op.pathID), op.valid)
		}, 0, ""},
		{"data.id differs from the path", update, func(op bodyOp) any { return docWithID(op.typ, uuid.NewString(), op.valid) }, 409, "/data/id"},
		{"data.id not a UUID", update, func(op bodyOp) any { return docWithID(op.typ, "abc", op.valid) }, 409, "/data/id"},
		{"data.id not a string", update, func(op bodyOp) any { return docWithID(op.typ, 7, op.valid) }, 409, "/data/id"},
		{"updated_in_db_at not a timestamp", update, func(op bodyOp) any {
			return docWithID(op.typ, nil, with(without(op.valid, "overwrite"), "updated_in_db_at", "yesterday"))
		}, 400, "/data/attributes/updated_in_db_at"},
		{"updated_in_db_at a number", update, func(op bodyOp) any {
			return docWithID(op.typ, nil, with(without(op.valid, "overwrite"), "updated_in_db_at", 1700000000000))
		}, 400, "/data/attributes/updated_in_db_at"},
		{"overwrite a string", update, func(op bodyOp) any {
			return docWithID(op.typ, nil, with(op.valid, "overwrite", "true"))
		}, 400, "/data/attributes/overwrite"},
	}
	a := newAPI(t)
	tr := a.tree()
	for _, op := range bodyOps(tr) {
		for _, tc := range cases {
			if (tc.only == create && !op.create) || (tc.only == update && op.create) {
				continue
			}
			t.Run(op.name+"/"+tc.name, func(t *testing.T) {
				r := a.do(req{Method: op.method, Path: op.path, Token: tr.tok, Body: tc.body(op)})
				if tc.code == 0 {
					r.want(t, op.okCode, "")
					if r.data()["type"] != op.typ {
						t.Errorf("data.type = %v, want %s", r.data()["type"], op.typ)
					}
					return
				}
				wantErrorDoc(t, r, tc.code, tc.pointer)
			})
		}
	}
}

// TestRulesAttributeTypes sends attributes of the wrong type to each
// resource: 400 with a pointer to the attribute.
func TestRulesAttributeTypes(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	cases := map[string][]struct {
		attr  string
		value any
	}{
		"contacts": {
			{"name", 5}, {"name", true}, {"name", nil}, {"name", ""}, {"name", strings.Repeat("n", 256)},
			{"name", []any{"a"}}, {"name", map[string]any{"first": "a"}},
		},
		"people": {
			{"first_name", 5}, {"first_name", nil}, {"first_name", ""}, {"first_name", strings.Repeat("f", 256)},
			{"last_name", true}, {"last_name", 5}, {"last_name", strings.Repeat("l", 256)},
		},
		"phone_numbers": {
			{"primary", "yes"}, {"primary", 1}, {"primary", nil}, {"historic", "no"}, {"valid_values", 1},
			{"location", 5}, {"location", strings.Repeat("l", 65)}, {"source", 5}, {"source", ""},
			{"source", strings.Repeat("s", 65)}, {"number", true}, {"number", map[string]any{}},
			{"number", nil}, {"number", ""}, {"country_code", "abc"}, {"country_code", true}, {"country_code", 1000},
		},
	}
	for _, op := range bodyOps(tr) {
		for _, tc := range cases[op.typ] {
			name := op.name + "/" + tc.attr + "=" + brief(tc.value)
			t.Run(name, func(t *testing.T) {
				r := a.do(req{Method: op.method, Path: op.path, Token: tr.tok,
					Body: docWithID(op.typ, nil, with(op.valid, tc.attr, tc.value))})
				wantErrorDoc(t, r, http.StatusBadRequest, "/data/attributes/"+tc.attr)
			})
		}
	}
}

// brief names a test value briefly.
func brief(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		s = "null"
	case string:
		s = strconv.Quote(x)
	case []any:
		s = "array"
	case map[string]any:
		s = "object"
	default:
		s = fmt.Sprint(x)
	}
	if len(s) > 12 {
		s = s[:12] + "..."
	}
	return s
}

// pathName replaces tr's ids in path with placeholders, for stable test names.
func pathName(tr tree, path string) string {
	return strings.NewReplacer(
		tr.contact, "{contact}", strings.ToUpper(tr.contact), "{CONTACT}",
		tr.person, "{person}", tr.phone, "{phone}",
	).Replace(path)
}

// marshal marshals v.
func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// Several problems in one body give one error each, each with its pointer.
func TestRulesOneErrorPerProblem(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	r := a.do(req{Method: "POST", Path: tr.phonesPath(), Token: tr.tok, Body: doc("phone_numbers", map[string]any{
		"number": "617-555-1515", "primary": "yes", "location": 5, "created_at": "soon",
	})})
	wantErrorDoc(t, r, http.StatusBadRequest, "-")
	want := []string{"/data/attributes/primary", "/data/attributes/location", "/data/attributes/created_at"}
	if len(r.pointers()) != len(want) {
		t.Errorf("pointers %v, want one per problem: %v", r.pointers(), want)
	}
	for _, p := range want {
		if !hasPointer(r, p) {
			t.Errorf("no error at %s: %v", p, r.pointers())
		}
	}

	r = a.do(req{Method: "POST", Path: tr.contactPath() + "/people", Token: tr.tok, Body: doc("people", map[string]any{"nickname": "J"})})
	wantErrorDoc(t, r, http.StatusBadRequest, "-")
	for _, p := range []string{"/data/attributes/nickname", "/data/attributes/first_name"} {
		if !hasPointer(r, p) {
			t.Errorf("no error at %s: %v", p, r.pointers())
		}
	}
}

func TestRulesBodyTooLarge(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	for _, op := range bodyOps(tr) {
		t.Run(op.name+"/over 1 MiB", func(t *testing.T) {
			body := `{"data":{"type":"` + op.typ + `","attributes":{}}}` + strings.Repeat(" ", maxBodyBytes)
			r := a.do(req{Method: op.method, Path: op.path, Token: tr.tok, Body: body})
			wantErrorDoc(t, r, http.StatusRequestEntityTooLarge, "")
		})
		t.Run(op.name+"/one byte over 1 MiB", func(t *testing.T) {
			valid, err := marshal(docWithID(op.typ, nil, op.valid))
			if err != nil {
				t.Fatal(err)
			}
			body := valid + strings.Repeat(" ", 1<<20-len(valid)+1)
			r := a.do(req{Method: op.method, Path: op.path, Token: tr.tok, Body: body})
			wantErrorDoc(t, r, http.StatusRequestEntityTooLarge, "")
		})
		t.Run(op.name+"/exactly 1 MiB", func(t *testing.T) {
			valid, err := marshal(docWithID(op.typ, nil, op.valid))
			if err != nil {
				t.Fatal(err)
			}
			body := valid + strings.Repeat(" ", 1<<20-len(valid))
			if len(body) != 1<<20 {
				t.Fatalf("body is %d bytes", len(body))
			}
			r := a.do(req{Method: op.method, Path: op.path, Token: tr.tok, Body: body})
			r.want(t, op.okCode, "")
		})
	}
}

func TestRulesMethodNotAllowed(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	collection := []string{"GET", "POST"}
	item := []string{"GET", "PUT", "PATCH", "DELETE"}
	cases := []struct {
		method, path string
		allowed      []string
	}{
		{"DELETE", "/api/v2/contacts", collection},
		{"PUT", "/api/v2/contacts", collection},
		{"PATCH", "/api/v2/contacts", collection},
		{"POST", tr.contactPath(), item},
		{"DELETE", tr.contactPath() + "/people", collection},
		{"PUT", tr.contactPath() + "/people", collection},
		{"POST", tr.personPath(), item},
		{"PATCH", tr.phonesPath(), collection},
		{"DELETE", tr.phonesPath(), collection},
		{"POST", tr.phonePath(), item},
		// Upper-case ids are ids too.
		{"POST", "/api/v2/contacts/" + strings.ToUpper(tr.contact), item},
	}
	for _, tc := range cases {
		for _, tok := range []string{tr.tok, ""} {
			t.Run(tc.method+" "+pathName(tr, tc.path)+" token="+strconv.FormatBool(tok != ""), func(t *testing.T) {
				r := a.do(req{Method: tc.method, Path: tc.path, Token: tok, Body: func() any {
					if tc.method == "DELETE" {
						return nil
					}
					return doc("contacts", map[string]any{"name": "x"})
				}()})
				wantErrorDoc(t, r, http.StatusMethodNotAllowed, "")
				allow := r.Header.Get("Allow")
				if allow == "" {
					t.Fatal("405 without an Allow header")
				}
				got := map[string]bool{}
				for _, m := range strings.Split(allow, ",") {
					got[strings.TrimSpace(m)] = true
				}
				for _, m := range tc.allowed {
					if !got[m] {
						t.Errorf("Allow %q lacks %s", allow, m)
					}
				}
				if got[tc.method] {
					t.Errorf("Allow %q lists the refused method %s", allow, tc.method)
				}
			})
		}
	}
}

func TestRulesNotFound(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	cases := []struct{ method, path string }{
		{"GET", "/api"},
		{"GET", "/api/v2"},
		{"GET", "/api/v1/contacts"},
		{"GET", "/api/v2/contact"},
		{"GET", "/api/v2/nothing"},
		{"GET", "/api/v2/people"},
		{"GET", "/api/v2/phones"},
		{"GET", tr.contactPath() + "/phones"},
		{"GET", tr.personPath() + "/emails"},
		{"GET", tr.phonePath() + "/extra"},
		{"GET", tr.phonePath() + "/"},
		{"DELETE", tr.phonePath() + "/extra"},
		{"PATCH", tr.phonePath() + "/" + tr.phone},
		{"GET", tr.contactPath() + "/"},
		{"GET", tr.personPath() + "/"},
		{"POST", tr.contactPath() + "/nothing"},
		// Ids that are not UUIDs name no resource, in every position and
		// for every method, including those that the path does not allow.
		{"GET", "/api/v2/contacts/not-a-uuid"},
		{"GET", "/api/v2/contacts/"},
		{"GET", "/api/v2/contacts/" + tr.contact + "x"},
		{"GET", "/api/v2/contacts/0f6f569e-23cb-4aad-b9c9-97e48b2cd8a"},
		{"GET", "/api/v2/contacts/{" + tr.contact + "}"},
		{"GET", "/api/v2/contacts/urn:uuid:" + tr.contact},
		{"GET", "/api/v2/contacts/" + strings.ReplaceAll(tr.contact, "-", "")},
		{"GET", "/api/v2/contacts/0f6f569e-23cb-4aad-b9c9-97e48b2cd8ag"},
		{"PUT", "/api/v2/contacts/123"},
		{"PATCH", "/api/v2/contacts/123"},
		{"DELETE", "/api/v2/contacts/123"},
		{"POST", "/api/v2/contacts/123"},
		{"GET", "/api/v2/contacts/123/people"},
		{"POST", "/api/v2/contacts/123/people"},
		{"DELETE", "/api/v2/contacts/123/people"},
		{"GET", tr.contactPath() + "/people/123"},
		{"PUT", tr.contactPath() + "/people/123"},
		{"PATCH", tr.contactPath() + "/people/123"},
		{"DELETE", tr.contactPath() + "/people/123"},
		{"POST", tr.contactPath() + "/people/123"},
		{"GET", "/api/v2/contacts/123/people/" + tr.person},
		{"GET", tr.contactPath() + "/people/123/phones"},
		{"POST", tr.contactPath() + "/people/123/phones"},
		{"GET", tr.phonesPath() + "/123"},
		{"PUT", tr.phonesPath() + "/123"},
		{"PATCH", tr.phonesPath() + "/123"},
		{"DELETE", tr.phonesPath() + "/123"},
		{"POST", tr.phonesPath() + "/123"},
		{"GET", "/api/v2/contacts/x/people/y/phones/z"},
	}
	for _, tc := range cases {
		for _, tok := range []string{tr.tok, ""} {
			t.Run(tc.method+" "+pathName(tr, tc.path)+" token="+strconv.FormatBool(tok != ""), func(t *testing.T) {
				var body any
				if tc.method == "POST" || tc.method == "PUT" || tc.method == "PATCH" {
					body = doc("contacts", map[string]any{"name": "x"})
				}
				r := a.do(req{Method: tc.method, Path: tc.path, Token: tok, Body: body})
				wantErrorDoc(t, r, http.StatusNotFound, "")
				if r.Header.Get("Allow") != "" {
					t.Errorf("404 with Allow %q", r.Header.Get("Allow"))
				}
				if r.Header.Get("WWW-Authenticate") != "" {
					t.Errorf("404 with WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
				}
			})
		}
	}
}

// Upper-case ids in paths name the same resources; responses use lower case.
func TestRulesUpperCasePathIDs(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	up := tree{tok: tr.tok, contact: strings.ToUpper(tr.contact), person: strings.ToUpper(tr.person), phone: strings.ToUpper(tr.phone)}
	for _, tc := range []struct{ path, id string }{
		{up.contactPath(), tr.contact},
		{up.personPath(), tr.person},
		{up.phonePath(), tr.phone},
	} {
		r := mustGet(t, a, tr.tok, tc.path)
		if r.id() != tc.id {
			t.Errorf("GET %s: id %q, want %q", tc.path, r.id(), tc.id)
		}
	}
	for _, path := range []string{up.contactPath() + "/people", up.phonesPath()} {
		if n := len(mustGet(t, a, tr.tok, path).list()); n != 1 {
			t.Errorf("GET %s: %d items, want 1", path, n)
		}
	}
	r := a.do(req{Method: "PATCH", Path: up.phonePath(), Token: tr.tok,
		Body: docWithID("phone_numbers", up.phone, map[string]any{"location": "upper", "overwrite": true})})
	r.want(t, http.StatusOK, "")
	if r.id() != tr.phone || r.attrs()["location"] != "upper" {
		t.Errorf("PATCH %s: %s", up.phonePath(), r.Raw)
	}
}

// TestRulesOrderOfChecks: the first failing check decides the response.
// routing → authentication → negotiation → body → lookups (contact, person,
// phone) → semantic validation → precondition.
func TestRulesOrderOfChecks(t *testing.T) {
	a := newAPI(t)
	mine := a.tree()
	theirs := a.tree()
	otherContact := a.contact(mine.tok) // mine, but not the parent of mine.person
	stale := "2000-01-01T00:00:00.000Z"
	big := `{"data":{"type":"contacts","attributes":{"name":"` + strings.Repeat("x", maxBodyBytes) + `"}}}`
	malformed := `{"data":`
	random := uuid.NewString()
	phoneBody := func(number string) any { return doc("phone_numbers", map[string]any{"number": number}) }
	junk := "call me maybe"
	ctJSON := map[string]string{"Content-Type": "application/json"}
	acceptJSON := map[string]string{"Accept": "application/json"}
	both := map[string]string{"Content-Type": "text/plain", "Accept": "application/json"}
	before := snapshot(t, a, mine.tok, mine.contactPath(), mine.personPath(), mine.phonePath())
	theirsBefore := snapshot(t, a, theirs.tok, theirs.contactPath(), theirs.personPath(), theirs.phonePath())

	cases := []struct {
		name    string
		r       req
		code    int
		pointer string
	}{
		// Routing first.
		{"unknown path, no token", req{Method: "GET", Path: "/api/v2/unknown"}, 404, ""},
		{"non-UUID id, no token", req{Method: "GET", Path: "/api/v2/contacts/nope"}, 404, ""},
		{"non-UUID id, bad token, wrong content type", req{Method: "PUT", Path: "/api/v2/contacts/nope", Token: "garbage", Body: malformed, Header: ctJSON}, 404, ""},
		{"unsupported method, no token", req{Method: "DELETE", Path: "/api/v2/contacts"}, 405, ""},
		{"unsupported method on non-UUID id, no token", req{Method: "POST", Path: "/api/v2/contacts/nope", Body: malformed}, 404, ""},
		// Authentication before negotiation and body.
		{"no token, wrong content type", req{Method: "POST", Path: "/api/v2/contacts", Body: doc("contacts", map[string]any{"name": "x"}), Header: ctJSON}, 401, ""},
		{"no token, bad Accept", req{Method: "GET", Path: "/api/v2/contacts", Header: acceptJSON}, 401, ""},
		{"bad token, body too large", req{Method: "POST", Path: "/api/v2/contacts", Token: "garbage", Body: big}, 401, ""},
		{"no token, malformed body", req{Method: "POST", Path: "/api/v2/contacts", Body: malformed}, 401, ""},
		{"no token, someone else's contact", req{Method: "GET", Path: theirs.contactPath()}, 401, ""},
		{"no token, unknown contact", req{Method: "GET", Path: "/api/v2/contacts/" + random}, 401, ""},
		// Content negotiation: 415 before 406, both before the body.
		{"wrong content type and bad Accept", req{Method: "POST", Path: "/api/v2/contacts", Token: mine.tok, Body: doc("contacts", map[string]any{"name": "x"}), Header: both}, 415, ""},
		{"missing content type and bad Accept", req{Method: "PATCH", Path: mine.contactPath(), Token: mine.tok, Body: malformed, Header: map[string]string{"Content-Type": "", "Accept": "text/html"}}, 415, ""},
		{"bad Accept", req{Method: "GET", Path: "/api/v2/contacts", Token: mine.tok, Header: acceptJSON}, 406, ""},
		{"bad Accept, malformed body", req{Method: "POST", Path: "/api/v2/contacts", Token: mine.tok, Body: malformed, Header: acceptJSON}, 406, ""},
		{"wrong content type, body too large", req{Method: "POST", Path: "/api/v2/contacts", Token: mine.tok, Body: big, Header: ctJSON}, 415, ""},
		{"bad Accept, someone else's contact", req{Method: "GET", Path: theirs.contactPath(), Token: mine.tok, Header: acceptJSON}, 406, ""},
		{"bad Accept, unknown contact", req{Method: "DELETE", Path: "/api/v2/contacts/" + random, Token: mine.tok, Header: acceptJSON}, 406, ""},
		{"wrong content type, wrong data.type", req{Method: "POST", Path: "/api/v2/contacts", Token: mine.tok, Body: doc("people", map[string]any{}), Header: ctJSON}, 415, ""},
		// Body: size, then syntax, then the 409 document rules, then schema.
		{"body too large, malformed", req{Method: "PUT", Path: mine.contactPath(), Token: mine.tok, Body: malformed + strings.Repeat(" ", maxBodyBytes)}, 413, ""},
		{"body too large on someone else's contact", req{Method: "PUT", Path: theirs.contactPath(), Token: mine.tok, Body: big}, 413, ""},
		{"wrong type and unknown attribute", req{Method: "POST", Path: "/api/v2/contacts", Token: mine.tok, Body: doc("people", map[string]any{"nickname": "x"})}, 409, "/data/type"},
		{"wrong type and missing required attribute", req{Method: "POST", Path: mine.contactPath() + "/people", Token: mine.tok, Body: doc("contacts", map[string]any{})}, 409, "/data/type"},
		{"_id attribute and unknown attribute", req{Method: "POST", Path: "/api/v2/contacts", Token: mine.tok, Body: doc("contacts", map[string]any{"name": "x", "zzz": 1, "remote_id": "r"})}, 409, "/data/attributes/remote_id"},
		{"_id attribute and wrong attribute type", req{Method: "POST", Path: "/api/v2/contacts", Token: mine.tok, Body: doc("contacts", map[string]any{"name": 5, "remote_id": "r"})}, 409, "/data/attributes/remote_id"},
		{"body id mismatch and wrong attribute type", req{Method: "PUT", Path: mine.contactPath(), Token: mine.tok, Body: docWithID("contacts", random, map[string]any{"name": 5})}, 409, "/data/id"},
		{"unknown attribute and wrong attribute type", req{Method: "PATCH", Path: mine.personPath(), Token: mine.tok, Body: doc("people", map[string]any{"first_name": 5, "aaa": 1})}, 400, "/data/attributes/aaa"},
		// Body checks before lookups.
		{"someone else's contact, invalid body", req{Method: "PUT", Path: theirs.contactPath(), Token: mine.tok, Body: doc("contacts", map[string]any{"name": 5})}, 400, "/data/attributes/name"},
		{"someone else's contact, unknown attribute", req{Method: "PATCH", Path: theirs.contactPath(), Token: mine.tok, Body: doc("contacts", map[string]any{"nickname": "x"})}, 400, "/data/attributes/nickname"},
		{"someone else's contact, wrong type", req{Method: "POST", Path: theirs.contactPath() + "/people", Token: mine.tok, Body: doc("contacts", map[string]any{"first_name": "x"})}, 409, "/data/type"},
		{"someone else's person, missing required attribute", req{Method: "POST", Path: theirs.phonesPath(), Token: mine.tok, Body: doc("phone_numbers", map[string]any{})}, 400, "/data/attributes/number"},
		{"unknown contact, malformed body", req{Method: "POST", Path: "/api/v2/contacts/" + random + "/people", Token: mine.tok, Body: malformed}, 400, "-"},
		{"unknown phone, body id mismatch", req{Method: "PUT", Path: mine.phonesPath() + "/" + random, Token: mine.tok, Body: docWithID("phone_numbers", uuid.NewString(), map[string]any{})}, 409, "/data/id"},
		{"unknown contact, bad created_at", req{Method: "PATCH", Path: "/api/v2/contacts/" + random, Token: mine.tok, Body: doc("contacts", map[string]any{"created_at": "soon"})}, 400, "/data/attributes/created_at"},
		// Lookups: contact, then person, then phone; before number parsing.
		{"unknown contact, valid body, junk number", req{Method: "POST", Path: phonesPath(random, mine.person), Token: mine.tok, Body: phoneBody(junk)}, 404, ""},
		{"someone else's contact, junk number", req{Method: "POST", Path: theirs.phonesPath(), Token: mine.tok, Body: phoneBody(junk)}, 403, ""},
		{"someone else's contact, unknown person", req{Method: "GET", Path: theirs.contactPath() + "/people/" + random, Token: mine.tok}, 403, ""},
		{"someone else's contact, unknown person and phone", req{Method: "PUT", Path: phonesPath(theirs.contact, random) + "/" + random, Token: mine.tok, Body: phoneBody(junk)}, 403, ""},
		{"someone else's contact, my person", req{Method: "GET", Path: theirs.contactPath() + "/people/" + mine.person, Token: mine.tok}, 403, ""},
		{"my contact, their person", req{Method: "GET", Path: mine.contactPath() + "/people/" + theirs.person, Token: mine.tok}, 404, ""},
		{"my contact, unknown person, junk number", req{Method: "POST", Path: phonesPath(mine.contact, random), Token: mine.tok, Body: phoneBody(junk)}, 404, ""},
		{"person under my other contact, junk number", req{Method: "POST", Path: phonesPath(otherContact, mine.person), Token: mine.tok, Body: phoneBody(junk)}, 404, ""},
		{"my person, their phone, junk number", req{Method: "PATCH", Path: mine.phonesPath() + "/" + theirs.phone, Token: mine.tok, Body: phoneBody(junk)}, 404, ""},
		{"my person, unknown phone, stale precondition", req{Method: "PUT", Path: mine.phonesPath() + "/" + random, Token: mine.tok, Body: doc("phone_numbers", map[string]any{"location": "x", "updated_in_db_at": stale})}, 404, ""},
		{"unknown contact, stale precondition", req{Method: "PUT", Path: "/api/v2/contacts/" + random, Token: mine.tok, Body: doc("contacts", map[string]any{"name": "x", "updated_in_db_at": stale})}, 404, ""},
		{"someone else's contact, stale precondition", req{Method: "PATCH", Path: theirs.contactPath(), Token: mine.tok, Body: doc("contacts", map[string]any{"name": "x", "updated_in_db_at": stale})}, 403, ""},
		// Semantic validation before the precondition.
		{"junk number, stale precondition", req{Method: "PUT", Path: mine.phonePath(), Token: mine.tok, Body: doc("phone_numbers", map[string]any{"number": junk, "updated_in_db_at": stale})}, 400, "/data/attributes/number"},
		{"junk number, missing precondition", req{Method: "PATCH", Path: mine.phonePath(), Token: mine.tok, Body: doc("phone_numbers", map[string]any{"number": "555-1212"})}, 400, "/data/attributes/number"},
		{"unknown calling code, stale precondition", req{Method: "PATCH", Path: mine.phonePath(), Token: mine.tok, Body: doc("phone_numbers", map[string]any{"country_code": "999", "updated_in_db_at": stale})}, 400, "/data/attributes/country_code"},
		{"valid number, stale precondition", req{Method: "PUT", Path: mine.phonePath(), Token: mine.tok, Body: doc("phone_numbers", map[string]any{"number": "617-555-2020", "updated_in_db_at": stale})}, 409, "/data/attributes/updated_in_db_at"},
		{"stale precondition on contact", req{Method: "PATCH", Path: mine.contactPath(), Token: mine.tok, Body: doc("contacts", map[string]any{"name": "x", "updated_in_db_at": stale})}, 409, "/data/attributes/updated_in_db_at"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do(tc.r)
			wantErrorDoc(t, r, tc.code, tc.pointer)
			if tc.code == http.StatusUnauthorized && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 with WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// Every case failed, so nothing changed.
	sameSnapshot(t, before, snapshot(t, a, mine.tok, mine.contactPath(), mine.personPath(), mine.phonePath()))
	sameSnapshot(t, theirsBefore, snapshot(t, a, theirs.tok, theirs.contactPath(), theirs.personPath(), theirs.phonePath()))
	if n := len(mustGet(t, a, mine.tok, "/api/v2/contacts").list()); n != 2 {
		t.Errorf("caller has %d contacts, want 2 (nothing created)", n)
	}
	if n := len(mustGet(t, a, mine.tok, mine.phonesPath()).list()); n != 1 {
		t.Errorf("caller's person has %d phones, want 1 (nothing created)", n)
	}
	if !a.rowExists("phones", theirs.phone) {
		t.Errorf("their phone %s is gone", theirs.phone)
	}
}
