package handlers

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/phoneapi/phoneapi/db"
)

// bodyCase is a request document the body check must refuse: 400 at
// pointer, with a detail that says why.
type bodyCase struct {
	name, method string
	path         func(tree) string
	body         string
	pointer      string
	detail       string // a word of the detail
}

// Request documents by resource, around the attributes (and, for
// updates, overwrite: true first) or around everything after "data".
func contactDoc(attrs string) string {
	return `{"data":{"type":"contacts","attributes":{` + attrs + `}}}`
}

func personDoc(attrs string) string {
	return `{"data":{"type":"people","attributes":{` + attrs + `}}}`
}

func phoneUpdateDoc(attrs string) string {
	return `{"data":{"type":"phone_numbers","attributes":{"overwrite":true,` + attrs + `}}}`
}

func contactsURL(tr tree) string { return "/api/v2/contacts" }
func peopleURL(tr tree) string   { return tr.contactPath() + "/people" }

// TestBodyTextRefused: U+0000 (the \u0000 escape or a raw byte) and
// invalid UTF-8 (raw bytes, or an escape of half a surrogate pair, which
// encoding/json turns into U+FFFD) anywhere in a request document, in a
// string or a member name, get 400 at the member, before anything is
// written, on both engines. (Before: SQLite stored them, U+FFFD in place
// of invalid UTF-8; PostgreSQL answered 500 to U+0000; a raw NUL byte was
// a syntax error without a pointer.)
func TestBodyTextRefused(t *testing.T) {
	forEngines(t, nil, func(t *testing.T, a *api) {
		tr := a.tree()
		runBodyCases(t, a, tr, []bodyCase{
			{"contact name escape", "POST", contactsURL, contactDoc(`"name":"a\u0000b"`), "/data/attributes/name", "U+0000"},
			{"contact name raw NUL", "POST", contactsURL, contactDoc("\"name\":\"a\x00b\""), "/data/attributes/name", "U+0000"},
			{"contact name invalid UTF-8", "POST", contactsURL, contactDoc("\"name\":\"a\xffb\""), "/data/attributes/name", "UTF-8"},
			{"contact name lone high surrogate", "POST", contactsURL, contactDoc(`"name":"\ud800"`), "/data/attributes/name", "surrogate"},
			{"contact name high surrogate then text", "POST", contactsURL, contactDoc(`"name":"\ud83dx"`), "/data/attributes/name", "surrogate"},
			{"contact name lone low surrogate", "POST", contactsURL, contactDoc(`"name":"a\udc00"`), "/data/attributes/name", "surrogate"},
			{"contact update name", "PATCH", tree.contactPath, `{"data":{"type":"contacts","attributes":{"overwrite":true,"name":"\u0000"}}}`, "/data/attributes/name", "U+0000"},
			{"person first name", "POST", peopleURL, personDoc(`"first_name":"\u0000"`), "/data/attributes/first_name", "U+0000"},
			{"person last name", "PATCH", tree.personPath, `{"data":{"type":"people","attributes":{"overwrite":true,"last_name":"` + "\xc3" + `"}}}`, "/data/attributes/last_name", "UTF-8"},
			{"phone PATCH location", "PATCH", tree.phonePath, phoneUpdateDoc(`"location":"a\u0000b"`), "/data/attributes/location", "U+0000"},
			{"phone PUT location", "PUT", tree.phonePath, phoneUpdateDoc(`"location":"a\u0000b"`), "/data/attributes/location", "U+0000"},
			{"phone PATCH truncated UTF-8", "PATCH", tree.phonePath, phoneUpdateDoc("\"location\":\"caf\xc3\""), "/data/attributes/location", "UTF-8"},
			{"phone PUT lone surrogate", "PUT", tree.phonePath, phoneUpdateDoc(`"location":"\udfff"`), "/data/attributes/location", "surrogate"},
			{"phone create source", "POST", tree.phonesPath, `{"data":{"type":"phone_numbers","attributes":{"number":"617-555-1213","source":"\u0000"}}}`, "/data/attributes/source", "U+0000"},
			{"member name", "PATCH", tree.phonePath, phoneUpdateDoc(`"loc\u0000":"x"`), "/data/attributes/loc\x00", "member name"},
			{"member name invalid UTF-8", "PUT", tree.phonePath, phoneUpdateDoc("\"loc\xff\":\"x\""), "/data/attributes/loc\uFFFD", "member name"},
			{"relationship id", "PATCH", tree.phonePath,
				`{"data":{"type":"phone_numbers","attributes":{"overwrite":true},"relationships":{"person":{"data":{"type":"people","id":"\u0000"}}}}}`,
				"/data/relationships/person/data/id", "U+0000"},
			{"top-level meta, in an array", "PATCH", tree.phonePath,
				`{"meta":{"notes":["ok","` + "\xfe" + `"]},"data":{"type":"phone_numbers","attributes":{"overwrite":true}}}`,
				"/meta/notes/1", "UTF-8"},
			// The first problem in the document decides, even when the
			// document breaks further on.
			{"before a syntax error", "PATCH", tree.phonePath, `{"data":{"type":"phone_numbers","attributes":{"location":"\u0000",}}}`, "/data/attributes/location", "U+0000"},
		})
	})
}

// TestBodyDuplicateMembersRefused: a member name that appears twice in
// one object, at any depth, gets 400 at the second occurrence; names are
// compared as decoded ("location" and "loc\u0061tion" are one name).
// Before, encoding/json kept the last one silently.
func TestBodyDuplicateMembersRefused(t *testing.T) {
	forEngines(t, nil, func(t *testing.T, a *api) {
		tr := a.tree()
		runBodyCases(t, a, tr, []bodyCase{
			{"contact name", "POST", contactsURL, contactDoc(`"name":"a","name":"b"`), "/data/attributes/name", "more than once"},
			{"person first name", "POST", peopleURL, personDoc(`"first_name":"a","last_name":"x","first_name":"b"`), "/data/attributes/first_name", "more than once"},
			{"person PUT", "PUT", tree.personPath, `{"data":{"type":"people","attributes":{"overwrite":true,"last_name":"a","last_name":null}}}`, "/data/attributes/last_name", "more than once"},
			{"phone PATCH location", "PATCH", tree.phonePath, phoneUpdateDoc(`"location":"a","location":"b"`), "/data/attributes/location", "more than once"},
			{"phone PUT location", "PUT", tree.phonePath, phoneUpdateDoc(`"location":"a","location":"b"`), "/data/attributes/location", "more than once"},
			{"escaped the same", "PATCH", tree.phonePath, phoneUpdateDoc(`"location":"a","loc\u0061tion":"b"`), "/data/attributes/location", "more than once"},
			{"pointer escaped", "PATCH", tree.phonePath, phoneUpdateDoc(`"a/b~c":1,"a/b~c":2`), "/data/attributes/a~1b~0c", "more than once"},
			{"overwrite", "PUT", tree.phonePath, phoneUpdateDoc(`"overwrite":false`), "/data/attributes/overwrite", "more than once"},
			{"two types", "PATCH", tree.phonePath, `{"data":{"type":"phone_numbers","type":"phone_numbers","attributes":{"overwrite":true}}}`, "/data/type", "more than once"},
			{"two data", "PATCH", tree.phonePath,
				`{"data":{"type":"phone_numbers","attributes":{"overwrite":true,"location":"a"}},"data":{"type":"phone_numbers","attributes":{"overwrite":true,"location":"b"}}}`,
				"/data", "more than once"},
			{"two attributes", "PATCH", tree.phonePath, `{"data":{"type":"phone_numbers","attributes":{"overwrite":true},"attributes":{"overwrite":true}}}`, "/data/attributes", "more than once"},
			{"relationships", "PATCH", tree.phonePath,
				`{"data":{"type":"phone_numbers","attributes":{"overwrite":true},"relationships":{"person":{"data":{"type":"people","type":"people","id":"` + tr.person + `"}}}}}`,
				"/data/relationships/person/data/type", "more than once"},
			{"many members", "PATCH", tree.phonePath, phoneUpdateDoc(manyMembers(40) + `,"m7":0`), "/data/attributes/m7", "more than once"},
		})
		// The same names in different objects are fine.
		r := a.do(req{Method: "PATCH", Path: tr.phonePath(), Token: tr.tok,
			Body: `{"data":{"type":"phone_numbers","id":"` + tr.phone + `","attributes":{"overwrite":true,"location":"home"},` +
				`"relationships":{"person":{"data":{"type":"people","id":"` + tr.person + `"}}}}}`})
		r.want(t, http.StatusOK, "")
	})
}

// manyMembers returns "m0":0, ..., "m<n-1>":0.
func manyMembers(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"m%d":0`, i)
	}
	return strings.Join(parts, ",")
}

// runBodyCases sends each case as tr's user and checks its 400, then that
// nothing the tree holds changed and nothing was created.
func runBodyCases(t *testing.T, a *api, tr tree, cases []bodyCase) {
	t.Helper()
	paths := []string{tr.contactPath(), tr.personPath(), tr.phonePath(), "/api/v2/contacts", tr.contactPath() + "/people", tr.phonesPath()}
	before := snapshot(t, a, tr.tok, paths...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := forTest(a, t).do(req{Method: tc.method, Path: tc.path(tr), Token: tr.tok, Body: tc.body})
			wantErrorDoc(t, r, http.StatusBadRequest, tc.pointer)
			if d, _ := r.firstError()["detail"].(string); !strings.Contains(d, tc.detail) {
				t.Errorf("detail %q lacks %q", d, tc.detail)
			}
		})
	}
	sameSnapshot(t, before, snapshot(t, a, tr.tok, paths...))
}

// TestBodyTextAccepted: text that only looks like the refused kinds is
// stored exactly: U+FFFD itself, a surrogate pair (as an escape and as
// UTF-8), an escaped backslash before "u0000", U+2028, on both engines.
func TestBodyTextAccepted(t *testing.T) {
	forEngines(t, nil, func(t *testing.T, a *api) {
		tr := a.tree()
		r := a.do(req{Method: "PATCH", Path: tr.phonePath(), Token: tr.tok,
			Body: phoneUpdateDoc(`"location":"\ufffd\ud83d\ude00😀\\u0000\u2028"`)})
		r.want(t, http.StatusOK, "")
		want := "\uFFFD\U0001F600\U0001F600\\u0000\u2028"
		if got := mustGet(t, a, tr.tok, tr.phonePath()).attrs()["location"]; got != want {
			t.Errorf("location %q, want %q", got, want)
		}
	})
}

// TestStoreTextErrorMapping: text the store refuses (a path the body
// check did not cover) is a 400 at the attribute, not a 500.
func TestStoreTextErrorMapping(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	err := fmt.Errorf("update phone x: %w", &db.TextError{Table: "phones", Column: "location", ID: "x", Reason: "is not valid UTF-8"})
	if !errors.Is(err, db.ErrInvalidText) {
		t.Fatal("TextError is not ErrInvalidText")
	}
	errs := toErrors(err, time.Second, log)
	if len(errs) != 1 || errs[0].Status != http.StatusBadRequest || errs[0].Pointer != "/data/attributes/location" {
		t.Errorf("toErrors = %+v, want one 400 at /data/attributes/location", errs)
	}
	errs = toErrors(&db.TextError{Table: "users", Column: "id", Reason: "is not valid UTF-8"}, time.Second, log)
	if len(errs) != 1 || errs[0].Status != http.StatusBadRequest || errs[0].Pointer != "" {
		t.Errorf("toErrors = %+v, want one 400 without a pointer", errs)
	}
}

// TestScanBody: scanBody's findings and pointers on valid JSON, where an
// escape ends and what counts as the same name.
func TestScanBody(t *testing.T) {
	for _, tc := range []struct {
		in, pointer, detail string // detail "" means no problem
	}{
		{`{"a":"\\ud800"}`, "", ""}, // an escaped backslash, then text
		{`{"a":"\ud83d\ude00","b":"\uD83D\uDE00"}`, "", ""},
		{`{"a":"\ud83d\ud83d\ude00"}`, "/a", `unpaired surrogate escape (\ud83d)`},
		{`{"a":"x\ude00"}`, "/a", `unpaired surrogate escape (\ude00)`},
		{`{"a":"\ud83d"}`, "/a", "unpaired"},
		{`[{"a":1},{"a":2}]`, "", ""},
		{`[{"a":1},{"b":{"a":1,"a":[2]}}]`, "/1/b/a", `member "a" appears more than once`},
		{`{"a":1,"b":{"x":1,"y":{}},"a":2}`, "/a", "more than once"},
		{`{"a\\":1,"a\\":2}`, `/a\`, "more than once"},
		{`{"a":1,"\u0061":2}`, "/a", "more than once"},
		{`{"a":1,"A":2}`, "", ""},
		{`{` + manyMembers(20) + `,"m0":1}`, "/m0", "more than once"}, // past setBefore: a map
		{`{` + manyMembers(20) + `,"n":{"m0":1,"m0":2}}`, "/n/m0", "more than once"},
		{`{"x":[true,"\u0000"]}`, "/x/1", "U+0000"},
		{`"\u0000"`, "", "U+0000"},
		{"{\"\xe2\x82\":1}", "/\uFFFD", "member name is not valid UTF-8"},
		{"{\"ok\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"}", "", ""},
		{"{\"a\":\"\xed\xa0\x80\"}", "/a", "not valid UTF-8"}, // a surrogate encoded in UTF-8
	} {
		s := scanBody([]byte(tc.in), 32)
		switch {
		case s.tooDeep:
			t.Errorf("%q: too deep", tc.in)
		case tc.detail == "" && s.problem != nil:
			t.Errorf("%q: problem %v at %q, want none", tc.in, s.problem, s.problem.Pointer)
		case tc.detail != "" && s.problem == nil:
			t.Errorf("%q: no problem, want %q at %q", tc.in, tc.detail, tc.pointer)
		case tc.detail != "" && (s.problem.Pointer != tc.pointer || !strings.Contains(s.problem.Detail, tc.detail)):
			t.Errorf("%q: %q at %q, want %q at %q", tc.in, s.problem.Detail, s.problem.Pointer, tc.detail, tc.pointer)
		}
	}
}
