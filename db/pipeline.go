package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A PostgreSQL write transaction costs a round trip to the server per
// statement when each waits for the one before: BEGIN, the account list's
// lock, the reads, the writes, COMMIT. Most need not wait: BEGIN's answer
// is never read, and a write's (an UPDATE, an INSERT) is only checked for
// errors. So a write transaction of an account list runs on a pipeline:
//
//   - BEGIN is sent with the first query;
//   - an Exec is queued and sent with the next query, or with the COMMIT;
//     its error, if any, is returned there instead (the transaction has
//     failed, and it is rolled back), or by its result's RowsAffected,
//     which sends the queue at once;
//   - a query sends the queue with it, in one batch (one round trip), and
//     returns its rows once the queued statements have succeeded.
//
// The account list's lock is queued too (conn.queueRow): its answer, the
// write clock, is read when the transaction first needs the time. A PATCH
// of a phone is so two round trips ([BEGIN, lock, read the person's
// phones], [UPDATE, COMMIT]) instead of five. The statements run
// in the order they were issued, in one transaction, exactly as they would
// one by one.

// pipeline is one write transaction on a connection of the writer pool.
type pipeline struct {
	c       *pgxpool.Conn
	queue   []*queued // statements not sent yet, in order
	begun   bool      // BEGIN has been sent
	failed  error     // the first error of a statement sent: the transaction is lost
	unknown bool      // the connection's state is unknown: close it
	done    bool      // committed, or rolled back by the server
}

// queued is a statement of the queue and, once sent, its outcome.
type queued struct {
	ctx  context.Context
	sql  string
	args []any
	dest []any // a queued row's destinations; nil for an Exec
	sent bool
	tag  pgconn.CommandTag
	err  error
}

// pgWriteTx runs fn in a write transaction on a pipeline of a connection
// of the writer pool and commits if fn returns nil. Waiting for a
// connection and every statement before the commit stop when ctx ends;
// the transaction is then rolled back and the error matches ctx's. The
// commit, sent with the writes still queued, is not cancelled by ctx: its
// answer is awaited for up to commitGrace after ctx's deadline, and a
// commit whose answer is lost returns ErrUncertain.
func (s *Store) pgWriteTx(ctx context.Context, fn func(conn) error) error {
	c, err := s.wpool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", classify(ctx, err))
	}
	p := &pipeline{c: c}
	defer p.release()
	if err := fn(conn{q: p, d: s.d}); err != nil {
		return err
	}
	if p.failed != nil {
		// fn ignored a failed statement; the transaction is lost.
		return fmt.Errorf("write: %w", classify(ctx, mapError(p.failed)))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("before commit: %w", err) // rolled back: too late to answer
	}
	txCtx, cancel := commitContext(ctx)
	defer cancel()
	sp := s.tr.startWait(ctx, "db.commit")
	err = p.commit(txCtx)
	sp.end(&err)
	return err
}

// commitContext returns the context of a commit that must not be cancelled
// with ctx: ctx's values, and its deadline plus commitGrace if it has one.
func commitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	txCtx := context.WithoutCancel(ctx)
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(txCtx, d.Add(commitGrace))
	}
	return txCtx, func() {}
}

// commit sends the queued statements and COMMIT in one batch. A queued
// statement's error (the server then skips the rest, COMMIT included) is
// returned as it is, mapped; a COMMIT refused by the server is nothing
// committed; a batch whose answer is lost after it was sent is
// ErrUncertain.
func (p *pipeline) commit(ctx context.Context) error {
	if !p.begun && len(p.queue) == 0 {
		return nil // nothing was written
	}
	b := p.batch()
	b.Queue("COMMIT")
	br := p.c.SendBatch(ctx, b)
	defer func() {
		if err := br.Close(); err != nil && p.failed == nil {
			p.unknown = true
		}
	}()
	if err := p.readQueue(br); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return fmt.Errorf("write: %w", classify(nil, mapError(err)))
		}
		p.unknown = true
		return fmt.Errorf("commit: %w", &classified{class: ErrUncertain, cause: err})
	}
	tag, err := br.Exec()
	if err != nil {
		p.failed = err
		return fmt.Errorf("commit: %w", commitError(err))
	}
	p.done = true
	if tag.String() != "COMMIT" {
		return fmt.Errorf("commit: the server answered %s", tag)
	}
	return nil
}

// batch returns a batch of BEGIN, if it was not sent yet, and the queue,
// which it marks sent.
func (p *pipeline) batch() *pgx.Batch {
	b := &pgx.Batch{}
	if !p.begun {
		b.Queue("BEGIN")
	}
	for _, q := range p.queue {
		b.Queue(q.sql, q.args...)
	}
	return b
}

// readQueue reads the outcomes of BEGIN, if it was in the batch, and of the
// queued statements from br, and empties the queue. It returns the first
// error; the transaction is then lost.
func (p *pipeline) readQueue(br pgx.BatchResults) error {
	queue := p.queue
	p.queue = nil
	if !p.begun {
		p.begun = true
		if _, err := br.Exec(); err != nil {
			p.failed = err
			return err
		}
	}
	for _, q := range queue {
		q.sent = true
		if q.dest != nil {
			q.err = br.QueryRow().Scan(q.dest...)
			if errors.Is(q.err, sql.ErrNoRows) {
				continue // a row that is not there aborts nothing
			}
		} else {
			q.tag, q.err = br.Exec()
		}
		if q.err != nil {
			p.failed = q.err
			for _, rest := range queue {
				if !rest.sent {
					rest.sent, rest.err = true, q.err
				}
			}
			return q.err
		}
	}
	return nil
}

// send sends the queue, and a query if not empty, in one batch: it returns
// the batch results positioned at the query's, for the caller to read and
// close, or the first error of the queue (the batch is then closed).
func (p *pipeline) send(ctx context.Context, query string, args []any) (pgx.BatchResults, error) {
	if p.failed != nil {
		return nil, fmt.Errorf("an earlier statement of the transaction failed: %w", p.failed)
	}
	b := p.batch()
	if query != "" {
		b.Queue(query, args...)
	}
	br := p.c.SendBatch(ctx, b)
	if err := p.readQueue(br); err != nil {
		p.closeBatch(br)
		return nil, err
	}
	return br, nil
}

// closeBatch closes br; an error there leaves the connection's state
// unknown.
func (p *pipeline) closeBatch(br pgx.BatchResults) {
	if err := br.Close(); err != nil {
		if p.failed == nil {
			p.failed = err
		}
		p.unknown = true
	}
}

func (p *pipeline) exec(ctx context.Context, query string, args []any) (sql.Result, error) {
	if p.failed != nil {
		return nil, fmt.Errorf("an earlier statement of the transaction failed: %w", p.failed)
	}
	q := &queued{ctx: ctx, sql: query, args: args}
	p.queue = append(p.queue, q)
	return &pipelineResult{p: p, q: q}, nil
}

func (p *pipeline) queueRow(ctx context.Context, query string, args []any, dest ...any) func() error {
	if p.failed != nil {
		err := fmt.Errorf("an earlier statement of the transaction failed: %w", p.failed)
		return func() error { return err }
	}
	q := &queued{ctx: ctx, sql: query, args: args, dest: dest}
	p.queue = append(p.queue, q)
	return func() error {
		if !q.sent {
			if br, err := p.send(q.ctx, "", nil); err == nil {
				p.closeBatch(br)
			} else if !q.sent {
				return err
			}
		}
		return q.err
	}
}

func (p *pipeline) query(ctx context.Context, query string, args []any) (resultRows, error) {
	br, err := p.send(ctx, query, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		p.failed = err
		p.closeBatch(br)
		return nil, err
	}
	return &pipelineRows{Rows: rows, p: p, br: br}, nil
}

func (p *pipeline) queryRow(ctx context.Context, query string, args []any) scanner {
	return pipelineRow(func(dest ...any) error {
		br, err := p.send(ctx, query, args)
		if err != nil {
			return err
		}
		err = br.QueryRow().Scan(dest...)
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			p.failed = err
		}
		p.closeBatch(br)
		return err
	})
}

// release ends the pipeline: it rolls back a transaction that was begun
// and did not end, and returns the connection to the pool, or closes it
// when its state is unknown.
func (p *pipeline) release() {
	defer p.c.Release() // the pool closes a connection that is closed or in a transaction
	if !p.begun || p.done || p.unknown {
		if p.unknown {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			p.c.Conn().Close(ctx)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.c.Exec(ctx, "ROLLBACK"); err != nil {
		p.c.Conn().Close(ctx)
	}
}

// pipelineResult is a queued Exec's result.
type pipelineResult struct {
	p *pipeline
	q *queued
}

func (r *pipelineResult) LastInsertId() (int64, error) {
	return 0, errors.New("LastInsertId is not supported")
}

// RowsAffected sends the queue, if the statement is in it, and returns
// the rows the statement affected or its error.
func (r *pipelineResult) RowsAffected() (int64, error) {
	if !r.q.sent {
		br, err := r.p.send(r.q.ctx, "", nil)
		if err == nil {
			r.p.closeBatch(br)
		}
		if !r.q.sent {
			return 0, err
		}
	}
	return r.q.tag.RowsAffected(), r.q.err
}

// pipelineRows are a query's rows; Close also ends their batch.
type pipelineRows struct {
	pgx.Rows
	p  *pipeline
	br pgx.BatchResults
}

func (r *pipelineRows) Close() error {
	r.Rows.Close()
	if err := r.Rows.Err(); err != nil && r.p.failed == nil {
		r.p.failed = err
	}
	r.p.closeBatch(r.br)
	return nil
}

// pipelineRow is a query's single row: Scan sends the query.
type pipelineRow func(dest ...any) error

func (f pipelineRow) Scan(dest ...any) error { return f(dest...) }
