package db

import "time"

// Precondition guards an update or delete, checked in the write's
// transaction against the stored updated_in_db_at: when Holds is set, it
// decides (an ETag comparison, say); else the stored value, truncated to
// Precision (time.Second or time.Millisecond), must equal At truncated to
// Precision. A zero or negative Precision means time.Millisecond. A nil
// *Precondition means no check. A write whose precondition fails returns
// a *StaleError with the stored value, and writes nothing.
type Precondition struct {
	At        time.Time
	Precision time.Duration
	Holds     func(stored time.Time) bool
}

// check returns a *StaleError if p is set and does not hold for stored.
func (p *Precondition) check(stored time.Time) error {
	if p == nil {
		return nil
	}
	if p.Holds != nil {
		if !p.Holds(stored) {
			return &StaleError{Current: stored}
		}
		return nil
	}
	prec := p.Precision
	if prec <= 0 {
		prec = time.Millisecond
	}
	if !stored.Truncate(prec).Equal(p.At.Truncate(prec)) {
		return &StaleError{Current: stored}
	}
	return nil
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
