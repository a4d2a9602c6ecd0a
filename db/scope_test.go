package db

import (
	"errors"
	"strings"
	"testing"
)

func TestScope(t *testing.T) { forEachBackend(t, testScope) }

// testScope checks every way a path can fail, in path order, for the three
// scoped reads, and that they agree on the phone when it holds.
func testScope(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	mine := newAccountList(t, s)
	c := mustContact(t, s, Contact{AccountListID: mine, Name: "c"})
	p := mustPerson(t, s, Person{ContactID: c.ID, FirstName: "p"})
	ph := mustPhone(t, s, NewPhone{PersonID: p.ID, Number: "+15555550100", Location: ptr("home")})
	c2 := mustContact(t, s, Contact{AccountListID: mine, Name: "c2"})
	p2 := mustPerson(t, s, Person{ContactID: c2.ID, FirstName: "p2"})
	theirs := mustContact(t, s, Contact{AccountListID: newAccountList(t, s), Name: "theirs"})
	theirPerson := mustPerson(t, s, Person{ContactID: theirs.ID, FirstName: "x"})
	missing := "00000000-0000-4000-8000-000000000001"

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
					if errors.As(err, &se) {
						t.Fatalf("%s: %v, want the scope to hold", what, err)
					}
					return false
				}
				if !errors.As(err, &se) || se.Resource != tt.wantResource || !errors.Is(err, tt.wantErr) {
					t.Fatalf("%s: %v, want a %s ScopeError matching %v", what, err, tt.wantResource, tt.wantErr)
				}
				return true
			}
			checkScopeErr("CheckScope", s.CheckScope(ctx, tt.sc))

			got, err := s.PhoneIn(ctx, tt.sc, tt.phoneID)
			if !checkScopeErr("PhoneIn", err) {
				switch {
				case tt.wantPhoneMissing:
					wantErr(t, err, ErrNotFound)
				case err != nil:
					t.Fatalf("PhoneIn: %v", err)
				default:
					want, err := s.Phone(ctx, p.ID, ph.ID)
					if err != nil {
						t.Fatal(err)
					}
					if !phonesEqual(got, want) {
						t.Errorf("PhoneIn = %+v, Phone = %+v", got, want)
					}
				}
			}

			list, total, err := s.ListPhonesIn(ctx, tt.sc, ListQuery{})
			if !checkScopeErr("ListPhonesIn", err) {
				if err != nil {
					t.Fatalf("ListPhonesIn: %v", err)
				}
				want, wantTotal, err := s.ListPhones(ctx, tt.sc.PersonID, ListQuery{})
				if err != nil {
					t.Fatal(err)
				}
				if total != wantTotal || len(list) != len(want) {
					t.Fatalf("ListPhonesIn: %d phones, total %d; ListPhones: %d, total %d", len(list), total, len(want), wantTotal)
				}
				for i := range list {
					if !phonesEqual(list[i], want[i]) {
						t.Errorf("ListPhonesIn[%d] = %+v, want %+v", i, list[i], want[i])
					}
				}
			}
		})
	}
}

// phonesEqual compares two phones field by field, times by instant.
func phonesEqual(a, b Phone) bool {
	str := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	return a.ID == b.ID && a.PersonID == b.PersonID && a.Number == b.Number &&
		str(a.CountryCode) == str(b.CountryCode) && str(a.Location) == str(b.Location) &&
		a.Primary == b.Primary && a.Historic == b.Historic && a.Source == b.Source && a.ValidValues == b.ValidValues &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) && a.UpdatedInDBAt.Equal(b.UpdatedInDBAt)
}
