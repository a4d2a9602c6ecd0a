package db

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// dialect holds what differs between the engines. Everything else — the
// SQL of every read and write, the write clock, the one-primary rule,
// tombstones — is shared: queries are written once with ? placeholders
// and conn rewrites them for PostgreSQL.
type dialect struct {
	name string // "sqlite" or "postgres"; names the migrations directory

	// numbered reports whether placeholders are $1, $2, ... rather than ?.
	numbered bool

	// migrationLock, if not empty, runs first in every migration
	// transaction.
	migrationLock string

	// snapshotIsolation is the isolation level of read transactions (a
	// list's page and count), chosen so that they read one snapshot.
	snapshotIsolation sql.IsolationLevel

	// noLimit is the LIMIT argument meaning "no limit".
	noLimit any

	// newID is an SQL expression for a new random lower-case UUID,
	// evaluated per row, for tombstones written by INSERT ... SELECT.
	newID string

	// explicitNulls reports whether ORDER BY on a nullable column must say
	// where NULLs go to sort them first ascending and last descending, as
	// SQLite does by default.
	explicitNulls bool

	// textArg and intArg are a text and an integer placeholder that the
	// query planner cannot see through. SQLite's planner reads the value
	// bound to a bare ? in a LIMIT, an OFFSET, or an equality it can
	// propagate into an ORDER BY, and marks the statement to be prepared
	// again whenever that parameter is rebound — which go-sqlite3's
	// statement cache does on every use (perf: sqlite3Reprepare was a
	// third of a list query's time). Wrapped, the value is opaque to the
	// planner, the plan is the same (the tests check the index use) and the
	// cached statement is reused. PostgreSQL needs neither.
	textArg, intArg string

	// unindexed prefixes a column in a condition that the planner must
	// not drive by an index: SQLite's unary +, as its planner (without
	// ANALYZE statistics) would rather read a whole account list through
	// an account_list_id index than look up the ids it was given.
	// PostgreSQL plans by statistics and needs nothing.
	unindexed string

	// skipLocked ends a subquery that picks rows to delete which a
	// concurrent transaction may be deleting too: PostgreSQL's FOR UPDATE
	// SKIP LOCKED, so that neither waits for (or deadlocks with) the other.
	// SQLite writes one transaction at a time and needs nothing.
	skipLocked string

	// rebound caches placeholder rewrites, by query.
	rebound sync.Map
}

var sqliteDialect = &dialect{
	name:              "sqlite",
	snapshotIsolation: sql.LevelDefault, // a deferred transaction in WAL mode
	noLimit:           -1,
	textArg:           "(? || '')",
	intArg:            "(? + 0)",
	unindexed:         "+",
	newID: `lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||
	substr(lower(hex(randomblob(2))), 2) || '-' ||
	substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' ||
	lower(hex(randomblob(6)))`,
}

var postgresDialect = &dialect{
	name:              "postgres",
	numbered:          true,
	migrationLock:     `SELECT pg_advisory_xact_lock(hashtext('phoneapi migrate ' || current_schema()))`,
	snapshotIsolation: sql.LevelRepeatableRead,
	noLimit:           nil, // LIMIT NULL is LIMIT ALL
	newID:             `gen_random_uuid()::text`,
	explicitNulls:     true,
	textArg:           "?",
	intArg:            "?",
	skipLocked:        " FOR UPDATE SKIP LOCKED",
}

// limitOffset is a LIMIT and OFFSET clause with placeholders.
func (d *dialect) limitOffset() string {
	return " LIMIT " + d.intArg + " OFFSET " + d.intArg
}

// rebind rewrites the ? placeholders of query for the dialect. A ? inside
// a quoted literal or identifier is left alone.
func (d *dialect) rebind(query string) string {
	if !d.numbered {
		return query
	}
	if q, ok := d.rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte // the open quote, or 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	q := b.String()
	d.rebound.Store(query, q)
	return q
}

// sqlConn is implemented by *sql.DB, *sql.Conn and *sql.Tx.
type sqlConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// querier runs statements for a conn: a database/sql pool, connection or
// transaction (sqlQuerier), or a PostgreSQL write transaction that
// pipelines its statements (pipeline, pipeline.go).
type querier interface {
	exec(ctx context.Context, query string, args []any) (sql.Result, error)
	query(ctx context.Context, query string, args []any) (resultRows, error)
	queryRow(ctx context.Context, query string, args []any) scanner
	// queueRow runs a query of one row into dest, now or (on a pipeline)
	// with the next query; the function it returns waits for the answer
	// and returns its error.
	queueRow(ctx context.Context, query string, args []any, dest ...any) func() error
}

// resultRows is the result of a query: *sql.Rows, or a pipeline's rows.
type resultRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// sqlQuerier runs statements through database/sql.
type sqlQuerier struct{ c sqlConn }

func (q sqlQuerier) exec(ctx context.Context, query string, args []any) (sql.Result, error) {
	return q.c.ExecContext(ctx, query, args...)
}

func (q sqlQuerier) query(ctx context.Context, query string, args []any) (resultRows, error) {
	rows, err := q.c.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (q sqlQuerier) queryRow(ctx context.Context, query string, args []any) scanner {
	return q.c.QueryRowContext(ctx, query, args...)
}

func (q sqlQuerier) queueRow(ctx context.Context, query string, args []any, dest ...any) func() error {
	err := q.c.QueryRowContext(ctx, query, args...).Scan(dest...)
	return func() error { return err }
}

// conn is a pool or transaction that takes queries with ? placeholders
// and rewrites them for its dialect.
type conn struct {
	q querier
	d *dialect
	// detached makes statements ignore their context's cancellation (see
	// groupcommit.go); its values and deadline-free parts still pass.
	detached bool
}

// sqlConnOf returns a conn of the dialect on a database/sql pool,
// connection or transaction.
func sqlConnOf(c sqlConn, d *dialect) conn { return conn{q: sqlQuerier{c}, d: d} }

// ctx returns the context a statement runs with.
func (c conn) ctx(ctx context.Context) context.Context {
	if c.detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// pool returns the writer pool. Reads belong on reader.
func (s *Store) pool() conn { return sqlConnOf(s.db, s.d) }

// reader returns the pool for reads that need no snapshot: on SQLite the
// read-only pool, so a read never waits for the single writer connection.
func (s *Store) reader() conn { return sqlConnOf(s.rdb, s.d) }

// Statements return their errors classified (see classify): the
// context's error when the statement failed because ctx ended, and
// ErrUnavailable for outages; statements of a detached conn ignore ctx.
// On a pipeline an Exec's error may instead surface at the next query or
// the commit (see pipeline).

// ExecContext refuses, before it runs, a statement with a text argument
// that holds U+0000 or is not valid UTF-8: a *TextError (see checkArgs).
func (c conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := checkArgs(args, "", 0); err != nil {
		return nil, err
	}
	countStatement(ctx)
	res, err := c.q.exec(c.ctx(ctx), c.d.rebind(query), args)
	return res, c.fail(ctx, err)
}

func (c conn) QueryContext(ctx context.Context, query string, args ...any) (resultRows, error) {
	countStatement(ctx)
	rows, err := c.q.query(c.ctx(ctx), c.d.rebind(query), args)
	return rows, c.fail(ctx, err)
}

func (c conn) QueryRowContext(ctx context.Context, query string, args ...any) *row {
	countStatement(ctx)
	return &row{r: c.q.queryRow(c.ctx(ctx), c.d.rebind(query), args), c: c, ctx: ctx}
}

// fail classifies err, the error of a statement run with ctx.
func (c conn) fail(ctx context.Context, err error) error {
	if c.detached {
		ctx = nil
	}
	return classify(ctx, err)
}

// row is a query's single row, whose Scan classifies its error.
type row struct {
	r   scanner
	c   conn
	ctx context.Context
}

// Scan scans the row, with the error classified.
func (r *row) Scan(dest ...any) error {
	return r.c.fail(r.ctx, r.r.Scan(dest...))
}

// queueRow runs a query of one row into dest, at once or, on a pipeline,
// with the next query; the function it returns waits for the answer and
// returns its error, classified.
func (c conn) queueRow(ctx context.Context, query string, args []any, dest ...any) func() error {
	countStatement(ctx)
	wait := c.q.queueRow(c.ctx(ctx), c.d.rebind(query), args, dest...)
	return func() error { return c.fail(ctx, wait()) }
}

// execRaw runs query, which has no parameters and may hold several
// statements, as it is.
func (c conn) execRaw(ctx context.Context, query string) (sql.Result, error) {
	countStatement(ctx)
	res, err := c.q.exec(c.ctx(ctx), query, nil)
	return res, c.fail(ctx, err)
}
