package handlers

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Behaviour contacts, people and phones share, as tables over
// resourceKinds; what only one kind does is in its own file.

// TestDeleteIsHard, for contacts, people and phones alike: DELETE, with
// the path's ids in upper case, answers 204 without a body; the resource
// then answers 404 to every method and is gone from its list; and its id,
// sent in upper case, may be used again. What a delete does besides (the
// cascades, the primary phone) is in each kind's own tests.
func TestDeleteIsHard(t *testing.T) {
	for _, k := range resourceKinds {
		t.Run(k.typ, func(t *testing.T) {
			a := newAPI(t)
			tr := a.tree()
			coll, path := k.collection(tr), k.item(tr)
			id := path[strings.LastIndex(path, "/")+1:]
			keep := a.do(req{Method: "POST", Path: coll, Token: tr.tok, Body: doc(k.typ, k.create)})
			keep.want(t, http.StatusCreated, "")

			upper := tree{tok: tr.tok, contact: strings.ToUpper(tr.contact), person: strings.ToUpper(tr.person), phone: strings.ToUpper(tr.phone)}
			r := a.do(req{Method: "DELETE", Path: k.item(upper), Token: tr.tok})
			r.want(t, http.StatusNoContent, "")
			if len(r.Raw) != 0 {
				t.Errorf("204 with a body: %s", r.Raw)
			}
			for _, m := range []string{"GET", "DELETE", "PUT", "PATCH"} {
				var body any
				if m == "PUT" || m == "PATCH" {
					body = doc(k.typ, map[string]any{"overwrite": true})
				}
				wantErrorDoc(t, a.do(req{Method: m, Path: path, Token: tr.tok, Body: body}), http.StatusNotFound, "")
			}
			if ids := idsOf(mustGet(t, a, tr.tok, coll).list()); !sameStrings(ids, []string{keep.id()}) {
				t.Errorf("list after delete %v, want [%s]", ids, keep.id())
			}

			r = a.do(req{Method: "POST", Path: coll, Token: tr.tok, Body: docWithID(k.typ, strings.ToUpper(id), k.create)})
			r.want(t, http.StatusCreated, "")
			if r.id() != id {
				t.Errorf("re-created id %q, want %q", r.id(), id)
			}
		})
	}
}

// TestUpdatePrecondition, for contacts, people and phones alike, by PUT and
// by PATCH, with every updated_in_db_at form of preconditionCases: a
// refused form is a 409 naming the stored value, and saves nothing; an
// accepted one saves the change and keeps every attribute not sent, and
// moves updated_in_db_at on, so that the old value is refused next time.
func TestUpdatePrecondition(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	for _, k := range resourceKinds {
		for _, method := range updateMethods {
			for _, tc := range preconditionCases() {
				t.Run(k.typ+"/"+method+"/"+tc.name, func(t *testing.T) {
					a := forTest(a, t)
					created := a.do(req{Method: "POST", Path: k.collection(tr), Token: tr.tok,
						Body: doc(k.typ, with(k.create, "created_at", "2020-01-01T00:00:00.000Z"))})
					created.want(t, http.StatusCreated, "")
					path := k.collection(tr) + "/" + created.id()
					stored := storedAt(t, a, tr.tok, path)
					r := a.do(req{Method: method, Path: path, Token: tr.tok, Body: doc(k.typ, with(tc.pre(t, stored), k.attr, "After"))})
					got := mustGet(t, a, tr.tok, path)
					if !tc.ok {
						wantStale(t, r, created, got, stored)
						return
					}
					r.want(t, http.StatusOK, "")
					wantChanged(t, created, r, k.attr, "After")
					wantAdvanced(t, a, method, tr.tok, path, k.typ, k.attr, r, got, stored)
				})
			}
		}
	}
}

// TestUpdateBodyID, for contacts, people and phones alike, by PUT and by
// PATCH: a body id equal to the path's, in either case, is accepted; the
// id of another resource, of the same kind or of another, is 409 at
// /data/id and changes neither resource.
func TestUpdateBodyID(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	for _, k := range resourceKinds {
		for _, method := range updateMethods {
			t.Run(k.typ+"/"+method, func(t *testing.T) {
				a := forTest(a, t)
				path := k.item(tr)
				id := path[strings.LastIndex(path, "/")+1:]
				for _, same := range []string{id, strings.ToUpper(id)} {
					r := a.do(req{Method: method, Path: path, Token: tr.tok, Body: docWithID(k.typ, same, map[string]any{"overwrite": true})})
					r.want(t, http.StatusOK, "")
				}
				other := a.do(req{Method: "POST", Path: k.collection(tr), Token: tr.tok, Body: doc(k.typ, k.create)})
				other.want(t, http.StatusCreated, "")
				otherPath := k.collection(tr) + "/" + other.id()
				before := snapshot(t, a, tr.tok, path, otherPath)
				for _, foreign := range []string{other.id(), tr.contact, tr.person, tr.phone} {
					if foreign == id {
						continue
					}
					r := a.do(req{Method: method, Path: path, Token: tr.tok, Body: docWithID(k.typ, foreign, map[string]any{"overwrite": true, k.attr: "Hijack"})})
					wantErrorDoc(t, r, http.StatusConflict, "/data/id")
				}
				sameSnapshot(t, before, snapshot(t, a, tr.tok, path, otherPath))
			})
		}
	}
}

// wantChanged checks that r is before's resource with attr set to value:
// same type and id, every other attribute as before but the two updated
// timestamps, which must still be RFC 3339 UTC with milliseconds.
func wantChanged(t testing.TB, before, r *resp, attr string, value any) {
	t.Helper()
	if r.data()["type"] != before.data()["type"] || r.id() != before.id() || !uuidRE.MatchString(r.id()) {
		t.Errorf("updated %v %q, want %v %q (a lower-case UUID)", r.data()["type"], r.id(), before.data()["type"], before.id())
	}
	if r.attrs()[attr] != value {
		t.Errorf("%s = %v, want %v", attr, r.attrs()[attr], value)
	}
	for name, was := range before.attrs() {
		switch name {
		case attr:
		case "updated_at", "updated_in_db_at":
			if s, _ := r.attrs()[name].(string); !timeRE.MatchString(s) {
				t.Errorf("%s = %v, want RFC 3339 UTC with milliseconds", name, r.attrs()[name])
			}
		default:
			if got := r.attrs()[name]; string(mustJSON(t, got)) != string(mustJSON(t, was)) {
				t.Errorf("%s changed from %v to %v, though not sent", name, was, got)
			}
		}
	}
	if len(r.attrs()) != len(before.attrs()) {
		t.Errorf("attributes %v, want the same names as %v", attrKeys(r.attrs()), attrKeys(before.attrs()))
	}
}

// preconditionCases are the updated_in_db_at forms, given the stored
// value, that an update must accept or refuse.
func preconditionCases() []struct {
	name string
	pre  func(t testing.TB, stored string) map[string]any
	ok   bool
} {
	type tc = struct {
		name string
		pre  func(t testing.TB, stored string) map[string]any
		ok   bool
	}
	return []tc{
		{"exact", func(_ testing.TB, s string) map[string]any { return map[string]any{"updated_in_db_at": s} }, true},
		{"other offset", func(t testing.TB, s string) map[string]any {
			at := mustParseTime(t, s).In(time.FixedZone("", 2*3600+30*60))
			return map[string]any{"updated_in_db_at": at.Format("2006-01-02T15:04:05.000-07:00")}
		}, true},
		{"whole seconds", func(t testing.TB, s string) map[string]any {
			return map[string]any{"updated_in_db_at": mustParseTime(t, s).Format("2006-01-02T15:04:05Z07:00")}
		}, true},
		{"microseconds", func(t testing.TB, s string) map[string]any {
			return map[string]any{"updated_in_db_at": strings.TrimSuffix(s, "Z") + "999Z"}
		}, true},
		{"tenths of a second", func(t testing.TB, s string) map[string]any {
			return map[string]any{"updated_in_db_at": mustParseTime(t, s).Format("2006-01-02T15:04:05.0Z07:00")}
		}, true},
		{"hundredths of a second", func(t testing.TB, s string) map[string]any {
			return map[string]any{"updated_in_db_at": mustParseTime(t, s).Format("2006-01-02T15:04:05.00Z07:00")}
		}, true},
		{"overwrite true, no precondition", func(_ testing.TB, _ string) map[string]any { return map[string]any{"overwrite": true} }, true},
		{"overwrite true, stale precondition", func(_ testing.TB, _ string) map[string]any {
			return map[string]any{"overwrite": true, "updated_in_db_at": "2000-01-01T00:00:00.000Z"}
		}, true},
		{"overwrite true, exact precondition", func(_ testing.TB, s string) map[string]any {
			return map[string]any{"overwrite": true, "updated_in_db_at": s}
		}, true},
		{"missing", func(_ testing.TB, _ string) map[string]any { return map[string]any{} }, false},
		{"overwrite false, missing", func(_ testing.TB, _ string) map[string]any { return map[string]any{"overwrite": false} }, false},
		{"stale", func(_ testing.TB, _ string) map[string]any {
			return map[string]any{"updated_in_db_at": "2000-01-01T00:00:00.000Z"}
		}, false},
		{"one millisecond later", func(t testing.TB, s string) map[string]any {
			return map[string]any{"updated_in_db_at": mustParseTime(t, s).Add(time.Millisecond).Format("2006-01-02T15:04:05.000Z07:00")}
		}, false},
		{"one millisecond earlier", func(t testing.TB, s string) map[string]any {
			return map[string]any{"updated_in_db_at": mustParseTime(t, s).Add(-time.Millisecond).Format("2006-01-02T15:04:05.000Z07:00")}
		}, false},
		{"a tenth of a second later, in tenths", func(t testing.TB, s string) map[string]any {
			return map[string]any{"updated_in_db_at": mustParseTime(t, s).Add(100 * time.Millisecond).Format("2006-01-02T15:04:05.0Z07:00")}
		}, false},
		{"one second later, whole seconds", func(t testing.TB, s string) map[string]any {
			return map[string]any{"updated_in_db_at": mustParseTime(t, s).Add(time.Second).Format("2006-01-02T15:04:05Z07:00")}
		}, false},
		{"overwrite false, stale", func(_ testing.TB, _ string) map[string]any {
			return map[string]any{"overwrite": false, "updated_in_db_at": "2000-01-01T00:00:00.000Z"}
		}, false},
	}
}

// wantStale checks an update refused by its precondition: 409 at
// updated_in_db_at, its meta reporting the stored value, and the resource
// as it was (got, read after the update, equals before).
func wantStale(t testing.TB, r, before, got *resp, stored string) {
	t.Helper()
	wantErrorDoc(t, r, http.StatusConflict, "/data/attributes/updated_in_db_at")
	meta, _ := r.firstError()["meta"].(map[string]any)
	if meta["updated_in_db_at"] != stored {
		t.Errorf("meta.updated_in_db_at = %v, want the stored %q", meta["updated_in_db_at"], stored)
	}
	if string(got.Raw) != string(before.Raw) {
		t.Errorf("refused update changed the resource:\n%s\n%s", before.Raw, got.Raw)
	}
}

// wantAdvanced checks an accepted update r of the resource at path: a GET
// after it (got) equals the response, updated_in_db_at moved past stored,
// and the old value no longer passes (another update of attr with it is
// 409).
func wantAdvanced(t testing.TB, a *api, method, tok, path, typ, attr string, r, got *resp, stored string) {
	t.Helper()
	if string(got.Raw) != string(r.Raw) {
		t.Errorf("GET after update differs from the response:\n%s\n%s", got.Raw, r.Raw)
	}
	newAt, _ := r.attrs()["updated_in_db_at"].(string)
	if !mustParseTime(t, newAt).After(mustParseTime(t, stored)) {
		t.Errorf("updated_in_db_at %s not after %s", newAt, stored)
	}
	again := a.do(req{Method: method, Path: path, Token: tok, Body: doc(typ, map[string]any{attr: "Again", "updated_in_db_at": stored})})
	wantErrorDoc(t, again, http.StatusConflict, "/data/attributes/updated_in_db_at")
}
