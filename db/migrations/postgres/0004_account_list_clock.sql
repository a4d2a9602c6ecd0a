-- The write clock moves from one database-wide row (write_clock) to each
-- account list (account_lists.hw); see
-- migrations/sqlite/0004_account_list_clock.sql. On PostgreSQL the
-- account list's row is also the write lock: every write transaction
-- starts by updating it (UPDATE account_lists SET hw = ... RETURNING hw),
-- which holds its row lock until commit, so writes of one account list
-- run one at a time across every replica and writes of different account
-- lists run in parallel.
ALTER TABLE account_lists ADD COLUMN hw BIGINT NOT NULL DEFAULT 0;

UPDATE account_lists SET hw = (SELECT hw FROM write_clock WHERE id = 1);

DROP TABLE write_clock;
