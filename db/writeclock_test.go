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
	"github.com/phoneapi/phoneapi/db/dbtest"
)

// The write clock: every write is stamped (updated_in_db_at, deleted_at,
// and the default created_at and updated_at) no earlier than the latest
// updated_in_db_at or deleted_at any earlier write of the same account
// list issued, whatever the clock says, in this Store, another Store on
// the same database, or before a restart. Each account list has a clock
// of its own (account_lists.hw). These tests turn clocks back to check it.

// openAt opens and migrates a Store on the database at p with clk as its
// clock, and closes it when the test ends.
func openAt(t *testing.T, p string, clk *dbtest.Clock) *Store {
	t.Helper()
	s := openDB(t, p)
	s.SetClock(clk.Now)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// touch updates nothing of the contact but its times, and returns it.
func touch(t *testing.T, s *Store, al, contactID string) Contact {
	t.Helper()
	c, err := s.UpdateContact(t.Context(), al, contactID, ContactUpdate{}, nil)
	return noErr(t, "UpdateContact", c, err)
}

// stamps follows the times the writes of one account list issue, in the
// order they committed.
type stamps struct {
	t      *testing.T
	stores []*Store  // stores on one database
	al     string    // the account list
	latest time.Time // the latest time issued so far
}

// wrote checks the times one write issued: none before a time an earlier
// write of the account list issued; and afterwards the account list's
// stored high-water mark is the latest time stored for it, as seen by
// every Store on the database.
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
		if hw, max := highWater(st.t, s, st.al), maxStamp(st.t, s, st.al); !hw.Equal(latest) || !max.Equal(latest) {
			st.t.Errorf("%s: store %d: write clock %v, latest stored stamp %v; want both %v", label, i, hw, max, latest)
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
// rows of the account list with the clock back: none is stamped before A,
// nor before anything written earlier, and a delete is stamped no earlier
// than any of them.
func TestWriteClockAcrossRows(t *testing.T) { forEachBackend(t, testWriteClockAcrossRows) }

func testWriteClockAcrossRows(t *testing.T) {
	s, clk := newStore(t)
	ctx := t.Context()
	al := newAccountList(t, s)
	st := &stamps{t: t, stores: []*Store{s}, al: al}
	T := nowMS(clk)

	clk.Set(dbtest.Start.Add(5 * time.Second))
	a := mustContact(t, s, Contact{AccountListID: al, Name: "A"})
	if want := T.Add(5 * time.Second); !a.UpdatedInDBAt.Equal(want) {
		t.Fatalf("A: UpdatedInDBAt = %v, want the clock's %v", a.UpdatedInDBAt, want)
	}
	st.wrote("create A, clock T+5s", a.UpdatedInDBAt)

	clk.Set(dbtest.Start) // T: back 5 s
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

	p := mustPerson(t, s, contactScope(b), Person{FirstName: "p"})
	st.wrote("create person, clock T", p.UpdatedInDBAt)
	ph1 := mustPhone(t, s, personScope(b, p), NewPhone{Number: "1"})
	st.wrote("create phone 1, clock T", ph1.UpdatedInDBAt, stampOf(t, s, b, p))
	// A new primary phone demotes phone 1, re-stamping it in the same write.
	ph2 := mustPhone(t, s, personScope(b, p), NewPhone{Number: "2", Primary: true})
	ph1, err := s.Phone(ctx, personPath(t, s, p.ID), ph1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ph1.Primary || !ph2.Primary {
		t.Fatalf("primary flags %v, %v; want false, true", ph1.Primary, ph2.Primary)
	}
	st.wrote("create primary phone 2, clock T", ph2.UpdatedInDBAt, ph1.UpdatedInDBAt, stampOf(t, s, b, p))

	// Updates with the clock back: after the row's own value, and not
	// before anything else.
	a2, err := s.UpdateContact(ctx, al, a.ID, ContactUpdate{Name: ptr("A2")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !a2.UpdatedInDBAt.After(a.UpdatedInDBAt) {
		t.Errorf("A updated: UpdatedInDBAt = %v, not after its previous %v", a2.UpdatedInDBAt, a.UpdatedInDBAt)
	}
	st.wrote("update A, clock T", a2.UpdatedInDBAt)
	p2, err := s.UpdatePerson(ctx, contactScope(b), p.ID, PersonUpdate{FirstName: ptr("p2")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.wrote("update person, clock T", p2.UpdatedInDBAt)

	// A failed write issues nothing: the high-water mark stays.
	clk.Set(dbtest.Start.Add(24 * time.Hour))
	_, err = s.UpdateContact(ctx, al, a.ID, ContactUpdate{}, &Precondition{At: a.UpdatedInDBAt, Precision: time.Millisecond})
	wantErr(t, err, ErrStale)
	st.wrote("failed update, clock T+24h", st.latest)
	clk.Set(dbtest.Start)

	// A delete with the clock back: its tombstones (B, its person and
	// phones) are stamped no earlier than anything written before.
	if err := s.DeleteContact(ctx, al, b.ID, nil); err != nil {
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
	if err := s.DeleteContact(ctx, al, a.ID, nil); err != nil {
		t.Fatal(err)
	}
	st.wrote("delete A, clock T", tombstoneTimes(t, s, al, a.ID)...)

	// A clock ahead of everything is used as is.
	clk.Set(dbtest.Start.Add(time.Hour))
	c2 := touch(t, s, al, c.ID)
	if !c2.UpdatedInDBAt.Equal(nowMS(clk)) {
		t.Errorf("clock ahead: UpdatedInDBAt = %v, want the clock's %v", c2.UpdatedInDBAt, nowMS(clk))
	}
	st.wrote("update C, clock T+1h", c2.UpdatedInDBAt)
}

// TestWriteClockPerAccountList turns the clock back between writes of two
// account lists, A and B: A's stamps never go back; B's clock is its own,
// so its first write is stamped by the clock, behind A's, and B's stamps
// then never go back either, whatever A's are.
func TestWriteClockPerAccountList(t *testing.T) { forEachBackend(t, testWriteClockPerAccountList) }

func testWriteClockPerAccountList(t *testing.T) {
	s, clk := newStore(t)
	ctx := t.Context()
	alA, alB := newAccountList(t, s), newAccountList(t, s)
	stA := &stamps{t: t, stores: []*Store{s}, al: alA}
	stB := &stamps{t: t, stores: []*Store{s}, al: alB}

	clk.Set(dbtest.Start.Add(time.Hour))
	a := mustContact(t, s, Contact{AccountListID: alA, Name: "a"})
	if !a.UpdatedInDBAt.Equal(nowMS(clk)) {
		t.Fatalf("A's first write: UpdatedInDBAt = %v, want the clock's %v", a.UpdatedInDBAt, nowMS(clk))
	}
	stA.wrote("A: create a, clock T+1h", a.UpdatedInDBAt)

	clk.Set(dbtest.Start) // back an hour
	a2, err := s.UpdateContact(ctx, alA, a.ID, ContactUpdate{Name: ptr("a2")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	stA.wrote("A: update a, clock T", a2.UpdatedInDBAt)

	b := mustContact(t, s, Contact{AccountListID: alB, Name: "b"})
	if !b.UpdatedInDBAt.Equal(nowMS(clk)) || !b.UpdatedInDBAt.Before(a2.UpdatedInDBAt) {
		t.Errorf("B's first write: UpdatedInDBAt = %v, want the clock's %v, before A's %v",
			b.UpdatedInDBAt, nowMS(clk), a2.UpdatedInDBAt)
	}
	stB.wrote("B: create b, clock T", b.UpdatedInDBAt)
	if hw := highWater(t, s, alA); !hw.Equal(stA.latest) {
		t.Errorf("A's write clock %v after B's write, want A's latest %v", hw, stA.latest)
	}

	pa := mustPerson(t, s, contactScope(a), Person{FirstName: "pa"})
	stA.wrote("A: create a person, clock T", pa.UpdatedInDBAt)

	clk.Set(dbtest.Start.Add(-time.Minute)) // back another minute
	b2 := mustContact(t, s, Contact{AccountListID: alB, Name: "b2"})
	if !b2.UpdatedInDBAt.Equal(b.UpdatedInDBAt) {
		t.Errorf("B's second write, clock back: UpdatedInDBAt = %v, want B's latest %v", b2.UpdatedInDBAt, b.UpdatedInDBAt)
	}
	stB.wrote("B: create b2, clock T-1m", b2.UpdatedInDBAt)
	pb := mustPerson(t, s, contactScope(b), Person{FirstName: "pb"})
	stB.wrote("B: create a person, clock T-1m", pb.UpdatedInDBAt)
	phb := mustPhone(t, s, personScope(b, pb), NewPhone{Number: "1"})
	stB.wrote("B: create a phone, clock T-1m", phb.UpdatedInDBAt, stampOf(t, s, b, pb))

	if err := s.DeleteContact(ctx, alA, a.ID, nil); err != nil {
		t.Fatal(err)
	}
	stA.wrote("A: delete a, clock T-1m", tombstoneTimes(t, s, alA, a.ID)...)
	if err := s.DeletePerson(ctx, contactScope(b), pb.ID, nil); err != nil {
		t.Fatal(err)
	}
	bAt := tombstoneTimes(t, s, alB, pb.ID)
	if !bAt[0].Equal(stB.latest) || !bAt[0].Before(stA.latest) {
		t.Errorf("B's delete at %v, want B's latest %v, before A's %v", bAt[0], stB.latest, stA.latest)
	}
	stB.wrote("B: delete a person, clock T-1m", append(bAt, tombstoneTimes(t, s, alB, phb.ID)...)...)

	// A sync client of B that saw b's first stamp misses nothing since.
	got, _, err := s.ListContacts(ctx, alB, ListQuery{UpdatedInDBAt: &Range{From: &b.UpdatedInDBAt}})
	if err != nil || len(got) != 2 {
		t.Errorf("B's contacts changed since %v = %+v, %v; want b and b2", b.UpdatedInDBAt, got, err)
	}
}

// TestWriteClockPersists closes the Store and opens the database again
// with the clock behind the times written before: new times are not
// earlier.
func TestWriteClockPersists(t *testing.T) { forEachBackend(t, testWriteClockPersists) }

func testWriteClockPersists(t *testing.T) {
	ctx := t.Context()
	p := newDB(t)
	clk := dbtest.NewClock(dbtest.Start.Add(time.Hour))

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
	if err := s1.DeleteContact(ctx, al, b.ID, nil); err != nil {
		t.Fatal(err)
	}
	high := nowMS(clk) // B's deleted_at, the latest time issued
	if got := tombstoneTimes(t, s1, al, b.ID)[0]; !got.Equal(high) {
		t.Fatalf("B deleted at %v, want %v", got, high)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	clk.Set(dbtest.Start) // an hour and a minute behind
	s2 := openAt(t, p, clk)
	if hw := highWater(t, s2, al); !hw.Equal(high) {
		t.Fatalf("after reopening the write clock = %v, want %v", hw, high)
	}
	st := &stamps{t: t, stores: []*Store{s2}, al: al, latest: high}
	c := mustContact(t, s2, Contact{AccountListID: al, Name: "C"})
	st.wrote("create C after reopening", c.UpdatedInDBAt)
	a2 := touch(t, s2, al, a.ID)
	st.wrote("update A after reopening", a2.UpdatedInDBAt)
	if err := s2.DeleteContact(ctx, al, a.ID, nil); err != nil {
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

// TestWriteClockSharedAcrossStores opens two Stores on one database, as
// two processes would, with different clocks: a time issued for an
// account list through either is never before one the other issued
// earlier.
func TestWriteClockSharedAcrossStores(t *testing.T) {
	forEachBackend(t, testWriteClockSharedAcrossStores)
}

func testWriteClockSharedAcrossStores(t *testing.T) {
	ctx := t.Context()
	p := newDB(t)
	clk1 := dbtest.NewClock(dbtest.Start.Add(time.Hour))
	clk2 := dbtest.NewClock(dbtest.Start)
	s1 := openAt(t, p, clk1)
	s2 := openAt(t, p, clk2)
	al, err := s1.EnsureUser(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	st := &stamps{t: t, stores: []*Store{s1, s2}, al: al}

	a := mustContact(t, s1, Contact{AccountListID: al, Name: "A"}) // clock T+1h
	st.wrote("create A through store 1 (T+1h)", a.UpdatedInDBAt)
	b := mustContact(t, s2, Contact{AccountListID: al, Name: "B"}) // clock T
	if !b.UpdatedInDBAt.Equal(a.UpdatedInDBAt) {
		t.Errorf("B: UpdatedInDBAt = %v, want A's %v, not store 2's clock", b.UpdatedInDBAt, a.UpdatedInDBAt)
	}
	st.wrote("create B through store 2 (T)", b.UpdatedInDBAt)

	clk2.Set(dbtest.Start.Add(2 * time.Hour))
	b2 := touch(t, s2, al, b.ID)
	if !b2.UpdatedInDBAt.Equal(nowMS(clk2)) {
		t.Errorf("B updated: UpdatedInDBAt = %v, want store 2's clock %v", b2.UpdatedInDBAt, nowMS(clk2))
	}
	st.wrote("update B through store 2 (T+2h)", b2.UpdatedInDBAt)
	a2 := touch(t, s1, al, a.ID) // clock T+1h
	st.wrote("update A through store 1 (T+1h)", a2.UpdatedInDBAt)
	if err := s1.DeleteContact(ctx, al, b.ID, nil); err != nil {
		t.Fatal(err)
	}
	st.wrote("delete B through store 1 (T+1h)", tombstoneTimes(t, s1, al, b.ID)...)
	person := mustPerson(t, s2, contactScope(a), Person{FirstName: "p"}) // clock T+2h
	st.wrote("create person through store 2 (T+2h)", person.UpdatedInDBAt)

	// Concurrent writes through both Stores, whose clocks tick at
	// different rates and overtake each other: each write is stamped no
	// earlier than any write that had completed when it started.
	clk1.Set(dbtest.Start.Add(2 * time.Hour))
	clk2.Set(dbtest.Start.Add(2*time.Hour + 50*time.Millisecond))
	var (
		mu   sync.Mutex
		done time.Time // the latest time of a completed write
	)
	// Each writer returns what went wrong.
	failures := dbtest.Together(4, func(w int) (failed []error) {
		s, clk, tick := s1, clk1, 3*time.Millisecond
		if w%2 == 1 {
			s, clk, tick = s2, clk2, time.Millisecond
		}
		c, err := s.CreateContact(ctx, Contact{AccountListID: al, Name: fmt.Sprint("w", w)})
		if err != nil {
			return []error{err}
		}
		for i := range 25 {
			clk.Add(tick)
			mu.Lock()
			floor := done
			mu.Unlock()
			var at time.Time
			if i%5 == 4 {
				ph, err := s.CreatePhone(ctx, personScope(a, person), NewPhone{Number: fmt.Sprint(w, i), Primary: true})
				if err != nil {
					return append(failed, err)
				}
				at = ph.UpdatedInDBAt
			} else {
				c, err = s.UpdateContact(ctx, al, c.ID, ContactUpdate{}, nil)
				if err != nil {
					return append(failed, err)
				}
				at = c.UpdatedInDBAt
			}
			if at.Before(floor) {
				failed = append(failed, fmt.Errorf("writer %d, write %d: stamped %v, before %v written earlier", w, i, at, floor))
			}
			mu.Lock()
			if at.After(done) {
				done = at
			}
			mu.Unlock()
		}
		return failed
	})
	for _, failed := range failures {
		for _, err := range failed {
			t.Error(err)
		}
	}
	for i, s := range []*Store{s1, s2} {
		if hw, max := highWater(t, s, al), maxStamp(t, s, al); !hw.Equal(max) || max.Before(done) {
			t.Errorf("store %d: write clock %v, latest stored stamp %v; want equal, not before %v", i, hw, max, done)
		}
	}
}

// migrationFiles returns the names of the engine's embedded migrations, in
// order.
func migrationFiles(t *testing.T, engine string) []string {
	t.Helper()
	entries, err := fs.ReadDir(migrations, path.Join("migrations", engine))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	return names
}

// migrationsBefore returns the engine's migrations before the one whose
// name ends with suffix, failing if there is no such migration or none
// before it.
func migrationsBefore(t *testing.T, engine, suffix string) []string {
	t.Helper()
	names := migrationFiles(t, engine)
	for i, n := range names {
		if strings.HasSuffix(n, suffix) {
			if i == 0 {
				t.Fatalf("no migration before %s", n)
			}
			return names[:i]
		}
	}
	t.Fatalf("no migration *%s in %v", suffix, names)
	return nil
}

// applyMigrations brings the store's database to an older version, as an
// older binary's Migrate would have: it creates schema_migrations, runs the
// named embedded migrations of the engine and records each, without
// Migrate.
func applyMigrations(t *testing.T, s *Store, names []string) {
	t.Helper()
	ctx := t.Context()
	if _, err := s.db.ExecContext(ctx, bootstrap[s.Engine()]); err != nil {
		t.Fatalf("create schema_migrations: %v", err)
	}
	for _, n := range names {
		version, err := migrationVersion(n)
		if err != nil {
			t.Fatal(err)
		}
		body, err := fs.ReadFile(migrations, path.Join("migrations", s.Engine(), n))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.ExecContext(ctx, string(body)); err != nil {
			t.Fatalf("migration %s: %v", n, err)
		}
		if _, err := s.pool().ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
			version, s.clock().UnixMilli()); err != nil {
			t.Fatalf("record migration %s: %v", n, err)
		}
	}
}

// oldStamps are the updated_in_db_at and deleted_at, in unix
// milliseconds, of the rows insertOldRows writes.
type oldStamps struct{ contact, person, phone, tombstone int64 }

// insertOldRows writes, with plain SQL that every schema version accepts,
// a new account list with a contact, its person, the person's phone and a
// tombstone, stamped st, and returns the account list and contact ids.
func insertOldRows(t *testing.T, s *Store, st oldStamps) (al, contactID string) {
	t.Helper()
	ctx := t.Context()
	al, c, p := uuid.NewString(), uuid.NewString(), uuid.NewString()
	created := st.contact
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := s.pool().ExecContext(ctx, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	exec(`INSERT INTO account_lists (id, created_at) VALUES (?, ?)`, al, created)
	exec(`INSERT INTO contacts (id, account_list_id, name, created_at, updated_at, updated_in_db_at)
		VALUES (?, ?, 'c', ?, ?, ?)`, c, al, created, created, st.contact)
	exec(`INSERT INTO people (id, contact_id, first_name, last_name, created_at, updated_at, updated_in_db_at)
		VALUES (?, ?, 'p', NULL, ?, ?, ?)`, p, c, created, created, st.person)
	exec(`INSERT INTO phones (id, person_id, number, country_code, location, "primary", historic, source,
		valid_values, created_at, updated_at, updated_in_db_at)
		VALUES (?, ?, '1', NULL, NULL, ?, ?, 'MPDX', ?, ?, ?, ?)`, uuid.NewString(), p, true, false, true, created, created, st.phone)
	exec(`INSERT INTO deleted_records (id, account_list_id, deletable_type, deletable_id, contact_id, person_id, deleted_at)
		VALUES (?, ?, 'contacts', ?, NULL, NULL, ?)`, uuid.NewString(), al, uuid.NewString(), st.tombstone)
	return al, c
}

// TestMigrateSeedsWriteClock applies the migrations before the write
// clock's (0003), as an older version would have, stores rows, then runs
// Migrate (0003, which seeded the database-wide clock, then 0004, which
// moves it to the account lists): the account list's high-water mark
// starts at the latest updated_in_db_at or deleted_at stored, whichever
// table holds it, and a write with the clock behind it is stamped no
// earlier.
func TestMigrateSeedsWriteClock(t *testing.T) { forEachBackend(t, testMigrateSeedsWriteClock) }

func testMigrateSeedsWriteClock(t *testing.T) {
	before := migrationsBefore(t, backendOf(t), "_write_clock.sql")
	base := dbtest.Start.Truncate(time.Millisecond).UnixMilli()
	for _, latestIn := range []string{"", "contacts", "people", "phones", "deleted_records"} {
		name := latestIn
		if name == "" {
			name = "no rows"
		}
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			s := openDB(t, newDB(t))
			clk := dbtest.NewClock(dbtest.Start)
			s.SetClock(clk.Now)
			applyMigrations(t, s, before)
			if tableExists(t, s, "write_clock") {
				t.Fatal("write_clock exists before its migration")
			}

			// An account list with rows stamped in the future (the clock
			// was ahead, or is now behind), the latest in latestIn; none
			// when latestIn is "".
			var al string
			want := fromMillis(0)
			if latestIn == "" {
				al = uuid.NewString()
				if _, err := s.pool().ExecContext(ctx, `INSERT INTO account_lists (id, created_at) VALUES (?, ?)`, al, base); err != nil {
					t.Fatal(err)
				}
			} else {
				stamp := func(table string, n int64) int64 {
					if table == latestIn {
						n += 10_000
					}
					if v := fromMillis(base + n); v.After(want) {
						want = v
					}
					return base + n
				}
				al, _ = insertOldRows(t, s, oldStamps{
					contact: stamp("contacts", 4000), person: stamp("people", 3000),
					phone: stamp("phones", 2000), tombstone: stamp("deleted_records", 1000),
				})
				if got := maxStamp(t, s, al); !got.Equal(want) {
					t.Fatalf("fixture: latest stamp %v, want %v", got, want)
				}
			}

			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if hw := highWater(t, s, al); !hw.Equal(want) {
				t.Fatalf("after Migrate the write clock = %v, want %v", hw, want)
			}

			c := mustContact(t, s, Contact{AccountListID: al, Name: "new"})
			wantAt := nowMS(clk) // the clock, if nothing later was stored
			if want.After(wantAt) {
				wantAt = want
			}
			if !c.UpdatedInDBAt.Equal(wantAt) {
				t.Errorf("new contact: UpdatedInDBAt = %v, want %v", c.UpdatedInDBAt, wantAt)
			}
			if hw := highWater(t, s, al); !hw.Equal(wantAt) {
				t.Errorf("after a write the write clock = %v, want %v", hw, wantAt)
			}
		})
	}
}

// TestMigrateMovesWriteClock upgrades a database at version 3, whose
// database-wide write_clock is ahead of every stored stamp and of the
// clock, with migration 0004: write_clock is gone, every account list
// starts at the old high-water mark, and new writes in each, with the
// clock behind it, are stamped no earlier.
func TestMigrateMovesWriteClock(t *testing.T) { forEachBackend(t, testMigrateMovesWriteClock) }

func testMigrateMovesWriteClock(t *testing.T) {
	ctx := t.Context()
	engine := backendOf(t)
	upTo3 := migrationsBefore(t, engine, "_account_list_clock.sql")
	if v, err := migrationVersion(upTo3[len(upTo3)-1]); err != nil || v != 3 || !strings.HasSuffix(upTo3[len(upTo3)-1], "_write_clock.sql") {
		t.Fatalf("migrations before the account list clock's: %v; want 0001 to 0003_write_clock", upTo3)
	}
	s := openDB(t, newDB(t))
	clk := dbtest.NewClock(dbtest.Start)
	s.SetClock(clk.Now)
	applyMigrations(t, s, upTo3)

	base := nowMS(clk).UnixMilli()
	alA, contactA := insertOldRows(t, s, oldStamps{base + 4, base + 3, base + 2, base + 1})
	alB, contactB := insertOldRows(t, s, oldStamps{base + 1, base + 2, base + 3, base + 4})
	old := nowMS(clk).Add(time.Hour) // ahead of every row and of the clock
	if _, err := s.pool().ExecContext(ctx, `UPDATE write_clock SET hw = ? WHERE id = 1`, old.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM write_clock WHERE hw = ?`, old.UnixMilli()); n != 1 {
		t.Fatalf("fixture: %d write_clock rows at %v, want 1", n, old)
	}

	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if tableExists(t, s, "write_clock") {
		t.Error("write_clock exists after Migrate")
	}
	wantCount(t, s, len(migrationFiles(t, engine)), `SELECT COUNT(*) FROM schema_migrations`)
	wantCount(t, s, 0, `SELECT COUNT(*) FROM account_lists WHERE hw <> ?`, old.UnixMilli())
	for _, al := range []string{alA, alB} {
		if hw := highWater(t, s, al); !hw.Equal(old) {
			t.Errorf("account list %s: write clock %v after Migrate, want the old %v", al, hw, old)
		}
	}

	// New writes in either account list, the clock an hour behind the old
	// mark: a create, an update, a delete.
	clk.Set(dbtest.Start.Add(-time.Minute))
	for _, w := range []struct {
		name  string
		al    string
		write func() ([]time.Time, error)
	}{
		{"create contact in A", alA, func() ([]time.Time, error) {
			c, err := s.CreateContact(ctx, Contact{AccountListID: alA, Name: "new"})
			return []time.Time{c.UpdatedInDBAt, c.CreatedAt, c.UpdatedAt}, err
		}},
		{"update contact in B", alB, func() ([]time.Time, error) {
			c, err := s.UpdateContact(ctx, alB, contactB, ContactUpdate{Name: ptr("renamed")}, nil)
			return []time.Time{c.UpdatedInDBAt, c.UpdatedAt}, err
		}},
		{"delete contact in A", alA, func() ([]time.Time, error) {
			if err := s.DeleteContact(ctx, alA, contactA, nil); err != nil {
				return nil, err
			}
			return tombstoneTimes(t, s, alA, contactA), nil
		}},
	} {
		times, err := w.write()
		if err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		for _, at := range times {
			if at.Before(old) {
				t.Errorf("%s: stamped %v, before the old high-water mark %v", w.name, at, old)
			}
		}
		if hw, max := highWater(t, s, w.al), maxStamp(t, s, w.al); !hw.Equal(max) || hw.Before(old) {
			t.Errorf("%s: write clock %v, latest stamp %v; want equal, not before %v", w.name, hw, max, old)
		}
	}
}

// stampOf returns the stored updated_in_db_at of person p of contact c:
// a phone write advances it (touchPerson).
func stampOf(t *testing.T, s *Store, c Contact, p Person) time.Time {
	t.Helper()
	got, err := s.Person(t.Context(), contactScope(c), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got.UpdatedInDBAt
}
