-- Lifecycle: blob garbage collection and the retention of the queue, delivery attempts and
-- expunge history (packages/store/src/blob-collection.ts, retention.ts; docs/architecture/lifecycle.md).

-- Storing a blob pins it. Every path that stores a message writes
--   INSERT INTO blobs … ON CONFLICT (sha256) DO NOTHING
-- and then references the blob (messages, queue), whose foreign key check takes FOR KEY
-- SHARE on the blob row at the end of its statement. Between the two, ON CONFLICT DO NOTHING
-- holds no lock: the collector could delete an old, unreferenced copy there, and the
-- reference would fail. This trigger closes that window for every such INSERT at once: it
-- runs before the conflict check and turns the INSERT into "pin the existing row (FOR KEY
-- SHARE, until commit) or insert it", looping as an upsert does when the collector or
-- another writer commits in between. The collector locks FOR UPDATE SKIP LOCKED, which a
-- KEY SHARE holder makes it skip, and a pinner waits behind a collector's lock, then finds
-- the row gone and inserts it again. The outer row is always skipped (RETURN NULL): the
-- nested INSERT stored it, or the row was there.
CREATE FUNCTION blobs_store_or_pin() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() > 1 THEN
    RETURN NEW;
  END IF;
  LOOP
    PERFORM 1 FROM blobs WHERE sha256 = NEW.sha256 FOR KEY SHARE;
    IF FOUND THEN
      RETURN NULL;
    END IF;
    INSERT INTO blobs (sha256, size, data, created_at) VALUES (NEW.sha256, NEW.size, NEW.data, NEW.created_at)
      ON CONFLICT (sha256) DO NOTHING;
    IF FOUND THEN
      RETURN NULL;
    END IF;
  END LOOP;
END
$$;

CREATE TRIGGER blobs_store_or_pin BEFORE INSERT ON blobs
  FOR EACH ROW EXECUTE FUNCTION blobs_store_or_pin();

-- The collector asks "does a queue entry still hold this blob?" for each candidate, and
-- deleting a blob makes the foreign key ask it again: without an index, a scan of the queue.
CREATE INDEX queue_blob ON queue (blob_sha256);

-- Removing a user sets deliveries.mailbox_id to NULL for each of their mailboxes.
CREATE INDEX deliveries_mailbox ON deliveries (mailbox_id) WHERE mailbox_id IS NOT NULL;
-- ... and queue.authenticated_as for the queue entries they sent.
CREATE INDEX queue_authenticated_as ON queue (authenticated_as) WHERE authenticated_as IS NOT NULL;

-- The retention passes walk these oldest first.
CREATE INDEX delivery_attempts_attempted ON delivery_attempts (attempted_at);
CREATE INDEX expunged_messages_expunged ON expunged_messages (expunged_at);

-- Expunges at or below `modseq` may have been forgotten by the retention of
-- expunged_messages: a client that last synchronised at a MODSEQ below it cannot be given
-- an exact VANISHED list (RFC 7162 §3.2.5.2), only every UID it may know that is gone. A
-- mailbox without a row has its whole history. A table apart from mailboxes, and without a
-- foreign key to it: the retention pass then takes no lock on mailbox rows, which every
-- delivery, STORE and COPY locks (mailbox ids are never reused; a stale row is swept).
CREATE TABLE expunge_history_floors (
  mailbox_id  bigint PRIMARY KEY,
  modseq      bigint NOT NULL
);
