package handlers

// This file is the home of write preconditions: the ETag of a resource
// version, If-Match and If-None-Match comparison, the updated_in_db_at /
// overwrite form of the body, and how a failed precondition is reported
// (412 for If-Match, 409 for the body's form). The store checks the
// precondition in the write's transaction (db.Precondition).

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/phoneapi/phoneapi/db"
)

// required is the precondition of an update whose body has neither
// updated_in_db_at nor overwrite: it never holds, and writeGuard.check
// reports the 409 that asks for the stored value, which only the store's
// transaction knows.
var required = &db.Precondition{Holds: func(time.Time) bool { return false }}

// precondition turns the updated_in_db_at and overwrite attributes of an
// update into the store's precondition. overwrite: true means none; a
// missing value is required (a 409 that reports the stored value). The
// value's precision is the one it was sent with: whole seconds without a
// fraction, else tenths, hundredths or milliseconds. A millisecond value
// must equal the stored one; a coarser one must name exactly one version
// of the resource, the stored one (see db.Precondition), else the write
// is refused as stale.
func precondition(raw *string, overwrite *bool) (*db.Precondition, error) {
	if overwrite != nil && *overwrite {
		return nil, nil
	}
	if raw == nil {
		return required, nil
	}
	at, err := time.Parse(time.RFC3339Nano, *raw)
	if err != nil {
		return nil, errBadRequest("/data/attributes/updated_in_db_at", "%q is not an RFC 3339 timestamp", *raw)
	}
	precision := time.Second
	if i := strings.IndexByte(*raw, '.'); i >= 0 {
		digits := 0
		for _, r := range (*raw)[i+1:] {
			if r < '0' || r > '9' {
				break
			}
			digits++
		}
		switch {
		case digits == 1:
			precision = 100 * time.Millisecond
		case digits == 2:
			precision = 10 * time.Millisecond
		case digits >= 3:
			precision = time.Millisecond
		}
	}
	return &db.Precondition{At: at.UTC().Truncate(precision), Precision: precision}, nil
}

// etag returns the strong entity tag of a resource version: a digest of its
// id and updated_in_db_at, which changes on every write.
func etag(id string, updatedInDBAt time.Time) string {
	sum := sha256.Sum256([]byte(id + "@" + strconv.FormatInt(updatedInDBAt.UnixMilli(), 10)))
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// etagMatches reports whether the If-Match or If-None-Match header value
// lists tag (or is "*"). weak allows W/ tags to match (If-None-Match uses
// weak comparison, If-Match strong).
func etagMatches(header, tag string, weak bool) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		if strings.HasPrefix(t, "W/") {
			if !weak {
				continue
			}
			t = t[2:]
		}
		if t == tag {
			return true
		}
	}
	return false
}

// errPreconditionFailed is the 412 for an If-Match that does not match.
func errPreconditionFailed(current string) *Error {
	return &Error{
		Status: http.StatusPreconditionFailed,
		Header: "If-Match",
		Detail: "If-Match does not match the resource's current ETag; fetch it again and retry",
		Meta:   map[string]any{"etag": current},
	}
}

// writeGuard is the precondition of an update or delete, which the store
// checks in the write's transaction, and how its failure is reported.
type writeGuard struct {
	pre     *db.Precondition
	ifMatch bool   // the precondition came from If-Match: failures are 412
	id      string // the resource's id, for the ETag of a 412
}

// guard returns the precondition of a write to the resource id. With an
// If-Match header that is the precondition: the stored version's ETag
// must be one it lists (else 412); otherwise body returns the body's own
// (see precondition), or nil for none.
func guard(ifMatch *string, id string, body func() (*db.Precondition, error)) (writeGuard, error) {
	if ifMatch != nil {
		header := *ifMatch
		holds := func(stored time.Time) bool { return etagMatches(header, etag(id, stored), false) }
		return writeGuard{pre: &db.Precondition{Holds: holds}, ifMatch: true, id: id}, nil
	}
	if body == nil {
		return writeGuard{}, nil
	}
	pre, err := body()
	return writeGuard{pre: pre}, err
}

// check maps a store error of a guarded write: a failed If-Match is a 412;
// a body without updated_in_db_at or overwrite is the 409 that says so,
// with the stored value; other failures are the 409 of toErrors.
func (g writeGuard) check(err error) error {
	var stale *db.StaleError
	switch {
	case !errors.As(err, &stale):
		return err
	case g.ifMatch:
		return errPreconditionFailed(etag(g.id, stale.Current))
	case g.pre == required:
		return errStale("updated_in_db_at is required unless overwrite is true", formatTime(stale.Current))
	}
	return err
}

// errStale reports a missing or failed updated_in_db_at precondition.
func errStale(detail string, current string) *Error {
	return &Error{
		Status:  http.StatusConflict,
		Pointer: "/data/attributes/updated_in_db_at",
		Detail:  detail,
		Meta:    map[string]any{"updated_in_db_at": current},
	}
}
