// The contact-less people collection (ListAccountPeople) and the person
// found by its id alone (PersonScope).

package db

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// samePerson reports whether a and b agree field by field, times by
// instant.
func samePerson(a, b Person) bool {
	return a.ID == b.ID && a.ContactID == b.ContactID && a.FirstName == b.FirstName &&
		strOrNil(a.LastName) == strOrNil(b.LastName) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) && a.UpdatedInDBAt.Equal(b.UpdatedInDBAt)
}

// personNames returns the fixture names of people, "?" for one the
// fixture does not name.
func personNames(people []Person, names map[string]string) []string {
	out := []string{}
	for _, p := range people {
		n, ok := names[p.ID]
		if !ok {
			n = "?" + p.ID
		}
		out = append(out, n)
	}
	return out
}

// accountPeople is an account list (al) whose six people are spread over
// two of its three contacts, and a second account list (single) holding
// people with the same names and times under one contact. Each row lists
// name, id, contact, created_at, updated_at, updated_in_db_at, first and
// last name:
//
//	p 3 c1 t1 t2 t0 ann Lee
//	q 6 c2 t0 t1 t1 Bo  NULL
//	r 2 c1 t1 t1 t2 ann Kim
//	s 5 c2 t2 t0 t1 cy  Lee
//	t 4 c2 t0 t0 t0 Bo  NULL
//	u 1 c1 t2 t2 t2 ann lee
//
// single's people have ids 100 more. Each account list is the other's
// "someone else": their people tie on every sort column, so a leak shows
// in every order.
type accountPeople struct {
	s          *Store
	al, single string
	c1, c2, c3 Contact // al's; c3 has no people
	one        Contact // single's
	names      map[string]string
}

func newAccountPeople(t *testing.T) *accountPeople {
	t.Helper()
	s, clk := newListStore(t)
	f := &accountPeople{s: s, al: newAccountList(t, s), single: newAccountList(t, s), names: map[string]string{}}
	f.c1 = mustContact(t, s, Contact{AccountListID: f.al, Name: "c1"})
	f.c2 = mustContact(t, s, Contact{AccountListID: f.al, Name: "c2"})
	f.c3 = mustContact(t, s, Contact{AccountListID: f.al, Name: "c3"})
	f.one = mustContact(t, s, Contact{AccountListID: f.single, Name: "one"})
	type row struct {
		listRow
		contact Contact
		first   string
		last    *string
	}
	rows := []row{
		{listRow{"p", 3, t1, t2, t0}, f.c1, "ann", ptr("Lee")},
		{listRow{"q", 6, t0, t1, t1}, f.c2, "Bo", nil},
		{listRow{"r", 2, t1, t1, t2}, f.c1, "ann", ptr("Kim")},
		{listRow{"s", 5, t2, t0, t1}, f.c2, "cy", ptr("Lee")},
		{listRow{"t", 4, t0, t0, t0}, f.c2, "Bo", nil},
		{listRow{"u", 1, t2, t2, t2}, f.c1, "ann", ptr("lee")},
	}
	// Created in updated_in_db_at order, the clock moving forward.
	slices.SortStableFunc(rows, func(a, b row) int { return a.inDB.Compare(b.inDB) })
	for _, r := range rows {
		clk.Set(r.inDB)
		for _, in := range []struct {
			c  Contact
			id int
		}{{r.contact, r.id}, {f.one, 100 + r.id}} {
			p := mustPerson(t, s, contactScope(in.c), Person{ID: fixedID(in.id), FirstName: r.first, LastName: r.last,
				CreatedAt: r.created, UpdatedAt: r.updated})
			if !p.CreatedAt.Equal(r.created) || !p.UpdatedAt.Equal(r.updated) || !p.UpdatedInDBAt.Equal(r.inDB) {
				t.Fatalf("person %s = %+v; want created_at %v, updated_at %v, updated_in_db_at %v",
					r.name, p, r.created, r.updated, r.inDB)
			}
		}
		f.names[fixedID(r.id)] = r.name
	}
	return f
}

// personSorts are the orders of the fixture's people, ascending, for
// every sort of the people lists (the nested list's, TestListPeopleSortAndPage).
var personSorts = []sortCase{
	{"", "t q r p u s"},
	{"created_at", "t q r p u s"},
	{"updated_at", "t s r q u p"},
	{"updated_in_db_at", "p t s q u r"},
	{"first_name", "t q u r p s"},
	// NULL last names first ascending (so last descending).
	{"last_name", "t q r p s u"},
}

// TestListAccountPeopleSortAndPage lists an account list's people across
// its contacts with every sort, both directions, whole and in pages: the
// order, the ties broken by id, the totals, and none of the other account
// list's people, whose rows tie with them on every column.
func TestListAccountPeopleSortAndPage(t *testing.T) {
	forEachBackend(t, testListAccountPeopleSortAndPage)
}

func testListAccountPeopleSortAndPage(t *testing.T) {
	f := newAccountPeople(t)
	if len(personSorts) != len(accountPeopleList.sorts)+1 {
		t.Fatalf("%d sort cases for sorts %v: add the new sort", len(personSorts), accountPeopleList.sorts)
	}
	checkSorts(t,
		func(q ListQuery) ([]Person, int, error) {
			return f.s.ListAccountPeople(t.Context(), strings.ToUpper(f.al), q)
		},
		func(p Person) string {
			if n, ok := f.names[p.ID]; ok {
				return n
			}
			return "?" + p.ID
		},
		personSorts)
}

// TestListAccountPeopleMatchesListPeople: for an account list whose people
// are all one contact's, the contact-less list and the contact's nested
// list give the same people, in the same order, with the same totals, for
// every sort, direction, page and filter.
func TestListAccountPeopleMatchesListPeople(t *testing.T) {
	forEachBackend(t, testListAccountPeopleMatchesListPeople)
}

func testListAccountPeopleMatchesListPeople(t *testing.T) {
	f := newAccountPeople(t)
	ctx := t.Context()
	var queries []ListQuery
	for _, sc := range personSorts {
		for _, desc := range []bool{false, true} {
			for _, pg := range []struct{ limit, offset int }{{0, 0}, {0, 3}, {2, 0}, {2, 2}, {2, 4}, {2, 6}, {4, 4}, {1, 5}, {3, 9}} {
				queries = append(queries, ListQuery{Sort: sc.sort, Desc: desc, Limit: pg.limit, Offset: pg.offset})
			}
			queries = append(queries,
				ListQuery{Sort: sc.sort, Desc: desc, UpdatedAt: &Range{From: &t1}},
				ListQuery{Sort: sc.sort, Desc: desc, UpdatedInDBAt: &Range{From: &t0, To: &t1}, Limit: 2, Offset: 1})
		}
	}
	for _, q := range queries {
		got, gotTotal, err := f.s.ListAccountPeople(ctx, f.single, q)
		if err != nil {
			t.Fatalf("ListAccountPeople %+v: %v", q, err)
		}
		want, wantTotal, err := f.s.ListPeople(ctx, contactScope(f.one), q)
		if err != nil {
			t.Fatalf("ListPeople %+v: %v", q, err)
		}
		same := gotTotal == wantTotal && len(got) == len(want)
		for i := 0; same && i < len(got); i++ {
			same = samePerson(got[i], want[i])
		}
		if !same {
			t.Errorf("query %+v:\nListAccountPeople = %v total %d\nListPeople        = %v total %d", q, got, gotTotal, want, wantTotal)
		}
	}
	if len(queries) < 100 {
		t.Fatalf("only %d queries", len(queries))
	}
}

// TestListAccountPeopleFilters: the updated_at and updated_in_db_at
// ranges, inclusive and truncated to the millisecond, alone, together and
// with a sort, whole and a page of one.
func TestListAccountPeopleFilters(t *testing.T) { forEachBackend(t, testListAccountPeopleFilters) }

func testListAccountPeopleFilters(t *testing.T) {
	f := newAccountPeople(t)
	tests := []struct {
		name string
		q    ListQuery
		want string // names in the query's order
	}{
		{"none", ListQuery{}, "t q r p u s"},
		{"updated_at point, inclusive both ends", ListQuery{UpdatedAt: &Range{From: &t1, To: &t1}}, "q r"},
		{"updated_at from", ListQuery{UpdatedAt: &Range{From: &t2}}, "p u"},
		{"updated_at to", ListQuery{UpdatedAt: &Range{To: &t0}}, "t s"},
		{"updated_at open range", ListQuery{UpdatedAt: &Range{}}, "t q r p u s"},
		{"updated_at from after to", ListQuery{UpdatedAt: &Range{From: &t2, To: &t1}}, ""},
		{"updated_in_db_at point", ListQuery{UpdatedInDBAt: &Range{From: &t0, To: &t0}}, "t p"},
		{"updated_in_db_at from", ListQuery{UpdatedInDBAt: &Range{From: &t1}}, "q r u s"},
		{"updated_in_db_at sub-millisecond bounds truncate", ListQuery{UpdatedInDBAt: &Range{
			From: ptr(t1.Add(999 * time.Microsecond)), To: ptr(t1.Add(time.Microsecond))}}, "q s"},
		{"updated_in_db_at after all", ListQuery{UpdatedInDBAt: &Range{From: ptr(t2.Add(time.Millisecond))}}, ""},
		{"both ranges", ListQuery{UpdatedAt: &Range{From: &t1}, UpdatedInDBAt: &Range{To: &t1}}, "q p"},
		{"range and sort", ListQuery{UpdatedInDBAt: &Range{From: &t1}, Sort: "last_name", Desc: true}, "u s r q"},
		{"range and sort by the filtered column", ListQuery{UpdatedAt: &Range{To: &t1}, Sort: "updated_at"}, "t s r q"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := strings.Fields(tt.want)
			for _, q := range []ListQuery{tt.q, withPage(tt.q, 1, 1)} {
				got, total, err := f.s.ListAccountPeople(t.Context(), f.al, q)
				if err != nil {
					t.Fatal(err)
				}
				wantPage := want
				if q.Limit > 0 {
					wantPage = want[min(len(want), q.Offset):min(len(want), q.Offset+q.Limit)]
				}
				if names := personNames(got, f.names); !slices.Equal(names, wantPage) || total != len(want) {
					t.Errorf("limit %d offset %d: got [%s] total %d; want [%s] total %d",
						q.Limit, q.Offset, strings.Join(names, " "), total, strings.Join(wantPage, " "), len(want))
				}
			}
		})
	}
}

// TestListAccountPeopleScope: an account list sees its own people only,
// whichever contact holds them, and loses them with their person or
// contact; an account list without people lists none; an unknown one is
// ErrNotFound.
func TestListAccountPeopleScope(t *testing.T) { forEachBackend(t, testListAccountPeopleScope) }

func testListAccountPeopleScope(t *testing.T) {
	f := newAccountPeople(t)
	s, ctx := f.s, t.Context()
	ids := func(al string) []string {
		t.Helper()
		people, total, err := s.ListAccountPeople(ctx, al, ListQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if total != len(people) {
			t.Fatalf("total %d for %d people", total, len(people))
		}
		var out []string
		for _, p := range people {
			out = append(out, p.ID)
		}
		slices.Sort(out)
		return out
	}
	wantIDs := func(al string, contacts ...Contact) []string {
		t.Helper()
		var out []string
		for _, c := range contacts {
			people, _, err := s.ListPeople(ctx, contactScope(c), ListQuery{})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range people {
				out = append(out, p.ID)
			}
		}
		slices.Sort(out)
		return out
	}
	if got, want := ids(f.al), wantIDs(f.al, f.c1, f.c2, f.c3); len(got) != 6 || !slices.Equal(got, want) {
		t.Errorf("al's people %v, want %v", got, want)
	}
	if got, want := ids(f.single), wantIDs(f.single, f.one); len(got) != 6 || !slices.Equal(got, want) {
		t.Errorf("single's people %v, want %v", got, want)
	}

	// Every person read back equals the person read through its contact.
	people, _, err := s.ListAccountPeople(ctx, f.al, ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range people {
		want, err := s.Person(ctx, contactPath(t, s, p.ContactID), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !samePerson(p, want) {
			t.Errorf("listed %+v, read %+v", p, want)
		}
	}

	// An account list without people, with and without contacts.
	withContact := newAccountList(t, s)
	mustContact(t, s, Contact{AccountListID: withContact, Name: "nobody"})
	for _, al := range []string{newAccountList(t, s), withContact} {
		for _, q := range []ListQuery{{}, {Limit: 5, Offset: 10}, {Sort: "last_name", Desc: true}} {
			list, total, err := s.ListAccountPeople(ctx, al, q)
			if err != nil || list == nil || len(list) != 0 || total != 0 {
				t.Errorf("account list without people, %+v: %v, %d, %v; want an empty list", q, list, total, err)
			}
		}
	}
	for _, q := range []ListQuery{{}, {Limit: 10, Offset: 5}, {UpdatedAt: &Range{From: &t2, To: &t0}}} {
		_, _, err := s.ListAccountPeople(ctx, uuid.NewString(), q)
		wantErr(t, err, ErrNotFound)
	}

	// Deleting a person, then a contact, takes their people off the list.
	if err := s.DeletePerson(ctx, contactScope(f.c1), fixedID(3), nil); err != nil { // p
		t.Fatal(err)
	}
	if got, want := ids(f.al), wantIDs(f.al, f.c1, f.c2); len(got) != 5 || !slices.Equal(got, want) {
		t.Errorf("after deleting p: %v, want %v", got, want)
	}
	if err := s.DeleteContact(ctx, f.al, f.c2.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(f.al), wantIDs(f.al, f.c1); len(got) != 2 || !slices.Equal(got, want) {
		t.Errorf("after deleting c2: %v, want %v", got, want)
	}
	if got := ids(f.single); len(got) != 6 {
		t.Errorf("single has %d people after al's deletes, want 6", len(got))
	}
}

// TestListAccountPeopleInvalidQuery: unknown sorts, phone-only filters and
// negative paging are ErrInvalidQuery, also for an account list that does
// not exist, and change nothing.
func TestListAccountPeopleInvalidQuery(t *testing.T) {
	forEachBackend(t, testListAccountPeopleInvalidQuery)
}

func testListAccountPeopleInvalidQuery(t *testing.T) {
	s, _ := newStore(t)
	sc := newPerson(t, s)
	before := snapshot(t, s)
	tests := []struct {
		name string
		q    ListQuery
	}{
		{"sort by name", ListQuery{Sort: "name"}},
		{"sort by id", ListQuery{Sort: "id"}},
		{"sort by contact_id", ListQuery{Sort: "contact_id"}},
		{"sort by account_list_id", ListQuery{Sort: "account_list_id"}},
		{"sort is case-sensitive", ListQuery{Sort: "Last_Name"}},
		{"sort injection", ListQuery{Sort: "last_name; DROP TABLE people"}},
		{"primary filter", ListQuery{Primary: ptr(true)}},
		{"historic filter", ListQuery{Historic: ptr(false)}},
		{"location filter", ListQuery{Location: ptr("")}},
		{"negative limit", ListQuery{Limit: -1}},
		{"negative offset", ListQuery{Offset: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, al := range []string{sc.AccountListID, uuid.NewString()} {
				list, total, err := s.ListAccountPeople(t.Context(), al, tt.q)
				wantErr(t, err, ErrInvalidQuery)
				if list != nil || total != 0 {
					t.Errorf("ListAccountPeople = %v, %d with the error", list, total)
				}
			}
		})
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("invalid queries changed the database:\n%s\nwant\n%s", after, before)
	}
	wantCount(t, s, 1, `SELECT COUNT(*) FROM people`)
}

// TestAccountPeopleQueryPlans: like TestListQueryPlans for the
// contact-less people list: every page and count query reads through an
// index on people.account_list_id (migration 0005) and never scans a
// table, and pages without range filters come out of the index in order.
func TestAccountPeopleQueryPlans(t *testing.T) {
	s, _ := newStore(t)
	search := regexp.MustCompile(`^SEARCH people USING (COVERING )?INDEX people_account_list_id_\w+ \(account_list_id=\?`)
	filters := []ListQuery{{}, {UpdatedAt: &Range{To: &t1}}, {UpdatedInDBAt: &Range{From: &t0, To: &t2}}}
	checked := 0
	for sort := range accountPeopleList.sorts {
		for _, filter := range filters {
			for _, desc := range []bool{false, true} {
				q := filter
				q.Sort, q.Desc, q.Limit, q.Offset = sort, desc, 25, 50
				st, err := accountPeopleList.build(sqliteDialect, "00000000-0000-0000-0000-000000000001", q)
				if err != nil {
					t.Fatal(err)
				}
				filtered := filter.UpdatedAt != nil || filter.UpdatedInDBAt != nil
				for _, query := range []struct {
					kind, sql string
					args      []any
				}{{"page", st.page, st.pageArgs}, {"count", st.count, st.countArgs}} {
					plan := queryPlan(t, s, query.sql, query.args...)
					label := fmt.Sprintf("%s sort %s desc %v filter %+v:\n%s\nplan:\n%s",
						query.kind, sort, desc, filter, query.sql, strings.Join(plan, "\n"))
					want := search
					if query.kind == "count" && accountPeopleList.counter != "" && !filtered {
						want = counterSearch // the account list's count (migration 0006)
					}
					if !slices.ContainsFunc(plan, want.MatchString) {
						t.Errorf("%s\nno search through an index on account_list_id", label)
					}
					if slices.ContainsFunc(plan, func(l string) bool { return strings.HasPrefix(l, "SCAN") && l != "SCAN CONSTANT ROW" }) {
						t.Errorf("%s\nscans", label)
					}
					if query.kind == "page" && !filtered &&
						slices.ContainsFunc(plan, func(l string) bool { return strings.Contains(l, "TEMP B-TREE") }) {
						t.Errorf("%s\nsorts instead of reading the index in order", label)
					}
					checked++
				}
			}
		}
	}
	if want := len(accountPeopleList.sorts) * len(filters) * 2 * 2; checked != want || want == 0 {
		t.Fatalf("checked %d plans, want %d", checked, want)
	}
}

// TestPersonScope: a person found by its id alone gives the Scope of its
// contact in the caller's account list, whatever the case of the ids;
// a missing person is a *ScopeError of KindPerson matching ErrNotFound,
// another account list's one matching ErrForbidden, and neither tells the
// other's contact.
func TestPersonScope(t *testing.T) { forEachBackend(t, testPersonScope) }

func testPersonScope(t *testing.T) {
	f := newFamily(t)
	s, ctx := f.s, t.Context()
	gone := mustPerson(t, s, contactScope(f.c), Person{FirstName: "gone"})
	if err := s.DeletePerson(ctx, contactScope(f.c), gone.ID, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		al, id    string
		want      Scope // when found
		wantErr   error // else
		wantErrID string
	}{
		{name: "found", al: f.al, id: f.p1.ID, want: Scope{AccountListID: f.al, ContactID: f.c.ID}},
		{name: "found, second person of the contact", al: f.al, id: f.p2.ID, want: Scope{AccountListID: f.al, ContactID: f.c.ID}},
		{name: "found, another contact", al: f.al, id: f.pk.ID, want: Scope{AccountListID: f.al, ContactID: f.keep.ID}},
		{name: "found, upper-case ids", al: strings.ToUpper(f.al), id: strings.ToUpper(f.pk.ID), want: Scope{AccountListID: f.al, ContactID: f.keep.ID}},
		{name: "unknown id", al: f.al, id: missingID, wantErr: ErrNotFound, wantErrID: missingID},
		{name: "unknown id, upper case", al: strings.ToUpper(f.al), id: strings.ToUpper(letterID(9)), wantErr: ErrNotFound, wantErrID: letterID(9)},
		{name: "deleted person", al: f.al, id: gone.ID, wantErr: ErrNotFound, wantErrID: gone.ID},
		{name: "a contact's id", al: f.al, id: f.c.ID, wantErr: ErrNotFound, wantErrID: f.c.ID},
		{name: "a phone's id", al: f.al, id: f.phones["a"].ID, wantErr: ErrNotFound, wantErrID: f.phones["a"].ID},
		{name: "someone else's", al: f.al, id: f.other.PersonID, wantErr: ErrForbidden, wantErrID: f.other.PersonID},
		{name: "someone else's, upper case", al: strings.ToUpper(f.al), id: strings.ToUpper(f.other.PersonID), wantErr: ErrForbidden, wantErrID: f.other.PersonID},
		{name: "mine, asked by the other account list", al: f.other.AccountListID, id: f.p1.ID, wantErr: ErrForbidden, wantErrID: f.p1.ID},
		{name: "mine, asked by an unknown account list", al: missingID, id: f.p1.ID, wantErr: ErrForbidden, wantErrID: f.p1.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.PersonScope(ctx, tt.al, tt.id)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Fatalf("PersonScope = %+v, want %+v", got, tt.want)
				}
				// The Scope is the one Person takes.
				p, err := s.Person(ctx, got, tt.id)
				if err != nil || !strings.EqualFold(p.ID, tt.id) || p.ContactID != tt.want.ContactID {
					t.Errorf("Person(PersonScope) = %+v, %v", p, err)
				}
				return
			}
			wantErr(t, err, tt.wantErr)
			var se *ScopeError
			if !errors.As(err, &se) {
				t.Fatalf("err %v (%T) is no *ScopeError", err, err)
			}
			wantSE := ScopeError{Kind: KindPerson, ID: tt.wantErrID, Scope: Scope{AccountListID: strings.ToLower(tt.al)}, Err: tt.wantErr}
			if *se != wantSE {
				t.Errorf("ScopeError = %+v, want %+v", *se, wantSE)
			}
			other := []error{ErrNotFound, ErrForbidden}
			other = slices.DeleteFunc(other, func(e error) bool { return e == tt.wantErr })
			if errors.Is(err, other[0]) {
				t.Errorf("err %v also matches %v", err, other[0])
			}
			if got != (Scope{}) {
				t.Errorf("PersonScope returned %+v with the error", got)
			}
		})
	}
}
