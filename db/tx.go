package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
)

// Transactions. See the package doc for what each kind guarantees.

// lockWait is the longest a SQLite write waits for the database's write
// lock while another connection holds it (the busy timeout it had before
// writes got deadlines); a write whose context ends first stops waiting
// then.
const lockWait = 10 * time.Second

// commitGrace is how long after the caller's deadline a PostgreSQL commit
// that was sent may take to be confirmed before it is reported uncertain.
const commitGrace = 5 * time.Second

// inWrite runs fn in a write transaction of the account list (see
// inAccountList) with the transaction's write clock, and commits if fn
// returns nil. The first statement raises the account list's clock to now
// and reads it; the clock's high-water mark is recorded before the commit.
// It returns ErrNotFound if the account list does not exist.
func (s *Store) inWrite(ctx context.Context, accountListID string, fn func(tx conn, wc *writeClock) error) error {
	return s.inAccountList(ctx, accountListID, func(tx conn) error {
		now := s.clock().UnixMilli()
		wc := &writeClock{}
		// On a pipeline the lock goes out with fn's first query; the clock
		// reads its answer when fn first asks for the time.
		wc.locked = tx.queueRow(ctx, lockAccountList, []any{now, now, accountListID}, &wc.hw)
		err := fn(tx, wc)
		if lockErr := wc.read(); lockErr != nil {
			// fn ran without the lock, maybe with a zero time: discard it.
			if errors.Is(lockErr, sql.ErrNoRows) {
				return fmt.Errorf("account list %s: %w", accountListID, ErrNotFound)
			}
			return fmt.Errorf("lock account list %s: %w", accountListID, lockErr)
		}
		if err != nil {
			return err
		}
		if !wc.high.After(wc.at) {
			return nil // the lock recorded it
		}
		return raiseClock(ctx, tx, accountListID, wc.high)
	})
}

// inAccountList runs fn in a write transaction of the account list and
// commits if fn returns nil. fn's first statement must lock the account
// list's row (lockAccountList, or another UPDATE of it).
//
// Writes of one account list run one at a time, whichever process runs
// them: on SQLite under the database's write lock, on PostgreSQL under the
// account list row's lock, which fn's first statement takes. fn may then
// read, check and write the account list's rows knowing that nothing else
// changes them until it commits. On PostgreSQL this process also admits
// one transaction per account list at a time (lanes), so writes queued on
// one account list hold no pool connection.
func (s *Store) inAccountList(ctx context.Context, accountListID string, fn func(tx conn) error) error {
	if s.commits != nil {
		return s.recordWrite(s.commits.run(ctx, fn))
	}
	wait := s.tr.startWait(ctx, "db.lane.wait")
	release, err := s.lanes.acquire(ctx, accountListID)
	wait.end(&err)
	if err != nil {
		return fmt.Errorf("wait for the account list's earlier writes: %w", err)
	}
	defer release()
	return s.recordWrite(s.pgWriteTx(ctx, fn))
}

// recordWrite notes the result of a write transaction for Ready and
// returns it.
func (s *Store) recordWrite(err error) error {
	s.health.record(err)
	return err
}

// inTx runs fn in a write transaction that takes no account list's lock
// (settings, users, imports) and commits if fn returns nil. fn must be
// safe without it: on PostgreSQL it runs at READ COMMITTED beside other
// writes.
func (s *Store) inTx(ctx context.Context, fn func(conn) error) error {
	if s.commits != nil {
		return s.recordWrite(s.commits.run(ctx, fn))
	}
	return s.recordWrite(s.pgTx(ctx, "", fn))
}

// migrationTx runs fn in a transaction holding the migration lock: on
// SQLite the database's write lock, on PostgreSQL an advisory lock.
func (s *Store) migrationTx(ctx context.Context, fn func(conn) error) error {
	if s.commits == nil {
		return s.pgTx(ctx, s.d.migrationLock, fn)
	}
	sqlTx, err := beginImmediate(s.db, func() bool { return ctx.Err() == nil })
	if err != nil {
		return fmt.Errorf("begin transaction: %w", classify(ctx, err))
	}
	return s.runTx(nil, sqlTx, fn, "commit")
}

// runTx runs fn in sqlTx and commits; sqlTx is rolled back if either
// fails. A failed commit is an error saying what (classified with ctx,
// which may be nil).
func (s *Store) runTx(ctx context.Context, sqlTx *sql.Tx, fn func(conn) error, what string) error {
	defer sqlTx.Rollback() // no-op after Commit
	if err := fn(sqlConnOf(sqlTx, s.d)); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", what, classify(ctx, err))
	}
	return nil
}

// pgTx runs fn in a PostgreSQL transaction on the writer pool, after the
// statement lock if it is not empty, and commits if fn returns nil.
//
// Waiting for a pool connection and every statement before the commit
// stop when ctx ends: the transaction is then rolled back and the error
// matches ctx's. Once the commit is sent it is not cancelled: its answer
// is awaited for up to commitGrace after ctx's deadline, and a commit
// whose answer is lost returns ErrUncertain.
func (s *Store) pgTx(ctx context.Context, lock string, fn func(conn) error) error {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", classify(ctx, err))
	}
	defer c.Close()
	// database/sql rolls a transaction back when the context of BeginTx
	// ends, and the driver commits with that context: so the transaction
	// gets a context of its own, and ctx bounds the statements.
	txCtx, cancel := commitContext(ctx)
	defer cancel()
	sqlTx, err := c.BeginTx(txCtx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", classify(ctx, err))
	}
	defer sqlTx.Rollback() // no-op after Commit
	tx := sqlConnOf(sqlTx, s.d)
	if lock != "" {
		if _, err := tx.execRaw(ctx, lock); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("before commit: %w", err) // rolled back: too late to answer
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", commitError(err))
	}
	return nil
}

// commitError classifies the error of a sent PostgreSQL commit: the
// server's refusal means nothing was committed; a lost answer (the
// connection failed, or commitGrace passed) is ErrUncertain.
func commitError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return classify(nil, mapError(err))
	}
	return &classified{class: ErrUncertain, cause: err}
}

// readTx runs fn in a read-only transaction on the reader pool: every
// query fn makes sees one snapshot of the database. It neither takes nor
// waits for a write lock.
func (s *Store) readTx(ctx context.Context, fn func(conn) error) error {
	sqlTx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.d.snapshotIsolation})
	if err != nil {
		return fmt.Errorf("begin read transaction: %w", classify(ctx, err))
	}
	return s.runTx(ctx, sqlTx, fn, "end read transaction")
}

// beginImmediate begins a transaction on the SQLite writer pool
// (_txlock=immediate: it takes the database's write lock), waiting for the
// lock while another connection or process holds it, as long as wait()
// reports true and for at most lockWait. The writer's busy timeout is
// short (see dsnParams) so that waiting can stop between attempts:
// SQLite's own busy wait cannot be interrupted.
func beginImmediate(pool *sql.DB, wait func() bool) (*sql.Tx, error) {
	deadline := time.Now().Add(lockWait)
	for {
		tx, err := pool.BeginTx(context.Background(), nil)
		if err == nil || !isBusy(err) || !wait() || time.Now().After(deadline) {
			return tx, err
		}
	}
}

// isBusy reports whether err is SQLite's "database is locked".
func isBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrBusy
}

// lanes admits one write transaction per account list at a time in this
// process (PostgreSQL). Writes of one account list take its row lock in
// turn anyway; queued here they wait without a pool connection, so a lock
// held long on one account list (a slow transaction, or an operator's
// session) ties up one connection of this process, not all of them, and
// writes of other account lists go on.
type lanes struct {
	mu sync.Mutex
	m  map[string]*lane
}

// lane is one account list's turn: a token in a channel of capacity one,
// and how many callers hold or wait for it.
type lane struct {
	turn chan struct{}
	refs int
}

// acquire waits for key's turn and returns the function that ends it, or
// ctx's error if ctx ends first.
func (l *lanes) acquire(ctx context.Context, key string) (release func(), err error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[string]*lane)
	}
	ln := l.m[key]
	if ln == nil {
		ln = &lane{turn: make(chan struct{}, 1)}
		l.m[key] = ln
	}
	ln.refs++
	l.mu.Unlock()
	done := func() {
		l.mu.Lock()
		if ln.refs--; ln.refs == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
	select {
	case ln.turn <- struct{}{}:
		return func() { <-ln.turn; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}
