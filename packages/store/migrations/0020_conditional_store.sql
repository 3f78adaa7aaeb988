-- CONDSTORE (RFC 7162 §3.1.3): STORE ... (UNCHANGEDSINCE n), and any STORE of a session that
-- has CONDSTORE on, whose answers carry every named message's MODSEQ. As imap_store_flags
-- (0018), in one round trip, and in addition: with p_unchanged_since not NULL, a message whose
-- MODSEQ is above it is left as it is and reported 'modified'; every other named message that
-- exists is returned too, 'changed' or 'unchanged', with its flags and MODSEQ after the store.
-- The check and the change are one statement after the mailbox row's lock, so no other
-- STORE can slip between them.
CREATE FUNCTION imap_store_flags_checked(p_mailbox bigint, p_uids bigint[], p_op text, p_flags text[],
                                         p_unchanged_since bigint)
  RETURNS TABLE (uid bigint, flags text[], modseq bigint, outcome text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  next_modseq bigint;
BEGIN
  SELECT b.highestmodseq + 1 INTO next_modseq FROM mailboxes b WHERE b.id = p_mailbox FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no mailbox %', p_mailbox USING ERRCODE = 'no_data_found';
  END IF;
  RETURN QUERY
    WITH named AS (
      SELECT m.uid AS n_uid, m.flags AS old_flags, m.modseq AS old_modseq,
             (p_unchanged_since IS NOT NULL AND m.modseq > p_unchanged_since) AS refused,
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
    ), updated AS (
      UPDATE messages m SET flags = n.new_flags, modseq = next_modseq
        FROM named n
       WHERE m.mailbox_id = p_mailbox AND m.uid = n.n_uid AND NOT n.refused
         AND m.flags IS DISTINCT FROM n.new_flags
      RETURNING m.uid AS u_uid, m.flags AS u_flags
    )
    SELECT n.n_uid, coalesce(u.u_flags, n.old_flags),
           CASE WHEN u.u_uid IS NULL THEN n.old_modseq ELSE next_modseq END,
           CASE WHEN n.refused THEN 'modified' WHEN u.u_uid IS NULL THEN 'unchanged' ELSE 'changed' END
      FROM named n LEFT JOIN updated u ON u.u_uid = n.n_uid
     ORDER BY n.n_uid;
  -- HIGHESTMODSEQ moves only when a message took the new MODSEQ (RFC 7162 §3.1.3).
  UPDATE mailboxes SET highestmodseq = next_modseq
   WHERE id = p_mailbox AND EXISTS (SELECT 1 FROM messages WHERE mailbox_id = p_mailbox AND modseq = next_modseq);
END $$;
