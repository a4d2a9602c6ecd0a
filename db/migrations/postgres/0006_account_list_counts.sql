-- Each account list counts its contacts and people, kept by triggers on
-- every insert and delete (creates, cascades, the seed, imports), so that
-- an unfiltered list's total_count is one row's value instead of a COUNT
-- over the whole account list. Filtered lists still count the rows that
-- match. Writes of an account list already hold its row's lock (the
-- write clock), so the counters add no waiting.
ALTER TABLE account_lists ADD COLUMN contacts_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE account_lists ADD COLUMN people_count BIGINT NOT NULL DEFAULT 0;

UPDATE account_lists a SET
	contacts_count = (SELECT COUNT(*) FROM contacts c WHERE c.account_list_id = a.id),
	people_count = (SELECT COUNT(*) FROM people p WHERE p.account_list_id = a.id);

CREATE FUNCTION account_list_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_TABLE_NAME = 'contacts' THEN
		IF TG_OP = 'INSERT' THEN
			UPDATE account_lists SET contacts_count = contacts_count + 1 WHERE id = NEW.account_list_id;
		ELSE
			UPDATE account_lists SET contacts_count = contacts_count - 1 WHERE id = OLD.account_list_id;
		END IF;
	ELSIF TG_OP = 'INSERT' THEN
		UPDATE account_lists SET people_count = people_count + 1 WHERE id = NEW.account_list_id;
	ELSE
		UPDATE account_lists SET people_count = people_count - 1 WHERE id = OLD.account_list_id;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER contacts_count AFTER INSERT OR DELETE ON contacts
	FOR EACH ROW EXECUTE FUNCTION account_list_count();
CREATE TRIGGER people_count AFTER INSERT OR DELETE ON people
	FOR EACH ROW EXECUTE FUNCTION account_list_count();
