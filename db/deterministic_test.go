package db

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestDeterministicGenerators: ids are version 4 UUIDs from the seed, the
// clock steps once per reading from its start, and Reset rewinds both.
func TestDeterministicGenerators(t *testing.T) {
	start := time.Date(2025, 1, 1, 9, 1, 0, 0, time.UTC)
	d := NewDeterministic(7, start, time.Second)
	var ids []string
	for range 5 {
		id := d.NewID()
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 || id != strings.ToLower(id) {
			t.Fatalf("id %q: not a lower-case version 4 UUID (%v)", id, err)
		}
		ids = append(ids, id)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(ids)))) != 5 {
		t.Fatalf("ids repeat: %v", ids)
	}
	for i := range 3 {
		if got, want := d.Now(), start.Add(time.Duration(i)*time.Second); !got.Equal(want) {
			t.Fatalf("reading %d: %v, want %v", i, got, want)
		}
	}
	d.Reset()
	if got := d.NewID(); got != ids[0] {
		t.Fatalf("after Reset the first id is %s, want %s", got, ids[0])
	}
	if got := d.Now(); !got.Equal(start) {
		t.Fatalf("after Reset the clock reads %v, want %v", got, start)
	}
	if other := NewDeterministic(8, start, time.Second).NewID(); other == ids[0] {
		t.Fatal("seeds 7 and 8 begin with the same id")
	}
}

// TestDeterministicStore: two stores with the same generators, given the
// same writes (creates with server-made ids, updates, deletes of a phone,
// a person and a contact, whose tombstones the database makes otherwise),
// end with the same rows and ids, on both engines; every id and timestamp
// they made comes from the generators.
func TestDeterministicStore(t *testing.T) { forEachBackend(t, testDeterministicStore) }

func testDeterministicStore(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	session := func() string {
		s := openStore(t)
		d := NewDeterministic(99, start, 2*time.Second)
		s.SetDeterministic(d)
		ctx := t.Context()
		al := ensureUser(t, s, "44444444-4444-4444-8444-444444444444")
		var b strings.Builder
		c := mustContact(t, s, Contact{AccountListID: al, Name: "One"})
		c2 := mustContact(t, s, Contact{AccountListID: al, Name: "Two"})
		p := mustPerson(t, s, contactScope(c), Person{FirstName: "Ada"})
		p2 := mustPerson(t, s, contactScope(c2), Person{FirstName: "Bo"})
		var phones []Phone
		for i := range 3 {
			phones = append(phones, mustPhone(t, s, personScope(c, p), NewPhone{Number: fmt.Sprintf("+1202555%04d", i)}))
			mustPhone(t, s, personScope(c2, p2), NewPhone{Number: fmt.Sprintf("+1312555%04d", i)})
		}
		noErr(t, "DeletePhone", 0, s.DeletePhone(ctx, personScope(c, p), phones[0].ID, nil))
		noErr(t, "DeletePerson", 0, s.DeletePerson(ctx, contactScope(c), p.ID, nil))
		noErr(t, "DeleteContact", 0, s.DeleteContact(ctx, al, c2.ID, nil))
		deleted, _, err := s.ListDeleted(ctx, al, DeletedQuery{})
		noErr(t, "ListDeleted", 0, err)
		fmt.Fprintf(&b, "account list %s\ncontacts %s %s\n", al, c.ID, c2.ID)
		for _, x := range deleted {
			fmt.Fprintf(&b, "tombstone %s %s %s %s\n", x.ID, x.Type, x.DeletableID, x.DeletedAt.Format(time.RFC3339Nano))
		}
		if len(deleted) != 1+3+5 { // a phone; a person's 2 phones and the person; a contact's person's 3 phones, the person and the contact
			t.Fatalf("%d tombstones:\n%s", len(deleted), b.String())
		}
		// Every id made comes from d, in order of use.
		check := NewDeterministic(99, start, 2*time.Second)
		made := map[string]bool{}
		for range 40 {
			made[check.NewID()] = true
		}
		for _, id := range []string{al, c.ID, c2.ID, p.ID, p2.ID, phones[1].ID} {
			if !made[id] {
				t.Errorf("id %s is not from the generator", id)
			}
		}
		for _, x := range deleted {
			if !made[x.ID] {
				t.Errorf("tombstone id %s is not from the generator", x.ID)
			}
			if x.DeletedAt.Before(start) || x.DeletedAt.Sub(start)%(2*time.Second) != 0 {
				t.Errorf("tombstone time %v is not the clock's", x.DeletedAt)
			}
		}
		return b.String()
	}
	a, b := session(), session()
	if a != b {
		t.Fatalf("the same writes on two deterministic stores differ:\n%s\n---\n%s", a, b)
	}
}

// TestFixtureLatest: Latest is the fixture's latest timestamp of any kind.
func TestFixtureLatest(t *testing.T) {
	s := openStore(t)
	s.SetClock(func() time.Time { return time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC) })
	al := ensureUser(t, s, "55555555-5555-4555-8555-555555555555")
	c := mustContact(t, s, Contact{AccountListID: al, Name: "X"})
	s.SetClock(func() time.Time { return time.Date(2024, 5, 6, 7, 9, 0, 0, time.UTC) })
	noErr(t, "DeleteContact", 0, s.DeleteContact(t.Context(), al, c.ID, nil))
	var buf strings.Builder
	noErr(t, "Export", 0, errOf(s.Export(t.Context(), &buf, nil)))
	f, err := ReadFixture(strings.NewReader(buf.String()))
	noErr(t, "ReadFixture", 0, err)
	if got, want := f.Latest(), time.Date(2024, 5, 6, 7, 9, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("Latest %v, want %v (the tombstone)", got, want)
	}
	buf.Reset()
	noErr(t, "Export", 0, errOf(openStore(t).Export(t.Context(), &buf, nil)))
	empty, err := ReadFixture(strings.NewReader(buf.String()))
	noErr(t, "ReadFixture", 0, err)
	if !empty.Latest().IsZero() {
		t.Fatalf("an empty fixture's Latest is %v", empty.Latest())
	}
}
