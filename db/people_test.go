package db

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestPersonCRUD(t *testing.T) { forEachBackend(t, testPersonCRUD) }

func testPersonCRUD(t *testing.T) {
	s, clk := newStore(t)
	ctx := t.Context()
	c := mustContact(t, s, Contact{AccountListID: newAccountList(t, s), Name: "c"})

	p := mustPerson(t, s, contactScope(c), Person{FirstName: "Ann", LastName: ptr("Lee")})
	if _, err := uuid.Parse(p.ID); err != nil || p.ID != strings.ToLower(p.ID) {
		t.Errorf("ID = %q, want a lower-case UUID", p.ID)
	}
	if !p.CreatedAt.Equal(nowMS(clk)) || !p.UpdatedAt.Equal(nowMS(clk)) || !p.UpdatedInDBAt.Equal(nowMS(clk)) {
		t.Errorf("timestamps = %v %v %v, want %v", p.CreatedAt, p.UpdatedAt, p.UpdatedInDBAt, nowMS(clk))
	}
	got, err := s.Person(ctx, contactPath(t, s, c.ID), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != p.ID || got.ContactID != c.ID || got.FirstName != "Ann" || strOrNil(got.LastName) != "Lee" ||
		!got.UpdatedInDBAt.Equal(p.UpdatedInDBAt) {
		t.Errorf("Person = %+v, want %+v", got, p)
	}

	steps := []struct {
		name      string
		u         PersonUpdate
		wantFirst string
		wantLast  string
	}{
		{"first name only keeps last name", PersonUpdate{FirstName: ptr("Bo")}, "Bo", "Lee"},
		{"set last name", PersonUpdate{LastName: Patch[string]{Set: true, Value: ptr("Kim")}}, "Bo", "Kim"},
		{"unset patch keeps last name", PersonUpdate{LastName: Patch[string]{Value: ptr("ignored")}}, "Bo", "Kim"},
		{"null last name", PersonUpdate{LastName: Patch[string]{Set: true}}, "Bo", "<nil>"},
	}
	for _, st := range steps {
		clk.Add(time.Second)
		up, err := s.UpdatePerson(ctx, contactScope(c), p.ID, st.u, nil)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		stored, err := s.Person(ctx, contactPath(t, s, c.ID), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []Person{up, stored} {
			if x.FirstName != st.wantFirst || strOrNil(x.LastName) != st.wantLast ||
				!x.UpdatedAt.Equal(nowMS(clk)) || !x.UpdatedInDBAt.Equal(nowMS(clk)) {
				t.Errorf("%s: got %+v (last %s), want first %s last %s at %v",
					st.name, x, strOrNil(x.LastName), st.wantFirst, st.wantLast, nowMS(clk))
			}
		}
	}

	list, _, err := s.ListPeople(ctx, contactPath(t, s, c.ID), ListQuery{})
	if err != nil || len(list) != 1 || list[0].ID != p.ID {
		t.Errorf("ListPeople = %+v, %v", list, err)
	}
	if err := s.DeletePerson(ctx, contactScope(c), p.ID, nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.Person(ctx, contactPath(t, s, c.ID), p.ID)
	wantErr(t, err, ErrNotFound)
	wantErr(t, s.DeletePerson(ctx, contactScope(c), p.ID, nil), ErrNotFound)
	list, _, err = s.ListPeople(ctx, contactPath(t, s, c.ID), ListQuery{})
	if err != nil || list == nil || len(list) != 0 {
		t.Errorf("ListPeople after delete = %v, %v; want empty non-nil", list, err)
	}
	_, _, err = s.ListPeople(ctx, contactPath(t, s, uuid.NewString()), ListQuery{})
	wantErr(t, err, ErrNotFound)
}

func TestCascadeDelete(t *testing.T) { forEachBackend(t, testCascadeDelete) }

func testCascadeDelete(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	al := newAccountList(t, s)
	c := mustContact(t, s, Contact{AccountListID: al, Name: "c"})
	keep := mustContact(t, s, Contact{AccountListID: al, Name: "keep"})
	p1 := mustPerson(t, s, contactScope(c), Person{FirstName: "p1"})
	p2 := mustPerson(t, s, contactScope(c), Person{FirstName: "p2"})
	pk := mustPerson(t, s, contactScope(keep), Person{FirstName: "pk"})
	for _, sc := range []Scope{personScope(c, p1), personScope(c, p1), personScope(c, p2), personScope(c, p2), personScope(keep, pk)} {
		mustPhone(t, s, sc, NewPhone{Number: "1"})
	}

	// Deleting a person deletes its phones only.
	if err := s.DeletePerson(ctx, contactScope(c), p1.ID, nil); err != nil {
		t.Fatal(err)
	}
	wantCount(t, s, 0, `SELECT COUNT(*) FROM phones WHERE person_id = ?`, p1.ID)
	wantCount(t, s, 2, `SELECT COUNT(*) FROM phones WHERE person_id = ?`, p2.ID)

	// Deleting a contact deletes its people and their phones only.
	if err := s.DeleteContact(ctx, al, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	wantCount(t, s, 0, `SELECT COUNT(*) FROM people WHERE contact_id = ?`, c.ID)
	wantCount(t, s, 0, `SELECT COUNT(*) FROM phones WHERE person_id = ?`, p2.ID)
	_, _, err := s.ListPhones(ctx, personPath(t, s, p2.ID), ListQuery{})
	wantErr(t, err, ErrNotFound)
	wantCount(t, s, 1, `SELECT COUNT(*) FROM phones`)
	if _, err := s.Person(ctx, contactPath(t, s, keep.ID), pk.ID); err != nil {
		t.Errorf("other contact's person: %v", err)
	}
}
