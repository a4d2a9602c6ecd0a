-- People carry their contact's account list, so that the contact-less
-- people collection (GET /api/v2/contacts/people, the sync feed of people
-- and their phones) reads one account list's people in index order
-- however many contacts it has. A contact never changes account list and
-- a person never changes contact, so the copy never goes stale; a trigger
-- fills it on every insert (creates, the seed, imports), so no INSERT
-- needs to name it.
ALTER TABLE people ADD COLUMN account_list_id TEXT COLLATE "C" REFERENCES account_lists (id) ON DELETE CASCADE;

UPDATE people p SET account_list_id = c.account_list_id FROM contacts c WHERE c.id = p.contact_id;

ALTER TABLE people ALTER COLUMN account_list_id SET NOT NULL;

CREATE FUNCTION people_account_list_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.account_list_id := (SELECT c.account_list_id FROM contacts c WHERE c.id = NEW.contact_id);
	RETURN NEW;
END
$$;

CREATE TRIGGER people_account_list_id BEFORE INSERT ON people
	FOR EACH ROW EXECUTE FUNCTION people_account_list_id();

-- One index per sort of the list, as for the nested lists (0002).
CREATE INDEX people_account_list_id_created_at_id_idx ON people (account_list_id, created_at, id);
CREATE INDEX people_account_list_id_updated_at_id_idx ON people (account_list_id, updated_at, id);
CREATE INDEX people_account_list_id_updated_in_db_at_id_idx ON people (account_list_id, updated_in_db_at, id);
CREATE INDEX people_account_list_id_first_name_id_idx ON people (account_list_id, first_name, id);
CREATE INDEX people_account_list_id_last_name_id_idx ON people (account_list_id, last_name NULLS FIRST, id);
