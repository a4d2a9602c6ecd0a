package db

import (
	"context"
	"errors"
	"fmt"
)

const contactColumns = `id, account_list_id, name, created_at, updated_at, updated_in_db_at`

func scanContact(sc scanner) (Contact, error) {
	var c Contact
	err := sc.Scan(&c.ID, &c.AccountListID, &c.Name, millis{&c.CreatedAt}, millis{&c.UpdatedAt}, millis{&c.UpdatedInDBAt})
	if err != nil {
		return Contact{}, err
	}
	return c, nil
}

// contact reads one contact; ErrNotFound if it does not exist.
func contact(ctx context.Context, q queryer, id string) (Contact, error) {
	row := q.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts WHERE id = ?`, id)
	c, err := scanContact(row)
	if err != nil {
		return Contact{}, mapError(err)
	}
	return c, nil
}

// ListContacts returns a page of the contacts of an account list and the
// number of contacts matching q's filters, ignoring Limit and Offset.
// Contacts sort by created_at, updated_at, updated_in_db_at or name. It
// returns ErrNotFound if the account list does not exist, and an error
// wrapping ErrInvalidQuery for an unknown sort, a phone-only filter or a
// negative limit or offset.
func (s *Store) ListContacts(ctx context.Context, accountListID string, q ListQuery) (_ []Contact, _ int, err error) {
	ctx, sp := s.tr.start(ctx, "ListContacts")
	defer sp.end(&err)
	accountListID = normID(accountListID)
	contacts, total, err := list(ctx, s, contactList, accountListID, q, scanContact)
	if err != nil {
		return nil, 0, fmt.Errorf("list contacts of account list %s: %w", accountListID, err)
	}
	return contacts, total, nil
}

// contactOf reads the contact with the given id of the account list: a
// *ScopeError when there is none (ErrNotFound) or it is another account
// list's (ErrForbidden).
func contactOf(ctx context.Context, tx conn, accountListID, id string) (Contact, error) {
	c, err := contact(ctx, tx, id)
	sc := Scope{AccountListID: accountListID, ContactID: id}
	switch {
	case errors.Is(err, ErrNotFound):
		return Contact{}, sc.check(false, "", false)
	case err != nil:
		return Contact{}, err
	}
	if err := sc.check(true, c.AccountListID, false); err != nil {
		return Contact{}, err
	}
	return c, nil
}

// CreateContact stores a new contact and returns it as stored. An empty ID
// means a new UUID; zero CreatedAt or UpdatedAt mean now; UpdatedInDBAt is
// always now. It returns ErrConflict if the id exists and ErrNotFound if
// the account list does not.
func (s *Store) CreateContact(ctx context.Context, c Contact) (Contact, error) {
	return s.CreateContactOnce(ctx, c, nil)
}

// CreateContactOnce is CreateContact under an idempotency key (see Key;
// nil means none): with a key already used it writes nothing and returns
// a *ReplayError, ErrKeyReused or ErrKeyInProgress; otherwise the key is
// stored with the contact.
func (s *Store) CreateContactOnce(ctx context.Context, c Contact, key *Key) (_ Contact, err error) {
	ctx, sp := s.tr.start(ctx, "CreateContactOnce")
	defer sp.end(&err)
	c.ID = normID(c.ID)
	if c.ID == "" {
		c.ID = s.newID()
	}
	c.AccountListID = normID(c.AccountListID)
	tc := textCheck{table: "contacts", id: c.ID}
	tc.text("name", c.Name)
	if tc.err != nil {
		return Contact{}, fmt.Errorf("create contact %s: %w", c.ID, tc.err)
	}
	err = s.inWrite(ctx, c.AccountListID, func(tx conn, wc *writeClock) error {
		if err := claimKey(ctx, tx, wc, key); err != nil {
			return err
		}
		c.CreatedAt = orNow(c.CreatedAt, wc.now())
		c.UpdatedAt = orNow(c.UpdatedAt, wc.now())
		c.UpdatedInDBAt = wc.now()
		_, err := tx.ExecContext(ctx,
			`INSERT INTO contacts (`+contactColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
			c.ID, c.AccountListID, c.Name,
			c.CreatedAt.UnixMilli(), c.UpdatedAt.UnixMilli(), c.UpdatedInDBAt.UnixMilli())
		if err != nil {
			return mapError(err)
		}
		return storeKey(ctx, tx, wc, key, c.ID)
	})
	if err != nil {
		return Contact{}, fmt.Errorf("create contact %s: %w", c.ID, err)
	}
	return c, nil
}

// UpdateContact applies u to the contact of the account list and returns
// it as stored. UpdatedAt becomes u.UpdatedAt if set, else now;
// UpdatedInDBAt always advances. It returns a *ScopeError if the account
// list has no such contact (ErrNotFound, or ErrForbidden when it is
// another account list's), or a *StaleError if pre does not hold, in
// which case nothing is written.
func (s *Store) UpdateContact(ctx context.Context, accountListID, id string, u ContactUpdate, pre *Precondition) (_ Contact, err error) {
	ctx, sp := s.tr.start(ctx, "UpdateContact")
	defer sp.end(&err)
	accountListID, id = normID(accountListID), normID(id)
	if u.Name != nil {
		tc := textCheck{table: "contacts", id: id}
		if tc.text("name", *u.Name); tc.err != nil {
			return Contact{}, fmt.Errorf("update contact %s: %w", id, tc.err)
		}
	}
	var c Contact
	err = s.inWrite(ctx, accountListID, func(tx conn, wc *writeClock) error {
		var err error
		if c, err = contactOf(ctx, tx, accountListID, id); err != nil {
			return err
		}
		if err := pre.check(ctx, tx, "contacts", id, c.UpdatedInDBAt); err != nil {
			return err
		}
		if u.Name != nil {
			c.Name = *u.Name
		}
		wc.stamp(&c.CreatedAt, &c.UpdatedAt, &c.UpdatedInDBAt, u.CreatedAt, u.UpdatedAt)
		_, err = tx.ExecContext(ctx,
			`UPDATE contacts SET name = ?, created_at = ?, updated_at = ?,
				prev_updated_in_db_at = updated_in_db_at, updated_in_db_at = ? WHERE id = ?`,
			c.Name, c.CreatedAt.UnixMilli(), c.UpdatedAt.UnixMilli(), c.UpdatedInDBAt.UnixMilli(), id)
		return mapError(err)
	})
	if err != nil {
		return Contact{}, fmt.Errorf("update contact %s: %w", id, err)
	}
	return c, nil
}

// DeleteContact deletes the contact of the account list with its people
// and their phones, leaving a tombstone for each row removed (see
// ListDeleted), all with one DeletedAt. It returns a *ScopeError if the
// account list has no such contact, or a *StaleError if pre does not
// hold, in which case nothing is written.
func (s *Store) DeleteContact(ctx context.Context, accountListID, id string, pre *Precondition) (err error) {
	ctx, sp := s.tr.start(ctx, "DeleteContact")
	defer sp.end(&err)
	accountListID, id = normID(accountListID), normID(id)
	err = s.inWrite(ctx, accountListID, func(tx conn, wc *writeClock) error {
		c, err := contactOf(ctx, tx, accountListID, id)
		if err != nil {
			return err
		}
		if err := pre.check(ctx, tx, "contacts", id, c.UpdatedInDBAt); err != nil {
			return err
		}
		at := wc.now()
		if err := s.buryPeopleOfContact(ctx, tx, accountListID, id, at); err != nil {
			return err
		}
		err = bury(ctx, tx, s.newID(), Deleted{AccountListID: accountListID, Type: TypeContacts, DeletableID: id, DeletedAt: at})
		if err != nil {
			return err
		}
		return deleteOne(ctx, tx, `DELETE FROM contacts WHERE id = ?`, id)
	})
	if err != nil {
		return fmt.Errorf("delete contact %s: %w", id, err)
	}
	return nil
}

// deleteOne runs a DELETE and returns ErrNotFound if it removed no row.
func deleteOne(ctx context.Context, tx conn, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return mapError(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
