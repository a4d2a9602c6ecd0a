package db

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/phoneapi/phoneapi/db/dbtest"
)

func TestValidValuesDefault(t *testing.T) { forEachBackend(t, testValidValuesDefault) }

func testValidValuesDefault(t *testing.T) {
	tests := []struct {
		name     string
		existing *NewPhone // created first, if set
		np       NewPhone
		want     bool
	}{
		{"default source, first phone", nil, NewPhone{}, true},
		{"default source, not first", &NewPhone{}, NewPhone{}, true},
		{"explicit MPDX, not first", &NewPhone{Source: "Siebel"}, NewPhone{Source: "MPDX"}, true},
		{"other source, first phone", nil, NewPhone{Source: "Siebel"}, true},
		{"other source, not first", &NewPhone{}, NewPhone{Source: "Siebel"}, false},
		{"other source, only a historic phone", &NewPhone{Historic: true}, NewPhone{Source: "Siebel"}, false},
		{"explicit false wins", nil, NewPhone{ValidValues: ptr(false)}, false},
		{"explicit true wins", &NewPhone{}, NewPhone{Source: "Siebel", ValidValues: ptr(true)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t)
			sc := newPerson(t, s)
			if tt.existing != nil {
				e := *tt.existing
				e.Number = "0"
				mustPhone(t, s, sc, e)
			}
			np := tt.np
			np.Number = "1"
			p := mustPhone(t, s, sc, np)
			if p.ValidValues != tt.want {
				t.Errorf("ValidValues = %v, want %v", p.ValidValues, tt.want)
			}
			if want := tt.np.Source; want != "" && p.Source != want || want == "" && p.Source != "MPDX" {
				t.Errorf("Source = %q", p.Source)
			}
			got, err := s.Phone(t.Context(), personPath(t, s, sc.PersonID), p.ID)
			if err != nil || got.ValidValues != tt.want {
				t.Errorf("stored ValidValues = %v, %v; want %v", got.ValidValues, err, tt.want)
			}
		})
	}
}

// phoneHarness drives one person's phones by name.
type phoneHarness struct {
	t     *testing.T
	s     *Store
	clk   *dbtest.Clock
	sc    Scope             // the person's
	ids   map[string]string // name → id
	names map[string]string // id → name
}

func newPhoneHarness(t *testing.T) *phoneHarness {
	s, clk := newStore(t)
	return &phoneHarness{t: t, s: s, clk: clk, sc: newPerson(t, s),
		ids: map[string]string{}, names: map[string]string{}}
}

// base is the created_at of the first phone; later phones default to one
// second apart, in creation order.
var base = time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)

func (h *phoneHarness) add(name string, np NewPhone) Phone {
	h.t.Helper()
	np.Number = name
	if np.CreatedAt.IsZero() {
		np.CreatedAt = base.Add(time.Duration(len(h.ids)) * time.Second)
	}
	p, err := h.s.CreatePhone(h.t.Context(), h.sc, np)
	if err != nil {
		h.t.Fatalf("create %s: %v", name, err)
	}
	h.ids[name], h.names[p.ID] = p.ID, name
	return p
}

func (h *phoneHarness) update(name string, u PhoneUpdate) Phone {
	h.t.Helper()
	p, err := h.s.UpdatePhone(h.t.Context(), h.sc, h.ids[name], u, nil)
	if err != nil {
		h.t.Fatalf("update %s: %v", name, err)
	}
	return p
}

func (h *phoneHarness) del(name string) {
	h.t.Helper()
	if err := h.s.DeletePhone(h.t.Context(), h.sc, h.ids[name], nil); err != nil {
		h.t.Fatalf("delete %s: %v", name, err)
	}
}

// state returns the stored phones by name and checks the one-primary rule.
func (h *phoneHarness) state() map[string]Phone {
	h.t.Helper()
	list, _, err := h.s.ListPhones(h.t.Context(), h.sc, ListQuery{})
	if err != nil {
		h.t.Fatal(err)
	}
	m := map[string]Phone{}
	primaries, current := 0, 0
	for _, p := range list {
		m[h.names[p.ID]] = p
		if !p.Historic {
			current++
			if p.Primary {
				primaries++
			}
		} else if p.Primary {
			h.t.Errorf("historic phone %s is primary", h.names[p.ID])
		}
	}
	if current > 0 && primaries != 1 {
		h.t.Errorf("%d non-historic phones, %d of them primary; want exactly 1", current, primaries)
	}
	return m
}

func TestPrimaryInvariant(t *testing.T) { forEachBackend(t, testPrimaryInvariant) }

func testPrimaryInvariant(t *testing.T) {
	historic := NewPhone{Historic: true}
	primary := NewPhone{Primary: true}
	tests := []struct {
		name   string
		setup  func(h *phoneHarness)
		act    func(h *phoneHarness) *Phone // the written phone; nil for deletes
		target string                       // name of the phone acted on
		frozen bool                         // do not advance the clock before act
		want   map[string]bool              // name → primary after act
		bumped []string                     // other phones act must re-stamp
	}{
		{
			name:   "first phone sent primary",
			act:    func(h *phoneHarness) *Phone { return ptr(h.add("a", primary)) },
			target: "a", want: map[string]bool{"a": true},
		},
		{
			name:   "first phone sent not primary becomes primary",
			act:    func(h *phoneHarness) *Phone { return ptr(h.add("a", NewPhone{})) },
			target: "a", want: map[string]bool{"a": true},
		},
		{
			name:   "first non-historic phone after historic ones becomes primary",
			setup:  func(h *phoneHarness) { h.add("h", historic) },
			act:    func(h *phoneHarness) *Phone { return ptr(h.add("a", NewPhone{})) },
			target: "a", want: map[string]bool{"h": false, "a": true},
		},
		{
			name:   "second phone sent primary demotes first",
			setup:  func(h *phoneHarness) { h.add("a", NewPhone{}) },
			act:    func(h *phoneHarness) *Phone { return ptr(h.add("b", primary)) },
			target: "b", want: map[string]bool{"a": false, "b": true}, bumped: []string{"a"},
		},
		{
			name:   "second phone sent primary demotes first, frozen clock",
			setup:  func(h *phoneHarness) { h.add("a", NewPhone{}) },
			act:    func(h *phoneHarness) *Phone { return ptr(h.add("b", primary)) },
			target: "b", frozen: true, want: map[string]bool{"a": false, "b": true}, bumped: []string{"a"},
		},
		{
			name:   "second phone sent not primary keeps first",
			setup:  func(h *phoneHarness) { h.add("a", NewPhone{}) },
			act:    func(h *phoneHarness) *Phone { return ptr(h.add("b", NewPhone{})) },
			target: "b", want: map[string]bool{"a": true, "b": false},
		},
		{
			name:   "update primary true on non-primary demotes primary",
			setup:  func(h *phoneHarness) { h.add("a", NewPhone{}); h.add("b", NewPhone{}) },
			act:    func(h *phoneHarness) *Phone { return ptr(h.update("b", PhoneUpdate{Primary: ptr(true)})) },
			target: "b", want: map[string]bool{"a": false, "b": true}, bumped: []string{"a"},
		},
		{
			name:   "update primary true on primary changes no other",
			setup:  func(h *phoneHarness) { h.add("a", NewPhone{}); h.add("b", NewPhone{}) },
			act:    func(h *phoneHarness) *Phone { return ptr(h.update("a", PhoneUpdate{Primary: ptr(true)})) },
			target: "a", want: map[string]bool{"a": true, "b": false},
		},
		{
			name: "primary false on primary promotes earliest by created_at",
			setup: func(h *phoneHarness) {
				h.add("a", primary)
				h.add("c", NewPhone{CreatedAt: base.Add(time.Hour)})
				h.add("b", NewPhone{CreatedAt: base.Add(time.Minute)})
			},
			act:    func(h *phoneHarness) *Phone { return ptr(h.update("a", PhoneUpdate{Primary: ptr(false)})) },
			target: "a", want: map[string]bool{"a": false, "b": true, "c": false}, bumped: []string{"b"},
		},
		{
			name: "promotion ties on created_at broken by id",
			setup: func(h *phoneHarness) {
				h.add("a", primary)
				h.add("y", NewPhone{ID: "00000000-0000-0000-0000-0000000000ff", CreatedAt: base.Add(time.Hour)})
				h.add("x", NewPhone{ID: "00000000-0000-0000-0000-000000000001", CreatedAt: base.Add(time.Hour)})
			},
			act:    func(h *phoneHarness) *Phone { return ptr(h.update("a", PhoneUpdate{Primary: ptr(false)})) },
			target: "a", want: map[string]bool{"a": false, "x": true, "y": false}, bumped: []string{"x"},
		},
		{
			name:   "primary false on non-primary keeps primary",
			setup:  func(h *phoneHarness) { h.add("a", NewPhone{}); h.add("b", NewPhone{}) },
			act:    func(h *phoneHarness) *Phone { return ptr(h.update("b", PhoneUpdate{Primary: ptr(false)})) },
			target: "b", want: map[string]bool{"a": true, "b": false},
		},
		{
			name:   "only phone sent primary false stays primary",
			setup:  func(h *phoneHarness) { h.add("a", NewPhone{}) },
			act:    func(h *phoneHarness) *Phone { return ptr(h.update("a", PhoneUpdate{Primary: ptr(false)})) },
			target: "a", want: map[string]bool{"a": true},
		},
		{
			name:   "only non-historic phone sent primary false stays primary",
			setup:  func(h *phoneHarness) { h.add("h", historic); h.add("a", NewPhone{}) },
			act:    func(h *phoneHarness) *Phone { return ptr(h.update("a", PhoneUpdate{Primary: ptr(false)})) },
			target: "a", want: map[string]bool{"h": false, "a": true},
		},
		{
			name: "historicising primary promotes earliest non-historic",
			setup: func(h *phoneHarness) {
				h.add("a", NewPhone{})
				h.add("h", historic)
				h.add("b", NewPhone{})
				h.add("c", NewPhone{})
			},
			act:    func(h *phoneHarness) *Phone { return ptr(h.update("a", PhoneUpdate{Historic: ptr(true)})) },
			target: "a", want: map[string]bool{"a": false, "h": false, "b": true, "c": false}, bumped: []string{"b"},
		},
		{
			name:  "historic and primary at once on primary promotes another",
			setup: func(h *phoneHarness) { h.add("a", NewPhone{}); h.add("b", NewPhone{}) },
			act: func(h *phoneHarness) *Phone {
				return ptr(h.update("a", PhoneUpdate{Historic: ptr(true), Primary: ptr(true)}))
			},
			target: "a", want: map[string]bool{"a": false, "b": true}, bumped: []string{"b"},
		},
		{
			name:   "historic phone created primary is stored not primary",
			setup:  func(h *phoneHarness) { h.add("a", NewPhone{}) },
			act:    func(h *phoneHarness) *Phone { return ptr(h.add("h", NewPhone{Historic: true, Primary: true})) },
			target: "h", want: map[string]bool{"a": true, "h": false},
		},
		{
			name:   "historic phone updated primary is stored not primary",
			setup:  func(h *phoneHarness) { h.add("a", NewPhone{}); h.add("h", historic) },
			act:    func(h *phoneHarness) *Phone { return ptr(h.update("h", PhoneUpdate{Primary: ptr(true)})) },
			target: "h", want: map[string]bool{"a": true, "h": false},
		},
		{
			name:   "only historic phone created primary is not primary",
			act:    func(h *phoneHarness) *Phone { return ptr(h.add("h", NewPhone{Historic: true, Primary: true})) },
			target: "h", want: map[string]bool{"h": false},
		},
		{
			name:   "all historic leaves none primary",
			setup:  func(h *phoneHarness) { h.add("a", NewPhone{}); h.add("h", historic) },
			act:    func(h *phoneHarness) *Phone { return ptr(h.update("a", PhoneUpdate{Historic: ptr(true)})) },
			target: "a", want: map[string]bool{"a": false, "h": false},
		},
		{
			name: "un-historicising with no non-historic phone makes it primary",
			setup: func(h *phoneHarness) {
				h.add("a", NewPhone{})
				h.add("h", historic)
				h.update("a", PhoneUpdate{Historic: ptr(true)})
			},
			act:    func(h *phoneHarness) *Phone { return ptr(h.update("h", PhoneUpdate{Historic: ptr(false)})) },
			target: "h", want: map[string]bool{"a": false, "h": true},
		},
		{
			name:   "un-historicising keeps the existing primary",
			setup:  func(h *phoneHarness) { h.add("a", NewPhone{}); h.add("h", historic) },
			act:    func(h *phoneHarness) *Phone { return ptr(h.update("h", PhoneUpdate{Historic: ptr(false)})) },
			target: "h", want: map[string]bool{"a": true, "h": false},
		},
		{
			name:   "other fields keep primaries",
			setup:  func(h *phoneHarness) { h.add("a", NewPhone{}); h.add("b", NewPhone{}) },
			act:    func(h *phoneHarness) *Phone { return ptr(h.update("b", PhoneUpdate{Number: ptr("9")})) },
			target: "b", want: map[string]bool{"a": true, "b": false},
		},
		{
			name: "deleting primary promotes earliest",
			setup: func(h *phoneHarness) {
				h.add("a", NewPhone{})
				h.add("h", NewPhone{Historic: true, CreatedAt: base.Add(time.Second)})
				h.add("c", NewPhone{CreatedAt: base.Add(time.Hour)})
				h.add("b", NewPhone{CreatedAt: base.Add(time.Minute)})
			},
			act:    func(h *phoneHarness) *Phone { h.del("a"); return nil },
			target: "a", want: map[string]bool{"h": false, "b": true, "c": false}, bumped: []string{"b"},
		},
		{
			name:   "deleting primary, frozen clock",
			setup:  func(h *phoneHarness) { h.add("a", NewPhone{}); h.add("b", NewPhone{}) },
			act:    func(h *phoneHarness) *Phone { h.del("a"); return nil },
			target: "a", frozen: true, want: map[string]bool{"b": true}, bumped: []string{"b"},
		},
		{
			name:   "deleting non-primary changes nothing",
			setup:  func(h *phoneHarness) { h.add("a", NewPhone{}); h.add("b", NewPhone{}) },
			act:    func(h *phoneHarness) *Phone { h.del("b"); return nil },
			target: "b", want: map[string]bool{"a": true},
		},
		{
			name:   "deleting primary leaving only historic phones",
			setup:  func(h *phoneHarness) { h.add("a", NewPhone{}); h.add("h", historic) },
			act:    func(h *phoneHarness) *Phone { h.del("a"); return nil },
			target: "a", want: map[string]bool{"h": false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newPhoneHarness(t)
			if tt.setup != nil {
				tt.setup(h)
			}
			before := h.state()
			if !tt.frozen {
				h.clk.Add(time.Minute)
			}
			now := nowMS(h.clk)
			written := tt.act(h)
			after := h.state()

			if len(after) != len(tt.want) {
				t.Errorf("%d phones after act, want %d", len(after), len(tt.want))
			}
			for name, want := range tt.want {
				p, ok := after[name]
				if !ok {
					t.Errorf("phone %s missing", name)
					continue
				}
				if p.Primary != want {
					t.Errorf("phone %s: Primary = %v, want %v", name, p.Primary, want)
				}
			}
			if written != nil {
				stored := after[tt.target]
				if written.Primary != stored.Primary || !written.UpdatedInDBAt.Equal(stored.UpdatedInDBAt) {
					t.Errorf("returned %+v, stored %+v", *written, stored)
				}
				if old, ok := before[tt.target]; ok {
					if want := nextDBTime(now, old.UpdatedInDBAt); !stored.UpdatedInDBAt.Equal(want) {
						t.Errorf("target UpdatedInDBAt = %v, want %v", stored.UpdatedInDBAt, want)
					}
				}
			}
			for name, old := range before {
				cur, ok := after[name]
				if name == tt.target || !ok {
					continue
				}
				if slices.Contains(tt.bumped, name) {
					want := nextDBTime(now, old.UpdatedInDBAt)
					if !cur.UpdatedInDBAt.Equal(want) || !cur.UpdatedInDBAt.After(old.UpdatedInDBAt) ||
						!cur.UpdatedAt.Equal(now) || cur.Primary == old.Primary {
						t.Errorf("phone %s not re-stamped: before %+v, after %+v; want UpdatedInDBAt %v, UpdatedAt %v",
							name, old, cur, want, now)
					}
					continue
				}
				if cur.Primary != old.Primary || !cur.UpdatedAt.Equal(old.UpdatedAt) ||
					!cur.UpdatedInDBAt.Equal(old.UpdatedInDBAt) {
					t.Errorf("phone %s changed: before %+v, after %+v", name, old, cur)
				}
			}
		})
	}
}

func TestUpdatePhonePrecondition(t *testing.T) { forEachBackend(t, testUpdatePhonePrecondition) }

func testUpdatePhonePrecondition(t *testing.T) {
	h := newPhoneHarness(t)
	ctx := t.Context()
	h.add("a", NewPhone{})
	b := h.add("b", NewPhone{})
	before := h.state()
	h.clk.Add(time.Minute)

	// A stale update that would demote a writes nothing, anywhere.
	_, err := h.s.UpdatePhone(ctx, h.sc, b.ID, PhoneUpdate{Primary: ptr(true), Number: ptr("x")},
		&Precondition{At: b.UpdatedInDBAt.Add(-time.Second), Precision: time.Second})
	wantErr(t, err, ErrStale)
	var se *StaleError
	if !errors.As(err, &se) || !se.Current.Equal(b.UpdatedInDBAt) {
		t.Fatalf("err = %v, want StaleError with Current %v", err, b.UpdatedInDBAt)
	}
	after := h.state()
	for name, old := range before {
		cur := after[name]
		if cur.Number != old.Number || cur.Primary != old.Primary || !cur.UpdatedInDBAt.Equal(old.UpdatedInDBAt) {
			t.Errorf("stale update changed %s: before %+v, after %+v", name, old, cur)
		}
	}

	// Second precision matches a stored value with milliseconds.
	got, err := h.s.UpdatePhone(ctx, h.sc, b.ID, PhoneUpdate{Primary: ptr(true)},
		&Precondition{At: b.UpdatedInDBAt.Truncate(time.Second), Precision: time.Second})
	if err != nil || !got.Primary {
		t.Fatalf("second-precision update = %+v, %v", got, err)
	}
	if b.UpdatedInDBAt.Nanosecond() == 0 {
		t.Fatal("test needs a stored value with sub-second part")
	}
}

// TestConcurrentUpdatePhone races updates with one precondition: exactly one
// may win.
func TestConcurrentUpdatePhone(t *testing.T) { forEachBackend(t, testConcurrentUpdatePhone) }

func testConcurrentUpdatePhone(t *testing.T) {
	s := openStore(t) // real clock
	ctx := t.Context()
	sc := newPerson(t, s)
	p := mustPhone(t, s, sc, NewPhone{Number: "0"})
	pre := &Precondition{At: p.UpdatedInDBAt, Precision: time.Millisecond}

	const n = 20
	number := func(i int) string { return fmt.Sprint(i + 1) }
	won, stale, others := tally(dbtest.Together(n, func(i int) error {
		_, err := s.UpdatePhone(ctx, sc, p.ID, PhoneUpdate{Number: ptr(number(i))}, pre)
		return err
	}))
	if len(others) > 0 {
		t.Fatalf("unexpected errors: %v", others)
	}
	if len(won) != 1 || stale != n-1 {
		t.Fatalf("%d succeeded, %d stale; want 1 and %d", len(won), stale, n-1)
	}
	got, err := s.Phone(ctx, personPath(t, s, sc.PersonID), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Number != number(won[0]) || !got.UpdatedInDBAt.After(p.UpdatedInDBAt) {
		t.Errorf("stored %+v, want number %s and a later UpdatedInDBAt", got, number(won[0]))
	}
}

// tally sorts the errors of racing writes: the indexes of those that
// succeeded, how many were stale and the other errors.
func tally(errs []error) (won []int, stale int, others []error) {
	for i, err := range errs {
		switch {
		case err == nil:
			won = append(won, i)
		case errors.Is(err, ErrStale):
			stale++
		default:
			others = append(others, err)
		}
	}
	return won, stale, others
}

// TestConcurrentAcrossStores opens two Stores on one database, as two
// server replicas would, and races through both: 40 updates with one
// precondition (exactly one wins), then 40 "make primary" updates on
// different phones of one person (afterwards exactly one is primary).
func TestConcurrentAcrossStores(t *testing.T) { forEachBackend(t, testConcurrentAcrossStores) }

func testConcurrentAcrossStores(t *testing.T) {
	ctx := t.Context()
	dsn := newDB(t)
	s1 := openDB(t, dsn)
	if err := s1.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s2 := openDB(t, dsn)
	if err := s2.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	stores := []*Store{s1, s2}
	sc := newPerson(t, s1)
	const n = 40
	phones := make([]Phone, n)
	for i := range phones {
		phones[i] = mustPhone(t, stores[i%2], sc, NewPhone{Number: fmt.Sprint("p", i)})
	}

	race := func(fn func(i int, s *Store) error) (ok int, stale int, others []error) {
		won, stale, others := tally(dbtest.Together(n, func(i int) error { return fn(i, stores[i%2]) }))
		return len(won), stale, others
	}

	target := phones[0]
	pre := &Precondition{At: target.UpdatedInDBAt}
	ok, stale, others := race(func(i int, s *Store) error {
		number := fmt.Sprint("new", i)
		_, err := s.UpdatePhone(ctx, sc, target.ID, PhoneUpdate{Number: &number}, pre)
		return err
	})
	if len(others) > 0 || ok != 1 || stale != n-1 {
		t.Fatalf("precondition race: %d succeeded, %d stale, errors %v; want 1, %d, none", ok, stale, others, n-1)
	}

	ok, _, others = race(func(i int, s *Store) error {
		_, err := s.UpdatePhone(ctx, sc, phones[i].ID, PhoneUpdate{Primary: ptr(true)}, nil)
		return err
	})
	if len(others) > 0 || ok != n {
		t.Fatalf("primary race: %d succeeded, errors %v; want %d", ok, others, n)
	}
	for _, s := range stores {
		list, _, err := s.ListPhones(ctx, personPath(t, s, sc.PersonID), ListQuery{})
		if err != nil {
			t.Fatal(err)
		}
		primaries := 0
		for _, p := range list {
			if p.Primary {
				primaries++
			}
		}
		if len(list) != n || primaries != 1 {
			t.Errorf("%d phones, %d primary; want %d, 1", len(list), primaries, n)
		}
	}
}
