package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for loadFixture
)

// pgDatabase is a database the tool created for one run.
type pgDatabase struct {
	server     string // the URL the tool was given, for the admin connection
	name       string
	url        string // the server URL with this database's name as path
	syncCommit string // the server's synchronous_commit
}

// createDatabase creates a new, empty database named
// phoneapi_bench_PID_NANOS on the PostgreSQL server at server (a
// postgres:// URL whose user may create databases) and returns it.
func createDatabase(ctx context.Context, server string) (*pgDatabase, error) {
	u, err := url.Parse(server)
	if err != nil {
		return nil, fmt.Errorf("-db: %w", err)
	}
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", u.Redacted(), err)
	}
	defer conn.Close(context.Background())
	d := &pgDatabase{server: server, name: fmt.Sprintf("phoneapi_bench_%d_%d", os.Getpid(), time.Now().UnixNano())}
	if err := conn.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&d.syncCommit); err != nil {
		return nil, fmt.Errorf("show synchronous_commit: %w", err)
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+d.name); err != nil {
		return nil, fmt.Errorf("create database %s: %w", d.name, err)
	}
	u.Path = "/" + d.name
	d.url = u.String()
	return d, nil
}

// drop drops the database, closing the connections still open to it; it
// does not depend on the run's context, which may be cancelled by then.
func (d *pgDatabase) drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.server)
	if err != nil {
		return fmt.Errorf("drop database %s: %w", d.name, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+d.name+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop database %s: %w", d.name, err)
	}
	return nil
}

// engineUpdate is the engine reference's statement: the single-row UPDATE
// that a PATCH of a phone's location ends up doing, without phoneapi's
// transaction around it (its read of the phone, the write clock's row
// lock, the write-clock update).
const engineUpdate = `UPDATE phones SET location = $1, updated_at = $2, updated_in_db_at = $3 WHERE id = $4`

// engineRef sends engineUpdate straight to PostgreSQL, one autocommit
// statement per request, from clients like phoneapi's.
type engineRef struct {
	pool    *pgxpool.Pool
	clients []*clientState
}

// newEngineRef connects a pool of one connection per client to the
// database at dsn, opening every connection now, outside the measurement.
// Its clients split f's phones as newClients does.
func newEngineRef(ctx context.Context, dsn string, clients int, f *fixture) (*engineRef, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	pc.MaxConns = int32(clients)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, err
	}
	var conns []*pgxpool.Conn
	for range clients {
		c, err := pool.Acquire(ctx)
		if err != nil {
			for _, c := range conns {
				c.Release()
			}
			pool.Close()
			return nil, fmt.Errorf("engine reference: connect: %w", err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Release()
	}
	e := &engineRef{pool: pool, clients: newClients(clients, f, []string{""})}
	if err := checkOwn(e.clients); err != nil {
		pool.Close()
		return nil, fmt.Errorf("engine reference: %w", err)
	}
	return e, nil
}

func (e *engineRef) close() { e.pool.Close() }

// update is one request: client c updates the next of its phones.
func (e *engineRef) update(ctx context.Context, c *clientState) error {
	p := c.own[c.next%len(c.own)]
	c.next++
	now := time.Now().UnixMilli()
	tag, err := e.pool.Exec(ctx, engineUpdate, patchLocation(c.next), now, now, p.id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("update phone %s: %d rows, want 1", p.id, tag.RowsAffected())
	}
	return nil
}

// phase measures the engine reference, named "engine-ref", op "update";
// see runPhase. PostgreSQL's CPU and memory are not sampled.
func (e *engineRef) phase(ctx context.Context, cfg phaseConfig, log io.Writer) result {
	return runPhase(ctx, "engine-ref", "update", e.clients, 1, nil, cfg, log, e.update)
}

// lockListRow is how the lock holder locks a user's account list row: the
// row that phoneapi's writes of that account list update first. It selects
// no column of account_lists, so that it works with older schemas too
// (account_lists.hw came later).
const lockListRow = `SELECT 1 FROM account_lists a JOIN users u ON u.account_list_id = a.id
	WHERE lower(u.id) = lower($1) FOR UPDATE OF a`

// listLock holds one account list's row lock, in an open transaction of a
// database session of its own, until release.
type listLock struct {
	conn  *pgx.Conn
	tx    pgx.Tx
	taken time.Time
}

// holdListLock connects to the database at dsn and locks the account list
// row of user (an id, any case), waiting for it if a write holds it. The
// session never times out while idle in its transaction. The caller must
// call release, whatever happens.
func holdListLock(ctx context.Context, dsn, user string) (*listLock, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("lock holder: connect: %w", err)
	}
	l := &listLock{conn: conn}
	fail := func(err error) (*listLock, error) {
		conn.Close(context.Background()) // ends the session, and the lock with it
		return nil, fmt.Errorf("lock holder: %w", err)
	}
	if _, err := conn.Exec(ctx, `SET idle_in_transaction_session_timeout = 0`); err != nil {
		return fail(err)
	}
	if l.tx, err = conn.Begin(ctx); err != nil {
		return fail(err)
	}
	var one int
	if err := l.tx.QueryRow(ctx, lockListRow, user).Scan(&one); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			err = fmt.Errorf("user %s has no account list", user)
		}
		return fail(fmt.Errorf("lock the account list of user %s: %w", user, err))
	}
	l.taken = time.Now()
	return l, nil
}

// release rolls the transaction back, releasing the lock, and closes the
// session; it does not depend on the run's context, which may be
// cancelled by then. It returns how long the lock was held, and an error
// when the rollback failed: the session was lost, and the lock may have
// been released early.
func (l *listLock) release() (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := l.tx.Rollback(ctx)
	held := time.Since(l.taken)
	l.conn.Close(ctx)
	if err != nil {
		return held, fmt.Errorf("lock holder: rollback (the lock may have been lost before the end of the phase): %w", err)
	}
	return held, nil
}
