-- Sorted, filtered, paged lists and tombstones of deleted rows.
--
-- Every list query is scoped to its parent (contacts to an account list,
-- people to a contact, phones to a person) and ordered by one column, ties
-- broken by id. Each sortable column gets an index (parent, column, id), so
-- a page and its COUNT read only the parent's rows, in order, however large
-- the database is. Filters on updated_at and updated_in_db_at use the same
-- indexes as ranges.

-- Contacts: created_at is covered by contacts_account_list_id_created_at_id_idx
-- (0001). The (account_list_id, updated_in_db_at) index of 0001 is a prefix of
-- the new one and would only cost writes.
DROP INDEX contacts_account_list_id_updated_in_db_at_idx;
CREATE INDEX contacts_account_list_id_updated_at_id_idx ON contacts (account_list_id, updated_at, id);
CREATE INDEX contacts_account_list_id_updated_in_db_at_id_idx ON contacts (account_list_id, updated_in_db_at, id);
CREATE INDEX contacts_account_list_id_name_id_idx ON contacts (account_list_id, name, id);

-- People: created_at is covered by people_contact_id_created_at_id_idx (0001).
CREATE INDEX people_contact_id_updated_at_id_idx ON people (contact_id, updated_at, id);
CREATE INDEX people_contact_id_updated_in_db_at_id_idx ON people (contact_id, updated_in_db_at, id);
CREATE INDEX people_contact_id_first_name_id_idx ON people (contact_id, first_name, id);
CREATE INDEX people_contact_id_last_name_id_idx ON people (contact_id, last_name, id);

-- Phones: created_at is covered by phones_person_id_created_at_id_idx (0001).
CREATE INDEX phones_person_id_updated_at_id_idx ON phones (person_id, updated_at, id);
CREATE INDEX phones_person_id_updated_in_db_at_id_idx ON phones (person_id, updated_in_db_at, id);

-- deleted_records holds one tombstone per deleted row, cascades included,
-- so clients can sync deletions. deletable_type is the JSON:API type of the
-- deleted row; contact_id and person_id locate it: a phone has both, a
-- person its contact_id only, a contact neither. deleted_at is unix
-- milliseconds, shared by every row of one delete.
CREATE TABLE deleted_records (
	id              TEXT NOT NULL PRIMARY KEY,
	account_list_id TEXT NOT NULL REFERENCES account_lists (id) ON DELETE CASCADE,
	deletable_type  TEXT NOT NULL CHECK (deletable_type IN ('contacts', 'people', 'phone_numbers')),
	deletable_id    TEXT NOT NULL,
	contact_id      TEXT,
	person_id       TEXT,
	deleted_at      INTEGER NOT NULL,
	CHECK (
		deletable_type = 'contacts' AND contact_id IS NULL AND person_id IS NULL
		OR deletable_type = 'people' AND contact_id IS NOT NULL AND person_id IS NULL
		OR deletable_type = 'phone_numbers' AND contact_id IS NOT NULL AND person_id IS NOT NULL
	)
);

CREATE INDEX deleted_records_account_list_id_deleted_at_id_idx
	ON deleted_records (account_list_id, deleted_at, id);
-- For lists filtered to one type.
CREATE INDEX deleted_records_account_list_id_type_deleted_at_id_idx
	ON deleted_records (account_list_id, deletable_type, deleted_at, id);
