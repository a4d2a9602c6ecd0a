package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

const personColumns = `id, contact_id, first_name, last_name, created_at, updated_at, updated_in_db_at`

func scanPerson(sc scanner) (Person, error) {
	var p Person
	err := sc.Scan(&p.ID, &p.ContactID, &p.FirstName, optString{&p.LastName},
		millis{&p.CreatedAt}, millis{&p.UpdatedAt}, millis{&p.UpdatedInDBAt})
	if err != nil {
		return Person{}, err
	}
	return p, nil
}

// personIn reads the person with the given id of sc's contact, checking
// sc in the same statement: a *ScopeError, of the contact when sc does
// not hold, else of the person (KindPerson) when the contact has none
// with that id.
func personIn(ctx context.Context, tx conn, sc Scope, id string) (Person, error) {
	row := tx.QueryRowContext(ctx, personInScopeSQL, id, sc.ContactID, sc.ContactID, sc.AccountListID)
	p, err := scanPerson(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Person{}, whyEmpty(ctx, tx, sc, KindPerson, id)
	}
	return p, err
}

// CreatePerson stores a new person of sc's contact (sc names no person;
// p.ContactID is ignored) and returns it as stored. An empty ID means a
// new UUID; zero CreatedAt or UpdatedAt mean now; UpdatedInDBAt is always
// now. It returns a *ScopeError if sc does not hold and ErrConflict if the
// id exists.
func (s *Store) CreatePerson(ctx context.Context, sc Scope, p Person) (Person, error) {
	return s.CreatePersonOnce(ctx, sc, p, nil)
}

// CreatePersonOnce is CreatePerson under an idempotency key (see Key; nil
// means none): with a key already used it writes nothing and returns a
// *ReplayError, ErrKeyReused or ErrKeyInProgress, before checking sc;
// otherwise the key is stored with the person.
func (s *Store) CreatePersonOnce(ctx context.Context, sc Scope, p Person, key *Key) (_ Person, err error) {
	ctx, sp := s.tr.start(ctx, "CreatePersonOnce")
	defer sp.end(&err)
	sc = sc.norm()
	p.ID = normID(p.ID)
	if p.ID == "" {
		p.ID = s.newID()
	}
	p.ContactID = sc.ContactID
	p.LastName = cloneString(p.LastName)
	tc := textCheck{table: "people", id: p.ID}
	tc.text("first_name", p.FirstName)
	tc.opt("last_name", p.LastName)
	if tc.err != nil {
		return Person{}, fmt.Errorf("create person %s: %w", p.ID, tc.err)
	}
	err = s.inWrite(ctx, sc.AccountListID, func(tx conn, wc *writeClock) error {
		if err := claimKey(ctx, tx, wc, key); err != nil {
			return err
		}
		p.CreatedAt = orNow(p.CreatedAt, wc.now())
		p.UpdatedAt = orNow(p.UpdatedAt, wc.now())
		p.UpdatedInDBAt = wc.now()
		if err := checkScope(ctx, tx, sc); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO people (`+personColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.ContactID, p.FirstName, nullString(p.LastName),
			p.CreatedAt.UnixMilli(), p.UpdatedAt.UnixMilli(), p.UpdatedInDBAt.UnixMilli())
		if err != nil {
			return mapError(err)
		}
		return storeKey(ctx, tx, wc, key, p.ID)
	})
	if err != nil {
		return Person{}, fmt.Errorf("create person %s: %w", p.ID, err)
	}
	return p, nil
}

// UpdatePerson applies u to the person of sc's contact (sc names no
// person) and returns it as stored. UpdatedAt becomes u.UpdatedAt if set,
// else now; UpdatedInDBAt always advances. It returns a *ScopeError if sc
// does not hold or (KindPerson) if the contact has no such person, or a
// *StaleError if pre does not hold, in which case nothing is written.
func (s *Store) UpdatePerson(ctx context.Context, sc Scope, id string, u PersonUpdate, pre *Precondition) (_ Person, err error) {
	ctx, sp := s.tr.start(ctx, "UpdatePerson")
	defer sp.end(&err)
	sc, id = sc.norm(), normID(id)
	tc := textCheck{table: "people", id: id}
	tc.opt("first_name", u.FirstName)
	tc.opt("last_name", u.LastName.Value)
	if tc.err != nil {
		return Person{}, fmt.Errorf("update person %s of contact %s: %w", id, sc.ContactID, tc.err)
	}
	var p Person
	err = s.inWrite(ctx, sc.AccountListID, func(tx conn, wc *writeClock) error {
		var err error
		if p, err = personIn(ctx, tx, sc, id); err != nil {
			return err
		}
		if err := pre.check(ctx, tx, "people", id, p.UpdatedInDBAt); err != nil {
			return err
		}
		if u.FirstName != nil {
			p.FirstName = *u.FirstName
		}
		if u.LastName.Set {
			p.LastName = cloneString(u.LastName.Value)
		}
		wc.stamp(&p.CreatedAt, &p.UpdatedAt, &p.UpdatedInDBAt, u.CreatedAt, u.UpdatedAt)
		_, err = tx.ExecContext(ctx,
			`UPDATE people SET first_name = ?, last_name = ?, created_at = ?, updated_at = ?,
				prev_updated_in_db_at = updated_in_db_at, updated_in_db_at = ?
			WHERE id = ?`,
			p.FirstName, nullString(p.LastName),
			p.CreatedAt.UnixMilli(), p.UpdatedAt.UnixMilli(), p.UpdatedInDBAt.UnixMilli(), id)
		return mapError(err)
	})
	if err != nil {
		return Person{}, fmt.Errorf("update person %s of contact %s: %w", id, sc.ContactID, err)
	}
	return p, nil
}

// DeletePerson deletes the person of sc's contact (sc names no person)
// with its phones, leaving a tombstone for each row removed (see
// ListDeleted), all with one DeletedAt. It returns a *ScopeError if sc
// does not hold or (KindPerson) if the contact has no such person, or a
// *StaleError if pre does not hold, in which case nothing is written.
func (s *Store) DeletePerson(ctx context.Context, sc Scope, id string, pre *Precondition) (err error) {
	ctx, sp := s.tr.start(ctx, "DeletePerson")
	defer sp.end(&err)
	sc, id = sc.norm(), normID(id)
	err = s.inWrite(ctx, sc.AccountListID, func(tx conn, wc *writeClock) error {
		p, err := personIn(ctx, tx, sc, id)
		if err != nil {
			return err
		}
		if err := pre.check(ctx, tx, "people", id, p.UpdatedInDBAt); err != nil {
			return err
		}
		at := wc.now()
		if err := s.buryPhonesOfPerson(ctx, tx, sc.AccountListID, sc.ContactID, id, at); err != nil {
			return err
		}
		err = bury(ctx, tx, s.newID(), Deleted{
			AccountListID: sc.AccountListID, Type: TypePeople, DeletableID: id,
			ContactID: &sc.ContactID, DeletedAt: at,
		})
		if err != nil {
			return err
		}
		return deleteOne(ctx, tx, `DELETE FROM people WHERE id = ?`, id)
	})
	if err != nil {
		return fmt.Errorf("delete person %s of contact %s: %w", id, sc.ContactID, err)
	}
	return nil
}
