// Creating, reading, updating and deleting contacts, people and phones,
// and what a write does to the times and rows around it.

package db

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/phoneapi/phoneapi/db/dbtest"
)

func checkPhone(t *testing.T, what string, got, want Phone) {
	t.Helper()
	if !samePhone(got, want) {
		t.Errorf("%s:\n got %+v (cc %s, loc %s)\nwant %+v (cc %s, loc %s)", what,
			got, strOrNil(got.CountryCode), strOrNil(got.Location),
			want, strOrNil(want.CountryCode), strOrNil(want.Location))
	}
}

func TestPhoneCRUD(t *testing.T) { forEachBackend(t, testPhoneCRUD) }

func testPhoneCRUD(t *testing.T) {
	s, clk := newStore(t)
	ctx := t.Context()
	sc := newPerson(t, s)
	personID := sc.PersonID

	p := mustPhone(t, s, upperScope(sc), NewPhone{Number: "+1 555", CountryCode: ptr("US"), Historic: false})
	want := Phone{
		ID: p.ID, PersonID: personID, Number: "+1 555", CountryCode: ptr("US"),
		Primary: true, Source: "MPDX", ValidValues: true,
		CreatedAt: nowMS(clk), UpdatedAt: nowMS(clk), UpdatedInDBAt: nowMS(clk),
	}
	if _, err := uuid.Parse(p.ID); err != nil || p.ID != strings.ToLower(p.ID) {
		t.Errorf("ID = %q, want a lower-case UUID", p.ID)
	}
	checkPhone(t, "created", p, want)
	got, err := s.Phone(ctx, personPath(t, s, personID), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkPhone(t, "stored", got, want)

	clk.Add(time.Second)
	created := time.Date(2020, 1, 2, 3, 4, 5, 6_789_000, time.UTC)
	up, err := s.UpdatePhone(ctx, upperScope(sc), strings.ToUpper(p.ID), PhoneUpdate{
		Number:      ptr("+44 20"),
		CountryCode: Patch[string]{Set: true},
		Location:    Patch[string]{Set: true, Value: ptr("home")},
		Source:      ptr("Siebel"),
		ValidValues: ptr(false),
		CreatedAt:   &created,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want.Number, want.CountryCode, want.Location = "+44 20", nil, ptr("home")
	want.Source, want.ValidValues = "Siebel", false
	want.CreatedAt = created.Truncate(time.Millisecond)
	want.UpdatedAt, want.UpdatedInDBAt = nowMS(clk), nowMS(clk)
	checkPhone(t, "updated", up, want)
	got, _ = s.Phone(ctx, personPath(t, s, personID), p.ID)
	checkPhone(t, "stored after update", got, want)

	// Unset patches keep values.
	clk.Add(time.Second)
	up, err = s.UpdatePhone(ctx, sc, p.ID, PhoneUpdate{
		CountryCode: Patch[string]{Value: ptr("GB")},
		Location:    Patch[string]{Value: ptr("work")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want.UpdatedAt, want.UpdatedInDBAt = nowMS(clk), nowMS(clk)
	checkPhone(t, "empty update", up, want)

	list, _, err := s.ListPhones(ctx, personPath(t, s, personID), ListQuery{})
	if err != nil || len(list) != 1 {
		t.Fatalf("ListPhones = %+v, %v", list, err)
	}
	checkPhone(t, "listed", list[0], want)

	if err := s.DeletePhone(ctx, upperScope(sc), strings.ToUpper(p.ID), nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.Phone(ctx, personPath(t, s, personID), p.ID)
	wantErr(t, err, ErrNotFound)
	// The path holds; the phone is gone: the phone's ScopeError, not the path's.
	for _, err := range []error{
		s.DeletePhone(ctx, sc, p.ID, nil),
		func() error { return errOf(s.UpdatePhone(ctx, sc, p.ID, PhoneUpdate{}, nil)) }(),
	} {
		wantErr(t, err, ErrNotFound)
		var se *ScopeError
		if !errors.As(err, &se) || se.Kind != KindPhone || se.ID != p.ID {
			t.Errorf("missing phone under a valid path: %v, want the phone's ScopeError", err)
		}
	}
	list, _, err = s.ListPhones(ctx, personPath(t, s, personID), ListQuery{})
	if err != nil || list == nil || len(list) != 0 {
		t.Errorf("ListPhones after delete = %v, %v; want empty non-nil", list, err)
	}
	_, _, err = s.ListPhones(ctx, personPath(t, s, uuid.NewString()), ListQuery{})
	wantErr(t, err, ErrNotFound)
}

func TestContactCRUD(t *testing.T) { forEachBackend(t, testContactCRUD) }

func testContactCRUD(t *testing.T) {
	s, clk := newStore(t)
	ctx := t.Context()
	al := newAccountList(t, s)
	now := nowMS(clk)

	c := mustContact(t, s, Contact{AccountListID: al, Name: "Smith", UpdatedInDBAt: now.Add(-time.Hour)})
	if _, err := uuid.Parse(c.ID); err != nil || c.ID != strings.ToLower(c.ID) {
		t.Errorf("ID = %q, want a lower-case UUID", c.ID)
	}
	if c.AccountListID != al || c.Name != "Smith" {
		t.Errorf("created = %+v", c)
	}
	for name, ts := range map[string]time.Time{"CreatedAt": c.CreatedAt, "UpdatedAt": c.UpdatedAt, "UpdatedInDBAt": c.UpdatedInDBAt} {
		if !ts.Equal(now) || ts.Location() != time.UTC {
			t.Errorf("%s = %v, want %v UTC (input UpdatedInDBAt ignored)", name, ts, now)
		}
	}

	got, err := s.Contact(ctx, contactPath(t, s, c.ID))
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Errorf("Contact = %+v, want %+v", got, c)
	}

	clk.Add(time.Minute)
	created := time.Date(2020, 1, 1, 0, 0, 0, 123_456_789, time.FixedZone("x", 7200))
	updated, err := s.UpdateContact(ctx, al, c.ID, ContactUpdate{Name: ptr("Jones"), CreatedAt: &created}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := c
	want.Name = "Jones"
	want.CreatedAt = time.Date(2019, 12, 31, 22, 0, 0, 123_000_000, time.UTC)
	want.UpdatedAt = nowMS(clk)
	want.UpdatedInDBAt = nowMS(clk)
	if updated != want {
		t.Errorf("UpdateContact = %+v, want %+v", updated, want)
	}
	if got, _ := s.Contact(ctx, contactPath(t, s, c.ID)); got != want {
		t.Errorf("stored = %+v, want %+v", got, want)
	}

	clientUpdated := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	updated, err = s.UpdateContact(ctx, al, c.ID, ContactUpdate{UpdatedAt: &clientUpdated}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if updated.Name != "Jones" || !updated.UpdatedAt.Equal(clientUpdated) {
		t.Errorf("UpdateContact with UpdatedAt = %+v", updated)
	}

	if err := s.DeleteContact(ctx, al, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.Contact(ctx, contactPath(t, s, c.ID))
	wantErr(t, err, ErrNotFound)
	wantErr(t, s.DeleteContact(ctx, al, c.ID, nil), ErrNotFound)
	_, err = s.UpdateContact(ctx, al, c.ID, ContactUpdate{Name: ptr("x")}, nil)
	wantErr(t, err, ErrNotFound)
}

// TestUpdatedInDBAtStrictlyIncreasing updates a contact, a person and a
// phone in turn, each under a frozen clock, then a clock turned back, then a
// later clock; every kind starts again from the clock all three rows were
// created at, so the clock also goes back between rows. A write's time is
// the clock, but never before the latest time any earlier write of the
// account list issued:
// updated_in_db_at strictly increases per row (+1 ms when the write's time
// is not after the stored value) and never decreases across rows, and
// updated_at defaults to the write's time.
func TestUpdatedInDBAtStrictlyIncreasing(t *testing.T) {
	forEachBackend(t, testUpdatedInDBAtStrictlyIncreasing)
}

func testUpdatedInDBAtStrictlyIncreasing(t *testing.T) {
	s, clk := newStore(t)
	ctx := t.Context()
	c := mustContact(t, s, Contact{AccountListID: newAccountList(t, s), Name: "c"})
	p := mustPerson(t, s, contactScope(c), Person{FirstName: "p"})
	ph := mustPhone(t, s, personScope(c, p), NewPhone{Number: "1"})
	base := nowMS(clk) // every row was created at start
	latest := base     // the latest updated_in_db_at written so far, any row

	kinds := []struct {
		name   string
		update func() (updatedAt, updatedInDBAt time.Time, err error)
	}{
		{"contact", func() (time.Time, time.Time, error) {
			got, err := s.UpdateContact(ctx, c.AccountListID, c.ID, ContactUpdate{}, nil)
			return got.UpdatedAt, got.UpdatedInDBAt, err
		}},
		{"person", func() (time.Time, time.Time, error) {
			got, err := s.UpdatePerson(ctx, contactScope(c), p.ID, PersonUpdate{}, nil)
			return got.UpdatedAt, got.UpdatedInDBAt, err
		}},
		{"phone", func() (time.Time, time.Time, error) {
			got, err := s.UpdatePhone(ctx, personScope(c, p), ph.ID, PhoneUpdate{}, nil)
			return got.UpdatedAt, got.UpdatedInDBAt, err
		}},
	}
	for i, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			prev := base // this row's stored updated_in_db_at
			// write updates the row and checks its times against the
			// write's expected time: the clock, or latest if that is later.
			write := func(label string) time.Time {
				t.Helper()
				at := nowMS(clk)
				if latest.After(at) {
					at = latest
				}
				want := at
				if !want.After(prev) {
					want = prev.Add(time.Millisecond)
				}
				updatedAt, got, err := k.update()
				if err != nil {
					t.Fatalf("%s: %v", label, err)
				}
				if !got.After(prev) {
					t.Errorf("%s: UpdatedInDBAt = %v, not after the row's previous %v", label, got, prev)
				}
				if got.Before(latest) {
					t.Errorf("%s: UpdatedInDBAt = %v, before %v written earlier", label, got, latest)
				}
				if !got.Equal(want) || !updatedAt.Equal(at) {
					t.Fatalf("%s: UpdatedAt, UpdatedInDBAt = %v, %v; want %v, %v", label, updatedAt, got, at, want)
				}
				prev, latest = got, got
				return got
			}

			before := latest // for a later kind, the previous kind's "later clock" write
			clk.Set(dbtest.Start)
			for j := 1; j <= 3; j++ {
				got := write(fmt.Sprintf("frozen clock, update %d", j))
				// Spelled out: the first kind's row moves on 1 ms a write from
				// its creation; a later kind's row first jumps to the previous
				// kind's last write, not to start + 1 ms.
				want := base.Add(time.Duration(j) * time.Millisecond)
				if i > 0 {
					want = before.Add(time.Duration(j-1) * time.Millisecond)
				}
				if !got.Equal(want) {
					t.Fatalf("frozen clock, update %d: UpdatedInDBAt = %v, want %v", j, got, want)
				}
			}
			clk.Set(dbtest.Start.Add(-time.Hour)) // clock goes backwards
			write("backwards clock")
			clk.Set(latest.Add(time.Hour))
			if got := write("later clock"); !got.Equal(nowMS(clk)) {
				t.Fatalf("later clock: UpdatedInDBAt = %v, want the clock's %v", got, nowMS(clk))
			}
		})
	}
}

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
