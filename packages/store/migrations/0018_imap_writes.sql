-- IMAP STORE and EXPUNGE as one round trip each (issue 17). Each was BEGIN, a MODSEQ bump of
-- the mailbox row, the change, (for EXPUNGE) the expunge record, and COMMIT or ROLLBACK:
-- four or five round trips, each a wait for the gateway and a wake-up for Postgres.
--
-- Why functions and not one statement with CTEs: the mailbox row's lock must be taken
-- before the messages are read, so that changes commit in MODSEQ order and each one is
-- applied to the flags the previous one left (the invariant of packages/store mailboxes.ts).
-- A single statement reads every table at the snapshot it started with, before it waited
-- for the lock; a volatile PL/pgSQL function in READ COMMITTED takes a fresh snapshot for
-- each statement, so the UPDATE after the lock sees what the last writer committed. The
-- function's statements are planned once per connection and kept (PL/pgSQL caches its
-- plans), which is what a prepared statement would give.
--
-- Neither bumps HIGHESTMODSEQ when nothing changes (RFC 7162 §3.1.3): the lock is taken
-- with FOR UPDATE, the change is made at the next MODSEQ, and the mailbox row takes that
-- MODSEQ only if a row changed. A missing mailbox raises no_data_found (P0002).

-- STORE: p_op is 'replace', 'add' or 'remove'; p_flags are normalised by the caller. Flag
-- names are case-insensitive: a flag the message has keeps its spelling on add, any
-- spelling removes it; the result is sorted by code point, whatever the collation.
CREATE FUNCTION imap_store_flags(p_mailbox bigint, p_uids bigint[], p_op text, p_flags text[])
  RETURNS TABLE (uid bigint, flags text[], modseq bigint) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  next_modseq bigint;
BEGIN
  SELECT b.highestmodseq + 1 INTO next_modseq FROM mailboxes b WHERE b.id = p_mailbox FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no mailbox %', p_mailbox USING ERRCODE = 'no_data_found';
  END IF;
  RETURN QUERY
    WITH target AS (
      SELECT m.uid AS target_uid,
             CASE p_op
               WHEN 'replace' THEN p_flags
               WHEN 'add' THEN ARRAY(
                 SELECT f FROM (SELECT DISTINCT ON (lower(f)) f FROM unnest(m.flags || p_flags) WITH ORDINALITY x(f, n)
                                ORDER BY lower(f), n) d ORDER BY f COLLATE "C")
               ELSE ARRAY(
                 SELECT f FROM unnest(m.flags) f WHERE NOT lower(f) = ANY(SELECT lower(r) FROM unnest(p_flags) r)
                  ORDER BY f COLLATE "C")
             END AS new_flags
        FROM messages m
       WHERE m.mailbox_id = p_mailbox AND m.uid = ANY(p_uids)
    )
    UPDATE messages m SET flags = t.new_flags, modseq = next_modseq
      FROM target t
     WHERE m.mailbox_id = p_mailbox AND m.uid = t.target_uid AND m.flags IS DISTINCT FROM t.new_flags
    RETURNING m.uid, m.flags, m.modseq;
  IF FOUND THEN
    UPDATE mailboxes SET highestmodseq = next_modseq WHERE id = p_mailbox;
  END IF;
END $$;

-- EXPUNGE (and POP3 DELE at QUIT): removes those of p_uids (all when NULL) that are there,
-- with \Deleted now when p_deleted_only, and records each in expunged_messages at one new
-- MODSEQ for QRESYNC and for sessions catching up. Returns the UIDs removed, ascending.
CREATE FUNCTION imap_expunge(p_mailbox bigint, p_uids bigint[], p_deleted_only boolean)
  RETURNS TABLE (uid bigint, modseq bigint) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  next_modseq bigint;
BEGIN
  SELECT b.highestmodseq + 1 INTO next_modseq FROM mailboxes b WHERE b.id = p_mailbox FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no mailbox %', p_mailbox USING ERRCODE = 'no_data_found';
  END IF;
  RETURN QUERY
    WITH removed AS (
      DELETE FROM messages m
       WHERE m.mailbox_id = p_mailbox AND (p_uids IS NULL OR m.uid = ANY(p_uids))
         AND (NOT p_deleted_only OR m.flags @> ARRAY['\Deleted'])
      RETURNING m.uid
    ), recorded AS (
      INSERT INTO expunged_messages (mailbox_id, uid, modseq)
      SELECT p_mailbox, r.uid, next_modseq FROM removed r
      ON CONFLICT DO NOTHING
    )
    SELECT r.uid, next_modseq FROM removed r ORDER BY r.uid;
  IF FOUND THEN
    UPDATE mailboxes SET highestmodseq = next_modseq WHERE id = p_mailbox;
  END IF;
END $$;
