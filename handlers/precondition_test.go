package handlers

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPreconditionCoarseLostUpdate reproduces the lost update of a
// precondition without milliseconds: the stored value is 08:12:35.584Z,
// and two clients both send 08:12:35Z (or a tenth, a hundredth, another
// offset of it) with their update. The first is honoured: the second
// then holds one version, the stored one. Its write makes a second
// version in the same second, so the other client's update, which may
// mean either, gets 409 with meta.updated_in_db_at, to the millisecond,
// and changes nothing; sent back, that value succeeds. Every kind of
// resource, PUT and PATCH.
func TestPreconditionCoarseLostUpdate(t *testing.T) {
	a := newAPI(t)
	t0 := time.Date(2030, 1, 2, 8, 12, 35, 584_000_000, time.UTC)
	clk := newClock(a, t0)
	sent := []string{
		"2030-01-02T08:12:35Z",
		"2030-01-02T09:12:35+01:00",
		"2030-01-02T08:12:35.5Z",
		"2030-01-02T08:12:35.58Z",
	}
	for _, k := range resourceKinds {
		for _, method := range updateMethods {
			for _, seen := range sent {
				t.Run(k.typ+"/"+method+"/"+seen, func(t *testing.T) {
					a := forTest(a, t)
					clk.Set(t0) // frozen: each write adds 1 ms
					tr := a.tree()
					path := k.item(tr)
					if got := storedAt(t, a, tr.tok, path); got != "2030-01-02T08:12:35.584Z" {
						t.Fatalf("stored updated_in_db_at %s, want the first version's 08:12:35.584Z", got)
					}
					update := func(value, pre string) *resp {
						return a.do(req{Method: method, Path: path, Token: tr.tok,
							Body: doc(k.typ, map[string]any{k.attr: value, "updated_in_db_at": pre})})
					}

					alice := update("alice", seen)
					alice.want(t, http.StatusOK, "")
					stored := alice.attrs()["updated_in_db_at"]
					if stored != "2030-01-02T08:12:35.585Z" {
						t.Fatalf("alice's write stored updated_in_db_at %v, want 08:12:35.585Z", stored)
					}

					bob := update("bob", seen)
					bob.want(t, http.StatusConflict, "/data/attributes/updated_in_db_at")
					e := bob.firstError()
					meta, _ := e["meta"].(map[string]any)
					if meta["updated_in_db_at"] != stored {
						t.Errorf("meta.updated_in_db_at %v, want the stored %v", meta["updated_in_db_at"], stored)
					}
					if d, _ := e["detail"].(string); !strings.Contains(d, "more than one version") {
						t.Errorf("detail %q does not say the value is ambiguous", d)
					}
					after := mustGet(t, a, tr.tok, path).attrs()
					if after[k.attr] != "alice" || after["updated_in_db_at"] != stored {
						t.Fatalf("after bob's refused update: %s %v, updated_in_db_at %v; want alice's", k.attr, after[k.attr], after["updated_in_db_at"])
					}

					update("bob", stored.(string)).want(t, http.StatusOK, "")
					if got := mustGet(t, a, tr.tok, path).attrs()[k.attr]; got != "bob" {
						t.Errorf("%s = %v after bob's retry with the stored value, want bob", k.attr, got)
					}
				})
			}
		}
	}
}
