package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// PGOptions configures the PostgreSQL connection pools. Zero fields keep
// the defaults: the URL's pool_max_conns, else DefaultWriteConns for the
// writer pool and DefaultReadConns for the reader pool; the URL's
// connect_timeout (else none beyond ctx); and the server's
// statement_timeout.
type PGOptions struct {
	MaxConns         int32         // most connections each pool (writes, reads) opens
	ConnectTimeout   time.Duration // per connection attempt
	StatementTimeout time.Duration // per statement, enforced by the server
}

// OpenPostgres connects to the PostgreSQL database at url (postgres:// or
// postgresql://, in libpq's URL form) and checks that it is reachable. It
// does not migrate; call Migrate. Tables live in the connection's current
// schema (see the search_path URL parameter).
//
// It opens two pgxpools of o.MaxConns connections each: one for write
// transactions, one for reads (its sessions are read-only). Readers so
// never wait for a connection held by a writer that waits for a lock.
// When a call's context ends during a statement, the statement is
// cancelled on the server (a cancel request) and the connection stays
// usable; it is closed if the server does not answer within a second.
func OpenPostgres(ctx context.Context, url string, o PGOptions) (*Store, error) {
	if o.MaxConns < 0 || o.ConnectTimeout < 0 || o.StatementTimeout < 0 {
		return nil, errors.New("open database: negative PostgreSQL option")
	}
	wpool, err := openPGPool(ctx, url, o, false)
	if err != nil {
		return nil, err
	}
	rpool, err := openPGPool(ctx, url, o, true)
	if err != nil {
		wpool.Close()
		return nil, err
	}
	wdb, rdb := pgDB(wpool), pgDB(rpool)
	return &Store{
		db: wdb, rdb: rdb, wpool: wpool, d: postgresDialect, now: time.Now,
		closeFn: func() error {
			err := errors.Join(rdb.Close(), wdb.Close())
			rpool.Close()
			wpool.Close()
			return err
		},
	}, nil
}

// DefaultWriteConns is the default size of the writer pool. A write
// transaction holds its connection while it waits for the server, its
// round trips and its commit's flush to disk, so the pool is larger than
// the CPUs: more transactions in flight share each flush (phoneapi-bench
// on 2 CPUs, 32 users' PATCHes: 16 connections gave about 1.4 times the
// throughput of pgxpool's default of 4). Reads are one statement each and
// need fewer.
func DefaultWriteConns() int32 { return int32(max(16, 4*runtime.GOMAXPROCS(0))) }

// DefaultReadConns is the default size of the reader pool; see
// DefaultWriteConns.
func DefaultReadConns() int32 { return int32(max(8, 2*runtime.GOMAXPROCS(0))) }

// openPGPool opens and pings one pool; readOnly makes it the reader pool,
// whose sessions are read-only.
func openPGPool(ctx context.Context, url string, o PGOptions, readOnly bool) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, fmt.Errorf("open database %s: invalid PostgreSQL URL", redactURL(url))
	}
	switch {
	case o.MaxConns > 0:
		cfg.MaxConns = o.MaxConns
	case strings.Contains(url, "pool_max_conns="):
	case readOnly:
		cfg.MaxConns = DefaultReadConns()
	default:
		cfg.MaxConns = DefaultWriteConns()
	}
	if o.ConnectTimeout > 0 {
		cfg.ConnConfig.ConnectTimeout = o.ConnectTimeout
	}
	if o.StatementTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
	}
	if readOnly {
		cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	cfg.ConnConfig.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: time.Second}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redactURL(url), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database %s: %w", redactURL(url), err)
	}
	return pool, nil
}

// pgDB returns a database/sql pool over pool. It keeps no idle
// connections of its own beyond pool's: each of its connections holds one
// of pool's.
func pgDB(pool *pgxpool.Pool) *sql.DB {
	sqldb := stdlib.OpenDBFromPool(pool)
	n := int(pool.Config().MaxConns)
	sqldb.SetMaxOpenConns(n)
	sqldb.SetMaxIdleConns(n)
	return sqldb
}

// IsPostgresURL reports whether dsn names a PostgreSQL database rather than
// a SQLite file.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// redactURL returns u without its password, for messages.
func redactURL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return parsed.Redacted()
}
