-- Idempotency keys (the Idempotency-Key header of creates): a key is the
-- user's, stored with the created row in the create's transaction, and
-- answers a retry of the same request within 24 hours with the original
-- response. status, location, etag and body are NULL until the response
-- is recorded, right after the create (db/idempotency.go). Expired keys
-- are deleted, a bounded batch at a time, when responses are recorded.
CREATE TABLE idempotency_keys (
	user_id      TEXT   NOT NULL,
	idem_key     TEXT   NOT NULL,
	request_hash TEXT   NOT NULL,
	resource_id  TEXT   NOT NULL,
	status       INTEGER,
	location     TEXT,
	etag         TEXT,
	body         BYTEA,
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	PRIMARY KEY (user_id, idem_key)
);

CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
