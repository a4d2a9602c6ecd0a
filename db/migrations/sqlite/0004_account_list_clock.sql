-- The write clock moves from one database-wide row (write_clock) to each
-- account list (account_lists.hw): the latest updated_in_db_at or
-- deleted_at a write of that account list has issued. Everything a client
-- lists or syncs belongs to one account list, so the sync guarantee needs
-- the clock, and the lock that orders writes, only per account list (see
-- the db package doc). Every account list starts at the database-wide
-- high-water mark, so no stamp issued after this migration is earlier than
-- one issued before it.
--
-- write_clock is dropped, not kept: a process of an earlier version still
-- running against this database would otherwise keep writing under the
-- old lock while this version writes under the new one. Without the table
-- its writes fail instead. Stop old processes before starting new ones.
ALTER TABLE account_lists ADD COLUMN hw INTEGER NOT NULL DEFAULT 0;

UPDATE account_lists SET hw = (SELECT hw FROM write_clock WHERE id = 1);

DROP TABLE write_clock;
