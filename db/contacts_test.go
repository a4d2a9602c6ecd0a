package db

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/phoneapi/phoneapi/db/dbtest"
)

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
