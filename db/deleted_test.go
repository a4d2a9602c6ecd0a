package db

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/phoneapi/phoneapi/db/dbtest"
)

// tombstones returns every tombstone of the account list, oldest first.
func (f *family) tombstones(t *testing.T, al string) []Deleted {
	t.Helper()
	list, total, err := f.s.ListDeleted(t.Context(), al, DeletedQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if total != len(list) {
		t.Fatalf("ListDeleted total %d for %d rows", total, len(list))
	}
	return list
}

// wantTombstone is a tombstone as a test expects it: type, deleted id, contact id
// and person id ("" for NULL).
type wantTombstone struct{ typ, id, contact, person string }

func (w wantTombstone) String() string {
	return fmt.Sprintf("%s %s c=%s p=%s", w.typ, w.id, w.contact, w.person)
}

// checkTombstones compares got, ignoring order, with want, all at at, and
// checks the ids.
func checkTombstones(t *testing.T, got []Deleted, al string, at time.Time, want []wantTombstone) {
	t.Helper()
	var gotW []string
	seen := map[string]bool{}
	for _, d := range got {
		gotW = append(gotW, wantTombstone{d.Type, d.DeletableID, strOrEmpty(d.ContactID), strOrEmpty(d.PersonID)}.String())
		if d.AccountListID != al || !d.DeletedAt.Equal(at) || d.DeletedAt.Location() != time.UTC {
			t.Errorf("tombstone %+v: want account list %s, DeletedAt %v UTC", d, al, at)
		}
		u, err := uuid.Parse(d.ID)
		if err != nil || d.ID != strings.ToLower(d.ID) || u.Version() != 4 || u.Variant() != uuid.RFC4122 {
			t.Errorf("tombstone id %q is not a lower-case version 4 UUID", d.ID)
		}
		if seen[d.ID] {
			t.Errorf("tombstone id %s twice", d.ID)
		}
		seen[d.ID] = true
	}
	var wantW []string
	for _, w := range want {
		wantW = append(wantW, w.String())
	}
	slices.Sort(gotW)
	slices.Sort(wantW)
	if !slices.Equal(gotW, wantW) {
		t.Errorf("tombstones:\n got %s\nwant %s", strings.Join(gotW, "\n     "), strings.Join(wantW, "\n     "))
	}
}

func strOrEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestDeletePhoneTombstone(t *testing.T) { forEachBackend(t, testDeletePhoneTombstone) }

func testDeletePhoneTombstone(t *testing.T) {
	f := newFamily(t)
	ctx := t.Context()
	f.clk.Add(time.Minute)
	a := f.phones["a"]
	if err := f.s.DeletePhone(ctx, upperScope(f.in(f.p1)), strings.ToUpper(a.ID), nil); err != nil {
		t.Fatal(err)
	}
	checkTombstones(t, f.tombstones(t, f.al), f.al, nowMS(f.clk), []wantTombstone{
		{TypePhoneNumbers, a.ID, f.c.ID, f.p1.ID},
	})
	if got := f.tombstones(t, f.other.AccountListID); len(got) != 0 {
		t.Errorf("other account list has tombstones %+v", got)
	}
	// b was promoted; the phone is gone.
	if b, err := f.s.Phone(ctx, personPath(t, f.s, f.p1.ID), f.phones["b"].ID); err != nil || !b.Primary {
		t.Errorf("remaining phone = %+v, %v; want primary", b, err)
	}
	wantCount(t, f.s, 0, `SELECT COUNT(*) FROM phones WHERE id = ?`, a.ID)
}

func TestDeletePersonTombstones(t *testing.T) { forEachBackend(t, testDeletePersonTombstones) }

func testDeletePersonTombstones(t *testing.T) {
	f := newFamily(t)
	ctx := t.Context()
	f.clk.Add(time.Minute)
	if err := f.s.DeletePerson(ctx, contactScope(f.c), f.p2.ID, nil); err != nil {
		t.Fatal(err)
	}
	checkTombstones(t, f.tombstones(t, f.al), f.al, nowMS(f.clk), []wantTombstone{
		{TypePhoneNumbers, f.phones["c"].ID, f.c.ID, f.p2.ID},
		{TypePhoneNumbers, f.phones["d"].ID, f.c.ID, f.p2.ID},
		{TypePhoneNumbers, f.phones["e"].ID, f.c.ID, f.p2.ID},
		{TypePeople, f.p2.ID, f.c.ID, ""},
	})
	wantCount(t, f.s, 0, `SELECT COUNT(*) FROM phones WHERE person_id = ?`, f.p2.ID)
	wantCount(t, f.s, 4, `SELECT COUNT(*) FROM phones`)
}

func TestDeleteContactTombstones(t *testing.T) { forEachBackend(t, testDeleteContactTombstones) }

func testDeleteContactTombstones(t *testing.T) {
	f := newFamily(t)
	ctx := t.Context()
	f.clk.Add(time.Minute)
	if err := f.s.DeleteContact(ctx, strings.ToUpper(f.al), strings.ToUpper(f.c.ID), nil); err != nil {
		t.Fatal(err)
	}
	got := f.tombstones(t, f.al)
	checkTombstones(t, got, f.al, nowMS(f.clk), []wantTombstone{
		{TypePhoneNumbers, f.phones["a"].ID, f.c.ID, f.p1.ID},
		{TypePhoneNumbers, f.phones["b"].ID, f.c.ID, f.p1.ID},
		{TypePhoneNumbers, f.phones["c"].ID, f.c.ID, f.p2.ID},
		{TypePhoneNumbers, f.phones["d"].ID, f.c.ID, f.p2.ID},
		{TypePhoneNumbers, f.phones["e"].ID, f.c.ID, f.p2.ID},
		{TypePeople, f.p1.ID, f.c.ID, ""},
		{TypePeople, f.p2.ID, f.c.ID, ""},
		{TypeContacts, f.c.ID, "", ""},
	})
	for table, want := range map[string]int{"contacts": 2, "people": 2, "phones": 2, "deleted_records": 8} {
		wantCount(t, f.s, want, `SELECT COUNT(*) FROM `+table)
	}
	if _, err := f.s.Phone(ctx, personPath(t, f.s, f.pk.ID), f.phones["k"].ID); err != nil {
		t.Errorf("other contact's phone: %v", err)
	}
}

// TestDeleteSequenceTombstones deletes bottom-up, then a contact without
// people, and checks every delete is recorded once, at its own time.
func TestDeleteSequenceTombstones(t *testing.T) { forEachBackend(t, testDeleteSequenceTombstones) }

func testDeleteSequenceTombstones(t *testing.T) {
	f := newFamily(t)
	ctx := t.Context()
	steps := []struct {
		del  func() error
		want []wantTombstone
	}{
		{func() error { return f.s.DeletePhone(ctx, f.in(f.pk), f.phones["k"].ID, nil) },
			[]wantTombstone{{TypePhoneNumbers, f.phones["k"].ID, f.keep.ID, f.pk.ID}}},
		{func() error { return f.s.DeletePerson(ctx, contactScope(f.keep), f.pk.ID, nil) },
			[]wantTombstone{{TypePeople, f.pk.ID, f.keep.ID, ""}}},
		{func() error { return f.s.DeleteContact(ctx, f.al, f.keep.ID, nil) },
			[]wantTombstone{{TypeContacts, f.keep.ID, "", ""}}},
	}
	total := 0
	for i, st := range steps {
		f.clk.Add(time.Second)
		if err := st.del(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		at := nowMS(f.clk)
		got, n, err := f.s.ListDeleted(ctx, f.al, DeletedQuery{Since: &at})
		if err != nil {
			t.Fatal(err)
		}
		checkTombstones(t, got, f.al, at, st.want)
		total += len(st.want)
		if all := f.tombstones(t, f.al); len(all) != total || n != len(st.want) {
			t.Errorf("step %d: %d tombstones in all, %d since; want %d, %d", i, len(all), n, total, len(st.want))
		}
	}
}

func TestFailedDeletesLeaveNoTombstone(t *testing.T) {
	forEachBackend(t, testFailedDeletesLeaveNoTombstone)
}

func testFailedDeletesLeaveNoTombstone(t *testing.T) {
	f := newFamily(t)
	ctx := t.Context()
	stale := &Precondition{At: dbtest.Start.Add(-time.Hour), Precision: time.Millisecond}
	for _, err := range []error{
		f.s.DeletePhone(ctx, f.in(f.p2), f.phones["a"].ID, nil), // wrong parent
		f.s.DeletePhone(ctx, f.in(f.p1), uuid.NewString(), nil),
		f.s.DeletePerson(ctx, contactScope(f.keep), f.p1.ID, nil),
		f.s.DeletePerson(ctx, contactScope(f.c), uuid.NewString(), nil),
		f.s.DeleteContact(ctx, f.al, uuid.NewString(), nil),
		f.s.DeleteContact(ctx, uuid.NewString(), f.c.ID, nil), // no such account list
	} {
		wantErr(t, err, ErrNotFound)
	}
	for _, err := range []error{
		f.s.DeletePhone(ctx, f.in(f.p1), f.phones["a"].ID, stale),
		f.s.DeletePerson(ctx, contactScope(f.c), f.p1.ID, stale),
		f.s.DeleteContact(ctx, f.al, f.c.ID, stale),
	} {
		wantErr(t, err, ErrStale)
	}
	wantCount(t, f.s, 0, `SELECT COUNT(*) FROM deleted_records`)
}

// TestDeletedAtNeverDecreases turns the clock back between deletes,
// within an account list and across account lists: deleted_at never
// decreases within an account list, whatever the clock or another account
// list's deletes did, and a clock that is ahead is used as is. Each
// account list has a clock of its own: a delete in the other account list
// is stamped by the clock, not held back by this one's later deletes.
func TestDeletedAtNeverDecreases(t *testing.T) { forEachBackend(t, testDeletedAtNeverDecreases) }

func testDeletedAtNeverDecreases(t *testing.T) {
	f := newFamily(t)
	ctx := t.Context()
	seen := map[string]bool{}        // tombstone ids checked already
	latest := map[string]time.Time{} // the latest deleted_at so far, per account list
	// deleted checks that the last delete wrote n tombstones, all in
	// account list al, all at want, none before an earlier one of al.
	deleted := func(label, al string, n int, want time.Time) {
		t.Helper()
		var fresh []Deleted
		for _, list := range []string{f.al, f.other.AccountListID} {
			for _, d := range f.tombstones(t, list) {
				if !seen[d.ID] {
					seen[d.ID] = true
					fresh = append(fresh, d)
				}
			}
		}
		if len(fresh) != n {
			t.Fatalf("%s: %d new tombstones, want %d", label, len(fresh), n)
		}
		for _, d := range fresh {
			if d.AccountListID != al {
				t.Errorf("%s: tombstone %s %s in account list %s, want %s", label, d.Type, d.DeletableID, d.AccountListID, al)
			}
			if d.DeletedAt.Before(latest[al]) {
				t.Errorf("%s: tombstone %s %s at %v, before the account list's earlier %v", label, d.Type, d.DeletableID, d.DeletedAt, latest[al])
			}
			if !d.DeletedAt.Equal(want) {
				t.Errorf("%s: tombstone %s %s at %v, want %v", label, d.Type, d.DeletableID, d.DeletedAt, want)
			}
			latest[al] = d.DeletedAt
		}
	}
	otherAL := f.other.AccountListID

	f.clk.Add(time.Hour)
	first := nowMS(f.clk)
	if err := f.s.DeletePhone(ctx, f.in(f.p1), f.phones["a"].ID, nil); err != nil {
		t.Fatal(err)
	}
	deleted("phone a", f.al, 1, first)
	f.clk.Add(-time.Minute)
	if err := f.s.DeletePerson(ctx, contactScope(f.c), f.p2.ID, nil); err != nil {
		t.Fatal(err)
	}
	deleted("person p2, clock a minute back", f.al, 4, first)
	// The other account list, the clock at start+1s, before this one's
	// deletes: its own clock is at start (its rows were written then), so
	// the clock is used.
	f.clk.Set(dbtest.Start.Add(time.Second))
	otherAt := nowMS(f.clk)
	if err := f.s.DeletePhone(ctx, f.other, f.otherPhone, nil); err != nil {
		t.Fatal(err)
	}
	deleted("other account list's phone, clock at start+1s", otherAL, 1, otherAt)
	// A later clock is used as is, and holds back this account list only.
	f.clk.Set(first.Add(time.Hour))
	later := nowMS(f.clk)
	if err := f.s.DeletePhone(ctx, f.in(f.pk), f.phones["k"].ID, nil); err != nil {
		t.Fatal(err)
	}
	deleted("phone k, later clock", f.al, 1, later)
	// The clock back at start: each account list's deletes are stamped at
	// its own latest, not the other's.
	f.clk.Set(dbtest.Start)
	if err := f.s.DeletePerson(ctx, Scope{AccountListID: otherAL, ContactID: f.other.ContactID}, f.other.PersonID, nil); err != nil {
		t.Fatal(err)
	}
	deleted("other account list's person, clock at start", otherAL, 1, otherAt)
	if err := f.s.DeleteContact(ctx, f.al, f.c.ID, nil); err != nil {
		t.Fatal(err)
	}
	deleted("contact c, clock at start", f.al, 3, later) // c, p1 and its phone b
	if err := f.s.DeleteContact(ctx, otherAL, f.other.ContactID, nil); err != nil {
		t.Fatal(err)
	}
	deleted("other account list's contact, clock at start", otherAL, 1, otherAt)
}

// TestNewIDSQL checks the SQL expression tombstone ids come from.
func TestNewIDSQL(t *testing.T) { forEachBackend(t, testNewIDSQL) }

func testNewIDSQL(t *testing.T) {
	s, _ := newStore(t)
	rows, err := s.pool().QueryContext(t.Context(),
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) SELECT `+s.d.newID+` FROM n`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	variants := map[byte]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		u, err := uuid.Parse(id)
		if err != nil || len(id) != 36 || id != strings.ToLower(id) || u.String() != id ||
			u.Version() != 4 || u.Variant() != uuid.RFC4122 {
			t.Fatalf("id %q is not a lower-case version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("id %s twice", id)
		}
		seen[id] = true
		variants[id[19]] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2000 || len(variants) != 4 {
		t.Errorf("%d ids with variant digits %v; want 2000 with all of 8, 9, a, b", len(seen), variants)
	}
}

// deletedFixture deletes, in an account list: phone a at T1; person p2
// with phones c, d, e at T2; contact keep with pk and phone k at T3. It
// also deletes a phone of another account list at T2.
func deletedFixture(t *testing.T) (f *family, at [3]time.Time) {
	t.Helper()
	f = newFamily(t)
	ctx := t.Context()
	dels := []func() error{
		func() error { return f.s.DeletePhone(ctx, f.in(f.p1), f.phones["a"].ID, nil) },
		func() error {
			if err := f.s.DeletePhone(ctx, f.other, f.otherPhone, nil); err != nil {
				return err
			}
			return f.s.DeletePerson(ctx, contactScope(f.c), f.p2.ID, nil)
		},
		func() error { return f.s.DeleteContact(ctx, f.al, f.keep.ID, nil) },
	}
	for i, del := range dels {
		f.clk.Add(time.Second)
		at[i] = nowMS(f.clk)
		if err := del(); err != nil {
			t.Fatal(err)
		}
	}
	return f, at
}

func TestListDeletedOrderAndPaging(t *testing.T) { forEachBackend(t, testListDeletedOrderAndPaging) }

func testListDeletedOrderAndPaging(t *testing.T) {
	f, at := deletedFixture(t)
	ctx := t.Context()
	all, total, err := f.s.ListDeleted(ctx, strings.ToUpper(f.al), DeletedQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 8 || total != 8 {
		t.Fatalf("ListDeleted = %d rows, total %d; want 8, 8", len(all), total)
	}
	// Times in order 1, 4, 3 rows; ids ascending within each time.
	wantAt := []time.Time{at[0], at[1], at[1], at[1], at[1], at[2], at[2], at[2]}
	for i, d := range all {
		if !d.DeletedAt.Equal(wantAt[i]) {
			t.Errorf("row %d DeletedAt = %v, want %v", i, d.DeletedAt, wantAt[i])
		}
		if i > 0 && d.DeletedAt.Equal(all[i-1].DeletedAt) && d.ID <= all[i-1].ID {
			t.Errorf("rows %d and %d at one time not in id order: %s, %s", i-1, i, all[i-1].ID, d.ID)
		}
	}
	desc, total, err := f.s.ListDeleted(ctx, f.al, DeletedQuery{Desc: true})
	if err != nil || total != 8 {
		t.Fatalf("desc: total %d, %v", total, err)
	}
	if want := slices.Clone(all); !slices.EqualFunc(desc, reversed(want), sameDeleted) {
		t.Errorf("descending order is not the exact reverse of ascending")
	}
	for _, desc := range []bool{false, true} {
		full := all
		if desc {
			full = reversed(slices.Clone(all))
		}
		for _, limit := range []int{1, 3, 8} {
			for off := 0; off <= 9; off += limit {
				page, total, err := f.s.ListDeleted(ctx, f.al, DeletedQuery{Desc: desc, Limit: limit, Offset: off})
				if err != nil {
					t.Fatal(err)
				}
				want := full[min(off, 8):min(off+limit, 8)]
				if !slices.EqualFunc(page, want, sameDeleted) || total != 8 {
					t.Errorf("desc %v limit %d offset %d: %d rows, total %d; want rows %d..%d of %d",
						desc, limit, off, len(page), total, off, off+len(want), 8)
				}
			}
		}
	}
}

func reversed[T any](s []T) []T {
	slices.Reverse(s)
	return s
}

func sameDeleted(a, b Deleted) bool {
	return a.ID == b.ID && a.Type == b.Type && a.DeletableID == b.DeletableID &&
		strOrEmpty(a.ContactID) == strOrEmpty(b.ContactID) && strOrEmpty(a.PersonID) == strOrEmpty(b.PersonID) &&
		a.AccountListID == b.AccountListID && a.DeletedAt.Equal(b.DeletedAt)
}

func TestListDeletedFilters(t *testing.T) { forEachBackend(t, testListDeletedFilters) }

func testListDeletedFilters(t *testing.T) {
	f, at := deletedFixture(t)
	ms := time.Millisecond
	tests := []struct {
		name string
		q    DeletedQuery
		want string // sorted "type:name" of the deleted rows
	}{
		{"all", DeletedQuery{}, "contacts:keep people:p2 people:pk phone_numbers:a phone_numbers:c phone_numbers:d phone_numbers:e phone_numbers:k"},
		{"since T2 inclusive", DeletedQuery{Since: &at[1]},
			"contacts:keep people:p2 people:pk phone_numbers:c phone_numbers:d phone_numbers:e phone_numbers:k"},
		{"since just before T2", DeletedQuery{Since: ptr(at[1].Add(-ms))},
			"contacts:keep people:p2 people:pk phone_numbers:c phone_numbers:d phone_numbers:e phone_numbers:k"},
		{"since just after T2", DeletedQuery{Since: ptr(at[1].Add(ms))}, "contacts:keep people:pk phone_numbers:k"},
		{"since truncates to the millisecond", DeletedQuery{Since: ptr(at[2].Add(ms - time.Nanosecond))},
			"contacts:keep people:pk phone_numbers:k"},
		{"since after all", DeletedQuery{Since: ptr(at[2].Add(ms))}, ""},
		{"phones", DeletedQuery{Types: []string{TypePhoneNumbers}},
			"phone_numbers:a phone_numbers:c phone_numbers:d phone_numbers:e phone_numbers:k"},
		{"people", DeletedQuery{Types: []string{TypePeople}}, "people:p2 people:pk"},
		{"contacts", DeletedQuery{Types: []string{TypeContacts}}, "contacts:keep"},
		{"two types", DeletedQuery{Types: []string{TypePeople, TypeContacts}}, "contacts:keep people:p2 people:pk"},
		{"duplicate types", DeletedQuery{Types: []string{TypePeople, TypePeople}}, "people:p2 people:pk"},
		{"since and type", DeletedQuery{Since: &at[2], Types: []string{TypePhoneNumbers}}, "phone_numbers:k"},
		{"since, type and limit", DeletedQuery{Since: &at[1], Types: []string{TypePhoneNumbers}, Limit: 1, Offset: 0},
			"phone_numbers:c phone_numbers:d phone_numbers:e phone_numbers:k"},
	}
	names := map[string]string{f.c.ID: "c", f.keep.ID: "keep", f.p1.ID: "p1", f.p2.ID: "p2", f.pk.ID: "pk"}
	for name, p := range f.phones {
		names[p.ID] = name
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := strings.Fields(tt.want)
			q := tt.q
			q.Limit, q.Offset = 0, 0
			got, total, err := f.s.ListDeleted(t.Context(), f.al, q)
			if err != nil {
				t.Fatal(err)
			}
			var gotNames []string
			for _, d := range got {
				gotNames = append(gotNames, d.Type+":"+names[d.DeletableID])
				if d.AccountListID != f.al {
					t.Errorf("tombstone of account list %s listed", d.AccountListID)
				}
			}
			slices.Sort(gotNames)
			if !slices.Equal(gotNames, want) || total != len(want) || got == nil {
				t.Errorf("got [%s] total %d; want [%s] total %d", strings.Join(gotNames, " "), total, tt.want, len(want))
			}
			if tt.q.Limit > 0 {
				page, total, err := f.s.ListDeleted(t.Context(), f.al, tt.q)
				if err != nil || total != len(want) || len(page) != min(tt.q.Limit, len(want)) {
					t.Errorf("paged: %d rows, total %d, %v; want %d rows, total %d",
						len(page), total, err, min(tt.q.Limit, len(want)), len(want))
				}
			}
		})
	}
}

func TestListDeletedErrors(t *testing.T) { forEachBackend(t, testListDeletedErrors) }

func testListDeletedErrors(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	al := newAccountList(t, s)
	list, total, err := s.ListDeleted(ctx, al, DeletedQuery{Since: &dbtest.Start, Limit: 5, Offset: 5})
	if err != nil || list == nil || len(list) != 0 || total != 0 {
		t.Errorf("ListDeleted of a list without deletes = %v, %d, %v; want empty non-nil, 0", list, total, err)
	}
	_, _, err = s.ListDeleted(ctx, uuid.NewString(), DeletedQuery{})
	wantErr(t, err, ErrNotFound)
	for _, q := range []DeletedQuery{
		{Types: []string{"phones"}},
		{Types: []string{TypePeople, "Contacts"}},
		{Types: []string{""}},
		{Limit: -1},
		{Offset: -1},
	} {
		_, _, err := s.ListDeleted(ctx, al, q)
		wantErr(t, err, ErrInvalidQuery)
	}
}

// TestListDeletedQueryPlans checks tombstone lists search an index on
// account_list_id and never scan.
func TestListDeletedQueryPlans(t *testing.T) {
	s, _ := newStore(t)
	search := regexp.MustCompile(`^SEARCH deleted_records USING (COVERING )?INDEX deleted_records_account_list_id_\w+ \(account_list_id=\?`)
	for _, q := range []DeletedQuery{
		{}, {Desc: true}, {Since: &dbtest.Start}, {Since: &dbtest.Start, Desc: true},
		{Types: []string{TypePhoneNumbers}}, {Types: []string{TypePeople, TypeContacts}, Since: &dbtest.Start},
	} {
		q.Limit, q.Offset = 100, 100
		st, err := deletedSQL(sqliteDialect, "x", q)
		if err != nil {
			t.Fatal(err)
		}
		for _, query := range []struct {
			sql  string
			args []any
		}{{st.page, st.pageArgs}, {st.count, st.countArgs}} {
			plan := queryPlan(t, s, query.sql, query.args...)
			if !slices.ContainsFunc(plan, search.MatchString) ||
				slices.ContainsFunc(plan, func(l string) bool { return strings.HasPrefix(l, "SCAN") }) {
				t.Errorf("%s\nplan:\n%s", query.sql, strings.Join(plan, "\n"))
			}
		}
	}
}
