// Preconditions (If-Unmodified-Since): an update or delete with a stale
// one writes nothing and reports the stored time; the same table of
// preconditions runs against every kind of row.

package db

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// precondition names a stored updated_in_db_at (nil if none), stale or
// not: the stored time, truncated to the second if truncate, moved by
// shift, at precision.
type precondition struct {
	name      string
	none      bool
	truncate  bool
	shift     time.Duration
	precision time.Duration
	stale     bool
}

// on returns the precondition for the stored time.
func (p precondition) on(stored time.Time) *Precondition {
	if p.none {
		return nil
	}
	if p.truncate {
		stored = stored.Truncate(time.Second)
	}
	return &Precondition{At: stored.Add(p.shift), Precision: p.precision}
}

// preconditions are the ways a precondition may name a stored time.
var preconditions = []precondition{
	{name: "none", none: true},
	{name: "exact ms", precision: time.Millisecond},
	{name: "second precision", truncate: true, precision: time.Second},
	{name: "ms mismatch, earlier", shift: -time.Millisecond, precision: time.Millisecond, stale: true},
	{name: "ms mismatch, later", shift: time.Millisecond, precision: time.Millisecond, stale: true},
	{name: "second-truncated at ms precision", truncate: true, precision: time.Millisecond, stale: true},
	{name: "second mismatch, earlier", shift: -time.Second, precision: time.Second, stale: true},
	{name: "second mismatch, later", shift: time.Second, precision: time.Second, stale: true},
}

// wantStale fails unless err is a *StaleError matching ErrStale whose
// Current is stored.
func wantStale(t *testing.T, err error, stored time.Time) {
	t.Helper()
	wantErr(t, err, ErrStale)
	var se *StaleError
	if !errors.As(err, &se) || !se.Current.Equal(stored) {
		t.Fatalf("err = %#v, want *StaleError with Current %v", err, stored)
	}
}

func TestUpdatePrecondition(t *testing.T) { forEachBackend(t, testUpdatePrecondition) }

// testUpdatePrecondition updates a contact, a person and a phone of a
// family (see newFamily) with each precondition: a stale one writes
// nothing anywhere; any other writes, and returns the row as stored.
func testUpdatePrecondition(t *testing.T) {
	kinds := []struct {
		name   string
		stored func(f *family) time.Time
		update func(ctx context.Context, f *family, pre *Precondition) (any, error)
		read   func(ctx context.Context, f *family) (any, error)
	}{
		{
			name:   "contact",
			stored: func(f *family) time.Time { return f.c.UpdatedInDBAt },
			update: func(ctx context.Context, f *family, pre *Precondition) (any, error) {
				return f.s.UpdateContact(ctx, f.al, f.c.ID, ContactUpdate{Name: ptr("new")}, pre)
			},
			read: func(ctx context.Context, f *family) (any, error) { return f.s.Contact(ctx, contactScope(f.c)) },
		},
		{
			name:   "person",
			stored: func(f *family) time.Time { return f.p1.UpdatedInDBAt },
			update: func(ctx context.Context, f *family, pre *Precondition) (any, error) {
				return f.s.UpdatePerson(ctx, contactScope(f.c), f.p1.ID, PersonUpdate{FirstName: ptr("new")}, pre)
			},
			read: func(ctx context.Context, f *family) (any, error) { return f.s.Person(ctx, contactScope(f.c), f.p1.ID) },
		},
		{
			name:   "phone",
			stored: func(f *family) time.Time { return f.phones["a"].UpdatedInDBAt },
			update: func(ctx context.Context, f *family, pre *Precondition) (any, error) {
				return f.s.UpdatePhone(ctx, f.in(f.p1), f.phones["a"].ID, PhoneUpdate{Number: ptr("new")}, pre)
			},
			read: func(ctx context.Context, f *family) (any, error) { return f.s.Phone(ctx, f.in(f.p1), f.phones["a"].ID) },
		},
	}
	for _, k := range kinds {
		for _, p := range preconditions {
			t.Run(k.name+"/"+p.name, func(t *testing.T) {
				ctx := t.Context()
				f := newFamily(t)
				f.clk.Add(time.Minute)
				stored := k.stored(f)
				if stored.Nanosecond() == 0 {
					t.Fatal("fixture needs a stored value with a sub-second part")
				}
				old, err := k.read(ctx, f)
				noErr(t, "read", old, err)
				before := snapshot(t, f.s)
				got, err := k.update(ctx, f, p.on(stored))
				now, rerr := k.read(ctx, f)
				noErr(t, "read", now, rerr)
				after := snapshot(t, f.s)
				if !p.stale {
					if err != nil {
						t.Fatalf("update: %v", err)
					}
					if !reflect.DeepEqual(got, now) || !strings.Contains(after, " new ") {
						t.Errorf("returned %+v, stored %+v; want them equal and named new", got, now)
					}
					return
				}
				wantStale(t, err, stored)
				if !reflect.DeepEqual(now, old) || after != before {
					t.Errorf("stale update wrote: stored %+v, want %+v; rows\n%s\n→\n%s", now, old, before, after)
				}
			})
		}
	}
}

func TestDeletePrecondition(t *testing.T) { forEachBackend(t, testDeletePrecondition) }

func testDeletePrecondition(t *testing.T) {
	kinds := []struct {
		name    string
		stored  func(f *family) time.Time
		del     func(ctx context.Context, f *family, pre *Precondition) error
		gone    string // query counting the target
		args    func(f *family) []any
		cascade int // tombstones written on success
	}{
		{
			name:   "phone",
			stored: func(f *family) time.Time { return f.phones["a"].UpdatedInDBAt },
			del: func(ctx context.Context, f *family, pre *Precondition) error {
				return f.s.DeletePhone(ctx, f.in(f.p1), f.phones["a"].ID, pre)
			},
			gone: `SELECT COUNT(*) FROM phones WHERE id = ?`, args: func(f *family) []any { return []any{f.phones["a"].ID} },
			cascade: 1,
		},
		{
			name:   "person",
			stored: func(f *family) time.Time { return f.p1.UpdatedInDBAt },
			del: func(ctx context.Context, f *family, pre *Precondition) error {
				return f.s.DeletePerson(ctx, contactScope(f.c), f.p1.ID, pre)
			},
			gone: `SELECT COUNT(*) FROM people WHERE id = ?`, args: func(f *family) []any { return []any{f.p1.ID} },
			cascade: 3,
		},
		{
			name:   "contact",
			stored: func(f *family) time.Time { return f.c.UpdatedInDBAt },
			del: func(ctx context.Context, f *family, pre *Precondition) error {
				return f.s.DeleteContact(ctx, f.al, f.c.ID, pre)
			},
			gone: `SELECT COUNT(*) FROM contacts WHERE id = ?`, args: func(f *family) []any { return []any{f.c.ID} },
			cascade: 8,
		},
	}
	for _, k := range kinds {
		for _, p := range preconditions {
			t.Run(k.name+"/"+p.name, func(t *testing.T) {
				f := newFamily(t)
				f.clk.Add(time.Minute)
				stored := k.stored(f)
				if stored.Nanosecond() == 0 {
					t.Fatal("fixture needs a stored value with a sub-second part")
				}
				before := snapshot(t, f.s)
				err := k.del(t.Context(), f, p.on(stored))
				n := count(t, f.s, k.gone, k.args(f)...)
				tombs := count(t, f.s, `SELECT COUNT(*) FROM deleted_records`)
				if !p.stale {
					if err != nil || n != 0 || tombs != k.cascade {
						t.Fatalf("delete = %v; %d left, %d tombstones; want deleted with %d", err, n, tombs, k.cascade)
					}
					return
				}
				wantStale(t, err, stored)
				if after := snapshot(t, f.s); n != 1 || tombs != 0 || after != before {
					t.Errorf("stale delete wrote: target rows %d, tombstones %d, rows\n%s\n→\n%s", n, tombs, before, after)
				}
			})
		}
	}
}
