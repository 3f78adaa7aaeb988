-- Delivery: what the delivery-worker and `tegami queue` / `tegami trace` need.

-- Mail is mostly base64 or already compressed: pglz spends CPU on every accepted message
-- for little gain. Store blobs out of line without compression.
ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;

-- An alias recipient is finished once expanded: its destinations get rows of their own
-- (expanded_from names it), which also removes duplicates when an alias and its
-- destination were both recipients.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
  CHECK (status IN ('pending', 'deferred', 'delivered', 'relayed', 'bounced', 'dropped', 'expanded'));
ALTER TABLE deliveries
  ADD COLUMN expanded_from text,
  -- Which worker is attempting this recipient now, and until when: a second worker (or
  -- a second job for the same message) leaves it alone, so a remote peer gets it once.
  ADD COLUMN claimed_by text,
  ADD COLUMN claimed_until timestamptz,
  -- the enhanced status code of the outcome, for the DSN (e.g. 5.1.1)
  ADD COLUMN status_code text,
  -- the remote MTA that gave the last reply
  ADD COLUMN remote_mta text,
  ADD COLUMN delay_notified boolean NOT NULL DEFAULT false,
  ADD COLUMN finished_at timestamptz;

ALTER TABLE delivery_attempts DROP CONSTRAINT delivery_attempts_outcome_check;
ALTER TABLE delivery_attempts ADD CONSTRAINT delivery_attempts_outcome_check
  CHECK (outcome IN ('delivered', 'relayed', 'deferred', 'bounced', 'expanded', 'dropped'));

-- A delivery status notification records the message it reports on.
ALTER TABLE queue ADD COLUMN reports_on text;

-- Connections to one destination domain, counted across every worker replica: a slot is
-- a row; a worker holds it until expires_at, renewing it while its connection lasts, and a
-- crashed worker's slots free themselves when they expire.
CREATE TABLE destination_slots (
  destination  text NOT NULL,
  slot         integer NOT NULL,
  holder       text NOT NULL,
  expires_at   timestamptz NOT NULL,
  PRIMARY KEY (destination, slot)
);
