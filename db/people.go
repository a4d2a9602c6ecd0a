package db

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"
)

const personColumns = `id, contact_id, first_name, last_name, created_at, updated_at, updated_in_db_at`

func scanPerson(sc scanner) (Person, error) {
	var p Person
	var lastName sql.NullString
	var created, updated, updatedInDB int64
	if err := sc.Scan(&p.ID, &p.ContactID, &p.FirstName, &lastName, &created, &updated, &updatedInDB); err != nil {
		return Person{}, err
	}
	if lastName.Valid {
		p.LastName = &lastName.String
	}
	p.CreatedAt = fromMillis(created)
	p.UpdatedAt = fromMillis(updated)
	p.UpdatedInDBAt = fromMillis(updatedInDB)
	return p, nil
}

// person reads one person of a contact; ErrNotFound if there is no such
// person under contactID.
func person(ctx context.Context, q queryer, contactID, id string) (Person, error) {
	row := q.QueryRowContext(ctx,
		`SELECT `+personColumns+` FROM people WHERE id = ? AND contact_id = ?`, id, contactID)
	p, err := scanPerson(row)
	if err != nil {
		return Person{}, mapError(err)
	}
	return p, nil
}

// ListPeople returns a page of the people of a contact and the number of
// people matching q's filters, ignoring Limit and Offset. People sort by
// created_at, updated_at, updated_in_db_at, first_name or last_name; a
// NULL last_name sorts first ascending and last descending. It returns
// ErrNotFound if the contact does not exist, and an error wrapping
// ErrInvalidQuery for an unknown sort, a phone-only filter or a negative
// limit or offset.
func (s *Store) ListPeople(ctx context.Context, contactID string, q ListQuery) ([]Person, int, error) {
	contactID = normID(contactID)
	people, total, err := list(ctx, s, personList, contactID, q, scanPerson)
	if err != nil {
		return nil, 0, fmt.Errorf("list people of contact %s: %w", contactID, err)
	}
	return people, total, nil
}

// Person returns the person with the given id, or ErrNotFound if there is
// none under contactID.
func (s *Store) Person(ctx context.Context, contactID, id string) (Person, error) {
	contactID, id = normID(contactID), normID(id)
	p, err := person(ctx, s.reader(), contactID, id)
	if err != nil {
		return Person{}, fmt.Errorf("person %s of contact %s: %w", id, contactID, err)
	}
	return p, nil
}

// CreatePerson stores a new person and returns it as stored. An empty ID
// means a new UUID; zero CreatedAt or UpdatedAt mean now; UpdatedInDBAt is
// always now. It returns ErrNotFound if the contact does not exist and
// ErrConflict if the id does.
func (s *Store) CreatePerson(ctx context.Context, p Person) (Person, error) {
	p.ID = normID(p.ID)
	if p.ID == "" {
		p.ID = uuid.NewString()
	}
	p.ContactID = normID(p.ContactID)
	p.LastName = cloneString(p.LastName)
	err := s.inWrite(ctx, func(tx conn, wc *writeClock) error {
		p.CreatedAt = orNow(p.CreatedAt, wc.now)
		p.UpdatedAt = orNow(p.UpdatedAt, wc.now)
		p.UpdatedInDBAt = wc.now
		ok, err := exists(ctx, tx, `SELECT 1 FROM contacts WHERE id = ?`, p.ContactID)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO people (`+personColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.ContactID, p.FirstName, nullString(p.LastName),
			p.CreatedAt.UnixMilli(), p.UpdatedAt.UnixMilli(), p.UpdatedInDBAt.UnixMilli())
		return mapError(err)
	})
	if err != nil {
		return Person{}, fmt.Errorf("create person %s: %w", p.ID, err)
	}
	return p, nil
}

// UpdatePerson applies u to the person and returns it as stored.
// UpdatedAt becomes u.UpdatedAt if set, else now; UpdatedInDBAt always
// advances. It returns ErrNotFound if there is no such person under
// contactID, or a *StaleError if pre does not hold, in which case nothing
// is written.
func (s *Store) UpdatePerson(ctx context.Context, contactID, id string, u PersonUpdate, pre *Precondition) (Person, error) {
	contactID, id = normID(contactID), normID(id)
	var p Person
	err := s.inWrite(ctx, func(tx conn, wc *writeClock) error {
		var err error
		p, err = person(ctx, tx, contactID, id)
		if err != nil {
			return err
		}
		if err := pre.check(p.UpdatedInDBAt); err != nil {
			return err
		}
		now := wc.now
		if u.FirstName != nil {
			p.FirstName = *u.FirstName
		}
		if u.LastName.Set {
			p.LastName = cloneString(u.LastName.Value)
		}
		if u.CreatedAt != nil {
			p.CreatedAt = normTime(*u.CreatedAt)
		}
		p.UpdatedAt = now
		if u.UpdatedAt != nil {
			p.UpdatedAt = normTime(*u.UpdatedAt)
		}
		p.UpdatedInDBAt = wc.next(p.UpdatedInDBAt)
		_, err = tx.ExecContext(ctx,
			`UPDATE people SET first_name = ?, last_name = ?, created_at = ?, updated_at = ?, updated_in_db_at = ?
			WHERE id = ?`,
			p.FirstName, nullString(p.LastName),
			p.CreatedAt.UnixMilli(), p.UpdatedAt.UnixMilli(), p.UpdatedInDBAt.UnixMilli(), id)
		return mapError(err)
	})
	if err != nil {
		return Person{}, fmt.Errorf("update person %s of contact %s: %w", id, contactID, err)
	}
	return p, nil
}

// DeletePerson deletes the person with its phones, leaving a tombstone for
// each row removed (see ListDeleted), all with one DeletedAt. It returns
// ErrNotFound if there is no such person under contactID, or a *StaleError
// if pre does not hold, in which case nothing is written.
func (s *Store) DeletePerson(ctx context.Context, contactID, id string, pre *Precondition) error {
	contactID, id = normID(contactID), normID(id)
	err := s.inWrite(ctx, func(tx conn, wc *writeClock) error {
		p, err := person(ctx, tx, contactID, id)
		if err != nil {
			return err
		}
		if err := pre.check(p.UpdatedInDBAt); err != nil {
			return err
		}
		c, err := contact(ctx, tx, contactID)
		if err != nil {
			return err
		}
		at := wc.now
		if err := buryPhonesOfPerson(ctx, tx, c.AccountListID, contactID, id, at); err != nil {
			return err
		}
		err = bury(ctx, tx, Deleted{
			AccountListID: c.AccountListID, Type: TypePeople, DeletableID: id,
			ContactID: &contactID, DeletedAt: at,
		})
		if err != nil {
			return err
		}
		return deleteOne(ctx, tx, `DELETE FROM people WHERE id = ?`, id)
	})
	if err != nil {
		return fmt.Errorf("delete person %s of contact %s: %w", id, contactID, err)
	}
	return nil
}
