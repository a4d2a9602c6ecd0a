-- write_clock holds the latest updated_in_db_at or deleted_at any write has
-- issued; see migrations/sqlite/0003_write_clock.sql. On PostgreSQL every
-- write transaction starts with SELECT ... FOR UPDATE on its one row: that
-- row lock is the database-wide write lock that serialises writers across
-- every replica (see the package doc).
CREATE TABLE write_clock (
	id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	hw BIGINT NOT NULL
);

INSERT INTO write_clock (id, hw) SELECT 1, GREATEST(
	COALESCE((SELECT MAX(updated_in_db_at) FROM contacts), 0),
	COALESCE((SELECT MAX(updated_in_db_at) FROM people), 0),
	COALESCE((SELECT MAX(updated_in_db_at) FROM phones), 0),
	COALESCE((SELECT MAX(deleted_at) FROM deleted_records), 0)
);
