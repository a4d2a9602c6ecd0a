package db

import (
	"context"
	"fmt"
	"time"
)

// lockAccountList is the first statement of every write transaction of an
// account list: it raises the account list's write clock to now (never
// lowering it) and returns it. On PostgreSQL the UPDATE holds the row's
// lock until the transaction ends: it is the account list's write lock.
// (SQLite's transaction already holds the database's write lock.)
const lockAccountList = `UPDATE account_lists SET hw = CASE WHEN hw < ? THEN ? ELSE hw END WHERE id = ? RETURNING hw`

// raiseClock records t as issued in the account list, unless a later time
// already is.
func raiseClock(ctx context.Context, tx conn, accountListID string, t time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE account_lists SET hw = ? WHERE id = ? AND hw < ?`,
		t.UnixMilli(), accountListID, t.UnixMilli())
	if err != nil {
		return fmt.Errorf("raise write clock: %w", err)
	}
	return nil
}

// writeClock hands out the times of one write transaction of an account
// list. now is the store's clock, but never earlier than the latest time
// an earlier write of the account list issued (account_lists.hw, shared by
// every process using the database), so updated_in_db_at and deleted_at
// grow in commit order across the account list's rows: a sync client that
// lists "<latest value seen>.." misses nothing.
type writeClock struct {
	locked func() error // waits for the lock statement's answer, hw
	hw     int64        // the account list's clock, raised to now by the lock
	err    error        // the lock statement's error
	ready  bool         // hw (or err) has been read

	at   time.Time // the transaction's time
	high time.Time // the latest time it issued
}

// read reads the lock statement's answer, once, and returns its error.
func (w *writeClock) read() error {
	if !w.ready {
		w.ready = true
		if w.err = w.locked(); w.err == nil {
			w.at = fromMillis(w.hw)
			w.high = w.at
		}
	}
	return w.err
}

// now returns the transaction's time: the store's clock, but never earlier
// than what an earlier write of the account list issued. If the lock
// failed it is the zero time; the transaction is then rolled back.
func (w *writeClock) now() time.Time {
	w.read()
	return w.at
}

// next returns the updated_in_db_at for a row whose stored value is prev:
// now, or prev+1ms when that is not after prev.
func (w *writeClock) next(prev time.Time) time.Time {
	t := nextDBTime(w.now(), prev)
	if t.After(w.high) {
		w.high = t
	}
	return t
}

// stamp sets the timestamps of an update of a row: createdAt to setCreated
// when given, updatedAt to setUpdated when given or else to now, and
// updatedInDBAt advanced (see next).
func (w *writeClock) stamp(createdAt, updatedAt, updatedInDBAt *time.Time, setCreated, setUpdated *time.Time) {
	if setCreated != nil {
		*createdAt = normTime(*setCreated)
	}
	*updatedAt = w.now()
	if setUpdated != nil {
		*updatedAt = normTime(*setUpdated)
	}
	*updatedInDBAt = w.next(*updatedInDBAt)
}

// nextDBTime returns the updated_in_db_at for a row written at now whose
// stored value is prev: now, or prev+1ms if now is not after prev, so the
// value strictly increases per row.
func nextDBTime(now, prev time.Time) time.Time {
	if !now.After(prev) {
		return prev.Add(time.Millisecond)
	}
	return now
}
