package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Idempotency keys: the Idempotency-Key header of a create (IETF
// draft-ietf-httpapi-idempotency-key-header) makes its retry safe.
//
// A create given a *Key looks the key up first in its write transaction,
// after the account list's lock: the user's writes run one at a time, on
// every replica, so two creates with one key never both find it free. A
// key already used for the same request makes the create write nothing
// and return a *ReplayError (the original response); one used for another
// request returns ErrKeyReused. A free key is stored with the created row,
// in the same transaction: only a committed create holds a key, and a
// failed one leaves it free for the retry.
//
// The response is recorded by RecordResponse once the caller has encoded
// it, after the commit. Until then the key is in progress
// (ErrKeyInProgress) for Key.Pending after the create; past that (the
// process stopped in between) a retry gets a *ReplayError without a
// response, naming the created resource.
//
// Keys expire KeyTTL after their create: an expired key is free again.
// RecordResponse deletes up to purgeBatch expired keys, the oldest first,
// so the table holds the keys of the last KeyTTL and a bounded backlog.
// Keys are not exported (see exportTables): they are a day's retries, not
// data.

// KeyTTL is how long an idempotency key is kept after its create.
const KeyTTL = 24 * time.Hour

// purgeBatch is the most expired keys one RecordResponse deletes.
const purgeBatch = 100

// Errors of creates given a Key (see above).
var (
	// ErrReplay means the key was used for the same request: nothing was
	// written. The concrete error is a *ReplayError.
	ErrReplay = errors.New("idempotency key already used for this request")

	// ErrKeyReused means the key was used for another request (another
	// hash): nothing was written.
	ErrKeyReused = errors.New("idempotency key already used for another request")

	// ErrKeyInProgress means the key's create has committed but its
	// response is not recorded yet: nothing was written; retry later.
	ErrKeyInProgress = errors.New("idempotency key in use by a request in progress")
)

// Key is the idempotency key of a create.
type Key struct {
	UserID string // whose key it is: keys of different users never meet
	Key    string // the key as the client sent it (its value, unquoted)
	Hash   string // identifies the request (its method, target and body)
	// Pending is how long after its create a key whose response is not
	// recorded counts as in progress (ErrKeyInProgress); after it, a retry
	// gets a *ReplayError without a response. At least the time the
	// caller may take to record it.
	Pending time.Duration
}

// Response is a create's response as the caller sent it.
type Response struct {
	Status   int
	Location string
	ETag     string
	Body     []byte
}

// ReplayError is the answer to a create whose key was already used for
// the same request: nothing was written. Response is the original
// response, or zero (Status 0) when it was not recorded: then the caller
// answers with the resource ResourceID as it is now.
// errors.Is(err, ErrReplay) is true.
type ReplayError struct {
	ResourceID string
	Response   Response
}

func (e *ReplayError) Error() string {
	return fmt.Sprintf("%s: resource %s", ErrReplay, e.ResourceID)
}

// Is reports whether target is ErrReplay.
func (e *ReplayError) Is(target error) bool { return target == ErrReplay }

// claimKey looks k up in a create's write transaction, of clock wc: nil
// when k is nil, unknown or expired (an expired key is deleted), else a
// *ReplayError, ErrKeyReused or ErrKeyInProgress. Nothing is read when k
// is nil, not even the clock: on a pipeline, the lock statement then
// still goes out with the create's first query.
func claimKey(ctx context.Context, tx conn, wc *writeClock, k *Key) error {
	if k == nil {
		return nil
	}
	var (
		hash, resourceID string
		status           sql.NullInt64
		location, etag   sql.NullString
		body             []byte
		created, expires int64
	)
	err := tx.QueryRowContext(ctx,
		`SELECT request_hash, resource_id, status, location, etag, body, created_at, expires_at
		FROM idempotency_keys WHERE user_id = ? AND idem_key = ?`, k.UserID, k.Key).
		Scan(&hash, &resourceID, &status, &location, &etag, &body, &created, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("look up idempotency key: %w", err)
	}
	now := wc.now()
	if expires <= now.UnixMilli() {
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE user_id = ? AND idem_key = ?`, k.UserID, k.Key)
		if err != nil {
			return fmt.Errorf("delete expired idempotency key: %w", err)
		}
		return nil
	}
	if hash != k.Hash {
		return ErrKeyReused
	}
	if !status.Valid {
		if now.Before(fromMillis(created).Add(k.Pending)) {
			return ErrKeyInProgress
		}
		return &ReplayError{ResourceID: resourceID}
	}
	return &ReplayError{ResourceID: resourceID, Response: Response{
		Status: int(status.Int64), Location: location.String, ETag: etag.String, Body: body,
	}}
}

// storeKey stores k, claimed by claimKey in the same transaction, for the
// resource the create wrote, at the transaction's time. Nothing when k is
// nil.
func storeKey(ctx context.Context, tx conn, wc *writeClock, k *Key, resourceID string) error {
	if k == nil {
		return nil
	}
	now := wc.now()
	_, err := tx.ExecContext(ctx,
		`INSERT INTO idempotency_keys (user_id, idem_key, request_hash, resource_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		k.UserID, k.Key, k.Hash, resourceID, now.UnixMilli(), now.Add(KeyTTL).UnixMilli())
	if errors.Is(mapError(err), ErrConflict) {
		// claimKey found it free under the account list's lock: only a
		// create of the same user under another lock gets here.
		return ErrKeyInProgress
	}
	if err != nil {
		return fmt.Errorf("store idempotency key: %w", err)
	}
	return nil
}

// RecordResponse records r as the response of the create that stored k,
// for its retries, unless one is recorded already, and deletes up to
// purgeBatch expired keys (the oldest first). A nil k records nothing.
func (s *Store) RecordResponse(ctx context.Context, k *Key, r Response) (err error) {
	ctx, sp := s.tr.start(ctx, "RecordResponse")
	defer sp.end(&err)
	if k == nil {
		return nil
	}
	now := s.clock().UnixMilli()
	err = s.inTx(ctx, func(tx conn) error {
		_, err := tx.ExecContext(ctx,
			`UPDATE idempotency_keys SET status = ?, location = ?, etag = ?, body = ?
			WHERE user_id = ? AND idem_key = ? AND request_hash = ? AND status IS NULL`,
			r.Status, r.Location, r.ETag, r.Body, k.UserID, k.Key, k.Hash)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`DELETE FROM idempotency_keys WHERE (user_id, idem_key) IN (
				SELECT user_id, idem_key FROM idempotency_keys WHERE expires_at <= ?
				ORDER BY expires_at LIMIT `+fmt.Sprint(purgeBatch)+tx.d.skipLocked+`)`, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("record the response of idempotency key: %w", err)
	}
	return nil
}
