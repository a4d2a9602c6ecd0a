package db

import (
	"context"
	"fmt"
	"slices"
)

// The one-primary rule: whenever a person has non-historic phones exactly
// one of them is primary, and a historic phone is never primary. Creates,
// updates and deletes restore it in the same transaction; see
// settlePrimary.

const phoneColumns = `id, person_id, number, country_code, location, "primary", historic, source, valid_values, created_at, updated_at, updated_in_db_at`

func scanPhone(sc scanner) (Phone, error) {
	var p Phone
	err := sc.Scan(&p.ID, &p.PersonID, &p.Number, optString{&p.CountryCode}, optString{&p.Location},
		&p.Primary, &p.Historic, &p.Source, &p.ValidValues, millis{&p.CreatedAt}, millis{&p.UpdatedAt}, millis{&p.UpdatedInDBAt})
	if err != nil {
		return Phone{}, err
	}
	return p, nil
}

// phonesIn reads the phones of sc's person, ordered by created_at, then
// id, checking sc in the same statement: no phones means that the person
// has none or that sc does not hold (see whyEmpty).
func phonesIn(ctx context.Context, q conn, sc Scope) ([]Phone, error) {
	cond, args := sc.inScope()
	return queryAll(ctx, q, scanPhone,
		`SELECT `+phoneColumns+` FROM phones WHERE person_id = `+q.d.textArg+` AND `+cond+` ORDER BY created_at, id`,
		append([]any{sc.PersonID}, args...)...)
}

// phoneOf returns the phone with the given id among phones, the phones of
// sc's person as phonesIn read them, and the others: the *ScopeError when
// sc does not hold, else that of the phone (KindPhone) when the person
// has no such phone.
func phoneOf(ctx context.Context, tx conn, sc Scope, phones []Phone, id string) (Phone, []Phone, error) {
	i := slices.IndexFunc(phones, func(p Phone) bool { return p.ID == id })
	if i < 0 {
		if len(phones) > 0 {
			return Phone{}, nil, sc.missing(KindPhone, id) // sc holds: phonesIn found rows
		}
		return Phone{}, nil, whyEmpty(ctx, tx, sc, KindPhone, id)
	}
	return phones[i], slices.Delete(slices.Clone(phones), i, i+1), nil
}

// CreatePhone stores a new phone of sc's person and returns it as stored,
// after the one-primary rule is applied: the person's first non-historic
// phone is primary whatever p.Primary says; a non-historic phone created
// with Primary demotes the person's current primary; a historic phone is
// never primary. Phones demoted or promoted get UpdatedAt now and a new
// UpdatedInDBAt.
//
// A nil p.ValidValues is true if the source is DefaultSource or the person
// has no phones yet, else false.
//
// It returns a *ScopeError if sc does not hold and ErrConflict if the id
// exists.
func (s *Store) CreatePhone(ctx context.Context, sc Scope, np NewPhone) (Phone, error) {
	return s.CreatePhoneOnce(ctx, sc, np, nil)
}

// CreatePhoneOnce is CreatePhone under an idempotency key (see Key; nil
// means none): with a key already used it writes nothing and returns a
// *ReplayError, ErrKeyReused or ErrKeyInProgress, before checking sc;
// otherwise the key is stored with the phone.
func (s *Store) CreatePhoneOnce(ctx context.Context, sc Scope, np NewPhone, key *Key) (_ Phone, err error) {
	ctx, sp := s.tr.start(ctx, "CreatePhoneOnce")
	defer sp.end(&err)
	sc = sc.norm()
	p := Phone{
		ID:          normID(np.ID),
		PersonID:    sc.PersonID,
		Number:      np.Number,
		CountryCode: cloneString(np.CountryCode),
		Location:    cloneString(np.Location),
		Primary:     np.Primary && !np.Historic,
		Historic:    np.Historic,
		Source:      np.Source,
	}
	if p.ID == "" {
		p.ID = s.newID()
	}
	if p.Source == "" {
		p.Source = DefaultSource
	}
	tc := textCheck{table: "phones", id: p.ID}
	tc.text("number", p.Number)
	tc.opt("country_code", p.CountryCode)
	tc.opt("location", p.Location)
	tc.text("source", p.Source)
	if tc.err != nil {
		return Phone{}, fmt.Errorf("create phone %s: %w", p.ID, tc.err)
	}
	err = s.inWrite(ctx, sc.AccountListID, func(tx conn, wc *writeClock) error {
		if err := claimKey(ctx, tx, wc, key); err != nil {
			return err
		}
		others, err := phonesIn(ctx, tx, sc)
		if err != nil {
			return err
		}
		if len(others) == 0 {
			if err := checkScope(ctx, tx, sc); err != nil {
				return err
			}
		}
		if np.ValidValues != nil {
			p.ValidValues = *np.ValidValues
		} else {
			p.ValidValues = p.Source == DefaultSource || len(others) == 0
		}
		now := wc.now()
		p.CreatedAt = orNow(np.CreatedAt, now)
		p.UpdatedAt = orNow(np.UpdatedAt, now)
		p.UpdatedInDBAt = now

		primaries := settlePrimary(append(slices.Clone(others), p), p.ID, np.Primary, !np.Primary)
		p.Primary = primaries[p.ID]
		_, err = tx.ExecContext(ctx,
			`INSERT INTO phones (`+phoneColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.PersonID, p.Number, nullString(p.CountryCode), nullString(p.Location),
			p.Primary, p.Historic, p.Source, p.ValidValues,
			p.CreatedAt.UnixMilli(), p.UpdatedAt.UnixMilli(), p.UpdatedInDBAt.UnixMilli())
		if err != nil {
			return mapError(err)
		}
		if err := touchPerson(ctx, tx, wc, p.PersonID); err != nil {
			return err
		}
		if err := setPrimaries(ctx, tx, others, primaries, wc); err != nil {
			return err
		}
		return storeKey(ctx, tx, wc, key, p.ID)
	})
	if err != nil {
		return Phone{}, fmt.Errorf("create phone %s: %w", p.ID, err)
	}
	return p, nil
}

// UpdatePhone applies u to the phone of sc's person and returns it as
// stored, after the one-primary rule is applied: *u.Primary true on a
// non-historic phone demotes the others; false on the primary, or making
// it historic, promotes the earliest other non-historic phone (by
// created_at, then id) or, if there is none, leaves it primary unless it
// is historic. Phones demoted or promoted get UpdatedAt now and a new
// UpdatedInDBAt.
//
// UpdatedAt becomes u.UpdatedAt if set, else now; UpdatedInDBAt always
// advances. It returns a *ScopeError if sc does not hold or (KindPhone) if
// the person has no such phone, or a *StaleError if pre does not hold, in
// which case nothing is written.
func (s *Store) UpdatePhone(ctx context.Context, sc Scope, id string, u PhoneUpdate, pre *Precondition) (_ Phone, err error) {
	ctx, sp := s.tr.start(ctx, "UpdatePhone")
	defer sp.end(&err)
	sc, id = sc.norm(), normID(id)
	tc := textCheck{table: "phones", id: id}
	tc.opt("number", u.Number)
	tc.opt("country_code", u.CountryCode.Value)
	tc.opt("location", u.Location.Value)
	tc.opt("source", u.Source)
	if tc.err != nil {
		return Phone{}, fmt.Errorf("update phone %s of person %s: %w", id, sc.PersonID, tc.err)
	}
	var p Phone
	err = s.inWrite(ctx, sc.AccountListID, func(tx conn, wc *writeClock) error {
		phones, err := phonesIn(ctx, tx, sc)
		if err != nil {
			return err
		}
		var others []Phone
		if p, others, err = phoneOf(ctx, tx, sc, phones, id); err != nil {
			return err
		}
		if err := pre.check(ctx, tx, "phones", id, p.UpdatedInDBAt); err != nil {
			return err
		}

		if u.Number != nil {
			p.Number = *u.Number
		}
		if u.CountryCode.Set {
			p.CountryCode = cloneString(u.CountryCode.Value)
		}
		if u.Location.Set {
			p.Location = cloneString(u.Location.Value)
		}
		if u.Primary != nil {
			p.Primary = *u.Primary
		}
		if u.Historic != nil {
			p.Historic = *u.Historic
		}
		if p.Historic {
			p.Primary = false
		}
		if u.Source != nil {
			p.Source = *u.Source
		}
		if u.ValidValues != nil {
			p.ValidValues = *u.ValidValues
		}
		wc.stamp(&p.CreatedAt, &p.UpdatedAt, &p.UpdatedInDBAt, u.CreatedAt, u.UpdatedAt)

		promote := u.Primary != nil && *u.Primary
		demote := u.Primary != nil && !*u.Primary
		primaries := settlePrimary(append(slices.Clone(others), p), id, promote, demote)
		p.Primary = primaries[id]
		_, err = tx.ExecContext(ctx,
			`UPDATE phones SET number = ?, country_code = ?, location = ?, "primary" = ?, historic = ?,
				source = ?, valid_values = ?, created_at = ?, updated_at = ?,
				prev_updated_in_db_at = updated_in_db_at, updated_in_db_at = ?
			WHERE id = ?`,
			p.Number, nullString(p.CountryCode), nullString(p.Location), p.Primary, p.Historic,
			p.Source, p.ValidValues, p.CreatedAt.UnixMilli(), p.UpdatedAt.UnixMilli(), p.UpdatedInDBAt.UnixMilli(),
			id)
		if err != nil {
			return mapError(err)
		}
		if err := touchPerson(ctx, tx, wc, sc.PersonID); err != nil {
			return err
		}
		return setPrimaries(ctx, tx, others, primaries, wc)
	})
	if err != nil {
		return Phone{}, fmt.Errorf("update phone %s of person %s: %w", id, sc.PersonID, err)
	}
	return p, nil
}

// DeletePhone deletes the phone of sc's person, leaving a tombstone (see
// ListDeleted). If it was the primary, the earliest remaining non-historic
// phone (by created_at, then id) is promoted. It returns a *ScopeError if
// sc does not hold or (KindPhone) if the person has no such phone, or a
// *StaleError if pre does not hold, in which case nothing is written.
func (s *Store) DeletePhone(ctx context.Context, sc Scope, id string, pre *Precondition) (err error) {
	ctx, sp := s.tr.start(ctx, "DeletePhone")
	defer sp.end(&err)
	sc, id = sc.norm(), normID(id)
	err = s.inWrite(ctx, sc.AccountListID, func(tx conn, wc *writeClock) error {
		phones, err := phonesIn(ctx, tx, sc)
		if err != nil {
			return err
		}
		p, others, err := phoneOf(ctx, tx, sc, phones, id)
		if err != nil {
			return err
		}
		if err := pre.check(ctx, tx, "phones", id, p.UpdatedInDBAt); err != nil {
			return err
		}
		err = bury(ctx, tx, s.newID(), Deleted{
			AccountListID: sc.AccountListID, Type: TypePhoneNumbers, DeletableID: id,
			ContactID: &sc.ContactID, PersonID: &sc.PersonID, DeletedAt: wc.now(),
		})
		if err != nil {
			return err
		}
		if err := deleteOne(ctx, tx, `DELETE FROM phones WHERE id = ?`, id); err != nil {
			return err
		}
		if err := touchPerson(ctx, tx, wc, sc.PersonID); err != nil {
			return err
		}
		return setPrimaries(ctx, tx, others, settlePrimary(others, "", false, false), wc)
	})
	if err != nil {
		return fmt.Errorf("delete phone %s of person %s: %w", id, sc.PersonID, err)
	}
	return nil
}

// touchPerson advances the updated_in_db_at of the person whose phone the
// transaction writes to the write's time, so that the people list
// filtered by updated_in_db_at finds every person whose phones changed
// (the sync feed: GET /api/v2/contacts/people?include=phone_numbers).
// The write's time is never earlier than a stamp the account list has
// issued (writeClock), so the value never goes back; when the person was
// itself written in the same millisecond it stays, and a client that
// lists from its watermark inclusively still finds it. updated_at is not
// changed: the person's own attributes did not. Like every write that
// advances updated_in_db_at it keeps the value it replaces as
// prev_updated_in_db_at, the previous version (see Precondition). One
// statement, queued on a pipeline.
func touchPerson(ctx context.Context, tx conn, wc *writeClock, personID string) error {
	now := wc.now().UnixMilli()
	_, err := tx.ExecContext(ctx,
		`UPDATE people SET prev_updated_in_db_at = updated_in_db_at, updated_in_db_at = ?
		WHERE id = ? AND updated_in_db_at < ?`, now, personID, now)
	return mapError(err)
}

// settlePrimary returns the primary flag every phone of a person must have
// so that exactly one non-historic phone is primary, if any, and no
// historic phone is. phones holds all the person's phones in their new
// state; target is the phone being written ("" if none). promote reports a
// request to make target primary, demote a request that it not be.
//
// The primary is, in order of preference: target if promoted and not
// historic; else the earliest phone already primary; else the earliest
// non-historic phone other than a demoted target; else the target.
func settlePrimary(phones []Phone, target string, promote, demote bool) map[string]bool {
	phones = slices.Clone(phones)
	slices.SortStableFunc(phones, func(a, b Phone) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	var candidates []Phone
	for _, p := range phones {
		if !p.Historic {
			candidates = append(candidates, p)
		}
	}
	chosen := ""
	if promote {
		for _, p := range candidates {
			if p.ID == target {
				chosen = target
			}
		}
	}
	if chosen == "" {
		for _, p := range candidates {
			if p.Primary {
				chosen = p.ID
				break
			}
		}
	}
	if chosen == "" {
		for _, p := range candidates {
			if !demote || p.ID != target {
				chosen = p.ID
				break
			}
		}
	}
	if chosen == "" && len(candidates) > 0 {
		chosen = candidates[0].ID // only the demoted target is left
	}
	primaries := make(map[string]bool, len(phones))
	for _, p := range phones {
		primaries[p.ID] = p.ID == chosen
	}
	return primaries
}

// setPrimaries writes the primary flags of phones whose flag differs from
// primaries, giving each updated_at now and a new updated_in_db_at (the
// old one kept as prev_updated_in_db_at).
func setPrimaries(ctx context.Context, tx conn, phones []Phone, primaries map[string]bool, wc *writeClock) error {
	for _, p := range phones {
		want, ok := primaries[p.ID]
		if !ok || want == p.Primary {
			continue
		}
		_, err := tx.ExecContext(ctx,
			`UPDATE phones SET "primary" = ?, updated_at = ?,
				prev_updated_in_db_at = updated_in_db_at, updated_in_db_at = ? WHERE id = ?`,
			want, wc.now().UnixMilli(), wc.next(p.UpdatedInDBAt).UnixMilli(), p.ID)
		if err != nil {
			return mapError(err)
		}
	}
	return nil
}
