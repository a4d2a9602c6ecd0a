-- Initial schema, PostgreSQL. The same tables, columns and versions as
-- migrations/sqlite, so the two engines hold the same data:
--
-- Ids are lower-case UUID strings (TEXT, not uuid, so ids compare and
-- sort as the same bytes on both engines). Timestamps are BIGINT unix
-- milliseconds (UTC), exactly as on SQLite: millisecond precision, no
-- time zone conversions, and the write clock's arithmetic is shared.
-- Booleans are BOOLEAN. Every text column uses the "C" collation, so
-- text sorts by its bytes as SQLite's BINARY collation does, whatever
-- the database's locale.

CREATE TABLE settings (
	key   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	value TEXT COLLATE "C" NOT NULL
);

CREATE TABLE account_lists (
	id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	created_at BIGINT NOT NULL
);

CREATE TABLE users (
	id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	account_list_id TEXT COLLATE "C" NOT NULL REFERENCES account_lists (id),
	created_at      BIGINT NOT NULL
);

CREATE INDEX users_account_list_id_idx ON users (account_list_id);

CREATE TABLE contacts (
	id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	account_list_id  TEXT COLLATE "C" NOT NULL REFERENCES account_lists (id) ON DELETE CASCADE,
	name             TEXT COLLATE "C" NOT NULL,
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	updated_in_db_at BIGINT NOT NULL
);

CREATE INDEX contacts_account_list_id_created_at_id_idx ON contacts (account_list_id, created_at, id);
CREATE INDEX contacts_account_list_id_updated_in_db_at_idx ON contacts (account_list_id, updated_in_db_at);

CREATE TABLE people (
	id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	contact_id       TEXT COLLATE "C" NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
	first_name       TEXT COLLATE "C" NOT NULL,
	last_name        TEXT COLLATE "C",
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	updated_in_db_at BIGINT NOT NULL
);

CREATE INDEX people_contact_id_created_at_id_idx ON people (contact_id, created_at, id);
CREATE INDEX people_updated_in_db_at_idx ON people (updated_in_db_at);

CREATE TABLE phones (
	id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	person_id        TEXT COLLATE "C" NOT NULL REFERENCES people (id) ON DELETE CASCADE,
	number           TEXT COLLATE "C" NOT NULL,
	country_code     TEXT COLLATE "C",
	location         TEXT COLLATE "C",
	"primary"        BOOLEAN NOT NULL,
	historic         BOOLEAN NOT NULL,
	source           TEXT COLLATE "C" NOT NULL,
	valid_values     BOOLEAN NOT NULL,
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	updated_in_db_at BIGINT NOT NULL,
	CHECK (NOT ("primary" AND historic))
);

CREATE INDEX phones_person_id_created_at_id_idx ON phones (person_id, created_at, id);
CREATE INDEX phones_updated_in_db_at_idx ON phones (updated_in_db_at);
