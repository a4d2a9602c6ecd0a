package db

import (
	"fmt"
	"strings"
	"time"
)

// normTime returns t in UTC, truncated to the millisecond.
func normTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Millisecond)
}

// orNow returns normTime(t), or now if t is zero.
func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return normTime(t)
}

// fromMillis converts stored unix milliseconds to a UTC time.
func fromMillis(ms int64) time.Time {
	return time.UnixMilli(ms).UTC()
}

// normID returns id in its stored form (lower case).
func normID(id string) string {
	return strings.ToLower(id)
}

// nullString converts an optional string to a query argument.
func nullString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// cloneString returns a copy of *s so callers' pointers are not shared.
func cloneString(s *string) *string {
	if s == nil {
		return nil
	}
	v := *s
	return &v
}

// optString scans a nullable text column into *dst: nil for NULL.
type optString struct{ dst **string }

// Scan implements sql.Scanner.
func (o optString) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*o.dst = nil
	case string:
		*o.dst = &v
	case []byte:
		s := string(v)
		*o.dst = &s
	default:
		return fmt.Errorf("db: cannot scan %T into a string", v)
	}
	return nil
}

// millis scans a column of unix milliseconds into *dst, in UTC.
type millis struct{ dst *time.Time }

// Scan implements sql.Scanner.
func (m millis) Scan(v any) error {
	n, ok := v.(int64)
	if !ok {
		return fmt.Errorf("db: cannot scan %T into a time", v)
	}
	*m.dst = fromMillis(n)
	return nil
}
