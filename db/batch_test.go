// The batched reads behind compound documents (PeopleOf, PhonesOf,
// ContactsByID, PeopleByID) and the statement counter (CountStatements).

package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/phoneapi/phoneapi/db/dbtest"
)

// batchFixture is an account list (al) with contacts A, B and empty, and
// another account list's contact O. People and phones have fixed ids and
// created_at, so that the id order and the created_at order differ. Each
// row is name (id, created_at):
//
//	A: w (21, t2), v (22, t0)
//	B: x (11, t1), y (13, t0), z (12, t0)
//	O: o (31, t0)
//	phones of x: x1 (41, t1), x2 (42, t0), x3 (43, t1)
//	phones of y: y1 (51, t2), y2 (50, t2)
//	phones of w: w1 (60, t0)
//	phones of o: o1 (70, t0)
//
// z and v have no phones; the empty contact no people.
type batchFixture struct {
	s        *Store
	clk      *dbtest.Clock
	al, them string // the account lists
	contacts map[string]Contact
	people   map[string]Person
	phones   map[string]Phone
	names    map[string]string // id → name, of every row above
	parent   map[string]string // child name → parent name
}

func newBatchFixture(t *testing.T) *batchFixture {
	t.Helper()
	s, clk := newListStore(t)
	clk.Set(t2.Add(time.Second))
	f := &batchFixture{
		s: s, clk: clk, al: newAccountList(t, s), them: newAccountList(t, s),
		contacts: map[string]Contact{}, people: map[string]Person{}, phones: map[string]Phone{},
		names: map[string]string{}, parent: map[string]string{},
	}
	for _, c := range []struct {
		name string
		id   int
		al   string
	}{{"A", 1, f.al}, {"B", 2, f.al}, {"empty", 3, f.al}, {"O", 4, f.them}} {
		f.contacts[c.name] = mustContact(t, s, Contact{ID: letterID(c.id), AccountListID: c.al, Name: c.name})
		f.names[letterID(c.id)] = c.name
	}
	for _, p := range []struct {
		name, contact string
		id            int
		created       time.Time
	}{
		{"w", "A", 21, t2}, {"v", "A", 22, t0},
		{"x", "B", 11, t1}, {"y", "B", 13, t0}, {"z", "B", 12, t0},
		{"o", "O", 31, t0},
	} {
		f.people[p.name] = mustPerson(t, s, contactScope(f.contacts[p.contact]),
			Person{ID: letterID(p.id), FirstName: p.name, CreatedAt: p.created})
		f.names[letterID(p.id)] = p.name
		f.parent[p.name] = p.contact
	}
	for _, ph := range []struct {
		name, person string
		id           int
		created      time.Time
	}{
		{"x1", "x", 41, t1}, {"x2", "x", 42, t0}, {"x3", "x", 43, t1},
		{"y1", "y", 51, t2}, {"y2", "y", 50, t2},
		{"w1", "w", 60, t0},
		{"o1", "o", 70, t0},
	} {
		p := f.people[ph.person]
		f.phones[ph.name] = mustPhone(t, s, personScope(f.contacts[f.parent[ph.person]], p),
			NewPhone{ID: letterID(ph.id), Number: ph.name, CreatedAt: ph.created})
		f.names[letterID(ph.id)] = ph.name
		f.parent[ph.name] = ph.person
	}
	// Phone writes stamp their person: keep the people as stored now.
	for name, p := range f.people {
		got, err := s.Person(t.Context(), contactScope(f.contacts[f.parent[name]]), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		f.people[name] = got
	}
	return f
}

// ids returns the ids of the named rows.
func (f *batchFixture) ids(names ...string) []string {
	var out []string
	for _, n := range names {
		switch {
		case f.contacts[n].ID != "":
			out = append(out, f.contacts[n].ID)
		case f.people[n].ID != "":
			out = append(out, f.people[n].ID)
		case f.phones[n].ID != "":
			out = append(out, f.phones[n].ID)
		default:
			out = append(out, n) // not a fixture row: an id as it is
		}
	}
	return out
}

// nameOf returns the fixture name of id, or "?id".
func (f *batchFixture) nameOf(id string) string {
	if n, ok := f.names[id]; ok {
		return n
	}
	return "?" + id
}

// checkGrouped fails unless got, child names, comes in one run per parent
// (parents in any order), each run equal to want[parent] (space-separated
// children in order), for exactly the parents of want.
func (f *batchFixture) checkGrouped(t *testing.T, label string, got []string, want map[string]string) {
	t.Helper()
	runs := map[string]string{}
	var order []string
	for i, n := range got {
		p, ok := f.parent[n]
		if !ok {
			t.Errorf("%s: [%s]: %s is no child of the fixture", label, strings.Join(got, " "), n)
			return
		}
		if i == 0 || f.parent[got[i-1]] != p {
			if _, seen := runs[p]; seen {
				t.Errorf("%s: [%s]: the children of %s are not together", label, strings.Join(got, " "), p)
				return
			}
			order = append(order, p)
			runs[p] = n
			continue
		}
		runs[p] += " " + n
	}
	if len(runs) != len(want) {
		t.Errorf("%s: [%s]: %d parents, want %d (%v)", label, strings.Join(got, " "), len(runs), len(want), want)
	}
	for p, w := range want {
		if runs[p] != w {
			t.Errorf("%s: [%s]: children of %s [%s], want [%s]", label, strings.Join(got, " "), p, runs[p], w)
		}
	}
}

// upper returns ids in upper case, each different from its original.
func upper(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if out[i] = strings.ToUpper(id); out[i] == id {
			panic("upper: " + id + " has no letters")
		}
	}
	return out
}

// manyIDs returns ids followed by random ids, n in all.
func manyIDs(n int, ids ...string) []string {
	out := slices.Clone(ids)
	for len(out) < n {
		out = append(out, uuid.NewString())
	}
	return out
}

// TestPeopleOf: the people of the given contacts, together per contact,
// in created_at then id order within it; only the account list's, whatever
// ids are asked for; at most limit, a prefix of the whole answer, so that
// asking for one more than accepted tells whether there are more.
func TestPeopleOf(t *testing.T) { forEachBackend(t, testPeopleOf) }

func testPeopleOf(t *testing.T) {
	f := newBatchFixture(t)
	s, ctx := f.s, t.Context()
	peopleOf := func(al string, ids []string, limit int) []string {
		t.Helper()
		people, err := s.PeopleOf(ctx, al, ids, limit)
		if err != nil {
			t.Fatalf("PeopleOf %v limit %d: %v", ids, limit, err)
		}
		if people == nil {
			t.Fatalf("PeopleOf %v: nil", ids)
		}
		var names []string
		for _, p := range people {
			n := f.nameOf(p.ID)
			if want, ok := f.people[n]; !ok || !samePerson(p, want) {
				t.Errorf("PeopleOf returned %+v; stored %+v", p, want)
			}
			names = append(names, n)
		}
		return names
	}
	both := map[string]string{"A": "v w", "B": "z y x"}
	tests := []struct {
		name  string
		al    string
		ids   []string
		limit int
		want  map[string]string
	}{
		{"two contacts", f.al, f.ids("A", "B"), 100, both},
		{"the other order", f.al, f.ids("B", "A"), 100, both},
		{"one contact", f.al, f.ids("B"), 100, map[string]string{"B": "z y x"}},
		{"a contact without people", f.al, f.ids("empty", "A"), 100, map[string]string{"A": "v w"}},
		{"duplicates", f.al, f.ids("A", "B", "A", "A", "B"), 100, both},
		{"upper-case ids", strings.ToUpper(f.al), upper(f.ids("A", "B")), 100, both},
		{"another account list's contact", f.al, f.ids("O", "A"), 100, map[string]string{"A": "v w"}},
		{"only another account list's contact", f.al, f.ids("O"), 100, map[string]string{}},
		{"my contacts, asked by the other account list", f.them, f.ids("A", "B", "O"), 100, map[string]string{"O": "o"}},
		{"my contacts, asked by an unknown account list", uuid.NewString(), f.ids("A", "B"), 100, map[string]string{}},
		{"unknown ids", f.al, f.ids(missingID, "B", uuid.NewString()), 100, map[string]string{"B": "z y x"}},
		{"people's and phones' ids", f.al, f.ids("x", "x1", "A"), 100, map[string]string{"A": "v w"}},
		{"10,001 ids", f.al, manyIDs(10_001, f.ids("B", "O", "A")...), 10_001, both},
		{"exactly the limit", f.al, f.ids("A", "B"), 5, both},
		{"empty", f.al, []string{}, 100, map[string]string{}},
		{"nil", f.al, nil, 100, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.checkGrouped(t, "PeopleOf", peopleOf(tt.al, tt.ids, tt.limit), tt.want)
		})
	}

	// The limit: at most limit people, the first of the whole answer.
	all := peopleOf(f.al, f.ids("A", "B"), 100)
	for limit := 1; limit <= len(all)+1; limit++ {
		got := peopleOf(f.al, f.ids("A", "B"), limit)
		if want := all[:min(limit, len(all))]; !slices.Equal(got, want) {
			t.Errorf("limit %d: [%s], want [%s]", limit, strings.Join(got, " "), strings.Join(want, " "))
		}
	}
	// Asking for one more than accepted tells whether there are more.
	for accept := 1; accept <= len(all)+1; accept++ {
		more := len(peopleOf(f.al, f.ids("B", "A"), accept+1)) > accept
		if want := accept < len(all); more != want {
			t.Errorf("accepting %d of %d people: more = %v, want %v", accept, len(all), more, want)
		}
	}
}

// TestPhonesOf is TestPeopleOf for the phones of people.
func TestPhonesOf(t *testing.T) { forEachBackend(t, testPhonesOf) }

func testPhonesOf(t *testing.T) {
	f := newBatchFixture(t)
	s, ctx := f.s, t.Context()
	phonesOf := func(al string, ids []string, limit int) []string {
		t.Helper()
		phones, err := s.PhonesOf(ctx, al, ids, limit)
		if err != nil {
			t.Fatalf("PhonesOf %v limit %d: %v", ids, limit, err)
		}
		if phones == nil {
			t.Fatalf("PhonesOf %v: nil", ids)
		}
		var names []string
		for _, p := range phones {
			n := f.nameOf(p.ID)
			if want, ok := f.phones[n]; !ok || !samePhone(p, want) {
				t.Errorf("PhonesOf returned %+v; stored %+v", p, want)
			}
			names = append(names, n)
		}
		return names
	}
	three := map[string]string{"x": "x2 x1 x3", "y": "y2 y1", "w": "w1"}
	tests := []struct {
		name  string
		al    string
		ids   []string
		limit int
		want  map[string]string
	}{
		{"people of two contacts", f.al, f.ids("x", "y", "z", "w", "v"), 100, three},
		{"the other order", f.al, f.ids("w", "v", "z", "y", "x"), 100, three},
		{"one person", f.al, f.ids("x"), 100, map[string]string{"x": "x2 x1 x3"}},
		{"people without phones", f.al, f.ids("z", "v"), 100, map[string]string{}},
		{"duplicates", f.al, f.ids("y", "x", "y", "w", "x", "w"), 100, three},
		{"upper-case ids", strings.ToUpper(f.al), upper(f.ids("x", "y", "w")), 100, three},
		{"another account list's person", f.al, f.ids("o", "w"), 100, map[string]string{"w": "w1"}},
		{"only another account list's person", f.al, f.ids("o"), 100, map[string]string{}},
		{"my people, asked by the other account list", f.them, f.ids("x", "y", "o"), 100, map[string]string{"o": "o1"}},
		{"my people, asked by an unknown account list", uuid.NewString(), f.ids("x", "y"), 100, map[string]string{}},
		{"unknown ids", f.al, f.ids(missingID, "y", uuid.NewString()), 100, map[string]string{"y": "y2 y1"}},
		{"contacts' and phones' ids", f.al, f.ids("A", "B", "x1", "w"), 100, map[string]string{"w": "w1"}},
		{"10,001 ids", f.al, manyIDs(10_001, f.ids("o", "w", "y", "x")...), 10_001, three},
		{"exactly the limit", f.al, f.ids("x", "y", "w"), 6, three},
		{"empty", f.al, []string{}, 100, map[string]string{}},
		{"nil", f.al, nil, 100, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.checkGrouped(t, "PhonesOf", phonesOf(tt.al, tt.ids, tt.limit), tt.want)
		})
	}

	ids := f.ids("x", "y", "w", "o")
	all := phonesOf(f.al, ids, 100)
	for limit := 1; limit <= len(all)+1; limit++ {
		got := phonesOf(f.al, ids, limit)
		if want := all[:min(limit, len(all))]; !slices.Equal(got, want) {
			t.Errorf("limit %d: [%s], want [%s]", limit, strings.Join(got, " "), strings.Join(want, " "))
		}
	}
	for accept := 1; accept <= len(all)+1; accept++ {
		more := len(phonesOf(f.al, ids, accept+1)) > accept
		if want := accept < len(all); more != want {
			t.Errorf("accepting %d of %d phones: more = %v, want %v", accept, len(all), more, want)
		}
	}
}

// TestByID: ContactsByID and PeopleByID return the account list's rows
// with the given ids, each once, as stored, and leave out every other id:
// unknown, another account list's, or another kind's.
func TestByID(t *testing.T) { forEachBackend(t, testByID) }

func testByID(t *testing.T) {
	f := newBatchFixture(t)
	s, ctx := f.s, t.Context()
	tests := []struct {
		name string
		al   string
		ids  []string
		want string // names, any order
	}{
		{"contacts", f.al, f.ids("A", "B", "empty"), "A B empty"},
		{"people of several contacts", f.al, f.ids("w", "x", "z"), "w x z"},
		{"contacts and people mixed", f.al, f.ids("A", "x", "B", "v"), "A B x v"},
		{"duplicates", f.al, f.ids("A", "A", "x", "x", "A"), "A x"},
		{"upper-case ids", strings.ToUpper(f.al), upper(f.ids("B", "y")), "B y"},
		{"unknown ids", f.al, f.ids(missingID, "B", uuid.NewString(), "y"), "B y"},
		{"another account list's", f.al, f.ids("O", "o", "A", "w"), "A w"},
		{"mine, asked by the other account list", f.them, f.ids("A", "w", "O", "o"), "O o"},
		{"mine, asked by an unknown account list", uuid.NewString(), f.ids("A", "w"), ""},
		{"phones' ids", f.al, f.ids("x1", "w1", "A"), "A"},
		{"10,001 ids", f.al, manyIDs(10_001, f.ids("A", "o", "w")...), "A w"},
		{"empty", f.al, []string{}, ""},
		{"nil", f.al, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			contacts, err := s.ContactsByID(ctx, tt.al, tt.ids)
			if err != nil || contacts == nil {
				t.Fatalf("ContactsByID = %v, %v", contacts, err)
			}
			for _, c := range contacts {
				n := f.nameOf(c.ID)
				if want := f.contacts[n]; c != want {
					t.Errorf("ContactsByID returned %+v; stored %+v", c, want)
				}
				got = append(got, n)
			}
			people, err := s.PeopleByID(ctx, tt.al, tt.ids)
			if err != nil || people == nil {
				t.Fatalf("PeopleByID = %v, %v", people, err)
			}
			for _, p := range people {
				n := f.nameOf(p.ID)
				if want, ok := f.people[n]; !ok || !samePerson(p, want) {
					t.Errorf("PeopleByID returned %+v; stored %+v", p, want)
				}
				got = append(got, n)
			}
			want := strings.Fields(tt.want)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got [%s], want [%s]", strings.Join(got, " "), strings.Join(want, " "))
			}
		})
	}
}

// TestCountStatements: a context from CountStatements counts every
// statement the Store runs with it, reads and writes; calls made without
// it, or with another counter's context, add nothing.
func TestCountStatements(t *testing.T) { forEachBackend(t, testCountStatements) }

func testCountStatements(t *testing.T) {
	f := newBatchFixture(t)
	s := f.s
	clk := f.clk
	x, y := f.people["x"], f.people["y"]
	B := f.contacts["B"]
	xScope := personScope(B, x)
	tests := []struct {
		name string
		want int64
		call func(ctx context.Context) error
	}{
		{"Phone", 1, func(ctx context.Context) error { return errOf(s.Phone(ctx, xScope, f.phones["x1"].ID)) }},
		{"Phone, missing: the read and why", 2, func(ctx context.Context) error {
			_, err := s.Phone(ctx, xScope, missingID)
			return expect(err, ErrNotFound)
		}},
		{"Person", 1, func(ctx context.Context) error { return errOf(s.Person(ctx, contactScope(B), x.ID)) }},
		{"Contact", 1, func(ctx context.Context) error { return errOf(s.Contact(ctx, contactScope(B))) }},
		{"PersonScope", 1, func(ctx context.Context) error { return errOf(s.PersonScope(ctx, f.al, x.ID)) }},
		{"PersonScope, someone else's", 1, func(ctx context.Context) error {
			return expect(errOf(s.PersonScope(ctx, f.al, f.people["o"].ID)), ErrForbidden)
		}},
		{"PeopleOf", 1, func(ctx context.Context) error { return errOf(s.PeopleOf(ctx, f.al, f.ids("A", "B"), 10)) }},
		{"PeopleOf, 10,001 ids", 1, func(ctx context.Context) error {
			return errOf(s.PeopleOf(ctx, f.al, manyIDs(10_001, f.ids("A", "B")...), 10_001))
		}},
		{"PeopleOf, no ids", 0, func(ctx context.Context) error { return errOf(s.PeopleOf(ctx, f.al, nil, 10)) }},
		{"PhonesOf", 1, func(ctx context.Context) error { return errOf(s.PhonesOf(ctx, f.al, f.ids("x", "y", "w"), 10)) }},
		{"PhonesOf, no ids", 0, func(ctx context.Context) error { return errOf(s.PhonesOf(ctx, f.al, []string{}, 10)) }},
		{"ContactsByID", 1, func(ctx context.Context) error { return errOf(s.ContactsByID(ctx, f.al, f.ids("A", "B"))) }},
		{"ContactsByID, no ids", 0, func(ctx context.Context) error { return errOf(s.ContactsByID(ctx, f.al, nil)) }},
		{"PeopleByID", 1, func(ctx context.Context) error { return errOf(s.PeopleByID(ctx, f.al, f.ids("x", "y"))) }},
		{"PeopleByID, no ids", 0, func(ctx context.Context) error { return errOf(s.PeopleByID(ctx, f.al, nil)) }},
		{"ListAccountPeople, the last page: the page", 1, func(ctx context.Context) error {
			return errOf3(s.ListAccountPeople(ctx, f.al, ListQuery{}))
		}},
		{"ListAccountPeople, a page before the last: the page and the count", 2, func(ctx context.Context) error {
			return errOf3(s.ListAccountPeople(ctx, f.al, ListQuery{Limit: 2}))
		}},
		{"ListAccountPeople, nothing: the page and the account list", 2, func(ctx context.Context) error {
			return errOf3(s.ListAccountPeople(ctx, f.al, ListQuery{UpdatedAt: &Range{To: ptr(t0.Add(-time.Hour))}}))
		}},
		{"ListAccountPeople, invalid: none", 0, func(ctx context.Context) error {
			return expect(errOf3(s.ListAccountPeople(ctx, f.al, ListQuery{Sort: "name"})), ErrInvalidQuery)
		}},
		// lock, read the person's phones, update the phone, stamp the person
		// (the clock moves on, so no other phone and no clock is raised).
		{"UpdatePhone", 4, func(ctx context.Context) error {
			clk.Add(time.Second)
			return errOf(s.UpdatePhone(ctx, personScope(B, y), f.phones["y2"].ID, PhoneUpdate{Number: ptr("new")}, nil))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, n := CountStatements(t.Context())
			other, otherN := CountStatements(t.Context())
			if n.N() != 0 {
				t.Fatalf("a new count is %d", n.N())
			}
			if err := tt.call(ctx); err != nil {
				t.Fatal(err)
			}
			if n.N() != tt.want {
				t.Errorf("counted %d statements, want %d", n.N(), tt.want)
			}
			// Without the counter's context: not counted, by this counter
			// or another.
			for _, c := range []context.Context{t.Context(), other} {
				if err := tt.call(c); err != nil {
					t.Fatal(err)
				}
			}
			if n.N() != tt.want {
				t.Errorf("calls without the counter's context counted: %d, want %d", n.N(), tt.want)
			}
			if otherN.N() != tt.want {
				t.Errorf("the other counter counted %d, want %d", otherN.N(), tt.want)
			}
			// A context derived from the counter's still counts.
			derived, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			if err := tt.call(derived); err != nil {
				t.Fatal(err)
			}
			if n.N() != 2*tt.want {
				t.Errorf("after a call with a derived context: %d, want %d", n.N(), 2*tt.want)
			}
		})
	}
}

// TestCountStatementsMigrate: Migrate's statements count too: creating
// schema_migrations, then per migration whether it is applied and, when
// it is not, its script and its record, and on PostgreSQL the migration
// lock of each transaction.
func TestCountStatementsMigrate(t *testing.T) { forEachBackend(t, testCountStatementsMigrate) }

func testCountStatementsMigrate(t *testing.T) {
	s := openDB(t, newDB(t))
	n := int64(len(migrationFiles(t, backendOf(t))))
	lock := int64(0)
	if s.Engine() == "postgres" {
		lock = 1
	}
	for _, run := range []struct {
		name string
		want int64
	}{
		{"fresh", (1 + lock) + n*(3+lock)},
		{"again", (1 + lock) + n*(1+lock)},
	} {
		ctx, count := CountStatements(t.Context())
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if count.N() != run.want {
			t.Errorf("%s: Migrate counted %d statements, want %d", run.name, count.N(), run.want)
		}
	}
}

// expect returns nil if err matches want, else an error saying so.
func expect(err, want error) error {
	if !errors.Is(err, want) {
		return fmt.Errorf("err = %v, want %v", err, want)
	}
	return nil
}

// errOf3 is errOf for a call that returns two values and an error.
func errOf3[T, U any](_ T, _ U, err error) error { return err }

// letterID is fixedID with letters in it, so that its upper case differs
// from it; ids sort as their numbers do.
func letterID(n int) string {
	return fmt.Sprintf("abcdef00-0000-4000-8000-%012d", n)
}
