-- IMAP ACL (RFC 4314): what the owner of a mailbox grants another account of this server.
-- The owner's own rights are not stored: they are all rights, always. Rights are letters of
-- RFC 4314 §2.1 in one fixed order (lrswipkxtea), never empty: taking the last right away
-- removes the row.
--
-- Keyed by mailbox id and the grantee's account id: RENAME keeps a mailbox's grants without
-- a write here, and they go with the mailbox (DELETE) or with either account.
CREATE TABLE mailbox_acl (
  mailbox_id  bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
  grantee_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  rights      text NOT NULL CHECK (rights ~ '^l?r?s?w?i?p?k?x?t?e?a?$' AND rights <> ''),
  PRIMARY KEY (mailbox_id, grantee_id)
);

-- "What is shared with me": LIST and every name under "Other Users/" read by grantee.
CREATE INDEX mailbox_acl_grantee ON mailbox_acl (grantee_id);

-- DELETE of a mailbox with children keeps its row as \Noselect (RFC 3501 §6.3.4): its
-- grants go as its messages do, and a CREATE that makes the name a mailbox again shares
-- nothing until the owner grants again.
CREATE FUNCTION mailbox_acl_noselect() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM mailbox_acl WHERE mailbox_id = NEW.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER mailbox_acl_noselect AFTER UPDATE OF noselect ON mailboxes
  FOR EACH ROW WHEN (NEW.noselect AND NOT OLD.noselect) EXECUTE FUNCTION mailbox_acl_noselect();
