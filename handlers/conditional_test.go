package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// Tests of HTTP conditional requests: ETag on single-resource responses,
// If-None-Match on GET (304) and If-Match on PUT, PATCH and DELETE (412), the
// standard counterpart of the updated_in_db_at precondition.

// doConditional sends r like a.do and validates the response against
// openapi.yaml. A 304 has no body, hence no Content-Type, which a.do's
// validation does not allow for; this validates it against the spec
// directly (and checks that it has no body).
func doConditional(t testing.TB, a *api, r req) *resp {
	t.Helper()
	hr := httptest.NewRequest(r.Method, r.Path, nil)
	hr.Header.Set("Accept", mediaType)
	hr.Header.Set("Authorization", "Bearer "+r.Token)
	for k, v := range r.Header {
		hr.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	a.e.ServeHTTP(rec, hr)
	if rec.Code != http.StatusNotModified {
		return a.do(r) // GET is safe to repeat; a.do validates everything else
	}
	out := &resp{Code: rec.Code, Header: rec.Header(), Raw: rec.Body.Bytes()}
	if len(out.Raw) != 0 {
		t.Errorf("304 with a body: %q", out.Raw)
	}
	_, router := loadSpec(t)
	route, params, err := router.FindRoute(hr.Clone(context.Background()))
	if err != nil {
		t.Fatalf("%s %s: no operation in the spec: %v", r.Method, r.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route},
		Status:                 out.Code,
		Header:                 out.Header,
		Body:                   io.NopCloser(bytes.NewReader(out.Raw)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s: 304 does not match openapi.yaml: %v", r.Method, r.Path, err)
	}
	return out
}

// updateWith sends an update guarded by If-Match only (no updated_in_db_at,
// no overwrite in the body).
func updateWith(a *api, method, tok, path, typ, ifMatch string, attrs map[string]any) *resp {
	a.t.Helper()
	var hdr map[string]string
	if ifMatch != "" {
		hdr = map[string]string{"If-Match": ifMatch}
	}
	return a.do(req{Method: method, Path: path, Token: tok, Body: doc(typ, attrs), Header: hdr})
}

// Every single-resource response carries a strong ETag, equal to what GET
// then returns, stable without writes, and new after every write, even
// when the clock has not moved.
func TestConditionalETags(t *testing.T) {
	a := newAPI(t)
	newClock(a, time.Date(2030, 7, 1, 0, 0, 0, 0, time.UTC)) // frozen
	tr := a.tree()
	for _, k := range resourceKinds {
		t.Run(k.typ, func(t *testing.T) {
			seen := map[string]string{}
			fresh := func(what, tag string) {
				t.Helper()
				if prev, ok := seen[tag]; ok {
					t.Errorf("%s has the ETag %s of %s", what, tag, prev)
				}
				seen[tag] = what
			}
			r := a.do(req{Method: "POST", Path: k.collection(tr), Token: tr.tok, Body: doc(k.typ, k.create)})
			r.want(t, http.StatusCreated, "")
			created := etagOf(t, r)
			fresh("create", created)
			path := r.Header.Get("Location")
			g, tag := getWithETag(t, a, tr.tok, path)
			if tag != created {
				t.Errorf("GET ETag %s, want the create's %s", tag, created)
			}
			if _, again := getWithETag(t, a, tr.tok, path); again != tag {
				t.Errorf("ETag changed without a write: %s → %s", tag, again)
			}
			// Another resource created at the same instant has another ETag.
			r2 := a.do(req{Method: "POST", Path: k.collection(tr), Token: tr.tok, Body: doc(k.typ, k.create)})
			r2.want(t, http.StatusCreated, "")
			if r2.attrs()["updated_in_db_at"] != g.attrs()["updated_in_db_at"] {
				t.Fatalf("the frozen clock gave %v and %v", r2.attrs()["updated_in_db_at"], g.attrs()["updated_in_db_at"])
			}
			fresh("another resource", etagOf(t, r2))

			for i, m := range []string{"PUT", "PATCH", "PUT", "PATCH"} {
				u := updateWith(a, m, tr.tok, path, k.typ, tag, map[string]any{k.attr: "v" + itoa(i)})
				u.want(t, http.StatusOK, "")
				next := etagOf(t, u)
				fresh(m+" "+itoa(i), next)
				if _, got := getWithETag(t, a, tr.tok, path); got != next {
					t.Errorf("%s: GET ETag %s, want the update's %s", m, got, next)
				}
				tag = next
			}
			// An update sending the same values is still a write.
			u := updateWith(a, "PATCH", tr.tok, path, k.typ, tag, map[string]any{k.attr: "v3"})
			u.want(t, http.StatusOK, "")
			fresh("no-op PATCH", etagOf(t, u))
		})
	}

	t.Run("phone demoted by another's create", func(t *testing.T) {
		_, before := getWithETag(t, a, tr.tok, tr.phonePath())
		a.phone(tr.tok, tr.contact, tr.person, map[string]any{"number": "617-555-0199", "primary": true})
		g, after := getWithETag(t, a, tr.tok, tr.phonePath())
		if g.attrs()["primary"] != false {
			t.Fatalf("the old primary was not demoted: %v", g.attrs())
		}
		if after == before {
			t.Errorf("ETag %s unchanged after the phone was demoted", after)
		}
	})
}

// If-None-Match on GET: 304 without a body, with the ETag, when it matches
// (weak comparison, lists, *); 200 otherwise.
func TestConditionalIfNoneMatch(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	for _, k := range resourceKinds {
		t.Run(k.typ, func(t *testing.T) {
			path := k.item(tr)
			_, old := getWithETag(t, a, tr.tok, path)
			updateWith(a, "PATCH", tr.tok, path, k.typ, old, map[string]any{k.attr: "changed"}).want(t, http.StatusOK, "")
			cur, tag := getWithETag(t, a, tr.tok, path)
			for _, tc := range []struct {
				name, header string
				want         int
			}{
				{"current", tag, http.StatusNotModified},
				{"weak current", "W/" + tag, http.StatusNotModified},
				{"star", "*", http.StatusNotModified},
				{"in a list", `"nope", ` + tag, http.StatusNotModified},
				{"weak in a list", `W/"nope",W/` + tag, http.StatusNotModified},
				{"previous version", old, http.StatusOK},
				{"other", `"nope"`, http.StatusOK},
				{"weak other", `W/"nope"`, http.StatusOK},
				{"list without it", `"a", "b"`, http.StatusOK},
			} {
				t.Run(tc.name, func(t *testing.T) {
					for _, q := range []string{"", "?include="} { // an empty include names no path
						r := doConditional(t, a, req{Method: "GET", Path: path + q, Token: tr.tok, Header: map[string]string{"If-None-Match": tc.header}})
						if r.Code != tc.want {
							t.Fatalf("If-None-Match %s: status %d, want %d\n%s", tc.header, r.Code, tc.want, r.Raw)
						}
						if got := r.Header.Get("ETag"); got != tag {
							t.Errorf("ETag %q, want %q", got, tag)
						}
						if tc.want == http.StatusOK && !jsonEqual(r.data(), cur.data()) {
							t.Errorf("200 body %v, want %v", r.data(), cur.data())
						}
					}
				})
			}
		})
	}
	t.Run("someone else's resource is 403, not 304", func(t *testing.T) {
		_, tag := getWithETag(t, a, tr.tok, tr.phonePath())
		r := doConditional(t, a, req{Method: "GET", Path: tr.phonePath(), Token: a.user(), Header: map[string]string{"If-None-Match": tag}})
		r.want(t, http.StatusForbidden, "")
	})
}

func jsonEqual(x, y any) bool {
	bx, err1 := json.Marshal(x)
	by, err2 := json.Marshal(y)
	return err1 == nil && err2 == nil && bytes.Equal(bx, by)
}

// tombstones returns how many tombstones the user has.
func tombstones(t testing.TB, a *api, tok string) int {
	t.Helper()
	return decodePage(t, rawGet(a, tok, "/api/v2/deleted_records")).Meta.Pagination.TotalCount
}

// If-Match on PUT, PATCH and DELETE: a value that does not match (strong
// comparison) is 412 with nothing saved or deleted; a match (exact, in a
// list, or *) is the whole precondition: the body needs no
// updated_in_db_at.
func TestConditionalIfMatch(t *testing.T) {
	for _, k := range resourceKinds {
		t.Run(k.typ, func(t *testing.T) {
			a := newAPI(t)
			tr := a.tree()
			path := k.item(tr)
			_, old := getWithETag(t, a, tr.tok, path)
			updateWith(a, "PUT", tr.tok, path, k.typ, old, map[string]any{k.attr: "second"}).want(t, http.StatusOK, "")
			before, tag := getWithETag(t, a, tr.tok, path)

			for _, bad := range []string{old, `"nope"`, "W/" + tag, `"nope", W/` + tag, strings.Trim(tag, `"`)} {
				for _, m := range []string{"PUT", "PATCH", "DELETE"} {
					var r *resp
					if m == "DELETE" {
						r = a.do(req{Method: m, Path: path, Token: tr.tok, Header: map[string]string{"If-Match": bad}})
					} else {
						r = updateWith(a, m, tr.tok, path, k.typ, bad, map[string]any{k.attr: "lost"})
					}
					want412(t, r)
					after, now := getWithETag(t, a, tr.tok, path)
					if now != tag || !jsonEqual(after.data(), before.data()) {
						t.Errorf("%s with If-Match %s changed the resource: %v → %v", m, bad, before.data(), after.data())
					}
				}
			}
			if n := tombstones(t, a, tr.tok); n != 0 {
				t.Errorf("failed deletes left %d tombstones", n)
			}

			// Without If-Match the body's precondition is required (409);
			// with a matching one it is not.
			updateWith(a, "PATCH", tr.tok, path, k.typ, "", map[string]any{k.attr: "x"}).want(t, http.StatusConflict, "/data/attributes/updated_in_db_at")
			forms := map[string]func(cur string) string{
				"exact":     func(cur string) string { return cur },
				"in a list": func(cur string) string { return `"nope", ` + cur },
				"star":      func(string) string { return "*" },
			}
			for _, form := range []string{"exact", "in a list", "star"} {
				for _, m := range []string{"PUT", "PATCH"} {
					_, cur := getWithETag(t, a, tr.tok, path)
					hdr, val := forms[form](cur), m+" "+form
					r := updateWith(a, m, tr.tok, path, k.typ, hdr, map[string]any{k.attr: val})
					r.want(t, http.StatusOK, "")
					if r.attrs()[k.attr] != val {
						t.Errorf("%s with If-Match %s: %s = %v, want %q", m, hdr, k.attr, r.attrs()[k.attr], val)
					}
					if g, _ := getWithETag(t, a, tr.tok, path); g.attrs()[k.attr] != val {
						t.Errorf("%s with If-Match %s was not saved", m, hdr)
					}
				}
			}

			// DELETE with a matching If-Match, then with * on another.
			_, cur := getWithETag(t, a, tr.tok, path)
			a.do(req{Method: "DELETE", Path: path, Token: tr.tok, Header: map[string]string{"If-Match": cur}}).want(t, http.StatusNoContent, "")
			a.do(req{Method: "GET", Path: path, Token: tr.tok}).want(t, http.StatusNotFound, "")
			if n := tombstones(t, a, tr.tok); n == 0 {
				t.Errorf("a delete with If-Match left no tombstone")
			}
			tr2 := a.tree()
			a.do(req{Method: "DELETE", Path: k.item(tr2), Token: tr2.tok, Header: map[string]string{"If-Match": "*"}}).want(t, http.StatusNoContent, "")
			a.do(req{Method: "GET", Path: k.item(tr2), Token: tr2.tok}).want(t, http.StatusNotFound, "")

			// A resource that does not exist is 404 (lookups come first).
			a.do(req{Method: "DELETE", Path: path, Token: tr.tok, Header: map[string]string{"If-Match": "*"}}).want(t, http.StatusNotFound, "")
		})
	}
}

// A 412 on a contact's DELETE deletes nothing of the cascade.
func TestConditionalIfMatchCascade(t *testing.T) {
	a := newAPI(t)
	tr := a.tree()
	_, old := getWithETag(t, a, tr.tok, tr.contactPath())
	updateWith(a, "PATCH", tr.tok, tr.contactPath(), "contacts", old, map[string]any{"name": "new"}).want(t, http.StatusOK, "")
	for _, path := range []string{tr.contactPath(), tr.personPath()} {
		want412(t, a.do(req{Method: "DELETE", Path: path, Token: tr.tok, Header: map[string]string{"If-Match": `"stale"`}}))
	}
	want412(t, a.do(req{Method: "DELETE", Path: tr.contactPath(), Token: tr.tok, Header: map[string]string{"If-Match": old}}))
	for _, path := range []string{tr.contactPath(), tr.personPath(), tr.phonePath()} {
		a.do(req{Method: "GET", Path: path, Token: tr.tok}).want(t, http.StatusOK, "")
	}
	if n := tombstones(t, a, tr.tok); n != 0 {
		t.Errorf("%d tombstones after failed deletes", n)
	}
}

// The lost update: two clients read the same ETag; the first write wins,
// the second (PUT, PATCH or DELETE with the old ETag) gets 412 and changes
// nothing; after reading again it succeeds.
func TestConditionalLostUpdate(t *testing.T) {
	a := newAPI(t)
	for _, k := range resourceKinds {
		for _, second := range []string{"PUT", "PATCH", "DELETE"} {
			t.Run(k.typ+" then "+second, func(t *testing.T) {
				tr := a.tree()
				path := k.item(tr)
				_, alice := getWithETag(t, a, tr.tok, path)
				_, bob := getWithETag(t, a, tr.tok, path)
				if alice != bob {
					t.Fatalf("two reads gave %s and %s", alice, bob)
				}
				updateWith(a, "PUT", tr.tok, path, k.typ, alice, map[string]any{k.attr: "alice"}).want(t, http.StatusOK, "")
				var r *resp
				if second == "DELETE" {
					r = a.do(req{Method: "DELETE", Path: path, Token: tr.tok, Header: map[string]string{"If-Match": bob}})
				} else {
					r = updateWith(a, second, tr.tok, path, k.typ, bob, map[string]any{k.attr: "bob"})
				}
				want412(t, r)
				g, fresh := getWithETag(t, a, tr.tok, path)
				if g.attrs()[k.attr] != "alice" {
					t.Fatalf("%s = %v after the lost update, want alice", k.attr, g.attrs()[k.attr])
				}
				if second == "DELETE" {
					a.do(req{Method: "DELETE", Path: path, Token: tr.tok, Header: map[string]string{"If-Match": fresh}}).want(t, http.StatusNoContent, "")
					return
				}
				updateWith(a, second, tr.tok, path, k.typ, fresh, map[string]any{k.attr: "bob"}).want(t, http.StatusOK, "")
				if g, _ := getWithETag(t, a, tr.tok, path); g.attrs()[k.attr] != "bob" {
					t.Errorf("%s = %v after bob's retry, want bob", k.attr, g.attrs()[k.attr])
				}
			})
		}
	}
}
