// Preconditions of less than millisecond precision (a whole second, a
// tenth, a hundredth) are honoured only when the interval they name holds
// exactly one version of the row: the stored updated_in_db_at and not the
// previous version's, which every write keeps in prev_updated_in_db_at.

package db

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/phoneapi/phoneapi/db/dbtest"
)

// prevOf returns the prev_updated_in_db_at of the row id of table, nil
// for NULL.
func prevOf(t *testing.T, s *Store, table, id string) *time.Time {
	t.Helper()
	prev, err := prevVersion(t.Context(), s.pool(), table, id)
	if err != nil {
		t.Fatal(err)
	}
	return prev
}

// wantPrev fails unless the row id of table keeps want (nil: NULL) as its
// previous version.
func wantPrev(t *testing.T, s *Store, table, id string, want *time.Time) {
	t.Helper()
	got := prevOf(t, s, table, id)
	if (got == nil) != (want == nil) || got != nil && !got.Equal(*want) {
		t.Errorf("%s %s: prev_updated_in_db_at %s, want %s", table, id, fmtPrev(got), fmtPrev(want))
	}
}

func fmtPrev(t *time.Time) string {
	if t == nil {
		return "NULL"
	}
	return t.Format("15:04:05.000")
}

// versioned is a contact with a person with one phone, in an account
// list of their own, all first written at the same millisecond, t0
// (dbtest.Start), on a store whose clock the test sets.
type versioned struct {
	s   *Store
	clk *dbtest.Clock
	t0  time.Time
	c   Contact
	p   Person
	ph  Phone
}

func newVersioned(t *testing.T, s *Store, clk *dbtest.Clock) *versioned {
	t.Helper()
	clk.Set(dbtest.Start) // a new account list's clock starts behind it
	v := &versioned{s: s, clk: clk, t0: nowMS(clk)}
	v.c = mustContact(t, s, Contact{AccountListID: newAccountList(t, s), Name: "c"})
	v.p = mustPerson(t, s, contactScope(v.c), Person{FirstName: "p"})
	v.ph = mustPhone(t, s, personScope(v.c, v.p), NewPhone{Number: "1"})
	return v
}

func (v *versioned) in() Scope { return personScope(v.c, v.p) }

// rowKind is a kind of row and a write that takes a precondition.
type rowKind struct {
	name  string
	table string
	id    func(v *versioned) string
	// stored reads the row's updated_in_db_at.
	stored func(ctx context.Context, v *versioned) (time.Time, error)
	// bump writes a new version of the row, without a precondition.
	bump func(ctx context.Context, v *versioned) error
	// write is the guarded write; del reports that it is a delete.
	write func(ctx context.Context, v *versioned, pre *Precondition) error
	del   bool
}

// rowKinds are the guarded writes of each kind of row: updates and deletes
// of contacts, people and phones.
func rowKinds() []rowKind {
	contact := rowKind{table: "contacts",
		id: func(v *versioned) string { return v.c.ID },
		stored: func(ctx context.Context, v *versioned) (time.Time, error) {
			c, err := v.s.Contact(ctx, contactScope(v.c))
			return c.UpdatedInDBAt, err
		},
		bump: func(ctx context.Context, v *versioned) error {
			return errOf(v.s.UpdateContact(ctx, v.c.AccountListID, v.c.ID, ContactUpdate{}, nil))
		},
	}
	person := rowKind{table: "people",
		id: func(v *versioned) string { return v.p.ID },
		stored: func(ctx context.Context, v *versioned) (time.Time, error) {
			p, err := v.s.Person(ctx, contactScope(v.c), v.p.ID)
			return p.UpdatedInDBAt, err
		},
		bump: func(ctx context.Context, v *versioned) error {
			return errOf(v.s.UpdatePerson(ctx, contactScope(v.c), v.p.ID, PersonUpdate{}, nil))
		},
	}
	phone := rowKind{table: "phones",
		id: func(v *versioned) string { return v.ph.ID },
		stored: func(ctx context.Context, v *versioned) (time.Time, error) {
			p, err := v.s.Phone(ctx, v.in(), v.ph.ID)
			return p.UpdatedInDBAt, err
		},
		bump: func(ctx context.Context, v *versioned) error {
			return errOf(v.s.UpdatePhone(ctx, v.in(), v.ph.ID, PhoneUpdate{}, nil))
		},
	}
	var kinds []rowKind
	for _, k := range []rowKind{contact, person, phone} {
		u, d := k, k
		u.name, d.name, d.del = "update "+k.table, "delete "+k.table, true
		switch k.table {
		case "contacts":
			u.write = func(ctx context.Context, v *versioned, pre *Precondition) error {
				return errOf(v.s.UpdateContact(ctx, v.c.AccountListID, v.c.ID, ContactUpdate{Name: ptr("new")}, pre))
			}
			d.write = func(ctx context.Context, v *versioned, pre *Precondition) error {
				return v.s.DeleteContact(ctx, v.c.AccountListID, v.c.ID, pre)
			}
		case "people":
			u.write = func(ctx context.Context, v *versioned, pre *Precondition) error {
				return errOf(v.s.UpdatePerson(ctx, contactScope(v.c), v.p.ID, PersonUpdate{FirstName: ptr("new")}, pre))
			}
			d.write = func(ctx context.Context, v *versioned, pre *Precondition) error {
				return v.s.DeletePerson(ctx, contactScope(v.c), v.p.ID, pre)
			}
		case "phones":
			u.write = func(ctx context.Context, v *versioned, pre *Precondition) error {
				return errOf(v.s.UpdatePhone(ctx, v.in(), v.ph.ID, PhoneUpdate{Number: ptr("new")}, pre))
			}
			d.write = func(ctx context.Context, v *versioned, pre *Precondition) error {
				return v.s.DeletePhone(ctx, v.in(), v.ph.ID, pre)
			}
		}
		kinds = append(kinds, u, d)
	}
	return kinds
}

func TestPreconditionVersions(t *testing.T) { forEachBackend(t, testPreconditionVersions) }

// testPreconditionVersions writes a row's versions at chosen times (the
// first at t0, 05:06:07.890, then one per bump, at t0 plus its offset),
// then runs the guarded write with a precondition at t0 plus at, at
// precision: it succeeds, or fails with the stored value and writes
// nothing, as the rule says.
func testPreconditionVersions(t *testing.T) {
	const ms, tenth, hundredth, second = time.Millisecond, 100 * time.Millisecond, 10 * time.Millisecond, time.Second
	tests := []struct {
		name      string
		bumps     []time.Duration // the later versions, after t0
		at        time.Duration   // the precondition's time, after t0 (truncated to its precision)
		precision time.Duration
		stale     bool
	}{
		{name: "ms, one version", precision: ms},
		{name: "ms, the latest of two in one second", bumps: []time.Duration{5 * ms}, at: 5 * ms, precision: ms},
		{name: "ms, the previous version", bumps: []time.Duration{5 * ms}, precision: ms, stale: true},
		{name: "second, one version", precision: second},
		{name: "tenth, one version", precision: tenth},
		{name: "hundredth, one version", precision: hundredth},
		{name: "second, two versions in it", bumps: []time.Duration{5 * ms}, at: 5 * ms, precision: second, stale: true},
		{name: "tenth, two versions in it", bumps: []time.Duration{5 * ms}, at: 5 * ms, precision: tenth, stale: true},
		{name: "hundredth, two versions in it", bumps: []time.Duration{5 * ms}, at: 5 * ms, precision: hundredth, stale: true},
		{name: "second, the first of two versions in it", bumps: []time.Duration{5 * ms}, precision: second, stale: true},
		{name: "tenth, the previous version in another tenth", bumps: []time.Duration{50 * ms}, at: 50 * ms, precision: tenth},
		{name: "hundredth, the previous version in another hundredth", bumps: []time.Duration{50 * ms}, at: 50 * ms, precision: hundredth},
		{name: "second, the previous version in the second before", bumps: []time.Duration{second}, at: second, precision: second},
		{name: "second, the last two of three versions in it", bumps: []time.Duration{second, second + 5*ms}, at: second, precision: second, stale: true},
		{name: "second, the last of three versions alone in it", bumps: []time.Duration{5 * ms, second}, at: second, precision: second},
		{name: "second, stale: the stored value is in the next second", bumps: []time.Duration{second}, precision: second, stale: true},
		{name: "tenth, stale: another tenth", at: -tenth, precision: tenth, stale: true},
	}
	s, clk := newStore(t)
	for _, k := range rowKinds() {
		for _, tt := range tests {
			t.Run(k.name+"/"+tt.name, func(t *testing.T) {
				ctx := t.Context()
				v := newVersioned(t, s, clk)
				var prev *time.Time
				for _, d := range tt.bumps {
					last, err := k.stored(ctx, v)
					noErr(t, "read", last, err)
					prev = &last
					v.clk.Set(v.t0.Add(d))
					if err := k.bump(ctx, v); err != nil {
						t.Fatal(err)
					}
				}
				stored, err := k.stored(ctx, v)
				noErr(t, "read", stored, err)
				want := v.t0
				if n := len(tt.bumps); n > 0 {
					want = v.t0.Add(tt.bumps[n-1])
				}
				if !stored.Equal(want) {
					t.Fatalf("stored %s, want %s", stored.Format("15:04:05.000"), want.Format("15:04:05.000"))
				}
				wantPrev(t, v.s, k.table, k.id(v), prev)

				v.clk.Add(time.Minute)
				before := snapshot(t, v.s)
				pre := &Precondition{At: v.t0.Add(tt.at).Truncate(tt.precision), Precision: tt.precision}
				err = k.write(ctx, v, pre)
				if tt.stale {
					wantStale(t, err, stored)
					if after := snapshot(t, v.s); after != before {
						t.Errorf("refused write wrote: rows\n%s\n→\n%s", before, after)
					}
					return
				}
				if err != nil {
					t.Fatalf("write: %v", err)
				}
				now, err := k.stored(ctx, v)
				switch {
				case k.del && !errors.Is(err, ErrNotFound):
					t.Errorf("after the delete: %v, %v; want ErrNotFound", now, err)
				case !k.del && (err != nil || !now.After(stored)):
					t.Errorf("after the update: updated_in_db_at %v, %v; want after %v", now, err, stored)
				case !k.del:
					wantPrev(t, v.s, k.table, k.id(v), &stored)
				}
			})
		}
	}
}

func TestPreconditionVersionsOfSideEffects(t *testing.T) {
	forEachBackend(t, testPreconditionVersionsOfSideEffects)
}

// testPreconditionVersionsOfSideEffects checks the writes that advance the
// updated_in_db_at of a row other than their target: a phone's create,
// update or delete stamps its person (touchPerson); the one-primary rule
// demotes or promotes another phone (setPrimaries). Each keeps the value
// it replaces as the previous version, so that a whole-second
// precondition sent for the row's first version, now one of two in that
// second, is refused; one for the new version, alone in its second, is
// honoured.
func testPreconditionVersionsOfSideEffects(t *testing.T) {
	tests := []struct {
		name   string
		table  string // the row written as a side effect
		target func(v *versioned, other Phone) string
		write  func(ctx context.Context, v *versioned, other Phone) error
	}{
		{"phone create stamps its person", "people", func(v *versioned, _ Phone) string { return v.p.ID },
			func(ctx context.Context, v *versioned, _ Phone) error {
				return errOf(v.s.CreatePhone(ctx, v.in(), NewPhone{Number: "3"}))
			}},
		{"phone update stamps its person", "people", func(v *versioned, _ Phone) string { return v.p.ID },
			func(ctx context.Context, v *versioned, _ Phone) error {
				return errOf(v.s.UpdatePhone(ctx, v.in(), v.ph.ID, PhoneUpdate{Location: Patch[string]{Set: true, Value: ptr("x")}}, nil))
			}},
		{"phone delete stamps its person", "people", func(v *versioned, _ Phone) string { return v.p.ID },
			func(ctx context.Context, v *versioned, other Phone) error {
				return v.s.DeletePhone(ctx, v.in(), other.ID, nil)
			}},
		{"making a phone primary demotes the primary", "phones", func(v *versioned, _ Phone) string { return v.ph.ID },
			func(ctx context.Context, v *versioned, other Phone) error {
				return errOf(v.s.UpdatePhone(ctx, v.in(), other.ID, PhoneUpdate{Primary: ptr(true)}, nil))
			}},
		{"deleting the primary promotes another phone", "phones", func(_ *versioned, other Phone) string { return other.ID },
			func(ctx context.Context, v *versioned, _ Phone) error {
				return v.s.DeletePhone(ctx, v.in(), v.ph.ID, nil)
			}},
	}
	s, clk := newStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			v := newVersioned(t, s, clk)
			other := mustPhone(t, v.s, v.in(), NewPhone{Number: "2"}) // at t0: not primary
			id := tt.target(v, other)
			wantPrev(t, v.s, tt.table, id, nil)

			v.clk.Set(v.t0.Add(5 * time.Millisecond))
			if err := tt.write(ctx, v, other); err != nil {
				t.Fatal(err)
			}
			wantPrev(t, v.s, tt.table, id, &v.t0)

			// Both versions are in 05:06:07: a whole-second precondition
			// names either, and is refused; the millisecond one is not.
			v.clk.Set(v.t0.Add(time.Second))
			second := &Precondition{At: v.t0.Truncate(time.Second), Precision: time.Second}
			exact := &Precondition{At: v.t0.Add(5 * time.Millisecond), Precision: time.Millisecond}
			write := func(pre *Precondition) error {
				if tt.table == "people" {
					return errOf(v.s.UpdatePerson(ctx, contactScope(v.c), id, PersonUpdate{FirstName: ptr("new")}, pre))
				}
				return errOf(v.s.UpdatePhone(ctx, v.in(), id, PhoneUpdate{Location: Patch[string]{Set: true, Value: ptr("new")}}, pre))
			}
			wantStale(t, write(second), v.t0.Add(5*time.Millisecond))
			if err := write(exact); err != nil {
				t.Fatalf("the millisecond precondition: %v", err)
			}
			// The new version, 05:06:08.890, is alone in its second.
			wantPrev(t, v.s, tt.table, id, ptr(v.t0.Add(5*time.Millisecond)))
			v.clk.Add(time.Minute)
			if err := write(&Precondition{At: v.t0.Add(time.Second).Truncate(time.Second), Precision: time.Second}); err != nil {
				t.Fatalf("a whole second holding one version: %v", err)
			}
		})
	}
}

func TestMigratePrevUpdatedInDBAt(t *testing.T) { forEachBackend(t, testMigratePrevUpdatedInDBAt) }

// testMigratePrevUpdatedInDBAt brings a database to version 6, stores rows
// with plain SQL, as an older binary would have, then runs Migrate: their
// history is unknown, so each gets updated_in_db_at - 1 ms as its previous
// version, and a whole-second precondition is honoured only for a row
// whose stored value is the first millisecond of its second (no earlier
// version can share it). Rows created afterwards have none (NULL), and no
// write can store a previous version that is not earlier than the current
// one (the CHECK).
func testMigratePrevUpdatedInDBAt(t *testing.T) {
	ctx := t.Context()
	engine := backendOf(t)
	upTo6 := migrationsBefore(t, engine, "_prev_updated_in_db_at.sql")
	if v, err := migrationVersion(upTo6[len(upTo6)-1]); err != nil || v != 6 {
		t.Fatalf("migrations before prev_updated_in_db_at: %v; want 0001 to 0006", upTo6)
	}
	s := openDB(t, newDB(t))
	clk := dbtest.NewClock(dbtest.Start)
	s.SetClock(clk.Now)
	applyMigrations(t, s, upTo6)
	if columnExists(t, s, "contacts", prevColumn) {
		t.Fatal("contacts.prev_updated_in_db_at exists before migration 0007")
	}
	mid := nowMS(clk)                  // 05:06:07.890
	first := mid.Truncate(time.Second) // 05:06:07.000
	alMid, cMid := insertOldRows(t, s, oldStamps{mid.UnixMilli(), mid.UnixMilli(), mid.UnixMilli(), mid.UnixMilli()})
	alFirst, cFirst := insertOldRows(t, s, oldStamps{first.UnixMilli(), first.UnixMilli(), first.UnixMilli(), first.UnixMilli()})
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"contacts", "people", "phones"} {
		if !columnExists(t, s, table, prevColumn) {
			t.Fatalf("no %s.%s after Migrate", table, prevColumn)
		}
		wantCount(t, s, 2, `SELECT COUNT(*) FROM `+table+` WHERE prev_updated_in_db_at = updated_in_db_at - 1`)
	}

	clk.Add(time.Minute)
	second := func(at time.Time) *Precondition {
		return &Precondition{At: at.Truncate(time.Second), Precision: time.Second}
	}
	_, err := s.UpdateContact(ctx, alMid, cMid, ContactUpdate{Name: ptr("mid")}, second(mid))
	wantStale(t, err, mid)
	if _, err := s.UpdateContact(ctx, alFirst, cFirst, ContactUpdate{Name: ptr("first")}, second(first)); err != nil {
		t.Fatalf("a whole second whose first millisecond is the stored value: %v", err)
	}
	wantPrev(t, s, "contacts", cFirst, &first)
	if _, err := s.UpdateContact(ctx, alMid, cMid, ContactUpdate{Name: ptr("mid")}, &Precondition{At: mid, Precision: time.Millisecond}); err != nil {
		t.Fatalf("the millisecond precondition: %v", err)
	}

	c := mustContact(t, s, Contact{AccountListID: alMid, Name: "new"})
	wantPrev(t, s, "contacts", c.ID, nil)
	for _, table := range []string{"contacts", "people", "phones"} {
		_, err := s.pool().ExecContext(ctx, `UPDATE `+table+` SET prev_updated_in_db_at = updated_in_db_at`)
		if err == nil {
			t.Errorf("%s: a previous version equal to the current one was stored", table)
		}
	}
}

// TestPreconditionHolds checks the rule itself, for a row whose stored
// updated_in_db_at is 00:00:01.537 and whose previous version is prev.
func TestPreconditionHolds(t *testing.T) {
	const ms = time.Millisecond
	stored := time.Date(2024, 1, 1, 0, 0, 1, 537_000_000, time.UTC)
	before := func(d time.Duration) *time.Time { v := stored.Add(-d); return &v }
	second := Precondition{At: stored.Truncate(time.Second), Precision: time.Second}
	tenth := Precondition{At: stored.Truncate(100 * ms), Precision: 100 * ms}
	hundredth := Precondition{At: stored.Truncate(10 * ms), Precision: 10 * ms}
	tests := []struct {
		name  string
		pre   Precondition
		prev  *time.Time
		holds bool
	}{
		{"ms, exact", Precondition{At: stored, Precision: ms}, nil, true},
		{"ms, exact, other zone", Precondition{At: stored.In(time.FixedZone("x", 3600)), Precision: ms}, nil, true},
		{"ms, exact, sub-ms difference", Precondition{At: stored.Add(999 * time.Microsecond), Precision: ms}, nil, true},
		{"ms, exact, the previous version 1 ms before", Precondition{At: stored, Precision: ms}, before(ms), true},
		{"ms, other", Precondition{At: stored.Add(ms), Precision: ms}, nil, false},
		{"zero precision is ms", Precondition{At: stored.Truncate(time.Second)}, nil, false},
		{"second, one version", second, nil, true},
		{"second, the previous version in it", second, before(537 * ms), false},
		{"second, the previous version in the second before", second, before(538 * ms), true},
		{"tenth, one version", tenth, nil, true},
		{"tenth, the previous version in it", tenth, before(37 * ms), false},
		{"tenth, the previous version in the tenth before", tenth, before(38 * ms), true},
		{"hundredth, one version", hundredth, nil, true},
		{"hundredth, the previous version in it", hundredth, before(7 * ms), false},
		{"hundredth, the previous version in the hundredth before", hundredth, before(8 * ms), true},
		{"second, another second", Precondition{At: stored.Add(-time.Second).Truncate(time.Second), Precision: time.Second}, nil, false},
		{"Holds decides", Precondition{At: stored.Add(time.Hour), Holds: func(s time.Time) bool { return s.Equal(stored) }}, before(ms), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.pre.holds(stored, tt.prev); got != tt.holds {
				t.Errorf("holds(%s, %s) = %v, want %v", stored.Format("15:04:05.000"), fmtPrev(tt.prev), got, tt.holds)
			}
		})
	}
	var none *Precondition
	if err := none.check(t.Context(), conn{}, "phones", "x", stored); err != nil {
		t.Errorf("a nil precondition: %v", err)
	}
}
