package handlers

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// syncCopy is an offline client's copy of its account list's people and
// phones, as their documents' attributes (JSON), with each person's
// contact and each phone's person.
type syncCopy struct {
	people, phones       map[string]string // id → attributes
	contactOf, personOf  map[string]string // person → contact, phone → person
	watermark            string            // the latest updated_in_db_at seen
	feedReqs, deleteReqs int
}

func newSyncCopy() *syncCopy {
	return &syncCopy{people: map[string]string{}, phones: map[string]string{},
		contactOf: map[string]string{}, personOf: map[string]string{}}
}

// pull reads the people feed, GET /api/v2/contacts/people with
// include=phone_numbers (from the watermark when it has one), a page of
// 500 at a time, and takes every person with its current phones.
func (c *syncCopy) pull(t *testing.T, a *api, tok string) {
	t.Helper()
	q := url.Values{"include": {"phone_numbers"}, "per_page": {"500"}}
	if c.watermark != "" {
		q.Set("filter[updated_in_db_at]", c.watermark+"..")
	}
	next := "/api/v2/contacts/people?" + q.Encode()
	watermark := c.watermark
	for next != "" {
		r := mustGet(t, a, tok, next)
		c.feedReqs++
		inc, ok := includedObjects(r)
		if !ok {
			t.Fatalf("feed page without included\n%s", r.Raw)
		}
		byID := map[string]map[string]any{}
		for _, obj := range inc {
			byID[obj["id"].(string)] = obj
		}
		for _, p := range r.list() {
			id := p["id"].(string)
			rels := p["relationships"].(map[string]any)
			c.people[id] = mustMarshal(t, p["attributes"])
			c.contactOf[id] = rels["contact"].(map[string]any)["data"].(map[string]any)["id"].(string)
			watermark = maxStamp(watermark, attrsOf(p)["updated_in_db_at"])
			keep := map[string]bool{}
			for _, ref := range rels["phone_numbers"].(map[string]any)["data"].([]any) {
				phID := ref.(map[string]any)["id"].(string)
				ph := byID[phID]
				if ph == nil {
					t.Fatalf("phone %s linked but not included", phID)
				}
				keep[phID] = true
				c.phones[phID] = mustMarshal(t, ph["attributes"])
				c.personOf[phID] = id
				watermark = maxStamp(watermark, attrsOf(ph)["updated_in_db_at"])
			}
			for phID, owner := range c.personOf {
				if owner == id && !keep[phID] {
					delete(c.phones, phID)
					delete(c.personOf, phID)
				}
			}
		}
		next, _ = r.Doc["links"].(map[string]any)["next"].(string)
	}
	c.watermark = watermark
}

// pullDeletions reads the tombstones since the watermark it had before
// pull and removes what they name.
func (c *syncCopy) pullDeletions(t *testing.T, a *api, tok, since string) {
	t.Helper()
	next := "/api/v2/deleted_records?" + url.Values{"filter[since]": {since}, "per_page": {"500"}}.Encode()
	for next != "" {
		r := mustGet(t, a, tok, next)
		c.deleteReqs++
		for _, it := range r.list() {
			at := attrsOf(it)
			id := at["deletable_id"].(string)
			switch at["deletable_type"] {
			case "people":
				c.dropPerson(id)
			case "phone_numbers":
				delete(c.phones, id)
				delete(c.personOf, id)
			case "contacts":
				for p, contact := range c.contactOf {
					if contact == id {
						c.dropPerson(p)
					}
				}
			}
		}
		next, _ = r.Doc["links"].(map[string]any)["next"].(string)
	}
}

func (c *syncCopy) dropPerson(id string) {
	delete(c.people, id)
	delete(c.contactOf, id)
	for ph, owner := range c.personOf {
		if owner == id {
			delete(c.phones, ph)
			delete(c.personOf, ph)
		}
	}
}

func maxStamp(w string, v any) string {
	if s, _ := v.(string); s > w {
		return s
	}
	return w
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// An offline client holding a full copy and a watermark learns every
// person and phone created, changed or deleted since (creates, updates,
// deletes, primary flips, a contact's cascade) in ceil(changes/per_page)
// requests of the people feed plus the tombstones, and then holds exactly
// the server's state: a phone write advances its person's
// updated_in_db_at, so the feed with include=phone_numbers carries every
// changed phone.
func TestSyncFeedFewRequests(t *testing.T) {
	const changes, perPage = 300, 500
	a := newAPI(t)
	tok := seededUser(t, a, 1000, 2, 2) // 2,000 people, 4,000 phones
	client := newSyncCopy()
	client.pull(t, a, tok)
	if len(client.people) != 2000 || len(client.phones) != 4000 {
		t.Fatalf("first copy: %d people, %d phones", len(client.people), len(client.phones))
	}
	if client.feedReqs != 4 {
		t.Errorf("the first copy took %d requests, want 4", client.feedReqs)
	}

	// The server's side: what exists, to pick changes from.
	contacts := map[string]bool{}
	people := map[string]string{} // person → contact
	phones := map[string]string{} // phone → person
	for p, c := range client.contactOf {
		people[p], contacts[c] = c, true
	}
	for ph, p := range client.personOf {
		phones[ph] = p
	}
	rng := rand.New(rand.NewPCG(13, 13))
	pick := func(m map[string]string) (string, string) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		k := keys[rng.IntN(len(keys))]
		return k, m[k]
	}
	pathOfPerson := func(p string) string { return "/api/v2/contacts/" + people[p] + "/people/" + p }
	counts := map[string]int{}
	for i := 0; i < changes; i++ {
		n := rng.IntN(100)
		var op string
		switch {
		case n < 10:
			op = "create person"
			_, c := pick(people)
			r := a.do(req{Method: "POST", Path: "/api/v2/contacts/" + c + "/people", Token: tok, Body: doc("people", map[string]any{"first_name": fmt.Sprint("New ", i)})})
			r.want(t, http.StatusCreated, "")
			people[r.id()] = c
		case n < 25:
			op = "update person"
			p, _ := pick(people)
			a.do(req{Method: "PATCH", Path: pathOfPerson(p), Token: tok, Body: doc("people", map[string]any{"last_name": fmt.Sprint("Changed ", i), "overwrite": true})}).want(t, http.StatusOK, "")
		case n < 32:
			op = "delete person"
			p, _ := pick(people)
			a.do(req{Method: "DELETE", Path: pathOfPerson(p), Token: tok}).want(t, http.StatusNoContent, "")
			delete(people, p)
			for ph, owner := range phones {
				if owner == p {
					delete(phones, ph)
				}
			}
		case n < 50:
			op = "create phone"
			p, _ := pick(people)
			r := a.do(req{Method: "POST", Path: pathOfPerson(p) + "/phones", Token: tok,
				Body: doc("phone_numbers", map[string]any{"number": fmt.Sprintf("617-555-%04d", i), "primary": rng.IntN(3) == 0})})
			r.want(t, http.StatusCreated, "")
			phones[r.id()] = p
		case n < 70:
			op = "update phone"
			ph, p := pick(phones)
			a.do(req{Method: "PUT", Path: pathOfPerson(p) + "/phones/" + ph, Token: tok,
				Body: doc("phone_numbers", map[string]any{"location": fmt.Sprint("loc ", i), "overwrite": true})}).want(t, http.StatusOK, "")
		case n < 85:
			op = "primary flip"
			ph, p := pick(phones)
			a.do(req{Method: "PATCH", Path: pathOfPerson(p) + "/phones/" + ph, Token: tok,
				Body: doc("phone_numbers", map[string]any{"primary": true, "overwrite": true})}).want(t, http.StatusOK, "")
		case n < 97:
			op = "delete phone"
			ph, p := pick(phones)
			a.do(req{Method: "DELETE", Path: pathOfPerson(p) + "/phones/" + ph, Token: tok}).want(t, http.StatusNoContent, "")
			delete(phones, ph)
		default:
			op = "delete contact"
			_, c := pick(people)
			a.do(req{Method: "DELETE", Path: "/api/v2/contacts/" + c, Token: tok}).want(t, http.StatusNoContent, "")
			for p, pc := range people {
				if pc == c {
					delete(people, p)
				}
			}
			for ph, owner := range phones {
				if _, ok := people[owner]; !ok {
					delete(phones, ph)
				}
			}
		}
		counts[op]++
	}
	t.Logf("changes: %v", counts)

	since := client.watermark
	client.feedReqs = 0
	client.pull(t, a, tok)
	client.pullDeletions(t, a, tok, since)
	limit := (changes+perPage-1)/perPage + 2
	if client.feedReqs > limit || client.deleteReqs > limit {
		t.Errorf("sync took %d people-feed and %d tombstone requests, want at most %d each", client.feedReqs, client.deleteReqs, limit)
	}
	t.Logf("sync after %d changes: %d people-feed requests, %d tombstone requests (limit %d each)", changes, client.feedReqs, client.deleteReqs, limit)

	server := newSyncCopy()
	server.pull(t, a, tok)
	for what, pair := range map[string][2]map[string]string{
		"people": {client.people, server.people}, "phones": {client.phones, server.phones},
		"phone owners": {client.personOf, server.personOf}, "person contacts": {client.contactOf, server.contactOf},
	} {
		got, want := pair[0], pair[1]
		if len(got) != len(want) {
			t.Errorf("%s: the client holds %d, the server %d", what, len(got), len(want))
		}
		wrong := 0
		for id, w := range want {
			if got[id] != w {
				if wrong++; wrong <= 5 {
					t.Errorf("%s %s: client %s, server %s", what, id, got[id], w)
				}
			}
		}
		for id := range got {
			if _, ok := want[id]; !ok {
				if wrong++; wrong <= 5 {
					t.Errorf("%s %s: the client still holds it; the server does not", what, id)
				}
			}
		}
	}
}
