-- Every contact, person and phone keeps the updated_in_db_at of its
-- previous version, so that a precondition sent with less than millisecond
-- precision (a whole second, a tenth, a hundredth) is honoured only when it
-- identifies exactly one version of the row: the stored value falls in the
-- sent interval and the previous version's does not (see db.Precondition).
-- Every write that advances updated_in_db_at sets prev_updated_in_db_at to
-- the value it replaces; a row that has had one version has NULL.
--
-- The history of the rows stored before this migration is unknown. They
-- get updated_in_db_at - 1: the latest an earlier version can have been
-- (updated_in_db_at strictly increases per row, in milliseconds), so an
-- interval is taken as ambiguous whenever an earlier version could fall
-- in it, that is unless the stored value is its first millisecond. Their
-- next write records the real previous value. Either way it is earlier
-- than updated_in_db_at, which a CHECK holds every write to.
ALTER TABLE contacts ADD COLUMN prev_updated_in_db_at BIGINT,
	ADD CONSTRAINT contacts_prev_updated_in_db_at_check CHECK (prev_updated_in_db_at < updated_in_db_at);
ALTER TABLE people ADD COLUMN prev_updated_in_db_at BIGINT,
	ADD CONSTRAINT people_prev_updated_in_db_at_check CHECK (prev_updated_in_db_at < updated_in_db_at);
ALTER TABLE phones ADD COLUMN prev_updated_in_db_at BIGINT,
	ADD CONSTRAINT phones_prev_updated_in_db_at_check CHECK (prev_updated_in_db_at < updated_in_db_at);

UPDATE contacts SET prev_updated_in_db_at = updated_in_db_at - 1;
UPDATE people SET prev_updated_in_db_at = updated_in_db_at - 1;
UPDATE phones SET prev_updated_in_db_at = updated_in_db_at - 1;
