package handlers

import (
	"time"

	"github.com/oapi-codegen/nullable"
)

// field returns &v when the fieldset asks for name, else nil (omitted).
func field[T any](f fieldset, name string, v T) *T {
	if !f.has(name) {
		return nil
	}
	return &v
}

// timeField is field for a timestamp, formatted for the wire.
func timeField(f fieldset, name string, t time.Time) *string {
	return field(f, name, formatTime(t))
}

// nullField returns a nullable attribute: omitted when the fieldset does not
// ask for name, null when v is nil.
func nullField(f fieldset, name string, v *string) nullable.Nullable[string] {
	switch {
	case !f.has(name):
		return nil
	case v == nil:
		return nullable.NewNullNullable[string]()
	default:
		return nullable.NewNullableWithValue(*v)
	}
}
