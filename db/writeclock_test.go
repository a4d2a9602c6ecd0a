package db

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The write clock: every write is stamped (updated_in_db_at, deleted_at,
// and the default created_at and updated_at) no earlier than the latest
// updated_in_db_at or deleted_at any earlier write issued, whatever the
// clock says, in this Store, another Store on the same file, or before a
// restart. These tests turn clocks back to check it.

// hwOf returns the write clock's high-water mark as stored.
func hwOf(t *testing.T, s *Store) time.Time {
	t.Helper()
	var ms int64
	if err := s.pool().QueryRowContext(t.Context(), `SELECT hw FROM write_clock WHERE id = 1`).Scan(&ms); err != nil {
		t.Fatalf("read write_clock: %v", err)
	}
	return fromMillis(ms)
}

// maxStamp returns the latest updated_in_db_at or deleted_at stored in any
// table (the zero time as unix milliseconds if there is none).
func maxStamp(t *testing.T, s *Store) time.Time {
	t.Helper()
	var ms int64
	err := s.pool().QueryRowContext(t.Context(), `SELECT `+greatest(s)+`(
		COALESCE((SELECT MAX(updated_in_db_at) FROM contacts), 0),
		COALESCE((SELECT MAX(updated_in_db_at) FROM people), 0),
		COALESCE((SELECT MAX(updated_in_db_at) FROM phones), 0),
		COALESCE((SELECT MAX(deleted_at) FROM deleted_records), 0))`).Scan(&ms)
	if err != nil {
		t.Fatalf("max stamp: %v", err)
	}
	return fromMillis(ms)
}

// openAt opens and migrates a Store on the file at p with clk as its
// clock, and closes it when the test ends.
func openAt(t *testing.T, p string, clk *clock) *Store {
	t.Helper()
	s, err := Open(t.Context(), p)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	s.SetClock(clk.Now)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// stamps follows the times writes issue, in the order they committed.
type stamps struct {
	t      *testing.T
	stores []*Store  // stores on one database file
	latest time.Time // the latest time issued so far
}

// wrote checks the times one write issued: none before a time an earlier
// write issued; and afterwards the stored high-water mark is the latest
// time stored, as seen by every Store on the file.
func (st *stamps) wrote(label string, times ...time.Time) {
	st.t.Helper()
	if len(times) == 0 {
		st.t.Fatalf("%s: no times", label)
	}
	latest := st.latest
	for _, at := range times {
		if at.Before(st.latest) {
			st.t.Errorf("%s: stamped %v, before %v issued by an earlier write", label, at, st.latest)
		}
		if at.After(latest) {
			latest = at
		}
	}
	st.latest = latest
	for i, s := range st.stores {
		if hw, max := hwOf(st.t, s), maxStamp(st.t, s); !hw.Equal(latest) || !max.Equal(latest) {
			st.t.Errorf("%s: store %d: write_clock %v, latest stored stamp %v; want both %v", label, i, hw, max, latest)
		}
	}
}

// tombstoneTimes returns the deleted_at of every tombstone of the
// account list with the id of the deleted row.
func tombstoneTimes(t *testing.T, s *Store, al, deletableID string) []time.Time {
	t.Helper()
	list, _, err := s.ListDeleted(t.Context(), al, DeletedQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var times []time.Time
	for _, d := range list {
		if d.DeletableID == deletableID {
			times = append(times, d.DeletedAt)
		}
	}
	if len(times) != 1 {
		t.Fatalf("%d tombstones of %s, want 1", len(times), deletableID)
	}
	return times
}

// TestWriteClockAcrossRows writes row A with the clock ahead, then other
// rows with the clock back: none is stamped before A, nor before anything
// written earlier, and a delete is stamped no earlier than any of them.
func TestWriteClockAcrossRows(t *testing.T) { forEachBackend(t, testWriteClockAcrossRows) }

func testWriteClockAcrossRows(t *testing.T) {
	s, clk := newStore(t)
	ctx := t.Context()
	st := &stamps{t: t, stores: []*Store{s}}
	al := newAccountList(t, s)
	T := clk.nowMS()

	clk.Set(start.Add(5 * time.Second))
	a := mustContact(t, s, Contact{AccountListID: al, Name: "A"})
	if want := T.Add(5 * time.Second); !a.UpdatedInDBAt.Equal(want) {
		t.Fatalf("A: UpdatedInDBAt = %v, want the clock's %v", a.UpdatedInDBAt, want)
	}
	st.wrote("create A, clock T+5s", a.UpdatedInDBAt)

	clk.Set(start) // T: back 5 s
	b := mustContact(t, s, Contact{AccountListID: al, Name: "B"})
	if b.UpdatedInDBAt.Before(a.UpdatedInDBAt) {
		t.Errorf("B: UpdatedInDBAt = %v, before A's %v", b.UpdatedInDBAt, a.UpdatedInDBAt)
	}
	// Spelled out: the write's time is A's, and it is B's default
	// created_at and updated_at too.
	if !b.UpdatedInDBAt.Equal(a.UpdatedInDBAt) || !b.CreatedAt.Equal(a.UpdatedInDBAt) || !b.UpdatedAt.Equal(a.UpdatedInDBAt) {
		t.Errorf("B: CreatedAt, UpdatedAt, UpdatedInDBAt = %v, %v, %v; want A's %v for all",
			b.CreatedAt, b.UpdatedAt, b.UpdatedInDBAt, a.UpdatedInDBAt)
	}
	st.wrote("create B, clock T", b.UpdatedInDBAt)

	p := mustPerson(t, s, Person{ContactID: b.ID, FirstName: "p"})
	st.wrote("create person, clock T", p.UpdatedInDBAt)
	ph1 := mustPhone(t, s, NewPhone{PersonID: p.ID, Number: "1"})
	st.wrote("create phone 1, clock T", ph1.UpdatedInDBAt)
	// A new primary phone demotes phone 1, re-stamping it in the same write.
	ph2 := mustPhone(t, s, NewPhone{PersonID: p.ID, Number: "2", Primary: true})
	ph1, err := s.Phone(ctx, p.ID, ph1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ph1.Primary || !ph2.Primary {
		t.Fatalf("primary flags %v, %v; want false, true", ph1.Primary, ph2.Primary)
	}
	st.wrote("create primary phone 2, clock T", ph2.UpdatedInDBAt, ph1.UpdatedInDBAt)

	// Updates with the clock back: after the row's own value, and not
	// before anything else.
	a2, err := s.UpdateContact(ctx, a.ID, ContactUpdate{Name: ptr("A2")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !a2.UpdatedInDBAt.After(a.UpdatedInDBAt) {
		t.Errorf("A updated: UpdatedInDBAt = %v, not after its previous %v", a2.UpdatedInDBAt, a.UpdatedInDBAt)
	}
	st.wrote("update A, clock T", a2.UpdatedInDBAt)
	p2, err := s.UpdatePerson(ctx, b.ID, p.ID, PersonUpdate{FirstName: ptr("p2")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.wrote("update person, clock T", p2.UpdatedInDBAt)

	// A failed write issues nothing: the high-water mark stays.
	clk.Set(start.Add(24 * time.Hour))
	_, err = s.UpdateContact(ctx, a.ID, ContactUpdate{}, &Precondition{At: a.UpdatedInDBAt, Precision: time.Millisecond})
	wantErr(t, err, ErrStale)
	st.wrote("failed update, clock T+24h", st.latest)
	clk.Set(start)

	// A delete with the clock back: its tombstones (B, its person and
	// phones) are stamped no earlier than anything written before.
	if err := s.DeleteContact(ctx, b.ID, nil); err != nil {
		t.Fatal(err)
	}
	bAt := tombstoneTimes(t, s, al, b.ID)
	if bAt[0].Before(a2.UpdatedInDBAt) || bAt[0].Before(b.UpdatedInDBAt) {
		t.Errorf("B deleted at %v, before A's %v or B's %v", bAt[0], a2.UpdatedInDBAt, b.UpdatedInDBAt)
	}
	var all []time.Time
	for _, id := range []string{b.ID, p.ID, ph1.ID, ph2.ID} {
		all = append(all, tombstoneTimes(t, s, al, id)...)
	}
	st.wrote("delete B, clock T", all...)

	// And a write after the delete is not stamped before it.
	c := mustContact(t, s, Contact{AccountListID: al, Name: "C"})
	st.wrote("create C after the delete, clock T", c.UpdatedInDBAt)
	if err := s.DeleteContact(ctx, a.ID, nil); err != nil {
		t.Fatal(err)
	}
	st.wrote("delete A, clock T", tombstoneTimes(t, s, al, a.ID)...)

	// A clock ahead of everything is used as is.
	clk.Set(start.Add(time.Hour))
	c2, err := s.UpdateContact(ctx, c.ID, ContactUpdate{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c2.UpdatedInDBAt.Equal(clk.nowMS()) {
		t.Errorf("clock ahead: UpdatedInDBAt = %v, want the clock's %v", c2.UpdatedInDBAt, clk.nowMS())
	}
	st.wrote("update C, clock T+1h", c2.UpdatedInDBAt)
}

// TestWriteClockPersists closes the Store and opens the file again with
// the clock behind the times written before: new times are not earlier.
func TestWriteClockPersists(t *testing.T) { forEachBackend(t, testWriteClockPersists) }

func testWriteClockPersists(t *testing.T) {
	ctx := t.Context()
	p := newDB(t)
	clk := &clock{t: start.Add(time.Hour)}

	s1, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	s1.SetClock(clk.Now)
	if err := s1.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	al, err := s1.EnsureUser(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	a := mustContact(t, s1, Contact{AccountListID: al, Name: "A"})
	b := mustContact(t, s1, Contact{AccountListID: al, Name: "B"})
	clk.Add(time.Minute)
	if err := s1.DeleteContact(ctx, b.ID, nil); err != nil {
		t.Fatal(err)
	}
	high := clk.nowMS() // B's deleted_at, the latest time issued
	if got := tombstoneTimes(t, s1, al, b.ID)[0]; !got.Equal(high) {
		t.Fatalf("B deleted at %v, want %v", got, high)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	clk.Set(start) // an hour and a minute behind
	s2 := openAt(t, p, clk)
	if hw := hwOf(t, s2); !hw.Equal(high) {
		t.Fatalf("after reopening write_clock = %v, want %v", hw, high)
	}
	st := &stamps{t: t, stores: []*Store{s2}, latest: high}
	c := mustContact(t, s2, Contact{AccountListID: al, Name: "C"})
	st.wrote("create C after reopening", c.UpdatedInDBAt)
	a2, err := s2.UpdateContact(ctx, a.ID, ContactUpdate{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.wrote("update A after reopening", a2.UpdatedInDBAt)
	if err := s2.DeleteContact(ctx, a.ID, nil); err != nil {
		t.Fatal(err)
	}
	st.wrote("delete A after reopening", tombstoneTimes(t, s2, al, a.ID)...)
	// A sync client that saw B's deletion and asks for what changed since
	// then is shown every write made after the restart.
	got, _, err := s2.ListContacts(ctx, al, ListQuery{UpdatedInDBAt: &Range{From: &high}})
	if err != nil || len(got) != 1 || got[0].ID != c.ID {
		t.Errorf("contacts changed since %v = %+v, %v; want C", high, got, err)
	}
	dels, _, err := s2.ListDeleted(ctx, al, DeletedQuery{Since: &high})
	if err != nil || len(dels) != 2 {
		t.Errorf("deleted since %v = %+v, %v; want B's and A's tombstones", high, dels, err)
	}
}

// TestWriteClockSharedAcrossStores opens two Stores on one file, as two
// processes would, with different clocks: a time issued through either is
// never before one the other issued earlier.
func TestWriteClockSharedAcrossStores(t *testing.T) {
	forEachBackend(t, testWriteClockSharedAcrossStores)
}

func testWriteClockSharedAcrossStores(t *testing.T) {
	ctx := t.Context()
	p := newDB(t)
	clk1 := &clock{t: start.Add(time.Hour)}
	clk2 := &clock{t: start}
	s1 := openAt(t, p, clk1)
	s2 := openAt(t, p, clk2)
	st := &stamps{t: t, stores: []*Store{s1, s2}}
	al, err := s1.EnsureUser(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}

	a := mustContact(t, s1, Contact{AccountListID: al, Name: "A"}) // clock T+1h
	st.wrote("create A through store 1 (T+1h)", a.UpdatedInDBAt)
	b := mustContact(t, s2, Contact{AccountListID: al, Name: "B"}) // clock T
	if !b.UpdatedInDBAt.Equal(a.UpdatedInDBAt) {
		t.Errorf("B: UpdatedInDBAt = %v, want A's %v, not store 2's clock", b.UpdatedInDBAt, a.UpdatedInDBAt)
	}
	st.wrote("create B through store 2 (T)", b.UpdatedInDBAt)

	clk2.Set(start.Add(2 * time.Hour))
	b2, err := s2.UpdateContact(ctx, b.ID, ContactUpdate{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !b2.UpdatedInDBAt.Equal(clk2.nowMS()) {
		t.Errorf("B updated: UpdatedInDBAt = %v, want store 2's clock %v", b2.UpdatedInDBAt, clk2.nowMS())
	}
	st.wrote("update B through store 2 (T+2h)", b2.UpdatedInDBAt)
	a2, err := s1.UpdateContact(ctx, a.ID, ContactUpdate{}, nil) // clock T+1h
	if err != nil {
		t.Fatal(err)
	}
	st.wrote("update A through store 1 (T+1h)", a2.UpdatedInDBAt)
	if err := s1.DeleteContact(ctx, b.ID, nil); err != nil {
		t.Fatal(err)
	}
	st.wrote("delete B through store 1 (T+1h)", tombstoneTimes(t, s1, al, b.ID)...)
	person := mustPerson(t, s2, Person{ContactID: a.ID, FirstName: "p"}) // clock T+2h
	st.wrote("create person through store 2 (T+2h)", person.UpdatedInDBAt)

	// Concurrent writes through both Stores, whose clocks tick at
	// different rates and overtake each other: each write is stamped no
	// earlier than any write that had completed when it started.
	clk1.Set(start.Add(2 * time.Hour))
	clk2.Set(start.Add(2*time.Hour + 50*time.Millisecond))
	var (
		mu   sync.Mutex
		done time.Time // the latest time of a completed write
		wg   sync.WaitGroup
	)
	for w := range 4 {
		s, clk, tick := s1, clk1, 3*time.Millisecond
		if w%2 == 1 {
			s, clk, tick = s2, clk2, time.Millisecond
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.CreateContact(ctx, Contact{AccountListID: al, Name: fmt.Sprint("w", w)})
			if err != nil {
				t.Error(err)
				return
			}
			for i := range 25 {
				clk.Add(tick)
				mu.Lock()
				floor := done
				mu.Unlock()
				var at time.Time
				if i%5 == 4 {
					ph, err := s.CreatePhone(ctx, NewPhone{PersonID: person.ID, Number: fmt.Sprint(w, i), Primary: true})
					if err != nil {
						t.Error(err)
						return
					}
					at = ph.UpdatedInDBAt
				} else {
					c, err = s.UpdateContact(ctx, c.ID, ContactUpdate{}, nil)
					if err != nil {
						t.Error(err)
						return
					}
					at = c.UpdatedInDBAt
				}
				if at.Before(floor) {
					t.Errorf("writer %d, write %d: stamped %v, before %v written earlier", w, i, at, floor)
				}
				mu.Lock()
				if at.After(done) {
					done = at
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for i, s := range []*Store{s1, s2} {
		if hw, max := hwOf(t, s), maxStamp(t, s); !hw.Equal(max) || max.Before(done) {
			t.Errorf("store %d: write_clock %v, latest stored stamp %v; want equal, not before %v", i, hw, max, done)
		}
	}
}

// TestMigrateSeedsWriteClock applies the migrations before the write
// clock's, as an older version would have, stores rows, then runs Migrate:
// the high-water mark starts at the latest updated_in_db_at or deleted_at
// stored, whichever table holds it, and a write with the clock behind it
// is stamped no earlier.
func TestMigrateSeedsWriteClock(t *testing.T) { forEachBackend(t, testMigrateSeedsWriteClock) }

func testMigrateSeedsWriteClock(t *testing.T) {
	dir := path.Join("migrations", backendOf(t))
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		t.Fatal(err)
	}
	var before []string // the migrations before write_clock's, in order
	found := false
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "_write_clock.sql") {
			found = true
			break
		}
		before = append(before, e.Name())
	}
	if !found || len(before) == 0 {
		t.Fatalf("no write_clock migration after others in %v", entries)
	}

	ms := func(n int64) time.Time { return fromMillis(n) }
	base := start.Truncate(time.Millisecond).UnixMilli()
	for _, latestIn := range []string{"", "contacts", "people", "phones", "deleted_records"} {
		name := latestIn
		if name == "" {
			name = "empty"
		}
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			s := openDB(t, newDB(t))
			clk := &clock{t: start}
			s.SetClock(clk.Now)
			if _, err := s.db.ExecContext(ctx, bootstrap[s.Engine()]); err != nil {
				t.Fatal(err)
			}
			for _, n := range before {
				version, err := migrationVersion(n)
				if err != nil {
					t.Fatal(err)
				}
				body, err := fs.ReadFile(migrations, path.Join(dir, n))
				if err != nil {
					t.Fatal(err)
				}
				if err := s.migrate(ctx, version, string(body)); err != nil {
					t.Fatalf("migrate %s: %v", n, err)
				}
			}
			if tableExists(t, s, "write_clock") {
				t.Fatal("write_clock exists before its migration")
			}

			// Rows stamped in the future (the clock was ahead, or is now
			// behind), the latest in latestIn.
			want := ms(0)
			if latestIn != "" {
				stamp := func(table string, n int64) int64 {
					if table == latestIn {
						n += 10_000
					}
					if v := ms(base + n); v.After(want) {
						want = v
					}
					return base + n
				}
				al, c, p, ph := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
				exec := func(query string, args ...any) {
					t.Helper()
					if _, err := s.pool().ExecContext(ctx, query, args...); err != nil {
						t.Fatalf("%s: %v", query, err)
					}
				}
				exec(`INSERT INTO account_lists (id, created_at) VALUES (?, ?)`, al, base)
				exec(`INSERT INTO contacts (id, account_list_id, name, created_at, updated_at, updated_in_db_at)
					VALUES (?, ?, 'c', ?, ?, ?)`, c, al, base, base, stamp("contacts", 4000))
				exec(`INSERT INTO people (id, contact_id, first_name, last_name, created_at, updated_at, updated_in_db_at)
					VALUES (?, ?, 'p', NULL, ?, ?, ?)`, p, c, base, base, stamp("people", 3000))
				exec(`INSERT INTO phones (id, person_id, number, country_code, location, "primary", historic, source,
					valid_values, created_at, updated_at, updated_in_db_at)
					VALUES (?, ?, '1', NULL, NULL, ?, ?, 'MPDX', ?, ?, ?, ?)`, ph, p, true, false, true, base, base, stamp("phones", 2000))
				exec(`INSERT INTO deleted_records (id, account_list_id, deletable_type, deletable_id, contact_id, person_id, deleted_at)
					VALUES (?, ?, 'contacts', ?, NULL, NULL, ?)`, uuid.NewString(), al, uuid.NewString(), stamp("deleted_records", 1000))
				if got := maxStamp(t, s); !got.Equal(want) {
					t.Fatalf("fixture: latest stamp %v, want %v", got, want)
				}
			}

			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if hw := hwOf(t, s); !hw.Equal(want) {
				t.Fatalf("after Migrate write_clock = %v, want %v", hw, want)
			}

			al, err := s.EnsureUser(ctx, "u1")
			if err != nil {
				t.Fatal(err)
			}
			c := mustContact(t, s, Contact{AccountListID: al, Name: "new"})
			wantAt := clk.nowMS() // the clock, if nothing later was stored
			if want.After(wantAt) {
				wantAt = want
			}
			if !c.UpdatedInDBAt.Equal(wantAt) {
				t.Errorf("new contact: UpdatedInDBAt = %v, want %v", c.UpdatedInDBAt, wantAt)
			}
			if hw := hwOf(t, s); !hw.Equal(wantAt) {
				t.Errorf("after a write write_clock = %v, want %v", hw, wantAt)
			}
		})
	}
}
