-- Sorted, filtered, paged lists and tombstones of deleted rows; see
-- migrations/sqlite/0002_lists_and_tombstones.sql for the reasoning. The
-- one difference: last_name is indexed NULLS FIRST, the order lists use
-- (SQLite sorts NULL first ascending; see listSpec.nullable).

DROP INDEX contacts_account_list_id_updated_in_db_at_idx;
CREATE INDEX contacts_account_list_id_updated_at_id_idx ON contacts (account_list_id, updated_at, id);
CREATE INDEX contacts_account_list_id_updated_in_db_at_id_idx ON contacts (account_list_id, updated_in_db_at, id);
CREATE INDEX contacts_account_list_id_name_id_idx ON contacts (account_list_id, name, id);

CREATE INDEX people_contact_id_updated_at_id_idx ON people (contact_id, updated_at, id);
CREATE INDEX people_contact_id_updated_in_db_at_id_idx ON people (contact_id, updated_in_db_at, id);
CREATE INDEX people_contact_id_first_name_id_idx ON people (contact_id, first_name, id);
CREATE INDEX people_contact_id_last_name_id_idx ON people (contact_id, last_name NULLS FIRST, id);

CREATE INDEX phones_person_id_updated_at_id_idx ON phones (person_id, updated_at, id);
CREATE INDEX phones_person_id_updated_in_db_at_id_idx ON phones (person_id, updated_in_db_at, id);

CREATE TABLE deleted_records (
	id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	account_list_id TEXT COLLATE "C" NOT NULL REFERENCES account_lists (id) ON DELETE CASCADE,
	deletable_type  TEXT COLLATE "C" NOT NULL CHECK (deletable_type IN ('contacts', 'people', 'phone_numbers')),
	deletable_id    TEXT COLLATE "C" NOT NULL,
	contact_id      TEXT COLLATE "C",
	person_id       TEXT COLLATE "C",
	deleted_at      BIGINT NOT NULL,
	CHECK (
		deletable_type = 'contacts' AND contact_id IS NULL AND person_id IS NULL
		OR deletable_type = 'people' AND contact_id IS NOT NULL AND person_id IS NULL
		OR deletable_type = 'phone_numbers' AND contact_id IS NOT NULL AND person_id IS NOT NULL
	)
);

CREATE INDEX deleted_records_account_list_id_deleted_at_id_idx
	ON deleted_records (account_list_id, deleted_at, id);
CREATE INDEX deleted_records_account_list_id_type_deleted_at_id_idx
	ON deleted_records (account_list_id, deletable_type, deleted_at, id);
