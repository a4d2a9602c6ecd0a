package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Precondition guards an update or delete, checked in the write's
// transaction against the row's stored version. When Holds is set, it
// decides on the stored updated_in_db_at (an ETag comparison, say).
// Otherwise At, truncated to Precision, names the interval [At, At +
// Precision) of the value the client saw:
//
//   - at millisecond precision (a zero or negative Precision means
//     time.Millisecond), the stored updated_in_db_at must equal At to the
//     millisecond;
//   - at a coarser one (a hundredth, a tenth, a whole second), the
//     interval must identify exactly one version of the row: it must hold
//     the stored updated_in_db_at and not the previous version's
//     (prev_updated_in_db_at; a row that has had one version has none).
//     updated_in_db_at strictly increases per row, so no earlier version
//     is in the interval then; when two are, the client may have seen
//     either, and the write is refused as if stale.
//
// A nil *Precondition means no check. A write whose precondition fails
// returns a *StaleError with the stored value, and writes nothing.
type Precondition struct {
	At        time.Time
	Precision time.Duration
	Holds     func(stored time.Time) bool
}

// check returns a *StaleError unless p is nil or holds for the row id of
// table (contacts, people or phones), whose stored updated_in_db_at is
// stored. Only a precondition of less than millisecond precision whose
// interval holds stored needs the row's previous version: check reads it
// in tx then, and only then.
func (p *Precondition) check(ctx context.Context, tx conn, table, id string, stored time.Time) error {
	if p == nil {
		return nil
	}
	var prev *time.Time
	if p.Holds == nil && p.precision() > time.Millisecond && p.contains(stored) {
		var err error
		if prev, err = prevVersion(ctx, tx, table, id); err != nil {
			return err
		}
	}
	if !p.holds(stored, prev) {
		// prev was read, so the interval holds stored: it failed for
		// holding prev too.
		return &StaleError{Current: stored, Ambiguous: prev != nil}
	}
	return nil
}

// holds reports whether p holds for a row whose stored updated_in_db_at
// is stored and whose previous version's is prev (nil for none).
func (p *Precondition) holds(stored time.Time, prev *time.Time) bool {
	switch {
	case p.Holds != nil:
		return p.Holds(stored)
	case !p.contains(stored):
		return false
	case p.precision() <= time.Millisecond:
		return true
	}
	return prev == nil || !p.contains(*prev)
}

// precision returns the precision p's At was sent with.
func (p *Precondition) precision() time.Duration {
	if p.Precision <= 0 {
		return time.Millisecond
	}
	return p.Precision
}

// contains reports whether t is in p's interval: equal to At at p's
// precision.
func (p *Precondition) contains(t time.Time) bool {
	prec := p.precision()
	return t.Truncate(prec).Equal(p.At.Truncate(prec))
}

// prevVersion reads the prev_updated_in_db_at of the row id of table: nil
// when the row has had one version.
func prevVersion(ctx context.Context, tx conn, table, id string) (*time.Time, error) {
	var ms sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT prev_updated_in_db_at FROM `+table+` WHERE id = ?`, id).Scan(&ms)
	if err != nil {
		return nil, fmt.Errorf("read the previous version of %s %s: %w", table, id, mapError(err))
	}
	if !ms.Valid {
		return nil, nil
	}
	t := fromMillis(ms.Int64)
	return &t, nil
}

// Patch is an optional update of a nullable column: Set reports whether to
// write it; a nil Value writes NULL.
type Patch[T any] struct {
	Set   bool
	Value *T
}

// Contact is a contact of an account list.
type Contact struct {
	ID            string
	AccountListID string
	Name          string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	UpdatedInDBAt time.Time
}

// ContactUpdate lists the contact fields to change; nil fields are kept.
type ContactUpdate struct {
	Name      *string
	CreatedAt *time.Time
	UpdatedAt *time.Time
}

// Person is a person of a contact.
type Person struct {
	ID            string
	ContactID     string
	FirstName     string
	LastName      *string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	UpdatedInDBAt time.Time
}

// PersonUpdate lists the person fields to change; nil or unset fields are
// kept.
type PersonUpdate struct {
	FirstName *string
	LastName  Patch[string]
	CreatedAt *time.Time
	UpdatedAt *time.Time
}

// Phone is a phone number of a person.
type Phone struct {
	ID            string
	PersonID      string
	Number        string
	CountryCode   *string
	Location      *string
	Primary       bool
	Historic      bool
	Source        string
	ValidValues   bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	UpdatedInDBAt time.Time
}

// DefaultSource is the Source given to phones created without one.
const DefaultSource = "MPDX"

// NewPhone is a phone to create. ID "" means a new UUID; Source "" means
// DefaultSource; a nil ValidValues is computed (see CreatePhone); zero
// CreatedAt or UpdatedAt mean now.
type NewPhone struct {
	ID          string
	Number      string
	CountryCode *string
	Location    *string
	Primary     bool
	Historic    bool
	Source      string
	ValidValues *bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// PhoneUpdate lists the phone fields to change; nil or unset fields are
// kept.
type PhoneUpdate struct {
	Number      *string
	CountryCode Patch[string]
	Location    Patch[string]
	Primary     *bool
	Historic    *bool
	Source      *string
	ValidValues *bool
	CreatedAt   *time.Time
	UpdatedAt   *time.Time
}
