-- People carry their contact's account list, so that the contact-less
-- people collection (GET /api/v2/contacts/people, the sync feed of people
-- and their phones) reads one account list's people in index order
-- however many contacts it has. A contact never changes account list and
-- a person never changes contact, so the copy never goes stale; a trigger
-- fills it on every insert (creates, the seed, imports), so no INSERT
-- needs to name it.
ALTER TABLE people ADD COLUMN account_list_id TEXT REFERENCES account_lists (id) ON DELETE CASCADE;

UPDATE people SET account_list_id = (SELECT c.account_list_id FROM contacts c WHERE c.id = people.contact_id);

CREATE TRIGGER people_account_list_id AFTER INSERT ON people FOR EACH ROW
BEGIN
	UPDATE people SET account_list_id = (SELECT c.account_list_id FROM contacts c WHERE c.id = NEW.contact_id)
	WHERE id = NEW.id;
END;

-- One index per sort of the list, as for the nested lists (0002).
CREATE INDEX people_account_list_id_created_at_id_idx ON people (account_list_id, created_at, id);
CREATE INDEX people_account_list_id_updated_at_id_idx ON people (account_list_id, updated_at, id);
CREATE INDEX people_account_list_id_updated_in_db_at_id_idx ON people (account_list_id, updated_in_db_at, id);
CREATE INDEX people_account_list_id_first_name_id_idx ON people (account_list_id, first_name, id);
CREATE INDEX people_account_list_id_last_name_id_idx ON people (account_list_id, last_name, id);
