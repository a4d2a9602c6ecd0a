package handlers

import (
	"net/http"
	"testing"
	"time"
)

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
			// update sends attrs to phone id; the response's primary must
			// be self unless self is nil, and then the list's primary want.
			update := func(step, id string, attrs map[string]any, self any, want string) {
				t.Helper()
				r := sendPhoneUpdate(t, a, method, tr.tok, ph(id), attrs)
				if self != nil && r.attrs()["primary"] != self {
					t.Errorf("%s: response primary = %v, want %v", step, r.attrs()["primary"], self)
				}
				expect(step, want)
			}
			// remove deletes phone id; the list's primary must then be want.
			remove := func(step, id, want string) []map[string]any {
				t.Helper()
				a.do(req{Method: "DELETE", Path: ph(id), Token: tr.tok}).want(t, http.StatusNoContent, "")
				return expect(step, want)
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
			update("primary:true on p3", p3.id(), map[string]any{"primary": true}, true, p3.id())
			update("primary:true on p1", p1.id(), map[string]any{"primary": true}, nil, p1.id())

			// Sending primary:true to the primary keeps it.
			update("primary:true on primary", p1.id(), map[string]any{"primary": true}, nil, p1.id())

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
			update("primary:true on historic", p1.id(), map[string]any{"primary": true}, false, p2.id())

			// Historic and primary in one request: historic wins.
			update("primary+historic on p3", p3.id(), map[string]any{"primary": true, "historic": true}, false, p2.id())
			update("un-historicise p3", p3.id(), map[string]any{"historic": false}, nil, p2.id())

			// A historic phone created with primary:true is stored false.
			p4 := createPhone(t, a, tr.tok, path, map[string]any{"number": "6175550104", "primary": true, "historic": true, "created_at": "2019-12-31T00:00:00.000Z"})
			if p4.attrs()["primary"] != false {
				t.Errorf("historic create primary = %v", p4.attrs()["primary"])
			}
			expect("historic create", p2.id())

			// Deleting the primary promotes the earliest remaining
			// non-historic phone (p3; p1 and p4 are historic).
			remove("delete primary", p2.id(), p3.id())

			// The only non-historic phone stays primary when sent false.
			update("primary:false on only phone", p3.id(), map[string]any{"primary": false}, true, p3.id())

			// Un-historicising an earlier phone does not steal primary.
			update("un-historicise p1", p1.id(), map[string]any{"historic": false}, nil, p3.id())

			// Historicising the primary promotes p1 (earlier than p3 anyway).
			update("historicise p3", p3.id(), map[string]any{"historic": true}, nil, p1.id())

			// No non-historic phone left: no primary.
			update("all historic", p1.id(), map[string]any{"historic": true}, nil, "")

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
			remove("delete primary again", p5.id(), p4.id())

			// Deleting a non-primary keeps the primary; deleting the last
			// leaves an empty list.
			remove("delete non-primary", p3.id(), p4.id())
			remove("delete p4", p4.id(), "")
			if l := remove("empty", p1.id(), ""); len(l) != 0 {
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
