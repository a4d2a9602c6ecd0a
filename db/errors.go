package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
)

// Errors returned by the Store. Test for them with errors.Is.
var (
	// ErrNotFound means there is no such row, or it is not under the given
	// parent.
	ErrNotFound = errors.New("not found")

	// ErrForbidden means the resource exists but belongs to another
	// account list than the one a Scope names (see ScopeError).
	ErrForbidden = errors.New("forbidden")

	// ErrConflict means the write clashes with a stored row, e.g. an id
	// that already exists.
	ErrConflict = errors.New("conflict")

	// ErrStale means an update's or delete's Precondition did not hold.
	// The concrete error is a *StaleError.
	ErrStale = errors.New("stale precondition")

	// ErrInvalidQuery means a list query the Store cannot run, e.g. an
	// unknown sort or a negative limit. Callers validate user input first,
	// so it signals a programming error.
	ErrInvalidQuery = errors.New("invalid query")

	// ErrUnavailable means the database could not serve the call for now:
	// it is unreachable or shutting down, read-only, out of disk space or
	// memory, or another connection held the lock the call needed for too
	// long. A write that fails with it did not happen; the same call may
	// succeed later.
	ErrUnavailable = errors.New("database unavailable")

	// ErrInvalidText means a text value to write holds U+0000 or is not
	// valid UTF-8, which the Store never stores (see TextError); nothing
	// was written.
	ErrInvalidText = errors.New("invalid text")

	// ErrUncertain means the database did not confirm a commit: the
	// connection failed after the commit was sent, so the write may or may
	// not have happened. Read before writing again.
	ErrUncertain = errors.New("commit not confirmed")
)

// An error that fails because the call's context ended (its deadline
// passed, or it was cancelled) matches context.DeadlineExceeded or
// context.Canceled with errors.Is; a write that fails so did not happen.

// StaleError is returned when a Precondition fails; errors.Is(err, ErrStale)
// is true. Current is the stored updated_in_db_at. Ambiguous reports a
// precondition of less than millisecond precision whose interval holds
// the stored value and also the previous version's: it names two versions.
type StaleError struct {
	Current   time.Time
	Ambiguous bool
}

func (e *StaleError) Error() string {
	if e.Ambiguous {
		return fmt.Sprintf("ambiguous precondition: it names more than one version; stored updated_in_db_at is %s",
			e.Current.UTC().Format(time.RFC3339Nano))
	}
	return fmt.Sprintf("stale precondition: stored updated_in_db_at is %s",
		e.Current.UTC().Format(time.RFC3339Nano))
}

// Is reports whether target is ErrStale.
func (e *StaleError) Is(target error) bool { return target == ErrStale }

// classified is a driver error with the class the Store reports it as:
// errors.Is matches both the class (ErrUnavailable, or the context's
// error) and, through the cause, what mapError looks for.
type classified struct {
	class error
	cause error
}

func (e *classified) Error() string   { return e.class.Error() + ": " + e.cause.Error() }
func (e *classified) Unwrap() []error { return []error{e.class, e.cause} }

// classify returns err marked with its class: the error of ctx when ctx
// has ended (the call failed because its deadline passed or it was
// cancelled, not because of the database), else ErrUnavailable when err
// means the database cannot serve for now (see unavailable). Other errors,
// nil and sql.ErrNoRows are returned unchanged. ctx may be nil.
func classify(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var c *classified
	if errors.As(err, &c) {
		return err
	}
	if ctx != nil && ctx.Err() != nil {
		return &classified{class: ctx.Err(), cause: err}
	}
	if unavailable(err) {
		return &classified{class: ErrUnavailable, cause: err}
	}
	return err
}

// unavailable reports whether err is an outage rather than a fault of the
// call: the database is unreachable, restarting or shutting down,
// read-only, out of disk space or memory, or busy beyond the wait allowed.
func unavailable(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrNomem, sqlite3.ErrReadonly,
			sqlite3.ErrIoErr, sqlite3.ErrFull, sqlite3.ErrCantOpen:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "25006", // read_only_sql_transaction: a standby, or default_transaction_read_only
			"55P03", // lock_not_available: lock_timeout
			"57014", // query_canceled: statement_timeout
			"40001", // serialization_failure
			"40P01": // deadlock_detected
			return true
		}
		switch pe.Code[:2] {
		case "08", // connection exception
			"53", // insufficient resources: disk full, out of memory, too many connections
			"57", // operator intervention: admin or crash shutdown, cannot connect now
			"58": // system error: I/O error
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// mapError translates sql.ErrNoRows and driver constraint errors into
// ErrNotFound and ErrConflict; other errors are returned unchanged.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.ExtendedCode {
		case sqlite3.ErrConstraintPrimaryKey, sqlite3.ErrConstraintUnique:
			return ErrConflict
		case sqlite3.ErrConstraintForeignKey:
			return ErrNotFound
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return ErrConflict
		case "23503": // foreign_key_violation
			return ErrNotFound
		}
	}
	return err
}

// ErrNotMigrated means the database is reachable but lacks the latest
// embedded migration of its engine: run Migrate (phoneapi migrate).
var ErrNotMigrated = errors.New("database is not migrated to the latest version")

// ErrNotWritable means the database answers reads but refuses writes: it
// is read-only or out of disk space (see Ready).
var ErrNotWritable = errors.New("database is not writable")
