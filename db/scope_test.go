package db

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/phoneapi/phoneapi/db/dbtest"
)

func TestScope(t *testing.T) { forEachBackend(t, testScope) }

// testScope checks every way a path can fail, in path order, for the three
// scoped reads, and that they agree on the phone when it holds.
// paths is what the scope tests read through: an account list (mine)
// with a contact c, its person p and p's phone ph, a second contact c2
// with its person p2, another account list's contact with its person,
// and an id that names nothing.
type paths struct {
	s                  *Store
	clk                *dbtest.Clock
	mine               string
	c, c2, theirs      Contact
	p, p2, theirPerson Person
	ph                 Phone
}

const missingID = "00000000-0000-4000-8000-000000000001"

func newPaths(t *testing.T) paths {
	t.Helper()
	s, clk := newStore(t)
	f := paths{s: s, clk: clk, mine: newAccountList(t, s)}
	f.c = mustContact(t, s, Contact{AccountListID: f.mine, Name: "c"})
	f.p = mustPerson(t, s, contactScope(f.c), Person{FirstName: "p"})
	f.ph = mustPhone(t, s, personScope(f.c, f.p), NewPhone{Number: "+15555550100", Location: ptr("home")})
	f.c2 = mustContact(t, s, Contact{AccountListID: f.mine, Name: "c2"})
	f.p2 = mustPerson(t, s, contactScope(f.c2), Person{FirstName: "p2"})
	f.theirs = mustContact(t, s, Contact{AccountListID: newAccountList(t, s), Name: "theirs"})
	f.theirPerson = mustPerson(t, s, contactScope(f.theirs), Person{FirstName: "x"})
	return f
}

func testScope(t *testing.T) {
	f := newPaths(t)
	s, ctx := f.s, t.Context()
	mine, c, p, ph, c2, p2, theirs, theirPerson, missing := f.mine, f.c, f.p, f.ph, f.c2, f.p2, f.theirs, f.theirPerson, missingID

	tests := []struct {
		name             string
		sc               Scope
		wantResource     string // "" when the scope holds
		wantErr          error
		phoneID          string
		wantPhoneMissing bool
	}{
		{name: "holds", sc: Scope{mine, c.ID, p.ID}, phoneID: ph.ID},
		{name: "holds, upper-case ids", sc: Scope{strings.ToUpper(mine), strings.ToUpper(c.ID), strings.ToUpper(p.ID)}, phoneID: strings.ToUpper(ph.ID)},
		{name: "phone of another person", sc: Scope{mine, c2.ID, p2.ID}, phoneID: ph.ID, wantPhoneMissing: true},
		{name: "no such phone", sc: Scope{mine, c.ID, p.ID}, phoneID: missing, wantPhoneMissing: true},
		{name: "no such contact", sc: Scope{mine, missing, p.ID}, wantResource: "contact", wantErr: ErrNotFound, phoneID: ph.ID},
		{name: "another account list's contact", sc: Scope{mine, theirs.ID, theirPerson.ID}, wantResource: "contact", wantErr: ErrForbidden, phoneID: ph.ID},
		{name: "another account list's contact, missing person", sc: Scope{mine, theirs.ID, missing}, wantResource: "contact", wantErr: ErrForbidden, phoneID: ph.ID},
		{name: "person under another contact", sc: Scope{mine, c2.ID, p.ID}, wantResource: "person", wantErr: ErrNotFound, phoneID: ph.ID},
		{name: "no such person", sc: Scope{mine, c.ID, missing}, wantResource: "person", wantErr: ErrNotFound, phoneID: ph.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkScopeErr := func(what string, err error) bool {
				t.Helper()
				var se *ScopeError
				if tt.wantResource == "" {
					if errors.As(err, &se) && se.Kind != KindPhone {
						t.Fatalf("%s: %v, want the scope to hold", what, err)
					}
					return false
				}
				if !errors.As(err, &se) || se.Kind.String() != tt.wantResource || !errors.Is(err, tt.wantErr) {
					t.Fatalf("%s: %v, want a %s ScopeError matching %v", what, err, tt.wantResource, tt.wantErr)
				}
				return true
			}
			checkScopeErr("CheckScope", s.CheckScope(ctx, tt.sc))

			got, err := s.Phone(ctx, tt.sc, tt.phoneID)
			if !checkScopeErr("Phone", err) {
				switch {
				case tt.wantPhoneMissing:
					var se *ScopeError
					if !errors.As(err, &se) || se.Kind != KindPhone || se.ID != strings.ToLower(tt.phoneID) || !errors.Is(err, ErrNotFound) {
						t.Fatalf("Phone: %v, want the phone's *ScopeError (KindPhone, ErrNotFound)", err)
					}
				case err != nil:
					t.Fatalf("Phone: %v", err)
				default:
					want, err := s.Phone(ctx, personPath(t, s, p.ID), ph.ID)
					if err != nil {
						t.Fatal(err)
					}
					if !samePhone(got, want) {
						t.Errorf("Phone(sc) = %+v, Phone(path from the database) = %+v", got, want)
					}
				}
			}

			list, total, err := s.ListPhones(ctx, tt.sc, ListQuery{})
			if !checkScopeErr("ListPhones", err) {
				if err != nil {
					t.Fatalf("ListPhones: %v", err)
				}
				want, wantTotal, err := s.ListPhones(ctx, personPath(t, s, tt.sc.PersonID), ListQuery{})
				if err != nil {
					t.Fatal(err)
				}
				if total != wantTotal || len(list) != len(want) {
					t.Fatalf("ListPhones(sc): %d phones, total %d; ListPhones(path from the database): %d, total %d", len(list), total, len(want), wantTotal)
				}
				for i := range list {
					if !samePhone(list[i], want[i]) {
						t.Errorf("ListPhones(sc)[%d] = %+v, want %+v", i, list[i], want[i])
					}
				}
			}
		})
	}
}

func TestScopeContactAndPeople(t *testing.T) { forEachBackend(t, testScopeContactAndPeople) }

// testScopeContactAndPeople checks the reads of a contact, its people and
// one person against every way their path can fail: each answers the
// *ScopeError of the first failing link (or of the person itself), and
// reads the same rows as the path from the database when it holds.
func testScopeContactAndPeople(t *testing.T) {
	f := newPaths(t)
	s, ctx := f.s, t.Context()
	mine, c, p, theirs, theirPerson, missing := f.mine, f.c, f.p, f.theirs, f.theirPerson, missingID
	empty := mustContact(t, s, Contact{AccountListID: mine, Name: "no people"})

	tests := []struct {
		name     string
		sc       Scope
		personID string
		kind     Kind  // of the ScopeError of Contact and ListPeople; 0: they succeed
		err      error // its Err
		people   int   // people listed when the path holds
		// personKind is the Kind of Person's ScopeError (0: it succeeds)
		personKind Kind
	}{
		{name: "holds", sc: Scope{AccountListID: mine, ContactID: c.ID}, personID: p.ID, people: 1},
		{name: "holds, upper-case ids", sc: Scope{AccountListID: strings.ToUpper(mine), ContactID: strings.ToUpper(c.ID)}, personID: strings.ToUpper(p.ID), people: 1},
		{name: "contact without people", sc: Scope{AccountListID: mine, ContactID: empty.ID}, personID: p.ID, personKind: KindPerson},
		{name: "no such person", sc: Scope{AccountListID: mine, ContactID: c.ID}, personID: missing, people: 1, personKind: KindPerson},
		{name: "no such contact", sc: Scope{AccountListID: mine, ContactID: missing}, personID: p.ID, kind: KindContact, err: ErrNotFound, personKind: KindContact},
		{name: "another account list's contact", sc: Scope{AccountListID: mine, ContactID: theirs.ID}, personID: theirPerson.ID, kind: KindContact, err: ErrForbidden, personKind: KindContact},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantScopeErr := func(what string, err error, kind Kind, want error) {
				t.Helper()
				var se *ScopeError
				if kind == 0 {
					if err != nil {
						t.Fatalf("%s: %v, want no error", what, err)
					}
					return
				}
				if !errors.As(err, &se) || se.Kind != kind || !errors.Is(err, want) {
					t.Fatalf("%s: %v, want a %s *ScopeError matching %v", what, err, kind, want)
				}
			}
			got, err := s.Contact(ctx, tt.sc)
			wantScopeErr("Contact", err, tt.kind, tt.err)
			if err == nil && got.ID != strings.ToLower(tt.sc.ContactID) {
				t.Errorf("Contact = %s, want %s", got.ID, tt.sc.ContactID)
			}

			list, total, err := s.ListPeople(ctx, tt.sc, ListQuery{})
			wantScopeErr("ListPeople", err, tt.kind, tt.err)
			if err == nil && (len(list) != tt.people || total != tt.people) {
				t.Errorf("ListPeople: %d people, total %d; want %d", len(list), total, tt.people)
			}

			wantPersonErr := tt.err
			if tt.personKind == KindPerson {
				wantPersonErr = ErrNotFound
			}
			person, err := s.Person(ctx, tt.sc, tt.personID)
			wantScopeErr("Person", err, tt.personKind, wantPersonErr)
			if err == nil && (person.ID != strings.ToLower(tt.personID) || person.ContactID != strings.ToLower(tt.sc.ContactID)) {
				t.Errorf("Person = %s of %s, want %s of %s", person.ID, person.ContactID, tt.personID, tt.sc.ContactID)
			}
		})
	}
}

// TestWritesCheckScope: every write checks, in its transaction, that what
// it writes is its account list's: a path through another account list's
// contact is ErrForbidden, a missing contact, or a person not under the
// contact, ErrNotFound, each a *ScopeError naming the failing link; a
// missing account list is ErrNotFound. None of them writes anything, not
// even the account list's write clock.
func TestWritesCheckScope(t *testing.T) { forEachBackend(t, testWritesCheckScope) }

func testWritesCheckScope(t *testing.T) {
	f := newPaths(t)
	s, clk, ctx := f.s, f.clk, t.Context()
	mine, c, p, ph, c2, theirs, theirPerson, missing := f.mine, f.c, f.p, f.ph, f.c2, f.theirs, f.theirPerson, missingID
	theirPhone := mustPhone(t, s, personScope(theirs, theirPerson), NewPhone{Number: "+15555550101"})

	viaTheirs := Scope{mine, theirs.ID, theirPerson.ID}     // their contact, under my account list
	wrongContact := Scope{mine, c2.ID, p.ID}                // my person, under my other contact
	noContact := Scope{mine, missing, p.ID}                 // no such contact
	noList := Scope{missing, c.ID, p.ID}                    // no such account list
	theirsAsMine := Scope{theirs.AccountListID, c.ID, p.ID} // my contact, under their account list
	// parentOf is the Scope of the people of sc's contact.
	parentOf := func(sc Scope) Scope { return Scope{AccountListID: sc.AccountListID, ContactID: sc.ContactID} }
	newPhone := NewPhone{Number: "+15555550199", Primary: true}

	tests := []struct {
		name     string
		write    func() error
		want     error  // ErrForbidden or ErrNotFound
		resource string // of the *ScopeError; "" for none
	}{
		{"CreatePhone via their contact", func() error { return errOf(s.CreatePhone(ctx, viaTheirs, newPhone)) }, ErrForbidden, "contact"},
		{"UpdatePhone via their contact", func() error {
			return errOf(s.UpdatePhone(ctx, viaTheirs, theirPhone.ID, PhoneUpdate{Number: ptr("+1")}, nil))
		}, ErrForbidden, "contact"},
		{"DeletePhone via their contact", func() error { return s.DeletePhone(ctx, viaTheirs, theirPhone.ID, nil) }, ErrForbidden, "contact"},
		{"CreatePhone, my contact under their account list", func() error { return errOf(s.CreatePhone(ctx, theirsAsMine, newPhone)) }, ErrForbidden, "contact"},
		{"UpdatePhone, my contact under their account list", func() error {
			return errOf(s.UpdatePhone(ctx, theirsAsMine, ph.ID, PhoneUpdate{Primary: ptr(false)}, nil))
		}, ErrForbidden, "contact"},
		{"CreatePhone, person not under the contact", func() error { return errOf(s.CreatePhone(ctx, wrongContact, newPhone)) }, ErrNotFound, "person"},
		{"UpdatePhone, person not under the contact", func() error {
			return errOf(s.UpdatePhone(ctx, wrongContact, ph.ID, PhoneUpdate{Number: ptr("+1")}, nil))
		}, ErrNotFound, "person"},
		{"DeletePhone, person not under the contact", func() error { return s.DeletePhone(ctx, wrongContact, ph.ID, nil) }, ErrNotFound, "person"},
		{"CreatePhone, no such contact", func() error { return errOf(s.CreatePhone(ctx, noContact, newPhone)) }, ErrNotFound, "contact"},
		{"DeletePhone, no such contact", func() error { return s.DeletePhone(ctx, noContact, ph.ID, nil) }, ErrNotFound, "contact"},

		{"UpdateContact of their account list", func() error {
			return errOf(s.UpdateContact(ctx, mine, theirs.ID, ContactUpdate{Name: ptr("mine now")}, nil))
		}, ErrForbidden, "contact"},
		{"DeleteContact of their account list", func() error { return s.DeleteContact(ctx, mine, theirs.ID, nil) }, ErrForbidden, "contact"},
		{"UpdateContact, mine under their account list", func() error {
			return errOf(s.UpdateContact(ctx, theirs.AccountListID, c.ID, ContactUpdate{Name: ptr("theirs now")}, nil))
		}, ErrForbidden, "contact"},
		{"UpdateContact, no such contact", func() error { return errOf(s.UpdateContact(ctx, mine, missing, ContactUpdate{Name: ptr("x")}, nil)) }, ErrNotFound, "contact"},
		{"DeleteContact, no such contact", func() error { return s.DeleteContact(ctx, mine, missing, nil) }, ErrNotFound, "contact"},

		{"CreatePerson under their contact", func() error { return errOf(s.CreatePerson(ctx, parentOf(viaTheirs), Person{FirstName: "intruder"})) }, ErrForbidden, "contact"},
		{"UpdatePerson under their contact", func() error {
			return errOf(s.UpdatePerson(ctx, parentOf(viaTheirs), theirPerson.ID, PersonUpdate{FirstName: ptr("y")}, nil))
		}, ErrForbidden, "contact"},
		{"DeletePerson under their contact", func() error {
			return s.DeletePerson(ctx, parentOf(viaTheirs), theirPerson.ID, nil)
		}, ErrForbidden, "contact"},
		{"CreatePerson, no such contact", func() error { return errOf(s.CreatePerson(ctx, parentOf(noContact), Person{FirstName: "orphan"})) }, ErrNotFound, "contact"},

		{"CreateContact, no such account list", func() error { return errOf(s.CreateContact(ctx, Contact{AccountListID: missing, Name: "x"})) }, ErrNotFound, ""},
		{"UpdateContact, no such account list", func() error { return errOf(s.UpdateContact(ctx, missing, c.ID, ContactUpdate{Name: ptr("x")}, nil)) }, ErrNotFound, ""},
		{"DeleteContact, no such account list", func() error { return s.DeleteContact(ctx, missing, c.ID, nil) }, ErrNotFound, ""},
		{"CreatePerson, no such account list", func() error { return errOf(s.CreatePerson(ctx, parentOf(noList), Person{FirstName: "x"})) }, ErrNotFound, ""},
		{"DeletePerson, no such account list", func() error { return s.DeletePerson(ctx, parentOf(noList), p.ID, nil) }, ErrNotFound, ""},
		{"CreatePhone, no such account list", func() error { return errOf(s.CreatePhone(ctx, noList, newPhone)) }, ErrNotFound, ""},
		{"UpdatePhone, no such account list", func() error { return errOf(s.UpdatePhone(ctx, noList, ph.ID, PhoneUpdate{Number: ptr("+1")}, nil)) }, ErrNotFound, ""},
		{"DeletePhone, no such account list", func() error { return s.DeletePhone(ctx, noList, ph.ID, nil) }, ErrNotFound, ""},
	}
	// A write that took an account list's lock and then failed must not
	// leave the clock's move either: move the clock on so it would show.
	clk.Add(time.Hour)
	before := writeState(t, s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.write()
			wantErr(t, err, tt.want)
			var se *ScopeError
			switch {
			case tt.resource == "" && errors.Is(err, ErrForbidden):
				t.Errorf("err = %v, want ErrNotFound only", err)
			case tt.resource != "" && (!errors.As(err, &se) || se.Kind.String() != tt.resource || se.Err != tt.want):
				t.Errorf("err = %v, want a %s *ScopeError with %v", err, tt.resource, tt.want)
			}
			if after := writeState(t, s); after != before {
				t.Errorf("the refused write changed the database:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// writeState renders everything a write may change: every contact,
// person and phone (see snapshot), every tombstone, and every account
// list's write clock.
func writeState(t *testing.T, s *Store) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(snapshot(t, s))
	for _, q := range []string{
		`SELECT 'account list ' || id || ' hw ' || hw FROM account_lists ORDER BY id`,
		`SELECT 'tombstone ' || deletable_type || ' ' || deletable_id || ' ' || deleted_at FROM deleted_records ORDER BY id`,
	} {
		for _, l := range lines(t, s.pool(), q) {
			b.WriteString("\n" + l)
		}
	}
	return b.String()
}
