package db

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// PGOptions configures the PostgreSQL connection pool. Zero fields keep
// the defaults: pgxpool's pool size (the larger of 4 and the number of
// CPUs) or the URL's pool_max_conns, the URL's connect_timeout (else none
// beyond ctx), and the server's statement_timeout.
type PGOptions struct {
	MaxConns         int32         // most connections the pool opens
	ConnectTimeout   time.Duration // per connection attempt
	StatementTimeout time.Duration // per statement, enforced by the server
}

// OpenPostgres connects to the PostgreSQL database at url (postgres:// or
// postgresql://, in libpq's URL form) through a pgxpool, and checks that it
// is reachable. It does not migrate; call Migrate. Tables live in the
// connection's current schema (see the search_path URL parameter).
func OpenPostgres(ctx context.Context, url string, o PGOptions) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, fmt.Errorf("open database %s: invalid PostgreSQL URL", redactURL(url))
	}
	if o.MaxConns < 0 || o.ConnectTimeout < 0 || o.StatementTimeout < 0 {
		return nil, errors.New("open database: negative PostgreSQL option")
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if o.ConnectTimeout > 0 {
		cfg.ConnConfig.ConnectTimeout = o.ConnectTimeout
	}
	if o.StatementTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redactURL(url), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database %s: %w", redactURL(url), err)
	}
	sqldb := stdlib.OpenDBFromPool(pool)
	// database/sql must not keep idle connections of its own beyond the
	// pool's: each of its connections holds one of pgxpool's.
	sqldb.SetMaxOpenConns(int(cfg.MaxConns))
	sqldb.SetMaxIdleConns(int(cfg.MaxConns))
	return &Store{
		db: sqldb, rdb: sqldb, d: postgresDialect, now: time.Now,
		closeFn: func() error {
			err := sqldb.Close()
			pool.Close()
			return err
		},
	}, nil
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

// mapPgError translates PostgreSQL constraint errors: a unique violation
// into ErrConflict, a foreign key violation into ErrNotFound. Other
// errors are returned unchanged.
func mapPgError(err error) error {
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
