package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

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

// Kind is the kind of a resource on a nested path.
type Kind int

// The kinds of resource, in path order.
const (
	KindContact Kind = iota + 1
	KindPerson
	KindPhone
)

// String returns "contact", "person" or "phone".
func (k Kind) String() string {
	switch k {
	case KindContact:
		return "contact"
	case KindPerson:
		return "person"
	case KindPhone:
		return "phone"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// ScopeError is this package's one answer to "not found, or someone
// else's" for a resource and the path to it. Kind says which failed, the
// first in path order: the contact (ErrNotFound, or ErrForbidden when it
// is another account list's), the person (ErrNotFound: none with that id
// under the contact), or the resource itself (ErrNotFound: the path holds
// but it has no such child). ID is the id of the one that failed and
// Scope the path checked, ids lower-case. errors.Is matches Err.
type ScopeError struct {
	Kind  Kind
	ID    string
	Scope Scope
	Err   error // ErrNotFound or ErrForbidden
}

func (e *ScopeError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Kind, e.ID, e.Err)
}

func (e *ScopeError) Unwrap() error { return e.Err }

// missing returns the *ScopeError of a child of sc (kind, id) that is
// not there while sc holds.
func (sc Scope) missing(kind Kind, id string) error {
	return &ScopeError{Kind: kind, ID: id, Scope: sc, Err: ErrNotFound}
}

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
		return &ScopeError{Kind: KindContact, ID: sc.ContactID, Scope: sc, Err: ErrNotFound}
	case accountListID != sc.AccountListID:
		return &ScopeError{Kind: KindContact, ID: sc.ContactID, Scope: sc, Err: ErrForbidden}
	case sc.PersonID != "" && !personFound:
		return &ScopeError{Kind: KindPerson, ID: sc.PersonID, Scope: sc, Err: ErrNotFound}
	}
	return nil
}

// CheckScope returns nil when sc's contact is its account list's and, if
// sc names a person, the person is that contact's; else a *ScopeError.
// It runs one query.
func (s *Store) CheckScope(ctx context.Context, sc Scope) (err error) {
	ctx, sp := s.tr.start(ctx, "CheckScope")
	defer sp.end(&err)
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
// costs one index lookup: the person's row holds its contact and, since
// migration 0005, its account list. (A scalar subquery, as in checkScope:
// a JOIN here made SQLite prepare the statement again on every run.)
func (sc Scope) inScope() (string, []any) {
	if sc.PersonID == "" {
		return contactInScope, []any{sc.ContactID, sc.AccountListID}
	}
	return personInScope, []any{sc.ContactID, sc.AccountListID, sc.PersonID}
}

// The conditions of inScope, and its arguments' order.
const (
	contactInScope = `(SELECT c.account_list_id FROM contacts c WHERE c.id = ?) = ?`                    // contact, account list
	personInScope  = `(SELECT p.contact_id = ? AND p.account_list_id = ? FROM people p WHERE p.id = ?)` // contact, account list, person
)

// personInScopeSQL reads one person (id, contact) under contactInScope.
const personInScopeSQL = `SELECT ` + personColumns + ` FROM people WHERE id = ? AND contact_id = ? AND ` + contactInScope

// phoneInScopeSQL reads one phone (id, person) under personInScope.
const phoneInScopeSQL = `SELECT ` + phoneColumns + ` FROM phones WHERE id = ? AND person_id = ? AND ` + personInScope

// whyEmpty returns the error of a scoped query that found no row: the
// *ScopeError of the path when sc does not hold, else that of the missing
// child (kind, id).
func whyEmpty(ctx context.Context, q queryer, sc Scope, kind Kind, id string) error {
	if err := checkScope(ctx, q, sc); err != nil {
		return err
	}
	return sc.missing(kind, id)
}

// Contact returns the contact sc names (sc names no person), checking in
// the same query that it is sc's account list's: a *ScopeError otherwise.
func (s *Store) Contact(ctx context.Context, sc Scope) (_ Contact, err error) {
	ctx, sp := s.tr.start(ctx, "Contact")
	defer sp.end(&err)
	sc = sc.norm()
	c, err := contactOf(ctx, s.reader(), sc.AccountListID, sc.ContactID)
	if err != nil {
		return Contact{}, fmt.Errorf("contact %s: %w", sc.ContactID, err)
	}
	return c, nil
}

// Person returns the person with the given id of sc's contact (sc names
// no person). One query reads it and checks sc; only when it finds
// nothing does a second one tell why: a *ScopeError, of the contact when
// sc does not hold, else of the person (KindPerson, ErrNotFound).
func (s *Store) Person(ctx context.Context, sc Scope, id string) (_ Person, err error) {
	ctx, sp := s.tr.start(ctx, "Person")
	defer sp.end(&err)
	sc, id = sc.norm(), normID(id)
	p, err := personIn(ctx, s.reader(), sc, id)
	if err != nil {
		return Person{}, fmt.Errorf("person %s of contact %s: %w", id, sc.ContactID, mapError(err))
	}
	return p, nil
}

// Phone returns the phone with the given id of sc's person. One query
// reads it and checks sc; only when it finds nothing does a second one
// tell why: a *ScopeError, of the path when sc does not hold, else of the
// phone (KindPhone, ErrNotFound).
func (s *Store) Phone(ctx context.Context, sc Scope, id string) (_ Phone, err error) {
	ctx, sp := s.tr.start(ctx, "Phone")
	defer sp.end(&err)
	sc, id = sc.norm(), normID(id)
	row := s.reader().QueryRowContext(ctx, phoneInScopeSQL, id, sc.PersonID, sc.ContactID, sc.AccountListID, sc.PersonID)
	p, err := scanPhone(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = whyEmpty(ctx, s.reader(), sc, KindPhone, id)
	}
	if err != nil {
		return Phone{}, fmt.Errorf("phone %s of person %s: %w", id, sc.PersonID, mapError(err))
	}
	return p, nil
}

// ListPeople returns a page of the people of sc's contact (sc names no
// person) and the number matching q's filters, ignoring Limit and Offset,
// checking sc: a *ScopeError when it does not hold. People sort by
// created_at, updated_at, updated_in_db_at, first_name or last_name; a
// NULL last_name sorts first ascending and last descending. An unknown
// sort, a phone-only filter or a negative limit or offset is an error
// wrapping ErrInvalidQuery. See listIn for the statements it runs.
func (s *Store) ListPeople(ctx context.Context, sc Scope, q ListQuery) (_ []Person, _ int, err error) {
	ctx, sp := s.tr.start(ctx, "ListPeople")
	defer sp.end(&err)
	sc = sc.norm()
	return listIn(ctx, s, personList, sc.ContactID, sc, q, scanPerson)
}

// ListPhones returns a page of the phones of sc's person and the number
// matching q's filters, ignoring Limit and Offset, checking sc: a
// *ScopeError when it does not hold. Phones sort by created_at,
// updated_at or updated_in_db_at, and can also be filtered by Primary,
// Historic and Location. An unknown sort or a negative limit or offset is
// an error wrapping ErrInvalidQuery. See listIn for the statements it runs.
func (s *Store) ListPhones(ctx context.Context, sc Scope, q ListQuery) (_ []Phone, _ int, err error) {
	ctx, sp := s.tr.start(ctx, "ListPhones")
	defer sp.end(&err)
	sc = sc.norm()
	return listIn(ctx, s, phoneList, sc.PersonID, sc, q, scanPhone)
}

// listIn lists the children of parentID, the last link of sc (ls is
// personList or phoneList), with sc checked in the page query itself,
// which also counts the rows matching the filters (a contact's people and
// a person's phones are few): when the page is not empty that one
// statement answers; otherwise the scope, the page and the count are read
// again in one snapshot, to tell an empty list from a path that does not
// hold. Errors say what was listed ("list phones of person ID: …").
func listIn[T any](ctx context.Context, s *Store, ls listSpec, parentID string, sc Scope, q ListQuery, scan func(scanner) (T, error)) (_ []T, _ int, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("list %s of %s %s: %w", ls.what, ls.parentNoun, parentID, err)
		}
	}()
	cond, args := sc.inScope()
	st, err := ls.buildWhere(s.d, parentID, q, cond, args)
	if err != nil {
		return nil, 0, err
	}
	var total int
	items, err := queryAll(ctx, s.reader(), func(r scanner) (T, error) { return scan(withTotal{r, &total}) }, st.counted, st.pageArgs...)
	if err != nil {
		return nil, 0, err
	}
	if len(items) > 0 {
		return items, total, nil
	}
	err = s.readTx(ctx, func(tx conn) error {
		if err := checkScope(ctx, tx, sc); err != nil {
			return err
		}
		var err error
		items, total, err = pageAndCount(ctx, tx, st, q.Limit, q.Offset, scan)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

// withTotal scans a row of a counted page query (listSQL.counted): the
// row's columns, then the total into *total.
type withTotal struct {
	s     scanner
	total *int
}

// Scan implements scanner.
func (c withTotal) Scan(dest ...any) error { return c.s.Scan(append(dest, c.total)...) }
