// Package db stores account lists, contacts, people and phones, on SQLite
// (the embedded default) or PostgreSQL (for several server replicas
// sharing one database).
//
// # One contract, two engines
//
// *Store is the one implementation of the store, on either engine; its
// users declare the methods they need (handlers.Store). Open picks the engine from the DSN: a postgres:// or postgresql:// URL
// opens PostgreSQL through two pgxpools, for writes and reads (OpenPostgres,
// with PGOptions for the pool size and the connect and statement timeouts); anything else is a
// SQLite file path, optionally prefixed "sqlite:" (OpenSQLite). All the
// SQL — reads, writes, lists, tombstones, the write clock, the
// one-primary rule — is written once, with ? placeholders, and runs on
// both; a dialect holds the few differences (placeholders rewritten to
// $n, how a migration takes its lock, how a snapshot is read, the LIMIT
// meaning "none", the UUID expression for tombstones, NULL order)
// and each engine has its own migrations, migrations/sqlite and
// migrations/postgres, with the same versions and columns.
//
// Both engines store the same values: ids are lower-case UUID strings
// (TEXT; every function lower-cases the ids it is given); timestamps are
// BIGINT unix milliseconds, returned in UTC truncated to the millisecond,
// so both have exactly millisecond precision; booleans are INTEGER 0/1 on
// SQLite and BOOLEAN on PostgreSQL. PostgreSQL text columns use the "C"
// collation and last_name sorts NULLs first ascending, so lists come back
// in the same order on both.
//
// # Writes: one lock per account list, so checks and writes are atomic
//
// The account list is the unit of ownership and of sync: every contact,
// person, phone and tombstone belongs to exactly one, a row never moves
// to another, and everything a client lists or syncs is one account
// list's. Every write names its account list (an AccountListID, or a
// Scope) and runs in one transaction that takes that account list's write
// lock before it reads anything, so a read-check-write sequence (a
// Precondition, the one-primary-phone rule, the path check of a Scope) is
// atomic, whichever process or replica runs it, and it checks inside the
// transaction that what it writes is that account list's:
//
//   - PostgreSQL: the first statement of every write transaction is
//     UPDATE account_lists SET hw = ... WHERE id = $1 RETURNING hw. The
//     row lock it holds until commit is the account list's write lock:
//     writers of one account list queue on it across every replica; each
//     then runs at READ COMMITTED, whose later statements see everything
//     committed before the lock was granted, so the checks read the
//     latest rows and nothing can change them before commit. Writes of
//     different account lists take different rows and run in parallel.
//     Every writer takes exactly one row lock, first, so there are no
//     deadlocks and no retry loops. Within a process, writes of one
//     account list also queue for their turn before taking a pool
//     connection (lanes, tx.go): a lock held long on one account list
//     ties up one connection, not the pool.
//   - SQLite: _txlock=immediate takes the database's write lock at BEGIN,
//     which covers every account list; other processes wait for it. The
//     writes waiting at a moment share one transaction and one commit
//     (one fsync), each in its own savepoint, run one after another in
//     arrival order (group commit, groupcommit.go): the guarantees hold
//     per write, a failed write leaves nothing, and no write is
//     acknowledged before the commit holding it is durable.
//
// The write clock (writeClock, writeclock.go) hands out updated_in_db_at and
// deleted_at: never earlier than the account list's high-water mark
// account_lists.hw, which every write of the account list raises, under
// its lock, before committing. The sync guarantee is per account list:
// a client that lists "<latest value seen>.." of an account list's rows
// never misses a row committed later with an earlier stamp. It holds
// because a later commit of the same account list took the lock after
// the earlier one committed and stamped no earlier than the mark that
// one left; a commit of another account list may carry any stamp, but
// it is never in this account list's lists. updated_in_db_at also
// strictly increases per row (prev+1ms when the clock has not moved on),
// and every write that advances it keeps the value it replaces in
// prev_updated_in_db_at (NULL for a row of one version): a Precondition
// of less than millisecond precision reads it to tell whether its
// interval identifies exactly one version of the row.
//
// Settings, users and their new account lists, and imports, are written
// without an account list's lock: each is a single insert that is safe
// as such (INSERT ... ON CONFLICT).
//
// # Deadlines and outages
//
// Every call stops waiting when its context ends: for a pool connection,
// for its account list's turn or lock, for a statement. A write whose
// context ends before it commits is rolled back and returns an error
// matching the context's error; it did not happen. A write that reaches
// its commit is answered: on PostgreSQL the commit is not cancelled by
// the context (commitGrace), on SQLite a write that has started runs to
// its batch's commit. An outage (the database unreachable, read-only, out
// of disk space, or locked by another process for over lockWait) returns
// an error matching ErrUnavailable, and nothing was written; ErrUncertain
// means a commit was sent but its answer was lost. Ready probes whether
// writes work again after a write failed for an outage.
//
// # Reads
//
// Reads use a pool of their own (Store.rdb), read-only, so they never
// queue behind writers waiting for a lock: on SQLite a query_only pool of
// a fixed size beside the single writer connection; on PostgreSQL a
// second pgxpool whose sessions are read-only. Single-row reads use it
// directly. Every read of a nested resource (a contact, a person, a
// phone, or a list of people or phones) names its path as a Scope and
// checks it in the same query as its read (scope.go); only when that
// query finds nothing does a second one tell why, as a *ScopeError. Lists
// whose page does not show the total read the path, page and count again
// in one read-only transaction, so all see one snapshot and never wait
// for or block a writer: on SQLite a deferred transaction (WAL mode); on
// PostgreSQL a REPEATABLE READ READ ONLY transaction.
//
// # Migrations
//
// Migrate applies the embedded migrations of the engine, each in its own
// transaction, recorded in schema_migrations. Several processes may
// migrate one database at once: on SQLite the write lock serialises them;
// on PostgreSQL each step first takes pg_advisory_xact_lock on a key
// derived from the current schema, then checks whether the step is
// already applied.
//
// # Errors
//
// Every error this package returns is one of these (errors.go, scope.go),
// wrapped with context; match them with errors.Is and errors.As:
//
//   - ErrNotFound: no such row (an account list, or a resource named
//     without a Scope).
//   - *ScopeError: a resource or the path to it is not the caller's: its
//     Kind (contact, person, phone) and ID say which; it matches
//     ErrNotFound, or ErrForbidden for another account list's contact.
//   - ErrConflict: a row with that id already exists.
//   - *StaleError (matches ErrStale): a Precondition did not hold; Current
//     is the stored updated_in_db_at. Nothing was written.
//   - ErrInvalidQuery: a ListQuery or DeletedQuery the store cannot run
//     (unknown sort, a filter the resource lacks, a negative limit).
//   - ErrUnavailable: an outage; nothing was written.
//   - ErrUncertain: a commit was sent and its answer lost.
//   - ErrNotMigrated, ErrNotWritable: from Ready, the database lacks a
//     migration, or writes fail (read-only, out of space).
//   - the context's error, when the call's deadline or cancellation ended
//     it before commit; nothing was written.
//
// Anything else is unexpected and wrapped with context. Driver constraint
// errors are translated (SQLite's primary key and unique constraint
// errors and PostgreSQL's unique_violation 23505 become ErrConflict;
// foreign key errors and 23503 become ErrNotFound) and never returned as
// such.
package db
