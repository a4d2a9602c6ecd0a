package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
)

// Group commit (SQLite).
//
// SQLite has one writer at a time, and with synchronous=FULL every commit
// waits for the disk (fsync of the WAL): under concurrent writes that wait,
// not the SQL, bounds throughput (pprof of PUT under load: the process
// ~60% idle, each request ~25 ms, mostly queued behind other commits). So
// the store's write transactions on SQLite go through a committer: one
// goroutine takes the writes waiting at that moment (up to maxBatch), runs
// each in its own SAVEPOINT inside one transaction, and commits once; each
// caller gets its answer only after that commit is on disk.
//
// What each write sees and guarantees is unchanged:
//   - writes run one at a time, in arrival order, under the database's
//     write lock (BEGIN IMMEDIATE), so a read-check-write (a
//     Precondition, the one-primary rule, the write clock) is atomic;
//   - a write that fails, or panics (runWrite), is rolled back to its
//     savepoint and leaves nothing, without touching the other writes of
//     the batch;
//   - no write is acknowledged before the commit that holds it is durable;
//     if that commit fails, every write of the batch gets the error.
//
// A write whose context ends before it starts is not run, and returns the
// context's error: also while its batch waits for the write lock that
// another process holds (beginImmediate). Once started it runs to its end
// with cancellation ignored: SQLite rolls back the whole transaction when
// a write statement inside it is interrupted, which would fail the other
// writes of the batch.

// maxBatch is the most writes one commit holds.
const maxBatch = 64

// errClosed is returned for writes submitted after Close.
var errClosed = errors.New("database is closed")

// committer runs the write transactions of a SQLite store; see above.
type committer struct {
	db   *sql.DB // the single writer connection's pool
	d    *dialect
	reqs chan *writeReq // unbuffered: a write is taken or not, never lost in a buffer
	quit chan struct{}
	done chan struct{}
	once sync.Once
	tr   *tracing // spans; nil when tracing is off (trace.go)

	// Counters: commits made and writes committed (CommitStats), writes
	// submitted to run (taken or not yet; for tests).
	commits, writes, submitted atomic.Int64
}

// writeReq is one write transaction waiting for the committer.
type writeReq struct {
	ctx  context.Context
	fn   func(conn) error
	done chan error // receives the write's result after its batch ends
	// wait is the span of the write's wait for the committer, ended
	// when the write starts (or is not run); a no-op when tracing is off.
	wait span
}

func newCommitter(db *sql.DB, d *dialect) *committer {
	c := &committer{db: db, d: d, reqs: make(chan *writeReq), quit: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

// run submits fn and waits for its result: fn's error, a commit error, the
// context's error if it was cancelled before fn started, or errClosed.
func (c *committer) run(ctx context.Context, fn func(conn) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1), wait: c.tr.startWait(ctx, "db.write.queue")}
	c.submitted.Add(1)
	select {
	case c.reqs <- r:
	case <-c.quit:
		r.wait.end(nil)
		return errClosed
	case <-ctx.Done():
		r.wait.end(nil)
		return ctx.Err()
	}
	return <-r.done // always answered once taken
}

func (c *committer) loop() {
	defer close(c.done)
	batch := make([]*writeReq, 0, maxBatch)
	for {
		select {
		case r := <-c.reqs:
			batch = append(batch[:0], r)
		case <-c.quit:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		c.commit(batch)
		clear(batch)
	}
}

// commit runs batch in one transaction and answers every write.
func (c *committer) commit(batch []*writeReq) {
	results := make([]error, len(batch))
	sp := c.tr.startBatch(batch)
	err := c.commitBatch(batch, results)
	for _, r := range batch {
		r.wait.end(nil) // for writes not run
	}
	sp.end(&err)
	for i, r := range batch {
		if err != nil && results[i] == nil {
			results[i] = err
		}
		r.done <- results[i]
	}
}

// commitBatch runs the writes of batch, recording their own errors in
// results, and commits. The error it returns, if any, applies to every
// write that has no error of its own: nothing of the batch was committed.
func (c *committer) commitBatch(batch []*writeReq, results []error) error {
	bg := context.Background()
	// Wait for the write lock while another process holds it, as long as
	// some write of the batch may still run.
	sqlTx, err := beginImmediate(c.db, func() bool {
		return slices.ContainsFunc(batch, func(r *writeReq) bool { return r.ctx.Err() == nil })
	})
	if err != nil {
		for i, r := range batch {
			results[i] = r.ctx.Err() // nil for those the error applies to
		}
		return fmt.Errorf("begin transaction: %w", classify(nil, err))
	}
	defer sqlTx.Rollback() // no-op after Commit
	tx := sqlConnOf(sqlTx, c.d)
	tx.detached = true
	solo := len(batch) == 1
	ran := 0
	for i, r := range batch {
		r.wait.end(nil)
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if solo {
			// One write: the transaction is its savepoint.
			if err := runWrite(r.fn, tx); err != nil {
				results[i] = err
				return nil // rolled back by the deferred Rollback; nothing to commit
			}
			ran++
			continue
		}
		if _, err := tx.execRaw(bg, `SAVEPOINT phoneapi_write`); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
		if err := runWrite(r.fn, tx); err != nil {
			results[i] = err
			if _, rerr := tx.execRaw(bg, `ROLLBACK TO phoneapi_write`); rerr != nil {
				// The transaction itself is gone (SQLite rolls back on
				// some I/O and memory errors): none of the batch stays.
				return fmt.Errorf("roll back a failed write: %w", rerr)
			}
		}
		if _, err := tx.execRaw(bg, `RELEASE phoneapi_write`); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
		if results[i] == nil {
			ran++
		}
	}
	if ran == 0 {
		return nil
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", classify(nil, err))
	}
	c.commits.Add(1)
	c.writes.Add(int64(ran))
	return nil
}

// runWrite runs fn on tx, turning a panic into an error: a bug in one
// write fails that write (its request gets a 500, as for a panic in a
// handler) instead of the committer's goroutine and with it the process.
func runWrite(fn func(conn) error, tx conn) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in a write transaction: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(tx)
}

// close stops the committer after the batch it is running; later writes
// get errClosed.
func (c *committer) close() {
	c.once.Do(func() { close(c.quit) })
	<-c.done
}
