package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
)

// dsnParams are applied by the driver to every pooled connection of the
// writer pool (Store.db), with _synchronous (see SQLiteOptions).
// _stmt_cache_size keeps each connection's most recently used prepared
// statements, so a query the store runs again is not parsed and planned
// again (the store's SQL is a small fixed set of strings). The busy
// timeout is short: SQLite's busy wait cannot be interrupted, so waiting
// for another process's write lock is a loop of short waits that stops
// when the writes waiting have reached their deadlines (beginImmediate).
const dsnParams = "_journal_mode=WAL&_foreign_keys=on&_busy_timeout=50&_txlock=immediate&_stmt_cache_size=64"

// readDSNParams are applied to every connection of the reader pool
// (Store.rdb), with the same _synchronous: transactions are deferred, so
// they take no write lock and, in WAL mode, read one snapshot without
// blocking the writer; query_only makes any write through this pool an
// error.
const readDSNParams = "_journal_mode=WAL&_foreign_keys=on&_busy_timeout=10000&_txlock=deferred&_query_only=on&_stmt_cache_size=64"

// SQLiteOptions configures a SQLite database. The zero value is the
// default: synchronous=FULL.
type SQLiteOptions struct {
	// Synchronous is SQLite's PRAGMA synchronous, "full" or "normal"
	// (case-insensitive; "" means "full"). FULL syncs the WAL to disk on
	// every commit: a write that was answered survives a crash of the
	// process, the operating system or the machine (power loss). NORMAL
	// syncs only at checkpoints: commits are faster and still survive a
	// crash of the process (the WAL is in the operating system's cache),
	// but the latest commits may be lost, never half-applied, if the
	// operating system crashes or the power fails.
	Synchronous string
}

// Validate returns an error when o holds a value OpenSQLiteWith would
// refuse (today: Synchronous other than "", full or normal), so a command
// can report it before opening anything.
func (o SQLiteOptions) Validate() error {
	_, err := o.synchronous()
	return err
}

// synchronous returns the _synchronous DSN value of o.Synchronous.
func (o SQLiteOptions) synchronous() (string, error) {
	switch strings.ToLower(o.Synchronous) {
	case "", "full":
		return "FULL", nil
	case "normal":
		return "NORMAL", nil
	}
	return "", fmt.Errorf("SQLite synchronous %q: want full or normal", o.Synchronous)
}

// OpenSQLite opens (creating if needed) the SQLite database file at path
// with default options and checks that it is reachable. It does not
// migrate; call Migrate.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	return OpenSQLiteWith(ctx, path, SQLiteOptions{})
}

// OpenSQLiteWith is OpenSQLite with options.
func OpenSQLiteWith(ctx context.Context, path string, o SQLiteOptions) (*Store, error) {
	if path == "" {
		return nil, errors.New("open database: empty path")
	}
	sync, err := o.synchronous()
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// The writer is pinged first so that it creates the file and sets WAL
	// mode before a query_only reader opens it.
	sqldb, err := openPool(ctx, path, dsnParams+"&_synchronous="+sync)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	rdb, err := openPool(ctx, path, readDSNParams+"&_synchronous="+sync)
	if err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// SQLite has one writer at a time. One writer connection makes this
	// process's writes queue fairly in the pool instead of polling the busy
	// timeout against each other; reads use the reader pool.
	sqldb.SetMaxOpenConns(1)
	// Readers: a fixed set of connections, kept open, so that a burst of
	// requests neither opens and closes connections (each open reads the
	// schema and loses its statement cache) nor runs more SQLite calls at
	// once than there are CPUs to run them.
	n := readerConns()
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	return &Store{
		db: sqldb, rdb: rdb, d: sqliteDialect, now: time.Now,
		commits: newCommitter(sqldb, sqliteDialect),
		// Readers first, so the writer's last connection checkpoints the WAL.
		closeFn: func() error { return errors.Join(rdb.Close(), sqldb.Close()) },
	}, nil
}

// readerConns is the size of the SQLite reader pool: twice the CPUs Go
// may use, at least 4.
func readerConns() int {
	return max(4, 2*runtime.GOMAXPROCS(0))
}

// openPool opens a pool on the file at path with the given DSN parameters
// and pings it.
func openPool(ctx context.Context, path, params string) (*sql.DB, error) {
	pool, err := sql.Open("sqlite3", "file:"+escapePath(path)+"?"+params)
	if err != nil {
		return nil, err
	}
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// escapePath escapes the characters that end or escape the path part of a
// SQLite URI filename.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}
