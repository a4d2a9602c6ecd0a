package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// checkScope runs CheckScope's query on q. It has no JOIN: SQLite
// re-plans a statement with a join on every run when its parameters are
// rebound (perf: sqlite3Reprepare took ~30% of such a query's time),
// while a statement with subqueries keeps its plan.
func checkScope(ctx context.Context, q queryer, sc Scope) error {
	var accountListID string
	var personFound bool
	err := q.QueryRowContext(ctx,
		`SELECT c.account_list_id,
		        EXISTS (SELECT 1 FROM people p WHERE p.id = ? AND p.contact_id = c.id)
		   FROM contacts c WHERE c.id = ?`, sc.PersonID, sc.ContactID).Scan(&accountListID, &personFound)
	if errors.Is(err, sql.ErrNoRows) {
		return sc.check(false, "", false)
	}
	if err != nil {
		return err
	}
	return sc.check(true, accountListID, personFound)
}

// inScope is a condition on a row of the phones table (sc names a
// person) or the people table (sc names no person): its parent is sc's
// person, under sc's contact, of sc's account list, or its parent is sc's
// contact, of sc's account list. It holds for every row or for none, and
// costs one index lookup per level. (Scalar subqueries: a JOIN or an
// EXISTS here made SQLite prepare the statement again on every run.)
func (sc Scope) inScope() (string, []any) {
	contact, args := `(SELECT c.account_list_id FROM contacts c WHERE c.id = ?) = ?`, []any{sc.ContactID, sc.AccountListID}
	if sc.PersonID == "" {
		return contact, args
	}
	return `(SELECT p.contact_id FROM people p WHERE p.id = ?) = ? AND ` + contact,
		append([]any{sc.PersonID, sc.ContactID}, args...)
}

// whyEmpty returns the error of a scoped query that found no row: the
// *ScopeError when sc does not hold, else notFound.
func whyEmpty(ctx context.Context, q queryer, sc Scope, notFound error) error {
	if err := checkScope(ctx, q, sc); err != nil {
		return err
	}
	return notFound
}

// PhoneIn returns the phone with the given id of sc's person. One query
// reads it and checks sc; only when it finds nothing does a second one
// tell why. It returns a *ScopeError when sc does not hold, and
// ErrNotFound when the person has no such phone.
func (s *Store) PhoneIn(ctx context.Context, sc Scope, id string) (Phone, error) {
	sc, id = sc.norm(), normID(id)
	cond, args := sc.inScope()
	row := s.reader().QueryRowContext(ctx,
		`SELECT `+phoneColumns+` FROM phones WHERE id = ? AND person_id = ? AND `+cond,
		append([]any{id, sc.PersonID}, args...)...)
	p, err := scanPhone(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = whyEmpty(ctx, s.reader(), sc, ErrNotFound)
	}
	if err != nil {
		return Phone{}, fmt.Errorf("phone %s of person %s: %w", id, sc.PersonID, mapError(err))
	}
	return p, nil
}

// ListPhonesIn is ListPhones for the person of sc, checking sc: a
// *ScopeError when it does not hold. When the page is non-empty and the
// last one (the common case: a person's phones fit in a page) one query
// answers; otherwise the scope, the page and the count are read again in
// one snapshot.
func (s *Store) ListPhonesIn(ctx context.Context, sc Scope, q ListQuery) ([]Phone, int, error) {
	sc = sc.norm()
	phones, total, err := s.listPhonesIn(ctx, sc, q)
	if err != nil {
		return nil, 0, fmt.Errorf("list phones of person %s: %w", sc.PersonID, err)
	}
	return phones, total, nil
}

func (s *Store) listPhonesIn(ctx context.Context, sc Scope, q ListQuery) ([]Phone, int, error) {
	cond, args := sc.inScope()
	st, err := phoneList.buildWhere(s.d, sc.PersonID, q, cond, args)
	if err != nil {
		return nil, 0, err
	}
	phones, err := queryAll(ctx, s.reader(), scanPhone, st.page, st.pageArgs...)
	if err != nil {
		return nil, 0, err
	}
	if len(phones) > 0 && (q.Limit == 0 || len(phones) < q.Limit) {
		return phones, q.Offset + len(phones), nil
	}
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
		return nil, 0, err
	}
	return phones, total, nil
}
