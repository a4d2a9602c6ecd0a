// Client ids and parents, the same for every kind of row: a client may
// choose a row's id (in any case; it is stored lower-case), an id is taken
// whichever parent asks for it again, and a row is reached only through
// its own parent.

package db

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// stored is what the client-id tests read of a row: its id, its one text
// field (a contact's name, a person's first name, a phone's number) and
// its updated_in_db_at.
type stored struct {
	id, text string
	at       time.Time
}

// rowsOf are a kind's operations on its rows under a parent Scope, and
// the parents the client-id tests use: the row's own, another where it is
// not (of the same account list for a person, of another for a contact
// or a phone), and one that does not exist.
type rowsOf struct {
	parent, other, missing Scope
	// wrongParent is the error of a read or write through other.
	wrongParent error
	create      func(sc Scope, id, text string) (stored, error)
	read        func(sc Scope, id string) (stored, error)
	update      func(sc Scope, id, text string) error
	delete      func(sc Scope, id string) error
	// counts must hold once the conflicting creates are refused.
	counts []counted
}

// counted is a SELECT COUNT(*) query and the count it must return.
type counted struct {
	want  int
	query string
	args  []any
}

// kinds builds, for each kind of row, its operations on the store s.
var kinds = []struct {
	name string
	id   string // a client's id, upper case
	rows func(t *testing.T, s *Store) rowsOf
}{
	{"contact", "6F9619FF-8B86-D011-B42D-00C04FC964FF", func(t *testing.T, s *Store) rowsOf {
		ctx := t.Context()
		al := newAccountList(t, s)
		of := func(c Contact, err error) (stored, error) { return stored{c.ID, c.Name, c.UpdatedInDBAt}, err }
		return rowsOf{
			parent: Scope{AccountListID: al}, other: Scope{AccountListID: newAccountList(t, s)},
			missing: Scope{AccountListID: uuid.NewString()}, wrongParent: ErrForbidden,
			create: func(sc Scope, id, text string) (stored, error) {
				return of(s.CreateContact(ctx, Contact{ID: id, AccountListID: sc.AccountListID, Name: text}))
			},
			read: func(sc Scope, id string) (stored, error) {
				return of(s.Contact(ctx, Scope{AccountListID: sc.AccountListID, ContactID: id}))
			},
			update: func(sc Scope, id, text string) error {
				return errOf(s.UpdateContact(ctx, sc.AccountListID, id, ContactUpdate{Name: &text}, nil))
			},
			delete: func(sc Scope, id string) error { return s.DeleteContact(ctx, sc.AccountListID, id, nil) },
			counts: []counted{
				{1, `SELECT COUNT(*) FROM contacts WHERE id = ? AND account_list_id = ?`, []any{"6f9619ff-8b86-d011-b42d-00c04fc964ff", al}},
			},
		}
	}},
	{"person", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", func(t *testing.T, s *Store) rowsOf {
		ctx := t.Context()
		al := newAccountList(t, s)
		c := mustContact(t, s, Contact{AccountListID: al, Name: "c"})
		c2 := mustContact(t, s, Contact{AccountListID: al, Name: "c2"})
		of := func(p Person, err error) (stored, error) { return stored{p.ID, p.FirstName, p.UpdatedInDBAt}, err }
		return rowsOf{
			parent: contactScope(c), other: contactScope(c2),
			missing: Scope{AccountListID: al, ContactID: uuid.NewString()}, wrongParent: ErrNotFound,
			// The Person's own ContactID is ignored for the Scope's.
			create: func(sc Scope, id, text string) (stored, error) {
				return of(s.CreatePerson(ctx, sc, Person{ID: id, ContactID: c2.ID, FirstName: text}))
			},
			read: func(sc Scope, id string) (stored, error) { return of(s.Person(ctx, sc, id)) },
			update: func(sc Scope, id, text string) error {
				return errOf(s.UpdatePerson(ctx, sc, id, PersonUpdate{FirstName: &text}, nil))
			},
			delete: func(sc Scope, id string) error { return s.DeletePerson(ctx, sc, id, nil) },
			counts: []counted{
				{1, `SELECT COUNT(*) FROM people WHERE contact_id = ?`, []any{c.ID}},
				{0, `SELECT COUNT(*) FROM people WHERE contact_id = ?`, []any{c2.ID}},
			},
		}
	}},
	{"phone", "F47AC10B-58CC-4372-A567-0E02B2C3D479", func(t *testing.T, s *Store) rowsOf {
		ctx := t.Context()
		sc := newPerson(t, s)
		of := func(p Phone, err error) (stored, error) { return stored{p.ID, p.Number, p.UpdatedInDBAt}, err }
		orphan := sc
		orphan.PersonID = uuid.NewString()
		return rowsOf{
			parent: sc, other: newPerson(t, s), missing: orphan, wrongParent: ErrNotFound,
			// Every create asks to be primary: a refused one must not
			// demote the phone.
			create: func(sc Scope, id, text string) (stored, error) {
				return of(s.CreatePhone(ctx, sc, NewPhone{ID: id, Number: text, Primary: true}))
			},
			read: func(sc Scope, id string) (stored, error) { return of(s.Phone(ctx, sc, id)) },
			update: func(sc Scope, id, text string) error {
				return errOf(s.UpdatePhone(ctx, sc, id, PhoneUpdate{Number: &text}, nil))
			},
			delete: func(sc Scope, id string) error { return s.DeletePhone(ctx, sc, id, nil) },
			counts: []counted{
				{1, `SELECT COUNT(*) FROM phones`, nil},
				{1, `SELECT COUNT(*) FROM phones WHERE "primary"`, nil},
			},
		}
	}},
}

func TestClientIDs(t *testing.T) { forEachBackend(t, testClientIDs) }

// testClientIDs creates a row of each kind with an upper-case client id
// and reads, updates and deletes it by either case; creates of the id
// again, under any parent, conflict and change nothing; a create under a
// missing parent is ErrNotFound.
func testClientIDs(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *Store, id string, rows rowsOf) {
		lower := strings.ToLower(id)

		created, err := rows.create(upperScope(rows.parent), id, "first")
		if err != nil || created.id != lower {
			t.Fatalf("created id %q, %v; want %q", created.id, err, lower)
		}
		for _, in := range []string{id, lower} {
			if got, err := rows.read(upperScope(rows.parent), in); err != nil || got != created {
				t.Errorf("read %q = %+v, %v; want %+v", in, got, err, created)
			}
			for _, parent := range []Scope{rows.parent, rows.other} {
				_, err := rows.create(parent, in, "dup")
				wantErr(t, err, ErrConflict)
			}
		}
		for _, c := range rows.counts {
			wantCount(t, s, c.want, c.query, c.args...)
		}
		if got, err := rows.read(rows.parent, lower); err != nil || got != created {
			t.Errorf("after conflicting creates: %+v, %v; want %+v unchanged", got, err, created)
		}
		_, err = rows.create(rows.missing, uuid.NewString(), "orphan")
		wantErr(t, err, ErrNotFound)

		if err := rows.update(upperScope(rows.parent), id, "renamed"); err != nil {
			t.Errorf("update by the upper-case id: %v", err)
		}
		if got, err := rows.read(rows.parent, lower); err != nil || got.text != "renamed" {
			t.Errorf("after the update: %+v, %v; want it renamed", got, err)
		}
		if err := rows.delete(upperScope(rows.parent), id); err != nil {
			t.Errorf("delete by the upper-case id: %v", err)
		}
		_, err = rows.read(rows.parent, lower)
		wantErr(t, err, ErrNotFound)
	})
}

func TestWrongParent(t *testing.T) { forEachBackend(t, testWrongParent) }

// testWrongParent reads, updates and deletes a row of each kind through
// a parent that is not its own: each is refused, and the row is unchanged.
func testWrongParent(t *testing.T) {
	forEachKind(t, func(t *testing.T, _ *Store, _ string, rows rowsOf) {
		created, err := rows.create(rows.parent, "", "first")
		if err != nil {
			t.Fatal(err)
		}
		_, err = rows.read(rows.other, created.id)
		wantErr(t, err, rows.wrongParent)
		wantErr(t, rows.update(rows.other, created.id, "moved"), rows.wrongParent)
		wantErr(t, rows.delete(rows.other, created.id), rows.wrongParent)
		if got, err := rows.read(rows.parent, created.id); err != nil || got != created {
			t.Errorf("changed through the wrong parent: %+v, %v; want %+v", got, err, created)
		}
	})
}

// forEachKind runs test as a subtest per kind, on a new store with the
// kind's rows there, given the kind's client id.
func forEachKind(t *testing.T, test func(t *testing.T, s *Store, id string, rows rowsOf)) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			s, _ := newStore(t)
			test(t, s, k.id, k.rows(t, s))
		})
	}
}
