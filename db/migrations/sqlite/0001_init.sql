-- Initial schema.
--
-- Ids are lower-case UUID strings. Timestamps are unix milliseconds (UTC).
-- Booleans are 0 or 1. updated_in_db_at is the server's own write time,
-- strictly increasing per row; it backs optimistic preconditions and will
-- back sync queries.

CREATE TABLE settings (
	key   TEXT NOT NULL PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE account_lists (
	id         TEXT NOT NULL PRIMARY KEY,
	created_at INTEGER NOT NULL
);

CREATE TABLE users (
	id              TEXT NOT NULL PRIMARY KEY,
	account_list_id TEXT NOT NULL REFERENCES account_lists (id),
	created_at      INTEGER NOT NULL
);

CREATE INDEX users_account_list_id_idx ON users (account_list_id);

CREATE TABLE contacts (
	id               TEXT NOT NULL PRIMARY KEY,
	account_list_id  TEXT NOT NULL REFERENCES account_lists (id) ON DELETE CASCADE,
	name             TEXT NOT NULL,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	updated_in_db_at INTEGER NOT NULL
);

CREATE INDEX contacts_account_list_id_created_at_id_idx ON contacts (account_list_id, created_at, id);
CREATE INDEX contacts_account_list_id_updated_in_db_at_idx ON contacts (account_list_id, updated_in_db_at);

CREATE TABLE people (
	id               TEXT NOT NULL PRIMARY KEY,
	contact_id       TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
	first_name       TEXT NOT NULL,
	last_name        TEXT,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	updated_in_db_at INTEGER NOT NULL
);

CREATE INDEX people_contact_id_created_at_id_idx ON people (contact_id, created_at, id);
CREATE INDEX people_updated_in_db_at_idx ON people (updated_in_db_at);

CREATE TABLE phones (
	id               TEXT NOT NULL PRIMARY KEY,
	person_id        TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
	number           TEXT NOT NULL,
	country_code     TEXT,
	location         TEXT,
	"primary"        INTEGER NOT NULL CHECK ("primary" IN (0, 1)),
	historic         INTEGER NOT NULL CHECK (historic IN (0, 1)),
	source           TEXT NOT NULL,
	valid_values     INTEGER NOT NULL CHECK (valid_values IN (0, 1)),
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	updated_in_db_at INTEGER NOT NULL,
	CHECK (NOT ("primary" = 1 AND historic = 1))
);

CREATE INDEX phones_person_id_created_at_id_idx ON phones (person_id, created_at, id);
CREATE INDEX phones_updated_in_db_at_idx ON phones (updated_in_db_at);
