-- Each account list counts its contacts and people, kept by triggers on
-- every insert and delete (creates, cascades, the seed, imports), so that
-- an unfiltered list's total_count is one row's value instead of a COUNT
-- over the whole account list (200,000 people took ~15 ms a page).
-- Filtered lists still count the rows that match.
ALTER TABLE account_lists ADD COLUMN contacts_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE account_lists ADD COLUMN people_count INTEGER NOT NULL DEFAULT 0;

UPDATE account_lists SET
	contacts_count = (SELECT COUNT(*) FROM contacts c WHERE c.account_list_id = account_lists.id),
	people_count = (SELECT COUNT(*) FROM people p WHERE p.account_list_id = account_lists.id);

CREATE TRIGGER contacts_count_insert AFTER INSERT ON contacts FOR EACH ROW
BEGIN
	UPDATE account_lists SET contacts_count = contacts_count + 1 WHERE id = NEW.account_list_id;
END;

CREATE TRIGGER contacts_count_delete AFTER DELETE ON contacts FOR EACH ROW
BEGIN
	UPDATE account_lists SET contacts_count = contacts_count - 1 WHERE id = OLD.account_list_id;
END;

-- people.account_list_id is filled by another AFTER INSERT trigger (0005),
-- in no set order: the contact gives the account list.
CREATE TRIGGER people_count_insert AFTER INSERT ON people FOR EACH ROW
BEGIN
	UPDATE account_lists SET people_count = people_count + 1
	WHERE id = (SELECT c.account_list_id FROM contacts c WHERE c.id = NEW.contact_id);
END;

CREATE TRIGGER people_count_delete AFTER DELETE ON people FOR EACH ROW
BEGIN
	UPDATE account_lists SET people_count = people_count - 1 WHERE id = OLD.account_list_id;
END;
