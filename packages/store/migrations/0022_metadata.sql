-- IMAP METADATA (RFC 5464): annotations of a user's mailboxes, and of the server as that
-- user sees it (mailbox_id NULL). Keyed by account: /private entries are the user's own,
-- and /shared entries on the user's mailboxes are read by the user alone while no account
-- can reach another's mailboxes. Entry names are stored in lower case (§3.2: they are
-- case-insensitive) and checked by the IMAP engine; values are octets (a literal8 may hold
-- NUL).
--
-- Keyed by mailbox id, not name: RENAME takes a mailbox's entries along without a write
-- here, and a mailbox made again under an old name starts without any (§4.1: "Servers
-- SHOULD delete annotations for a mailbox when the mailbox is deleted").
CREATE TABLE imap_metadata (
  account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  mailbox_id  bigint REFERENCES mailboxes (id) ON DELETE CASCADE,
  entry       text NOT NULL CHECK (
                entry = lower(entry) AND octet_length(entry) <= 1024
                AND entry ~ '^/(private|shared)/[ -~]+$' AND entry !~ '([*%]|//|/$)'),
  value       bytea NOT NULL
);

-- One value per entry of the server (0: mailbox ids start at 1) or of a mailbox; reads go
-- by account and mailbox, and TOOMANY counts the account's entries.
CREATE UNIQUE INDEX imap_metadata_entry ON imap_metadata (account_id, (COALESCE(mailbox_id, 0)), entry);

-- DELETE of a mailbox with children keeps its row as \Noselect (RFC 3501 §6.3.4): its
-- entries go as its messages do, whichever door the change comes through, and a CREATE
-- that makes the name selectable again finds none.
CREATE FUNCTION imap_metadata_noselect() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM imap_metadata WHERE mailbox_id = NEW.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER imap_metadata_noselect AFTER UPDATE OF noselect ON mailboxes
  FOR EACH ROW WHEN (NEW.noselect AND NOT OLD.noselect) EXECUTE FUNCTION imap_metadata_noselect();
