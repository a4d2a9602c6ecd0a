package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
)

// This file holds the reads behind relationships and compound documents:
// the contact-less people collection and person lookup, and the batched
// reads of the resources related to a page (one statement per include
// path, whatever the page size).

// accountPeopleList lists an account list's people, whatever their
// contact (people.account_list_id, migration 0005).
var accountPeopleList = listSpec{
	what: "people", table: "people", columns: personColumns,
	parent: "account_list_id", parentTable: "account_lists", parentNoun: "account list", counter: "people_count",
	sorts:    personList.sorts,
	nullable: personList.nullable,
}

// ListAccountPeople returns a page of the people of every contact of an
// account list and the number matching q's filters, ignoring Limit and
// Offset. Sorts and filters are those of ListPeople. It returns
// ErrNotFound if the account list does not exist, and an error wrapping
// ErrInvalidQuery for an unknown sort, a phone-only filter or a negative
// limit or offset.
func (s *Store) ListAccountPeople(ctx context.Context, accountListID string, q ListQuery) (_ []Person, _ int, err error) {
	ctx, sp := s.tr.start(ctx, "ListAccountPeople")
	defer sp.end(&err)
	accountListID = normID(accountListID)
	people, total, err := list(ctx, s, accountPeopleList, accountListID, q, scanPerson)
	if err != nil {
		return nil, 0, fmt.Errorf("list people of account list %s: %w", accountListID, err)
	}
	return people, total, nil
}

// PersonScope returns the scope of the person with the given id, found by
// its id alone: the caller's account list, the person's contact and no
// person (the Scope that Person, UpdatePerson and DeletePerson take). It
// returns a *ScopeError of KindPerson: ErrNotFound when there is no such
// person, ErrForbidden when it is another account list's. One query.
func (s *Store) PersonScope(ctx context.Context, accountListID, id string) (_ Scope, err error) {
	ctx, sp := s.tr.start(ctx, "PersonScope")
	defer sp.end(&err)
	accountListID, id = normID(accountListID), normID(id)
	var contactID, owner string
	err = s.reader().QueryRowContext(ctx,
		`SELECT contact_id, account_list_id FROM people WHERE id = ?`, id).Scan(&contactID, &owner)
	sc := Scope{AccountListID: accountListID}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Scope{}, &ScopeError{Kind: KindPerson, ID: id, Scope: sc, Err: ErrNotFound}
	case err != nil:
		return Scope{}, fmt.Errorf("person %s: %w", id, err)
	case owner != accountListID:
		return Scope{}, &ScopeError{Kind: KindPerson, ID: id, Scope: sc, Err: ErrForbidden}
	}
	sc.ContactID = contactID
	return sc, nil
}

// PeopleOf returns the people of the given contacts of an account list,
// ordered by contact (in no particular contact order), then created_at,
// then id: at most limit of them (limit > 0), so that a caller that asks
// for one more than it accepts learns that there are too many. People of
// other account lists are never returned. One statement.
func (s *Store) PeopleOf(ctx context.Context, accountListID string, contactIDs []string, limit int) (_ []Person, err error) {
	ctx, sp := s.tr.start(ctx, "PeopleOf")
	defer sp.end(&err)
	if len(contactIDs) == 0 {
		return []Person{}, nil
	}
	in, args := inList(normID(accountListID), contactIDs)
	people, err := queryAll(ctx, s.reader(), scanPerson, peopleOfSQL(s.d, in), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("people of %d contacts: %w", len(contactIDs), err)
	}
	return people, nil
}

// PhonesOf returns the phones of the given people of an account list,
// ordered by person, then created_at, then id: at most limit of them
// (limit > 0; see PeopleOf). Phones of other account lists' people are
// never returned. One statement.
func (s *Store) PhonesOf(ctx context.Context, accountListID string, personIDs []string, limit int) (_ []Phone, err error) {
	ctx, sp := s.tr.start(ctx, "PhonesOf")
	defer sp.end(&err)
	if len(personIDs) == 0 {
		return []Phone{}, nil
	}
	in, args := inList(normID(accountListID), personIDs)
	phones, err := queryAll(ctx, s.reader(), scanPhone, phonesOfSQL(s.d, in), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("phones of %d people: %w", len(personIDs), err)
	}
	return phones, nil
}

// ContactsByID returns the contacts of an account list with the given
// ids, in no particular order; ids that are not the account list's
// contacts are left out. One statement.
func (s *Store) ContactsByID(ctx context.Context, accountListID string, ids []string) (_ []Contact, err error) {
	ctx, sp := s.tr.start(ctx, "ContactsByID")
	defer sp.end(&err)
	if len(ids) == 0 {
		return []Contact{}, nil
	}
	in, args := inList(normID(accountListID), ids)
	contacts, err := queryAll(ctx, s.reader(), scanContact, contactsByIDSQL(s.d, in), args...)
	if err != nil {
		return nil, fmt.Errorf("%d contacts by id: %w", len(ids), err)
	}
	return contacts, nil
}

// PeopleByID returns the people of an account list with the given ids, in
// no particular order; ids that are not the account list's people are
// left out. One statement.
func (s *Store) PeopleByID(ctx context.Context, accountListID string, ids []string) (_ []Person, err error) {
	ctx, sp := s.tr.start(ctx, "PeopleByID")
	defer sp.end(&err)
	if len(ids) == 0 {
		return []Person{}, nil
	}
	in, args := inList(normID(accountListID), ids)
	people, err := queryAll(ctx, s.reader(), scanPerson, peopleByIDSQL(s.d, in), args...)
	if err != nil {
		return nil, fmt.Errorf("%d people by id: %w", len(ids), err)
	}
	return people, nil
}

// The statements of the batched reads, for the placeholders in of
// inList: each is driven by the index of the ids it is given (one lookup
// per id, whatever the size of the account list), the account list being
// only checked (dialect.unindexed).

func peopleOfSQL(d *dialect, in string) string {
	return `SELECT ` + personColumns + ` FROM people WHERE ` + d.unindexed + `account_list_id = ? AND contact_id IN ` + in +
		` ORDER BY contact_id, created_at, id LIMIT ` + d.intArg
}

func phonesOfSQL(d *dialect, in string) string {
	return `SELECT ` + phoneColumns + ` FROM phones
	  WHERE (SELECT p.account_list_id FROM people p WHERE p.id = phones.person_id) = ? AND person_id IN ` + in +
		` ORDER BY person_id, created_at, id LIMIT ` + d.intArg
}

func contactsByIDSQL(d *dialect, in string) string {
	return `SELECT ` + contactColumns + ` FROM contacts WHERE ` + d.unindexed + `account_list_id = ? AND id IN ` + in
}

func peopleByIDSQL(d *dialect, in string) string {
	return `SELECT ` + personColumns + ` FROM people WHERE ` + d.unindexed + `account_list_id = ? AND id IN ` + in
}

// inList returns "(?, ?, …)" for ids and the arguments first, then the
// ids, lower-cased.
func inList(first string, ids []string) (string, []any) {
	args := make([]any, 0, len(ids)+2)
	args = append(args, first)
	var b strings.Builder
	b.Grow(3 * len(ids))
	b.WriteByte('(')
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('?')
		args = append(args, normID(id))
	}
	b.WriteByte(')')
	return b.String(), args
}

// StatementCount counts the SQL statements run with a context from
// CountStatements (tests and benchmarks use it to bound a request's
// statements).
type StatementCount struct{ n atomic.Int64 }

// N returns the number of statements counted so far.
func (c *StatementCount) N() int64 { return c.n.Load() }

type statementCountKey struct{}

// CountStatements returns a context under which every statement the
// Store runs (queries, execs, queued pipeline statements, migrations)
// adds one to the returned count.
func CountStatements(ctx context.Context) (context.Context, *StatementCount) {
	c := &StatementCount{}
	return context.WithValue(ctx, statementCountKey{}, c), c
}

// countStatement adds one to ctx's StatementCount, if it has one.
func countStatement(ctx context.Context) {
	if ctx == nil {
		return
	}
	if c, ok := ctx.Value(statementCountKey{}).(*StatementCount); ok {
		c.n.Add(1)
	}
}
