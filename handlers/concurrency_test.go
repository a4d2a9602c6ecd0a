package handlers

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/phoneapi/phoneapi/db/dbtest"
)

// These tests drive the harness's a.do from several goroutines. a.do is
// safe for that: Echo, the store and the kin-openapi router and validators
// are shared read-only or synchronised, and it reports problems with
// t.Errorf (Fatal only if a response is not JSON at all). Goroutines here
// only collect responses; every assertion runs after they have all returned.

// parallel sends n requests at once (released together) and returns the
// responses in request order.
func parallel(a *api, n int, build func(i int) req) []*resp {
	return dbtest.Together(n, func(i int) *resp { return a.do(build(i)) })
}

// Of 10 concurrent updates of one resource carrying the same
// precondition, PUT and PATCH mixed, exactly one wins and its value is
// stored; the others get 409 (updated_in_db_at) or 412 (If-Match): for
// contacts, people and phones alike.
func TestConcurrentUpdatesOneWins(t *testing.T) {
	const n = 10
	a := newAPI(t)
	for _, pre := range []struct {
		name string
		code int // of the losers
	}{{"updated_in_db_at", http.StatusConflict}, {"If-Match", http.StatusPreconditionFailed}} {
		for _, k := range resourceKinds {
			t.Run(pre.name+"/"+k.typ, func(t *testing.T) {
				tr := a.tree()
				path := k.item(tr)
				before, tag := getWithETag(t, a, tr.tok, path)
				stored := before.attrs()["updated_in_db_at"]
				out := parallel(a, n, func(i int) req {
					attrs := map[string]any{k.attr: "w" + itoa(i)}
					var header map[string]string
					if pre.code == http.StatusPreconditionFailed {
						header = map[string]string{"If-Match": tag}
					} else {
						attrs["updated_in_db_at"] = stored
					}
					return req{Method: updateMethods[i%2], Path: path, Token: tr.tok, Body: doc(k.typ, attrs), Header: header}
				})
				winner := -1
				for i, r := range out {
					switch {
					case r.Code == http.StatusOK:
						if winner >= 0 {
							t.Errorf("requests %d and %d both succeeded", winner, i)
						}
						winner = i
					case r.Code == http.StatusPreconditionFailed && pre.code == r.Code:
						want412(t, r)
					case r.Code == http.StatusConflict && pre.code == r.Code:
						r.want(t, http.StatusConflict, "/data/attributes/updated_in_db_at")
					default:
						t.Errorf("request %d: status %d, want 200 or %d\n%s", i, r.Code, pre.code, r.Raw)
					}
				}
				if winner < 0 {
					t.Fatal("no request succeeded")
				}
				if g, _ := getWithETag(t, a, tr.tok, path); g.attrs()[k.attr] != "w"+itoa(winner) {
					t.Errorf("stored %v, want the winner's w%d", g.attrs()[k.attr], winner)
				}
			})
		}
	}
}

// Of 20 concurrent updates carrying the same updated_in_db_at, exactly one
// succeeds; the others get 409 reporting the winner's stored value, and
// the stored state is the winner's.
func TestPhoneConcurrentUpdatesSamePrecondition(t *testing.T) {
	const n = 20
	for _, mode := range []string{http.MethodPut, http.MethodPatch, "mixed"} {
		t.Run(mode, func(t *testing.T) {
			a := newAPI(t)
			tr := a.tree()
			before := mustGet(t, a, tr.tok, tr.phonePath())
			pre := before.attrs()["updated_in_db_at"]

			results := parallel(a, n, func(i int) req {
				method := mode
				if mode == "mixed" {
					method = updateMethods[i%2]
				}
				return req{Method: method, Path: tr.phonePath(), Token: tr.tok, Body: doc("phone_numbers", map[string]any{
					"location":         fmt.Sprintf("writer-%02d", i),
					"number":           fmt.Sprintf("617-555-%04d", 2000+i),
					"updated_in_db_at": pre,
				})}
			})

			after := mustGet(t, a, tr.tok, tr.phonePath())
			stored := after.attrs()
			winner := -1
			conflicts := 0
			for i, r := range results {
				switch r.Code {
				case http.StatusOK:
					if winner >= 0 {
						t.Errorf("requests %d and %d both succeeded", winner, i)
					}
					winner = i
				case http.StatusConflict:
					conflicts++
					if p := r.pointers(); len(p) != 1 || p[0] != "/data/attributes/updated_in_db_at" {
						t.Errorf("request %d: 409 pointers %v", i, p)
					}
					meta, _ := r.firstError()["meta"].(map[string]any)
					if meta["updated_in_db_at"] != stored["updated_in_db_at"] {
						t.Errorf("request %d: meta.updated_in_db_at %v, want the stored %v", i, meta["updated_in_db_at"], stored["updated_in_db_at"])
					}
				default:
					t.Errorf("request %d: status %d\n%s", i, r.Code, r.Raw)
				}
			}
			if winner < 0 || conflicts != n-1 {
				t.Fatalf("%d succeeded, %d conflicts; want 1 and %d", n-conflicts, conflicts, n-1)
			}
			w := results[winner].attrs()
			if stored["location"] != fmt.Sprintf("writer-%02d", winner) || stored["number"] != fmt.Sprintf("+1617555%04d", 2000+winner) {
				t.Errorf("stored %v / %v, want the winner's (%d)", stored["location"], stored["number"], winner)
			}
			if string(mustJSON(t, w)) != string(mustJSON(t, stored)) {
				t.Errorf("winner's response %v differs from the stored state %v", w, stored)
			}
			if !timestampOf(t, stored["updated_in_db_at"]).After(timestampOf(t, pre)) {
				t.Errorf("updated_in_db_at did not advance")
			}

			// The winner's value is now the precondition: the next update
			// with it succeeds, one with the old value still fails.
			r := a.do(req{Method: http.MethodPatch, Path: tr.phonePath(), Token: tr.tok, Body: doc("phone_numbers", map[string]any{"updated_in_db_at": pre, "location": "late"})})
			r.want(t, http.StatusConflict, "/data/attributes/updated_in_db_at")
			r = a.do(req{Method: http.MethodPatch, Path: tr.phonePath(), Token: tr.tok, Body: doc("phone_numbers", map[string]any{"updated_in_db_at": stored["updated_in_db_at"], "location": "next"})})
			r.want(t, http.StatusOK, "")
		})
	}
}

// personWithPhones creates a person in tr with n phones, numbered
// 617-555-first onwards, and returns its phones collection and the phones'
// ids in creation order.
func personWithPhones(t testing.TB, a *api, tr tree, n, first int) (string, []string) {
	t.Helper()
	path := newPerson(t, a, tr)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = createPhone(t, a, tr.tok, path, map[string]any{"number": fmt.Sprintf("617-555-%04d", first+i)}).id()
	}
	return path, ids
}

// Concurrent "make primary" requests (overwrite: true) on different phones
// of one person: all succeed and exactly one phone is primary afterwards.
func TestPhoneConcurrentMakePrimary(t *testing.T) {
	const n = 10
	a := newAPI(t)
	tr := a.tree()
	path, ids := personWithPhones(t, a, tr, n, 3000)
	for round := range 3 {
		results := parallel(a, n, func(i int) req {
			return req{Method: updateMethods[(i+round)%2], Path: path + "/" + ids[i], Token: tr.tok, Body: doc("phone_numbers", map[string]any{
				"primary": true, "overwrite": true,
			})}
		})
		for i, r := range results {
			if r.Code != http.StatusOK {
				t.Errorf("round %d request %d: status %d\n%s", round, i, r.Code, r.Raw)
			} else if r.attrs()["primary"] != true {
				t.Errorf("round %d request %d: response primary %v", round, i, r.attrs()["primary"])
			}
		}
		list := listPhones(t, a, tr.tok, path)
		if len(list) != n {
			t.Fatalf("round %d: %d phones, want %d", round, len(list), n)
		}
		if p := primaryInvariant(t, list); p == "" {
			t.Errorf("round %d: no primary", round)
		}
	}
}

// Concurrent creates on a person without phones: whatever they are sent
// with, exactly one ends up primary.
func TestPhoneConcurrentCreates(t *testing.T) {
	const n = 12
	for _, primary := range []bool{true, false} {
		t.Run(fmt.Sprintf("primary=%v", primary), func(t *testing.T) {
			a := newAPI(t)
			tr := a.tree()
			path := newPerson(t, a, tr)
			results := parallel(a, n, func(i int) req {
				return req{Method: http.MethodPost, Path: path, Token: tr.tok, Body: doc("phone_numbers", map[string]any{
					"number": fmt.Sprintf("617-555-%04d", 4000+i), "primary": primary,
				})}
			})
			for i, r := range results {
				if r.Code != http.StatusCreated {
					t.Errorf("request %d: status %d\n%s", i, r.Code, r.Raw)
				}
			}
			list := listPhones(t, a, tr.tok, path)
			if len(list) != n {
				t.Fatalf("%d phones, want %d", len(list), n)
			}
			primaryInvariant(t, list)
		})
	}
}

// A mix of concurrent writes that each move the primary (promote, demote,
// historicise, delete, create) leaves the invariant intact.
func TestPhoneConcurrentPrimaryChurn(t *testing.T) {
	const n = 16
	a := newAPI(t)
	tr := a.tree()
	path, ids := personWithPhones(t, a, tr, n, 5000)
	results := parallel(a, n+4, func(i int) req {
		if i >= n {
			return req{Method: http.MethodPost, Path: path, Token: tr.tok, Body: doc("phone_numbers", map[string]any{
				"number": fmt.Sprintf("617-555-%04d", 6000+i), "primary": i%2 == 0,
			})}
		}
		item := path + "/" + ids[i]
		var attrs map[string]any
		switch i % 4 {
		case 0:
			attrs = map[string]any{"primary": true}
		case 1:
			attrs = map[string]any{"primary": false}
		case 2:
			attrs = map[string]any{"historic": true}
		case 3:
			return req{Method: http.MethodDelete, Path: item, Token: tr.tok}
		}
		attrs["overwrite"] = true
		return req{Method: updateMethods[i%2], Path: item, Token: tr.tok, Body: doc("phone_numbers", attrs)}
	})
	for i, r := range results {
		want := http.StatusOK
		switch {
		case i >= n:
			want = http.StatusCreated
		case i%4 == 3:
			want = http.StatusNoContent
		}
		if r.Code != want {
			t.Errorf("request %d: status %d, want %d\n%s", i, r.Code, want, r.Raw)
		}
	}
	list := listPhones(t, a, tr.tok, path)
	if len(list) != n-n/4+4 {
		t.Errorf("%d phones, want %d", len(list), n-n/4+4)
	}
	if primaryInvariant(t, list) == "" {
		t.Errorf("no primary among %d phones", len(list))
	}
}
