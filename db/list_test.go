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

// fixedID returns the UUID whose last digits are n, so fixtures control
// the id order.
func fixedID(n int) string {
	return fmt.Sprintf("00000000-0000-0000-0000-%012d", n)
}

// Instants of the list fixtures, a millisecond apart so ranges are tight.
var (
	t0 = time.Date(2023, 5, 1, 12, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Millisecond)
	t2 = t0.Add(2 * time.Millisecond)
)

// newListStore is newStore with the clock a second before t0, before
// every fixture row: write times never go back.
func newListStore(t *testing.T) (*Store, *dbtest.Clock) {
	t.Helper()
	s, clk := newStore(t)
	clk.Set(t0.Add(-time.Second))
	return s, clk
}

// sortCase is the expected ascending order of a list, as fixture names, for
// one sort. Descending is the exact reverse: ties are broken by id in the
// same direction.
type sortCase struct {
	sort string
	asc  string // space-separated names
}

// checkSorts lists with every sort, in both directions, whole and in pages
// of two and of four, and checks names and totals exactly.
func checkSorts[T any](t *testing.T, list func(ListQuery) ([]T, int, error), name func(T) string, cases []sortCase) {
	t.Helper()
	for _, tc := range cases {
		for _, desc := range []bool{false, true} {
			want := strings.Fields(tc.asc)
			if desc {
				slices.Reverse(want)
			}
			n := len(want)
			label := fmt.Sprintf("sort %q desc=%v", tc.sort, desc)
			pages := []struct{ limit, offset int }{{0, 0}, {0, 2}, {0, n}}
			for off := 0; off <= n+2; off += 2 {
				pages = append(pages, struct{ limit, offset int }{2, off})
			}
			pages = append(pages, struct{ limit, offset int }{4, 4}, struct{ limit, offset int }{1, n - 1})
			for _, pg := range pages {
				got, total, err := list(ListQuery{Sort: tc.sort, Desc: desc, Limit: pg.limit, Offset: pg.offset})
				if err != nil {
					t.Fatalf("%s limit %d offset %d: %v", label, pg.limit, pg.offset, err)
				}
				end := n
				if pg.limit > 0 {
					end = min(n, pg.offset+pg.limit)
				}
				wantPage := []string{}
				if pg.offset < n {
					wantPage = want[pg.offset:end]
				}
				var names []string
				for _, x := range got {
					names = append(names, name(x))
				}
				if strings.Join(names, " ") != strings.Join(wantPage, " ") || total != n || got == nil {
					t.Errorf("%s limit %d offset %d = [%s] total %d; want [%s] total %d",
						label, pg.limit, pg.offset, strings.Join(names, " "), total, strings.Join(wantPage, " "), n)
				}
			}
		}
	}
}

// phoneFixture is a person with six phones whose sort columns tie in
// different ways. Each row lists name, id, created_at, updated_at,
// updated_in_db_at, in creation order:
//
//	c 4 t1 t1 t2   (created first: primary; location mobile)
//	a 5 t0 t2 t1   (location home)
//	f 3 t1 t2 t0
//	b 2 t1 t0 t0   (location home)
//	e 6 t0 t0 t2   (historic)
//	d 1 t2 t1 t1
//
// Write times never go backwards, so the phones are created before t0 (c
// first, so that it is primary) and then rewritten in updated_in_db_at
// order with the clock moving forward through t0, t1, t2, keeping their
// updated_at.
type phoneFixture struct {
	s        *Store
	personID string
	names    map[string]string // id → name
}

func newPhoneFixture(t *testing.T) *phoneFixture {
	t.Helper()
	s, clk := newListStore(t)
	created := nowMS(clk)
	sc := newPerson(t, s)
	f := &phoneFixture{s: s, personID: sc.PersonID, names: map[string]string{}}
	type row struct {
		name                   string
		id                     int
		created, updated, inDB time.Time
		location               *string
		historic               bool
	}
	rows := []row{
		{"c", 4, t1, t1, t2, ptr("mobile"), false},
		{"a", 5, t0, t2, t1, ptr("home"), false},
		{"f", 3, t1, t2, t0, nil, false},
		{"b", 2, t1, t0, t0, ptr("home"), false},
		{"e", 6, t0, t0, t2, nil, true},
		{"d", 1, t2, t1, t1, nil, false},
	}
	for _, r := range rows {
		p := mustPhone(t, s, sc, NewPhone{
			ID: fixedID(r.id), Number: "+1 617 555 010" + fmt.Sprint(r.id),
			Location: r.location, Historic: r.historic, CreatedAt: r.created, UpdatedAt: r.updated,
		})
		f.names[p.ID] = r.name
	}
	// Creating non-primary phones must not have re-stamped any other.
	for _, p := range f.list(t, ListQuery{}) {
		if want := p.Number == "+1 617 555 0104"; p.Primary != want {
			t.Fatalf("phone %s: Primary = %v, want %v", f.names[p.ID], p.Primary, want)
		}
		if !p.UpdatedInDBAt.Equal(created) {
			t.Fatalf("phone %s: UpdatedInDBAt = %v after the creates, want %v", f.names[p.ID], p.UpdatedInDBAt, created)
		}
	}
	byInDB := slices.Clone(rows)
	slices.SortStableFunc(byInDB, func(a, b row) int { return a.inDB.Compare(b.inDB) })
	for _, r := range byInDB {
		clk.Set(r.inDB)
		p, err := s.UpdatePhone(t.Context(), sc, fixedID(r.id), PhoneUpdate{UpdatedAt: ptr(r.updated)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !p.UpdatedInDBAt.Equal(r.inDB) {
			t.Fatalf("phone %s: UpdatedInDBAt = %v, want %v", r.name, p.UpdatedInDBAt, r.inDB)
		}
	}
	// Every phone is now exactly as the table says.
	got := map[string]Phone{}
	for _, p := range f.list(t, ListQuery{}) {
		got[f.names[p.ID]] = p
	}
	for _, r := range rows {
		p := got[r.name]
		if !p.CreatedAt.Equal(r.created) || !p.UpdatedAt.Equal(r.updated) || !p.UpdatedInDBAt.Equal(r.inDB) ||
			p.Primary != (r.name == "c") || p.Historic != r.historic {
			t.Fatalf("phone %s = %+v; want created_at %v, updated_at %v, updated_in_db_at %v, primary %v, historic %v",
				r.name, p, r.created, r.updated, r.inDB, r.name == "c", r.historic)
		}
	}
	return f
}

func (f *phoneFixture) list(t *testing.T, q ListQuery) []Phone {
	t.Helper()
	list, _, err := f.s.ListPhones(t.Context(), personPath(t, f.s, f.personID), q)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestListPhonesSortAndPage(t *testing.T) { forEachBackend(t, testListPhonesSortAndPage) }

func testListPhonesSortAndPage(t *testing.T) {
	f := newPhoneFixture(t)
	checkSorts(t,
		func(q ListQuery) ([]Phone, int, error) {
			return f.s.ListPhones(t.Context(), personPath(t, f.s, strings.ToUpper(f.personID)), q)
		},
		func(p Phone) string { return f.names[p.ID] },
		[]sortCase{
			{"", "a e b f c d"},
			{"created_at", "a e b f c d"},
			{"updated_at", "b e d c f a"},
			{"updated_in_db_at", "b f d a c e"},
		})
}

func TestListPhonesFilters(t *testing.T) { forEachBackend(t, testListPhonesFilters) }

func testListPhonesFilters(t *testing.T) {
	f := newPhoneFixture(t)
	tests := []struct {
		name string
		q    ListQuery
		want string // names in created_at order
	}{
		{"none", ListQuery{}, "a e b f c d"},
		{"updated_at point, inclusive both ends", ListQuery{UpdatedAt: &Range{From: &t1, To: &t1}}, "c d"},
		{"updated_at from, inclusive", ListQuery{UpdatedAt: &Range{From: &t1}}, "a f c d"},
		{"updated_at to, inclusive", ListQuery{UpdatedAt: &Range{To: &t1}}, "e b c d"},
		{"updated_at whole range", ListQuery{UpdatedAt: &Range{From: &t0, To: &t2}}, "a e b f c d"},
		{"updated_at open range", ListQuery{UpdatedAt: &Range{}}, "a e b f c d"},
		{"updated_at sub-millisecond bounds truncate", ListQuery{UpdatedAt: &Range{
			From: ptr(t1.Add(999 * time.Microsecond)), To: ptr(t1.Add(time.Microsecond))}}, "c d"},
		{"updated_at other zone", ListQuery{UpdatedAt: &Range{
			From: ptr(t2.In(time.FixedZone("x", -5*3600)))}}, "a f"},
		{"updated_at from after to", ListQuery{UpdatedAt: &Range{From: &t2, To: &t1}}, ""},
		{"updated_at before all", ListQuery{UpdatedAt: &Range{To: ptr(t0.Add(-time.Millisecond))}}, ""},
		{"updated_in_db_at point", ListQuery{UpdatedInDBAt: &Range{From: &t0, To: &t0}}, "b f"},
		{"updated_in_db_at from", ListQuery{UpdatedInDBAt: &Range{From: &t2}}, "e c"},
		{"both ranges", ListQuery{UpdatedAt: &Range{From: &t1}, UpdatedInDBAt: &Range{To: &t1}}, "a f d"},
		{"primary", ListQuery{Primary: ptr(true)}, "c"},
		{"not primary", ListQuery{Primary: ptr(false)}, "a e b f d"},
		{"historic", ListQuery{Historic: ptr(true)}, "e"},
		{"not historic", ListQuery{Historic: ptr(false)}, "a b f c d"},
		{"location", ListQuery{Location: ptr("home")}, "a b"},
		{"location is exact", ListQuery{Location: ptr("Home")}, ""},
		{"empty location matches no null", ListQuery{Location: ptr("")}, ""},
		{"all filters", ListQuery{
			UpdatedAt: &Range{From: &t0, To: &t2}, UpdatedInDBAt: &Range{From: &t1},
			Primary: ptr(false), Historic: ptr(false), Location: ptr("home"),
		}, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := strings.Fields(tt.want)
			for _, q := range []ListQuery{tt.q, withPage(tt.q, 1, 1)} {
				got, total, err := f.s.ListPhones(t.Context(), personPath(t, f.s, f.personID), q)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, p := range got {
					names = append(names, f.names[p.ID])
				}
				wantPage := want
				if q.Limit > 0 {
					wantPage = want[min(len(want), q.Offset):min(len(want), q.Offset+q.Limit)]
				}
				if !slices.Equal(names, wantPage) || total != len(want) {
					t.Errorf("limit %d offset %d: got [%s] total %d; want [%s] total %d",
						q.Limit, q.Offset, strings.Join(names, " "), total, strings.Join(wantPage, " "), len(want))
				}
			}
		})
	}
}

func withPage(q ListQuery, limit, offset int) ListQuery {
	q.Limit, q.Offset = limit, offset
	return q
}

// listRow is a list fixture row: its name, id number and timestamps.
type listRow struct {
	name                   string
	id                     int
	created, updated, inDB time.Time
}

func TestListContactsSortAndPage(t *testing.T) { forEachBackend(t, testListContactsSortAndPage) }

func testListContactsSortAndPage(t *testing.T) {
	s, clk := newListStore(t)
	al := newAccountList(t, s)
	other := newAccountList(t, s)
	mustContact(t, s, Contact{AccountListID: other, Name: "other list", CreatedAt: t0})
	names := map[string]string{}
	// Name order is byte order: upper case before lower case.
	rows := []listRow{
		{"bob", 3, t1, t0, t1},
		{"Zed", 5, t0, t1, t0},
		{"bob", 1, t2, t1, t2},
		{"ann", 4, t1, t0, t0},
		{"Zed", 2, t0, t2, t1},
	}
	// Created in updated_in_db_at order, the clock moving forward.
	slices.SortStableFunc(rows, func(a, b listRow) int { return a.inDB.Compare(b.inDB) })
	for _, r := range rows {
		clk.Set(r.inDB)
		c := mustContact(t, s, Contact{ID: fixedID(r.id), AccountListID: al, Name: r.name, CreatedAt: r.created, UpdatedAt: r.updated})
		if !c.CreatedAt.Equal(r.created) || !c.UpdatedAt.Equal(r.updated) || !c.UpdatedInDBAt.Equal(r.inDB) {
			t.Fatalf("contact %s%d = %+v; want created_at %v, updated_at %v, updated_in_db_at %v",
				r.name, r.id, c, r.created, r.updated, r.inDB)
		}
		names[c.ID] = fmt.Sprintf("%s%d", r.name, r.id)
	}
	checkSorts(t,
		func(q ListQuery) ([]Contact, int, error) { return s.ListContacts(t.Context(), strings.ToUpper(al), q) },
		func(c Contact) string { return names[c.ID] },
		[]sortCase{
			{"", "Zed2 Zed5 bob3 ann4 bob1"},
			{"created_at", "Zed2 Zed5 bob3 ann4 bob1"},
			{"updated_at", "bob3 ann4 bob1 Zed5 Zed2"},
			{"updated_in_db_at", "ann4 Zed5 Zed2 bob3 bob1"},
			{"name", "Zed2 Zed5 ann4 bob1 bob3"},
		})

	got, total, err := s.ListContacts(t.Context(), al, ListQuery{UpdatedAt: &Range{From: &t1, To: &t1}})
	if err != nil || total != 2 || len(got) != 2 || names[got[0].ID] != "Zed5" || names[got[1].ID] != "bob1" {
		t.Errorf("updated_at filter = %+v, %d, %v; want Zed5 bob1", got, total, err)
	}
	got, total, err = s.ListContacts(t.Context(), al, ListQuery{UpdatedInDBAt: &Range{To: &t0}, Sort: "name", Desc: true})
	if err != nil || total != 2 || len(got) != 2 || names[got[0].ID] != "ann4" || names[got[1].ID] != "Zed5" {
		t.Errorf("updated_in_db_at filter = %+v, %d, %v; want ann4 Zed5", got, total, err)
	}
}

func TestListPeopleSortAndPage(t *testing.T) { forEachBackend(t, testListPeopleSortAndPage) }

func testListPeopleSortAndPage(t *testing.T) {
	s, clk := newListStore(t)
	al := newAccountList(t, s)
	c := mustContact(t, s, Contact{AccountListID: al, Name: "c"})
	otherContact := mustContact(t, s, Contact{AccountListID: al, Name: "other"})
	mustPerson(t, s, contactScope(otherContact), Person{FirstName: "Aaron", CreatedAt: t0})
	names := map[string]string{}
	type personRow struct {
		listRow
		first string
		last  *string
	}
	rows := []personRow{
		{listRow{"p", 3, t1, t2, t0}, "ann", ptr("Lee")},
		{listRow{"q", 6, t0, t1, t1}, "Bo", nil},
		{listRow{"r", 2, t1, t1, t2}, "ann", ptr("Kim")},
		{listRow{"s", 5, t2, t0, t1}, "cy", ptr("Lee")},
		{listRow{"t", 4, t0, t0, t0}, "Bo", nil},
		{listRow{"u", 1, t2, t2, t2}, "ann", ptr("lee")},
	}
	// Created in updated_in_db_at order, the clock moving forward.
	slices.SortStableFunc(rows, func(a, b personRow) int { return a.inDB.Compare(b.inDB) })
	for _, r := range rows {
		clk.Set(r.inDB)
		p := mustPerson(t, s, contactScope(c), Person{ID: fixedID(r.id), FirstName: r.first, LastName: r.last,
			CreatedAt: r.created, UpdatedAt: r.updated})
		if !p.CreatedAt.Equal(r.created) || !p.UpdatedAt.Equal(r.updated) || !p.UpdatedInDBAt.Equal(r.inDB) {
			t.Fatalf("person %s = %+v; want created_at %v, updated_at %v, updated_in_db_at %v",
				r.name, p, r.created, r.updated, r.inDB)
		}
		names[p.ID] = r.name
	}
	checkSorts(t,
		func(q ListQuery) ([]Person, int, error) {
			return s.ListPeople(t.Context(), contactPath(t, s, strings.ToUpper(c.ID)), q)
		},
		func(p Person) string { return names[p.ID] },
		[]sortCase{
			{"", "t q r p u s"},
			{"created_at", "t q r p u s"},
			{"updated_at", "t s r q u p"},
			{"updated_in_db_at", "p t s q u r"},
			{"first_name", "t q u r p s"},
			// NULL last names first ascending (so last descending).
			{"last_name", "t q r p s u"},
		})

	got, total, err := s.ListPeople(t.Context(), contactPath(t, s, c.ID), ListQuery{UpdatedAt: &Range{From: &t2}, Sort: "first_name"})
	if err != nil || total != 2 || len(got) != 2 || names[got[0].ID] != "u" || names[got[1].ID] != "p" {
		t.Errorf("updated_at filter = %+v, %d, %v; want u p", got, total, err)
	}
}

func TestListParentNotFound(t *testing.T) { forEachBackend(t, testListParentNotFound) }

func testListParentNotFound(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	sc := newPerson(t, s)
	al, contactID, personID := sc.AccountListID, sc.ContactID, sc.PersonID
	q := ListQuery{Limit: 10, Offset: 5}

	_, _, err := s.ListContacts(ctx, uuid.NewString(), q)
	wantErr(t, err, ErrNotFound)
	_, _, err = s.ListPeople(ctx, contactPath(t, s, uuid.NewString()), q)
	wantErr(t, err, ErrNotFound)
	_, _, err = s.ListPhones(ctx, personPath(t, s, uuid.NewString()), q)
	wantErr(t, err, ErrNotFound)
	_, _, err = s.ListPhones(ctx, personPath(t, s, uuid.NewString()), ListQuery{})
	wantErr(t, err, ErrNotFound)

	// An existing parent with nothing to show is no error, whatever the
	// filters and paging.
	for _, q := range []ListQuery{{}, q, {UpdatedAt: &Range{From: &t2, To: &t0}}} {
		if list, total, err := s.ListPhones(ctx, personPath(t, s, personID), q); err != nil || list == nil || len(list) != 0 || total != 0 {
			t.Errorf("ListPhones(%+v) = %v, %d, %v; want empty non-nil, 0", q, list, total, err)
		}
	}
	mustPhone(t, s, sc, NewPhone{Number: "1"})
	if list, total, err := s.ListPhones(ctx, personPath(t, s, personID), q); err != nil || list == nil || len(list) != 0 || total != 1 {
		t.Errorf("ListPhones past the end = %v, %d, %v; want empty non-nil, 1", list, total, err)
	}
	if list, total, err := s.ListPeople(ctx, contactPath(t, s, contactID), ListQuery{Offset: 3}); err != nil || len(list) != 0 || total != 1 {
		t.Errorf("ListPeople past the end without limit = %v, %d, %v; want empty, 1", list, total, err)
	}
	if list, total, err := s.ListContacts(ctx, al, ListQuery{Sort: "name"}); err != nil || len(list) != 1 || total != 1 {
		t.Errorf("ListContacts = %v, %d, %v; want 1, 1", list, total, err)
	}
}

func TestListInvalidQuery(t *testing.T) { forEachBackend(t, testListInvalidQuery) }

func testListInvalidQuery(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	sc := newPerson(t, s)
	al, contactID, personID := sc.AccountListID, sc.ContactID, sc.PersonID
	type lister func(ListQuery) error
	contacts := func(q ListQuery) error { _, _, err := s.ListContacts(ctx, al, q); return err }
	people := func(q ListQuery) error { _, _, err := s.ListPeople(ctx, contactPath(t, s, contactID), q); return err }
	phones := func(q ListQuery) error { _, _, err := s.ListPhones(ctx, personPath(t, s, personID), q); return err }
	tests := []struct {
		name string
		list lister
		q    ListQuery
	}{
		{"contacts unknown sort", contacts, ListQuery{Sort: "first_name"}},
		{"contacts sort by id", contacts, ListQuery{Sort: "id"}},
		{"contacts sort is case-sensitive", contacts, ListQuery{Sort: "Name"}},
		{"contacts sort injection", contacts, ListQuery{Sort: "name; DROP TABLE contacts"}},
		{"contacts primary filter", contacts, ListQuery{Primary: ptr(true)}},
		{"contacts historic filter", contacts, ListQuery{Historic: ptr(false)}},
		{"contacts location filter", contacts, ListQuery{Location: ptr("home")}},
		{"people sort by name", people, ListQuery{Sort: "name"}},
		{"people primary filter", people, ListQuery{Primary: ptr(true)}},
		{"people location filter", people, ListQuery{Location: ptr("")}},
		{"phones sort by number", phones, ListQuery{Sort: "number"}},
		{"phones sort by last_name", phones, ListQuery{Sort: "last_name"}},
		{"phones sort by quoted column", phones, ListQuery{Sort: `"primary"`}},
		{"negative limit", phones, ListQuery{Limit: -1}},
		{"negative offset", contacts, ListQuery{Offset: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.list(tt.q), ErrInvalidQuery)
		})
	}
	wantCount(t, s, 1, `SELECT COUNT(*) FROM contacts`)
}

// TestListQueryPlans checks that every list query, page and count, reads
// through an index on the parent column and never scans a whole table, so
// lists cost the same however large the database grows. Pages without
// range filters must also come out of the index in order, with no sort.
// counterSearch is the plan of an unfiltered list's count: one account
// list's counter, by its primary key.
var counterSearch = regexp.MustCompile(`^SEARCH account_lists USING (COVERING )?INDEX sqlite_autoindex_account_lists_1 \(id=\?\)`)

func TestListQueryPlans(t *testing.T) {
	s, _ := newStore(t)
	specs := []struct {
		spec    listSpec
		filters []ListQuery
	}{
		{contactList, []ListQuery{{}, {UpdatedAt: &Range{From: &t0, To: &t1}}, {UpdatedInDBAt: &Range{From: &t0}}}},
		{personList, []ListQuery{{}, {UpdatedAt: &Range{To: &t1}}, {UpdatedInDBAt: &Range{From: &t0, To: &t2}}}},
		{phoneList, []ListQuery{
			{}, {UpdatedAt: &Range{From: &t0, To: &t1}}, {UpdatedInDBAt: &Range{From: &t0}},
			{Primary: ptr(true)}, {Historic: ptr(false), Location: ptr("home")},
			{UpdatedAt: &Range{From: &t0}, UpdatedInDBAt: &Range{To: &t2}, Primary: ptr(false)},
		}},
	}
	for _, sp := range specs {
		search := regexp.MustCompile(`^SEARCH ` + sp.spec.table + ` USING (COVERING )?INDEX ` +
			sp.spec.table + `_` + sp.spec.parent + `_\w+ \(` + sp.spec.parent + `=\?`)
		for sort := range sp.spec.sorts {
			for _, filter := range sp.filters {
				for _, desc := range []bool{false, true} {
					q := filter
					q.Sort, q.Desc, q.Limit, q.Offset = sort, desc, 25, 50
					st, err := sp.spec.build(sqliteDialect, "00000000-0000-0000-0000-000000000001", q)
					if err != nil {
						t.Fatal(err)
					}
					filtered := filter.UpdatedAt != nil || filter.UpdatedInDBAt != nil
					for _, query := range []struct {
						kind, sql string
						args      []any
					}{
						{"page", st.page, st.pageArgs},
						{"count", st.count, st.countArgs},
					} {
						plan := queryPlan(t, s, query.sql, query.args...)
						label := fmt.Sprintf("%s %s sort %s desc %v filter %+v:\n%s\nplan:\n%s",
							sp.spec.table, query.kind, sort, desc, filter, query.sql, strings.Join(plan, "\n"))
						want := search
						if query.kind == "count" && sp.spec.counter != "" && !filtered {
							want = counterSearch // the account list's count (migration 0006)
						}
						if !slices.ContainsFunc(plan, want.MatchString) {
							t.Errorf("%s\nno search through an index on %s", label, sp.spec.parent)
						}
						if slices.ContainsFunc(plan, func(l string) bool { return strings.HasPrefix(l, "SCAN") && l != "SCAN CONSTANT ROW" }) {
							t.Errorf("%s\nscans", label)
						}
						if query.kind == "page" && !filtered &&
							slices.ContainsFunc(plan, func(l string) bool { return strings.Contains(l, "TEMP B-TREE") }) {
							t.Errorf("%s\nsorts instead of reading the index in order", label)
						}
					}
				}
			}
		}
	}
}
