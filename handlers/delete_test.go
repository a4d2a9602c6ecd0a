package handlers

import (
	"net/http"
	"strings"
	"testing"
)

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
