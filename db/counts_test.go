package db

import (
	"testing"
)

func TestAccountListCounts(t *testing.T) { forEachBackend(t, testAccountListCounts) }

// testAccountListCounts checks that each account list's contacts_count and
// people_count (migration 0006, kept by triggers) equal its rows after
// creates, deletes, cascades and the seed, and that unfiltered lists
// report them as total_count.
func testAccountListCounts(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	a, b := newAccountList(t, s), newAccountList(t, s)
	check := func(label string) {
		t.Helper()
		for _, al := range []string{a, b} {
			var contacts, people, wantContacts, wantPeople int
			err := s.pool().QueryRowContext(ctx, `SELECT contacts_count, people_count FROM account_lists WHERE id = ?`, al).Scan(&contacts, &people)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.pool().QueryRowContext(ctx, `SELECT COUNT(*) FROM contacts WHERE account_list_id = ?`, al).Scan(&wantContacts); err != nil {
				t.Fatal(err)
			}
			if err := s.pool().QueryRowContext(ctx, `SELECT COUNT(*) FROM people WHERE account_list_id = ?`, al).Scan(&wantPeople); err != nil {
				t.Fatal(err)
			}
			if contacts != wantContacts || people != wantPeople {
				t.Errorf("%s: account list counts %d contacts, %d people; rows %d, %d", label, contacts, people, wantContacts, wantPeople)
			}
			_, total, err := s.ListContacts(ctx, al, ListQuery{Limit: 1, Offset: 1})
			if err != nil || total != wantContacts {
				t.Errorf("%s: ListContacts total %d (%v), want %d", label, total, err, wantContacts)
			}
			_, total, err = s.ListAccountPeople(ctx, al, ListQuery{Limit: 1, Offset: 1})
			if err != nil || total != wantPeople {
				t.Errorf("%s: ListAccountPeople total %d (%v), want %d", label, total, err, wantPeople)
			}
		}
	}
	check("empty")
	c1 := mustContact(t, s, Contact{AccountListID: a, Name: "c1"})
	c2 := mustContact(t, s, Contact{AccountListID: a, Name: "c2"})
	mustContact(t, s, Contact{AccountListID: b, Name: "b1"})
	p1 := mustPerson(t, s, contactScope(c1), Person{FirstName: "p1"})
	mustPerson(t, s, contactScope(c1), Person{FirstName: "p2"})
	mustPerson(t, s, contactScope(c2), Person{FirstName: "p3"})
	mustPhone(t, s, personScope(c1, p1), NewPhone{Number: "1"})
	check("after creates")
	if err := s.DeletePerson(ctx, contactScope(c1), p1.ID, nil); err != nil {
		t.Fatal(err)
	}
	check("after a person's delete")
	if err := s.DeleteContact(ctx, a, c1.ID, nil); err != nil {
		t.Fatal(err)
	}
	check("after a contact's delete (its people with it)")
	if _, err := s.Seed(ctx, SeedOptions{AccountListID: b, Contacts: 30, PeoplePerContact: 3, PhonesPerPerson: 1}); err != nil {
		t.Fatal(err)
	}
	check("after the seed")
}
