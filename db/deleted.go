package db

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Every delete leaves a tombstone in deleted_records for each row it
// removes, cascades included, in the same transaction, so clients can sync
// deletions with ListDeleted.

// Deletable types: the values of Deleted.Type and DeletedQuery.Types,
// which are the JSON:API types of the deleted rows.
const (
	TypeContacts     = "contacts"
	TypePeople       = "people"
	TypePhoneNumbers = "phone_numbers"
)

// Deleted is the tombstone of a deleted contact, person or phone.
// ContactID and PersonID locate the deleted row: a phone has both, a
// person only ContactID, a contact neither. DeletedAt is when the delete
// ran, shared by all the rows it removed; within an account list it never
// decreases, even if the clock goes back.
type Deleted struct {
	ID            string
	AccountListID string
	Type          string // TypeContacts, TypePeople or TypePhoneNumbers
	DeletableID   string // id of the deleted row
	ContactID     *string
	PersonID      *string
	DeletedAt     time.Time
}

// DeletedQuery selects, orders and pages tombstones. Rows are ordered by
// DeletedAt, then ID, both ascending or both descending.
type DeletedQuery struct {
	Since  *time.Time // inclusive, truncated to the millisecond; nil: all
	Types  []string   // empty: all types
	Desc   bool
	Limit  int // rows per page, >= 0; 0 means no limit
	Offset int // rows to skip, >= 0
}

const deletedColumns = `id, account_list_id, deletable_type, deletable_id, contact_id, person_id, deleted_at`

func scanDeleted(sc scanner) (Deleted, error) {
	var d Deleted
	err := sc.Scan(&d.ID, &d.AccountListID, &d.Type, &d.DeletableID, optString{&d.ContactID}, optString{&d.PersonID}, millis{&d.DeletedAt})
	if err != nil {
		return Deleted{}, err
	}
	return d, nil
}

// ListDeleted returns the tombstones of an account list matching q, and
// how many match ignoring Limit and Offset. It returns ErrNotFound if the
// account list does not exist, and an error wrapping ErrInvalidQuery for
// an unknown type or a negative limit or offset.
func (s *Store) ListDeleted(ctx context.Context, accountListID string, q DeletedQuery) (_ []Deleted, _ int, err error) {
	ctx, sp := s.tr.start(ctx, "ListDeleted")
	defer sp.end(&err)
	accountListID = normID(accountListID)
	st, err := deletedSQL(s.d, accountListID, q)
	if err != nil {
		return nil, 0, fmt.Errorf("list deleted records of account list %s: %w", accountListID, err)
	}
	list, total, err := runList(ctx, s, st, q.Limit, q.Offset, "account_lists", accountListID, scanDeleted)
	if err != nil {
		return nil, 0, fmt.Errorf("list deleted records of account list %s: %w", accountListID, err)
	}
	return list, total, nil
}

// deletedSQL returns the queries listing the tombstones of an account
// list, or an error wrapping ErrInvalidQuery.
func deletedSQL(d *dialect, accountListID string, q DeletedQuery) (listSQL, error) {
	if q.Limit < 0 || q.Offset < 0 {
		return listSQL{}, fmt.Errorf("%w: negative limit or offset", ErrInvalidQuery)
	}
	var w where
	w.add("account_list_id = ?", accountListID)
	if q.Since != nil {
		w.add("deleted_at >= ?", normTime(*q.Since).UnixMilli())
	}
	if len(q.Types) > 0 {
		types := slices.Compact(slices.Sorted(slices.Values(q.Types)))
		args := make([]any, len(types))
		for i, t := range types {
			if t != TypeContacts && t != TypePeople && t != TypePhoneNumbers {
				return listSQL{}, fmt.Errorf("%w: unknown deleted record type %q", ErrInvalidQuery, t)
			}
			args[i] = t
		}
		w.add("deletable_type IN (?"+strings.Repeat(", ?", len(types)-1)+")", args...)
	}
	cond := w.String()
	return listSQL{
		page: `SELECT ` + deletedColumns + ` FROM deleted_records WHERE ` + cond +
			` ORDER BY ` + orderBy(q.Desc, "deleted_at", "id") + d.limitOffset(),
		pageArgs:  append(w.args[:len(w.args):len(w.args)], d.limitArg(q.Limit), q.Offset),
		count:     `SELECT COUNT(*) FROM deleted_records WHERE ` + cond,
		countArgs: w.args,
	}, nil
}

// insertDeleted is the start of every tombstone insert.
const insertDeleted = `INSERT INTO deleted_records (` + deletedColumns + `) `

// bury writes one tombstone with the id given.
func bury(ctx context.Context, tx conn, id string, d Deleted) error {
	_, err := tx.ExecContext(ctx, insertDeleted+`VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, d.AccountListID, d.Type, d.DeletableID,
		nullString(d.ContactID), nullString(d.PersonID), d.DeletedAt.UnixMilli())
	return mapError(err)
}

// buryPhonesOfPerson writes a tombstone for each phone of a person. The
// database makes their ids, unless the Store's ids are deterministic.
func (s *Store) buryPhonesOfPerson(ctx context.Context, tx conn, accountListID, contactID, personID string, at time.Time) error {
	if s.ids != nil {
		return s.buryRows(ctx, tx, TypePhoneNumbers, accountListID, at,
			`SELECT id, CAST(? AS TEXT), person_id FROM phones WHERE person_id = ? ORDER BY id`, contactID, personID)
	}
	_, err := tx.ExecContext(ctx, insertDeleted+
		`SELECT `+tx.d.newID+`, ?, '`+TypePhoneNumbers+`', id, ?, person_id, CAST(? AS BIGINT)
		FROM phones WHERE person_id = ?`,
		accountListID, contactID, at.UnixMilli(), personID)
	return mapError(err)
}

// buryPeopleOfContact writes a tombstone for each person of a contact and
// for each phone of those people. The database makes their ids, unless
// the Store's ids are deterministic.
func (s *Store) buryPeopleOfContact(ctx context.Context, tx conn, accountListID, contactID string, at time.Time) error {
	if s.ids != nil {
		err := s.buryRows(ctx, tx, TypePhoneNumbers, accountListID, at,
			`SELECT ph.id, pe.contact_id, ph.person_id FROM people pe JOIN phones ph ON ph.person_id = pe.id
			WHERE pe.contact_id = ? ORDER BY ph.id`, contactID)
		if err != nil {
			return err
		}
		return s.buryRows(ctx, tx, TypePeople, accountListID, at,
			`SELECT id, contact_id, CAST(NULL AS TEXT) FROM people WHERE contact_id = ? ORDER BY id`, contactID)
	}
	_, err := tx.ExecContext(ctx, insertDeleted+
		`SELECT `+tx.d.newID+`, ?, '`+TypePhoneNumbers+`', ph.id, pe.contact_id, ph.person_id, CAST(? AS BIGINT)
		FROM people pe JOIN phones ph ON ph.person_id = pe.id
		WHERE pe.contact_id = ?`,
		accountListID, at.UnixMilli(), contactID)
	if err != nil {
		return mapError(err)
	}
	_, err = tx.ExecContext(ctx, insertDeleted+
		`SELECT `+tx.d.newID+`, ?, '`+TypePeople+`', id, contact_id, NULL, CAST(? AS BIGINT)
		FROM people WHERE contact_id = ?`,
		accountListID, at.UnixMilli(), contactID)
	return mapError(err)
}

// buryRows writes a tombstone with a new id from s for each row that
// query (selecting deletable_id, contact_id, person_id) returns, in the
// query's order: the path of the deterministic ids, where the tombstones'
// ids cannot come from the database.
func (s *Store) buryRows(ctx context.Context, tx conn, typ, accountListID string, at time.Time, query string, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return mapError(err)
	}
	var list []Deleted
	for rows.Next() {
		d := Deleted{AccountListID: accountListID, Type: typ, DeletedAt: at}
		var contactID, personID *string
		if err := rows.Scan(&d.DeletableID, &contactID, &personID); err != nil {
			rows.Close()
			return mapError(err)
		}
		d.ContactID, d.PersonID = contactID, personID
		list = append(list, d)
	}
	if err := rows.Close(); err != nil {
		return mapError(err)
	}
	if err := rows.Err(); err != nil {
		return mapError(err)
	}
	for _, d := range list {
		if err := bury(ctx, tx, s.newID(), d); err != nil {
			return err
		}
	}
	return nil
}
