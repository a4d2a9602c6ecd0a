-- write_clock holds the latest updated_in_db_at or deleted_at any write has
-- issued. Every write transaction stamps its rows no earlier than it, so
-- those times grow in commit order across rows (and across processes that
-- share the file): a sync client that asks for "<latest value seen>.."
-- misses nothing.
CREATE TABLE write_clock (
	id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	hw INTEGER NOT NULL
);

INSERT INTO write_clock (id, hw) SELECT 1, MAX(
	COALESCE((SELECT MAX(updated_in_db_at) FROM contacts), 0),
	COALESCE((SELECT MAX(updated_in_db_at) FROM people), 0),
	COALESCE((SELECT MAX(updated_in_db_at) FROM phones), 0),
	COALESCE((SELECT MAX(deleted_at) FROM deleted_records), 0)
);
