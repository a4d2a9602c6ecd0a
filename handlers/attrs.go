package handlers

import (
	"github.com/oapi-codegen/nullable"

	"time"

	"github.com/phoneapi/phoneapi/db"
)

// formatTime renders t as RFC 3339 UTC with exactly three fractional digits.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// parseTime parses a client timestamp (RFC 3339, any offset and precision)
// and keeps it to the millisecond. Errors are 400 at pointer.
func parseTime(raw, pointer string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, errBadRequest(pointer, "%q is not an RFC 3339 timestamp", raw)
	}
	return t.UTC().Truncate(time.Millisecond), nil
}

// optTime parses an optional client timestamp attribute.
func optTime(raw *string, name string) (*time.Time, error) {
	if raw == nil {
		return nil, nil
	}
	t, err := parseTime(*raw, attrPointer(name))
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// setCreateTimes fills a new row's created_at and updated_at from the
// client's optional values (zero means "the server's time").
func setCreateTimes(created, updated *time.Time, rawCreated, rawUpdated *string) error {
	c, err := optTime(rawCreated, "created_at")
	if err != nil {
		return err
	}
	u, err := optTime(rawUpdated, "updated_at")
	if err != nil {
		return err
	}
	if c != nil {
		*created = *c
	}
	if u != nil {
		*updated = *u
	}
	return nil
}

// patch turns an optional, nullable attribute into the store's Patch.
func patch[T any](n nullable.Nullable[T]) db.Patch[T] {
	if !n.IsSpecified() {
		return db.Patch[T]{}
	}
	if n.IsNull() {
		return db.Patch[T]{Set: true}
	}
	v := n.MustGet()
	return db.Patch[T]{Set: true, Value: &v}
}
