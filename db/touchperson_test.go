// A phone write stamps its person (touchPerson): the person's
// updated_in_db_at becomes the write's time when that is later, so that
// the people list filtered by updated_in_db_at (the sync feed) finds every
// person whose phones changed.

package db

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/phoneapi/phoneapi/db/dbtest"
)

// touchFixture is a person p, with a last name and old created_at and
// updated_at, a sibling of the same contact with a phone, and a person of
// another account list with a phone.
type touchFixture struct {
	s       *Store
	clk     *dbtest.Clock
	c       Contact
	p, sib  Person
	other   Scope
	st      *stamps
	created time.Time // p's created_at and updated_at
}

func newTouchFixture(t *testing.T) *touchFixture {
	t.Helper()
	s, clk := newStore(t)
	f := &touchFixture{s: s, clk: clk, created: time.Date(2020, 1, 2, 3, 4, 5, 6_000_000, time.UTC)}
	al := newAccountList(t, s)
	f.c = mustContact(t, s, Contact{AccountListID: al, Name: "c"})
	f.p = mustPerson(t, s, contactScope(f.c), Person{FirstName: "p", LastName: ptr("L"), CreatedAt: f.created, UpdatedAt: f.created})
	f.sib = mustPerson(t, s, contactScope(f.c), Person{FirstName: "sib"})
	mustPhone(t, s, personScope(f.c, f.sib), NewPhone{Number: "sib"})
	f.sib = f.person(t, f.sib.ID)
	f.other = newPerson(t, s)
	mustPhone(t, s, f.other, NewPhone{Number: "other"})
	f.st = &stamps{t: t, stores: []*Store{s}, al: al}
	f.st.wrote("fixture", nowMS(clk))
	return f
}

// person reads a person of the fixture's contact.
func (f *touchFixture) person(t *testing.T, id string) Person {
	t.Helper()
	p, err := f.s.Person(t.Context(), contactScope(f.c), id)
	return noErr(t, "Person", p, err)
}

// phone reads a phone of p.
func (f *touchFixture) phone(t *testing.T, id string) Phone {
	t.Helper()
	ph, err := f.s.Phone(t.Context(), personScope(f.c, f.p), id)
	return noErr(t, "Phone", ph, err)
}

// sc is the Scope of p's phones.
func (f *touchFixture) sc() Scope { return personScope(f.c, f.p) }

// TestPhoneWritesTouchPerson: every phone write (create, update, primary
// flip, historic, delete) makes its person's updated_in_db_at the write's
// time, the clock moving on a second before each; the person's other
// attributes stay, updated_at included; no other person changes; the
// account list's write clock is the latest stamp; and the people list from
// the write's time finds the person alone.
func TestPhoneWritesTouchPerson(t *testing.T) { forEachBackend(t, testPhoneWritesTouchPerson) }

func testPhoneWritesTouchPerson(t *testing.T) {
	f := newTouchFixture(t)
	s, ctx := f.s, t.Context()
	p0, sib0 := f.p, f.sib
	otherPath := Scope{AccountListID: f.other.AccountListID, ContactID: f.other.ContactID}
	other0, err := s.Person(ctx, otherPath, f.other.PersonID)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{} // phone name → id
	steps := []struct {
		name  string
		write func() ([]time.Time, error) // the stamps the write issued
		check func() error                // what else it did
	}{
		{"create the first phone", func() ([]time.Time, error) {
			ph, err := s.CreatePhone(ctx, f.sc(), NewPhone{Number: "a"})
			ids["a"] = ph.ID
			return []time.Time{ph.UpdatedInDBAt}, err
		}, func() error { return wantPrimary(f.phone(t, ids["a"]), true) }},
		{"create a second phone", func() ([]time.Time, error) {
			ph, err := s.CreatePhone(ctx, f.sc(), NewPhone{Number: "b", Location: ptr("home")})
			ids["b"] = ph.ID
			return []time.Time{ph.UpdatedInDBAt}, err
		}, func() error { return wantPrimary(f.phone(t, ids["b"]), false) }},
		{"update a phone's number", func() ([]time.Time, error) {
			ph, err := s.UpdatePhone(ctx, f.sc(), ids["b"], PhoneUpdate{Number: ptr("b2")}, nil)
			return []time.Time{ph.UpdatedInDBAt}, err
		}, nil},
		{"primary flip: b promoted, a demoted", func() ([]time.Time, error) {
			ph, err := s.UpdatePhone(ctx, f.sc(), ids["b"], PhoneUpdate{Primary: ptr(true)}, nil)
			return []time.Time{ph.UpdatedInDBAt, f.phone(t, ids["a"]).UpdatedInDBAt}, err
		}, func() error { return wantPrimary(f.phone(t, ids["a"]), false) }},
		{"historic: b demoted, a promoted", func() ([]time.Time, error) {
			ph, err := s.UpdatePhone(ctx, f.sc(), ids["b"], PhoneUpdate{Historic: ptr(true)}, nil)
			return []time.Time{ph.UpdatedInDBAt, f.phone(t, ids["a"]).UpdatedInDBAt}, err
		}, func() error { return wantPrimary(f.phone(t, ids["a"]), true) }},
		{"create with old created_at and updated_at", func() ([]time.Time, error) {
			ph, err := s.CreatePhone(ctx, f.sc(), NewPhone{Number: "c", CreatedAt: f.created, UpdatedAt: f.created})
			ids["c"] = ph.ID
			return []time.Time{ph.UpdatedInDBAt}, err
		}, nil},
		{"create a primary phone: a demoted", func() ([]time.Time, error) {
			ph, err := s.CreatePhone(ctx, f.sc(), NewPhone{Number: "d", Primary: true})
			ids["d"] = ph.ID
			return []time.Time{ph.UpdatedInDBAt, f.phone(t, ids["a"]).UpdatedInDBAt}, err
		}, func() error { return wantPrimary(f.phone(t, ids["a"]), false) }},
		{"update with an old updated_at", func() ([]time.Time, error) {
			ph, err := s.UpdatePhone(ctx, f.sc(), ids["c"], PhoneUpdate{UpdatedAt: &f.created, Location: Patch[string]{Set: true, Value: ptr("x")}}, nil)
			return []time.Time{ph.UpdatedInDBAt}, err
		}, nil},
		{"delete a phone", func() ([]time.Time, error) {
			if err := s.DeletePhone(ctx, f.sc(), ids["b"], nil); err != nil {
				return nil, err
			}
			return tombstoneTimes(t, s, f.c.AccountListID, ids["b"]), nil
		}, nil},
		{"delete the primary: c promoted", func() ([]time.Time, error) {
			if err := s.DeletePhone(ctx, f.sc(), ids["d"], nil); err != nil {
				return nil, err
			}
			return append(tombstoneTimes(t, s, f.c.AccountListID, ids["d"]), f.phone(t, ids["c"]).UpdatedInDBAt), nil
		}, func() error { return wantPrimary(f.phone(t, ids["c"]), true) }},
		{"delete the last phones", func() ([]time.Time, error) {
			if err := s.DeletePhone(ctx, f.sc(), ids["a"], nil); err != nil {
				return nil, err
			}
			if err := s.DeletePhone(ctx, f.sc(), ids["c"], nil); err != nil {
				return nil, err
			}
			return append(tombstoneTimes(t, s, f.c.AccountListID, ids["a"]), tombstoneTimes(t, s, f.c.AccountListID, ids["c"])...), nil
		}, nil},
	}
	for _, step := range steps {
		f.clk.Add(time.Second)
		now := nowMS(f.clk)
		times, err := step.write()
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		for _, at := range times {
			if !at.Equal(now) {
				t.Fatalf("%s: stamped %v, want the write's time %v", step.name, at, now)
			}
		}
		if step.check != nil {
			if err := step.check(); err != nil {
				t.Errorf("%s: %v", step.name, err)
			}
		}
		got := f.person(t, f.p.ID)
		want := p0
		want.UpdatedInDBAt = now
		if !samePerson(got, want) {
			t.Errorf("%s: person\n got %+v\nwant %+v", step.name, got, want)
		}
		f.st.wrote(step.name, append(times, got.UpdatedInDBAt)...)
		if sib := f.person(t, f.sib.ID); !samePerson(sib, sib0) {
			t.Errorf("%s: the sibling changed: %+v, was %+v", step.name, sib, sib0)
		}
		if other, err := s.Person(ctx, otherPath, f.other.PersonID); err != nil || !samePerson(other, other0) {
			t.Errorf("%s: the other account list's person: %+v, %v; was %+v", step.name, other, err, other0)
		}
		// The sync feed: the people written since the write's time.
		feed, total, err := s.ListAccountPeople(ctx, f.c.AccountListID, ListQuery{UpdatedInDBAt: &Range{From: &now}})
		if err != nil || total != 1 || len(feed) != 1 || !samePerson(feed[0], want) {
			t.Errorf("%s: people since %v: %v, %d, %v; want p alone", step.name, now, feed, total, err)
		}
	}

	// The person's old stamp no longer holds as a precondition; its new
	// one does.
	_, err = s.UpdatePerson(ctx, contactScope(f.c), f.p.ID, PersonUpdate{FirstName: ptr("q")}, &Precondition{At: p0.UpdatedInDBAt})
	wantErr(t, err, ErrStale)
	cur := f.person(t, f.p.ID)
	if _, err := s.UpdatePerson(ctx, contactScope(f.c), f.p.ID, PersonUpdate{FirstName: ptr("q")}, &Precondition{At: cur.UpdatedInDBAt}); err != nil {
		t.Errorf("UpdatePerson with the touched stamp as precondition: %v", err)
	}
}

// wantPrimary returns an error unless ph's Primary is want.
func wantPrimary(ph Phone, want bool) error {
	if ph.Primary != want {
		return fmt.Errorf("phone %s: Primary = %v, want %v", ph.Number, ph.Primary, want)
	}
	return nil
}

// TestTouchPersonNeverGoesBack: with the clock behind the account list's
// write clock, a phone write stamps its person with the write's time, the
// write clock as it was before the write: never earlier than the person's
// stamp. A person written in the same millisecond as the phone keeps its
// stamp (it is not moved a millisecond on, as an update of the person
// would be).
func TestTouchPersonNeverGoesBack(t *testing.T) { forEachBackend(t, testTouchPersonNeverGoesBack) }

func testTouchPersonNeverGoesBack(t *testing.T) {
	f := newTouchFixture(t)
	s, ctx := f.s, t.Context()
	al := f.c.AccountListID
	start := nowMS(f.clk)

	// Same millisecond, clock frozen: the person created at start keeps
	// start when its first phone is created then.
	a := mustPhone(t, s, f.sc(), NewPhone{Number: "a"})
	if got := f.person(t, f.p.ID).UpdatedInDBAt; !got.Equal(start) || !a.UpdatedInDBAt.Equal(start) {
		t.Fatalf("same millisecond: person %v, phone %v; want both %v", got, a.UpdatedInDBAt, start)
	}
	f.st.wrote("create a, same millisecond", a.UpdatedInDBAt, start)

	// The person written an hour ahead.
	f.clk.Set(dbtest.Start.Add(time.Hour))
	ahead, err := s.UpdatePerson(ctx, contactScope(f.c), f.p.ID, PersonUpdate{FirstName: ptr("p2")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.st.wrote("update the person an hour ahead", ahead.UpdatedInDBAt)
	p0 := f.person(t, f.p.ID)

	// Then phone writes with the clock back where it was.
	f.clk.Set(dbtest.Start)
	var ids []string
	writes := []struct {
		name  string
		write func() ([]time.Time, error)
	}{
		{"create b", func() ([]time.Time, error) {
			ph, err := s.CreatePhone(ctx, f.sc(), NewPhone{Number: "b"})
			ids = append(ids, ph.ID)
			return []time.Time{ph.UpdatedInDBAt}, err
		}},
		{"update b", func() ([]time.Time, error) {
			ph, err := s.UpdatePhone(ctx, f.sc(), ids[0], PhoneUpdate{Number: ptr("b2")}, nil)
			return []time.Time{ph.UpdatedInDBAt}, err
		}},
		{"update b again", func() ([]time.Time, error) {
			ph, err := s.UpdatePhone(ctx, f.sc(), ids[0], PhoneUpdate{Number: ptr("b3")}, nil)
			return []time.Time{ph.UpdatedInDBAt}, err
		}},
		{"flip the primary to b", func() ([]time.Time, error) {
			ph, err := s.UpdatePhone(ctx, f.sc(), ids[0], PhoneUpdate{Primary: ptr(true)}, nil)
			return []time.Time{ph.UpdatedInDBAt, f.phone(t, a.ID).UpdatedInDBAt}, err
		}},
		{"delete b", func() ([]time.Time, error) {
			if err := s.DeletePhone(ctx, f.sc(), ids[0], nil); err != nil {
				return nil, err
			}
			return append(tombstoneTimes(t, s, al, ids[0]), f.phone(t, a.ID).UpdatedInDBAt), nil
		}},
		{"delete a", func() ([]time.Time, error) {
			if err := s.DeletePhone(ctx, f.sc(), a.ID, nil); err != nil {
				return nil, err
			}
			return tombstoneTimes(t, s, al, a.ID), nil
		}},
	}
	prev := p0.UpdatedInDBAt
	for _, w := range writes {
		writeTime := highWater(t, s, al) // the clock is behind it
		if !writeTime.After(nowMS(f.clk)) {
			t.Fatalf("%s: the write clock %v is not ahead of the clock %v", w.name, writeTime, nowMS(f.clk))
		}
		times, err := w.write()
		if err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		got := f.person(t, f.p.ID)
		if got.UpdatedInDBAt.Before(prev) {
			t.Errorf("%s: the person's stamp went back from %v to %v", w.name, prev, got.UpdatedInDBAt)
		}
		if !got.UpdatedInDBAt.Equal(writeTime) {
			t.Errorf("%s: the person's stamp is %v, want the write's time %v", w.name, got.UpdatedInDBAt, writeTime)
		}
		want := p0
		want.UpdatedInDBAt = got.UpdatedInDBAt
		if !samePerson(got, want) {
			t.Errorf("%s: person\n got %+v\nwant %+v", w.name, got, want)
		}
		f.st.wrote(w.name, append(times, got.UpdatedInDBAt)...)
		prev = got.UpdatedInDBAt
	}
	if !prev.After(ahead.UpdatedInDBAt) {
		t.Errorf("after the writes the person's stamp is %v, not after %v", prev, ahead.UpdatedInDBAt)
	}
}

// TestFailedPhoneWritesLeavePerson: a phone write that fails (a stale
// precondition, an id that exists, a scope that does not hold, a missing
// phone) changes nothing: not the person's stamp, nor the write clock;
// also when it runs beside writes that succeed (on SQLite, maybe in the
// same group commit).
func TestFailedPhoneWritesLeavePerson(t *testing.T) {
	forEachBackend(t, testFailedPhoneWritesLeavePerson)
}

func testFailedPhoneWritesLeavePerson(t *testing.T) {
	f := newFamily(t)
	s, ctx := f.s, t.Context()
	a := f.phones["a"]
	stale := &Precondition{At: a.UpdatedInDBAt.Add(-time.Second)}
	tests := []struct {
		name  string
		err   error
		write func() error
	}{
		{"update, stale precondition", ErrStale, func() error {
			return errOf(s.UpdatePhone(ctx, f.in(f.p1), a.ID, PhoneUpdate{Number: ptr("x")}, stale))
		}},
		{"update a primary flip, stale precondition", ErrStale, func() error {
			return errOf(s.UpdatePhone(ctx, f.in(f.p1), f.phones["b"].ID, PhoneUpdate{Primary: ptr(true)},
				&Precondition{Holds: func(time.Time) bool { return false }}))
		}},
		{"delete, stale precondition", ErrStale, func() error {
			return s.DeletePhone(ctx, f.in(f.p1), a.ID, stale)
		}},
		{"create, the id exists", ErrConflict, func() error {
			return errOf(s.CreatePhone(ctx, f.in(f.p1), NewPhone{ID: a.ID, Number: "x"}))
		}},
		{"create a primary, the id is another person's phone", ErrConflict, func() error {
			return errOf(s.CreatePhone(ctx, f.in(f.p1), NewPhone{ID: f.phones["k"].ID, Number: "x", Primary: true}))
		}},
		{"create, the person is under another contact", ErrNotFound, func() error {
			return errOf(s.CreatePhone(ctx, personScope(f.keep, f.p1), NewPhone{Number: "x"}))
		}},
		{"update another person's phone", ErrNotFound, func() error {
			return errOf(s.UpdatePhone(ctx, f.in(f.p1), f.phones["c"].ID, PhoneUpdate{Number: ptr("x")}, nil))
		}},
		{"delete another account list's phone", ErrNotFound, func() error {
			return s.DeletePhone(ctx, f.in(f.p1), f.otherPhone, nil)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.clk.Add(time.Second) // a write that succeeded would move the person
			before, hw := snapshot(t, s), highWater(t, s, f.al)
			if err := tt.write(); !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if after := snapshot(t, s); after != before {
				t.Errorf("the failed write changed the database:\n%s\nwas\n%s", after, before)
			}
			if got := highWater(t, s, f.al); !got.Equal(hw) {
				t.Errorf("write clock %v, was %v", got, hw)
			}
		})
	}

	// Failing and succeeding writes at once: p1's creates all conflict,
	// p2's succeed. p1 keeps its stamp; p2 gets a write's time.
	f.clk.Add(time.Second)
	p1 := f.person1(t)
	errs := goTogether(16, func(i int) error {
		if i%2 == 0 {
			return errOf(s.CreatePhone(ctx, f.in(f.p1), NewPhone{ID: a.ID, Number: "x"}))
		}
		return errOf(s.CreatePhone(ctx, f.in(f.p2), NewPhone{Number: fmt.Sprint(i)}))
	})()
	for i, err := range errs {
		if i%2 == 0 && !errors.Is(err, ErrConflict) || i%2 == 1 && err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if got := f.person1(t); !samePerson(got, p1) {
		t.Errorf("p1 after its failed creates: %+v, was %+v", got, p1)
	}
	p2, err := s.Person(ctx, contactScope(f.c), f.p2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !p2.UpdatedInDBAt.After(f.p2.UpdatedInDBAt) {
		t.Errorf("p2 after its creates: stamp %v, not after %v", p2.UpdatedInDBAt, f.p2.UpdatedInDBAt)
	}
	if hw, max := highWater(t, s, f.al), maxStamp(t, s, f.al); !hw.Equal(max) {
		t.Errorf("write clock %v, latest stamp %v", hw, max)
	}
}

// person1 reads the family's p1.
func (f *family) person1(t *testing.T) Person {
	t.Helper()
	p, err := f.s.Person(t.Context(), contactScope(f.c), f.p1.ID)
	return noErr(t, "Person", p, err)
}
