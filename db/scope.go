package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// ErrForbidden means the resource exists but belongs to another account
// list than the one a Scope names.
var ErrForbidden = errors.New("forbidden")

// Scope is where a nested resource lives, and whose it must be: the
// caller's account list, the contact and, for phones, the person. Methods
// that take a Scope check the whole path in the same query as their read,
// so a request needs one round trip to the database instead of one per
// level.
type Scope struct {
	AccountListID string
	ContactID     string
	PersonID      string // "" for a contact's own resources
}

// ScopeError says which link of a Scope failed, the first one in path
// order: the contact (ErrNotFound, or ErrForbidden when it is another
// account list's), then the person (ErrNotFound: none with that id under
// the contact). errors.Is matches Err.
type ScopeError struct {
	Resource string // "contact" or "person"
	Scope    Scope  // the scope checked, ids lower-case
	Err      error  // ErrNotFound or ErrForbidden
}

func (e *ScopeError) Error() string {
	id := e.Scope.ContactID
	if e.Resource == "person" {
		id = e.Scope.PersonID
	}
	return fmt.Sprintf("%s %s: %v", e.Resource, id, e.Err)
}

func (e *ScopeError) Unwrap() error { return e.Err }

// norm returns sc with lower-case ids.
func (sc Scope) norm() Scope {
	return Scope{AccountListID: normID(sc.AccountListID), ContactID: normID(sc.ContactID), PersonID: normID(sc.PersonID)}
}

// check turns what a scope query found into nil or a *ScopeError:
// found is false when there is no such contact; accountListID is the
// contact's; personFound tells whether the person is under it (ignored
// when sc has no person).
func (sc Scope) check(found bool, accountListID string, personFound bool) error {
	switch {
	case !found:
		return &ScopeError{Resource: "contact", Scope: sc, Err: ErrNotFound}
	case accountListID != sc.AccountListID:
		return &ScopeError{Resource: "contact", Scope: sc, Err: ErrForbidden}
	case sc.PersonID != "" && !personFound:
		return &ScopeError{Resource: "person", Scope: sc, Err: ErrNotFound}
	}
	return nil
}

// CheckScope returns nil when sc's contact is its account list's and, if
// sc names a person, the person is that contact's; else a *ScopeError.
// It runs one query.
func (s *Store) CheckScope(ctx context.Context, sc Scope) error {
	sc = sc.norm()
	if err := checkScope(ctx, s.reader(), sc); err != nil {
		return fmt.Errorf("check scope: %w", err)
	}
	return nil
}

func checkScope(ctx context.Context, q queryer, sc Scope) error {
	var accountListID string
	var personFound bool
	err := q.QueryRowContext(ctx,
		`SELECT c.account_list_id, p.id IS NOT NULL
		   FROM contacts c LEFT JOIN people p ON p.id = ? AND p.contact_id = c.id
		  WHERE c.id = ?`, sc.PersonID, sc.ContactID).Scan(&accountListID, &personFound)
	if errors.Is(err, sql.ErrNoRows) {
		return sc.check(false, "", false)
	}
	if err != nil {
		return err
	}
	return sc.check(true, accountListID, personFound)
}

// scopedPhoneColumns is phoneColumns of the phones table aliased ph.
var scopedPhoneColumns = func() string {
	cols := strings.Split(phoneColumns, ", ")
	for i, c := range cols {
		cols[i] = "ph." + c
	}
	return strings.Join(cols, ", ")
}()

// PhoneIn returns the phone with the given id of sc's person, checking sc
// in the same query. It returns a *ScopeError when sc does not hold, and
// ErrNotFound when the person has no such phone.
func (s *Store) PhoneIn(ctx context.Context, sc Scope, id string) (Phone, error) {
	sc, id = sc.norm(), normID(id)
	var accountListID string
	var personFound bool
	var p nullPhone
	err := s.reader().QueryRowContext(ctx,
		`SELECT c.account_list_id, pe.id IS NOT NULL, `+scopedPhoneColumns+`
		   FROM contacts c
		   LEFT JOIN people pe ON pe.id = ? AND pe.contact_id = c.id
		   LEFT JOIN phones ph ON ph.id = ? AND ph.person_id = pe.id
		  WHERE c.id = ?`, sc.PersonID, id, sc.ContactID).
		Scan(append([]any{&accountListID, &personFound}, p.dest()...)...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = sc.check(false, "", false)
	case err != nil:
		err = mapError(err)
	default:
		err = sc.check(true, accountListID, personFound)
		if err == nil && !p.id.Valid {
			err = ErrNotFound
		}
	}
	if err != nil {
		return Phone{}, fmt.Errorf("phone %s of person %s: %w", id, sc.PersonID, err)
	}
	return p.phone(), nil
}

// nullPhone scans the columns of a phone that an outer join may leave
// NULL.
type nullPhone struct {
	id, personID, number, countryCode, location, source sql.NullString
	primary, historic, validValues                      sql.NullBool
	created, updated, updatedInDB                       sql.NullInt64
}

// dest returns the scan destinations in phoneColumns order.
func (n *nullPhone) dest() []any {
	return []any{&n.id, &n.personID, &n.number, &n.countryCode, &n.location,
		&n.primary, &n.historic, &n.source, &n.validValues, &n.created, &n.updated, &n.updatedInDB}
}

// phone returns the scanned phone; call it only when the id is not NULL.
func (n *nullPhone) phone() Phone {
	p := Phone{
		ID:            n.id.String,
		PersonID:      n.personID.String,
		Number:        n.number.String,
		Primary:       n.primary.Bool,
		Historic:      n.historic.Bool,
		Source:        n.source.String,
		ValidValues:   n.validValues.Bool,
		CreatedAt:     fromMillis(n.created.Int64),
		UpdatedAt:     fromMillis(n.updated.Int64),
		UpdatedInDBAt: fromMillis(n.updatedInDB.Int64),
	}
	if n.countryCode.Valid {
		p.CountryCode = &n.countryCode.String
	}
	if n.location.Valid {
		p.Location = &n.location.String
	}
	return p
}

// ListPhonesIn is ListPhones for the person of sc, checking sc in the same
// read snapshot as the page: a *ScopeError when sc does not hold.
func (s *Store) ListPhonesIn(ctx context.Context, sc Scope, q ListQuery) ([]Phone, int, error) {
	sc = sc.norm()
	st, err := phoneList.build(s.d, sc.PersonID, q)
	if err != nil {
		return nil, 0, fmt.Errorf("list phones of person %s: %w", sc.PersonID, err)
	}
	var phones []Phone
	var total int
	err = s.readTx(ctx, func(tx conn) error {
		if err := checkScope(ctx, tx, sc); err != nil {
			return err
		}
		var err error
		phones, total, err = pageAndCount(ctx, tx, st, q.Limit, q.Offset, scanPhone)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list phones of person %s: %w", sc.PersonID, err)
	}
	return phones, total, nil
}
