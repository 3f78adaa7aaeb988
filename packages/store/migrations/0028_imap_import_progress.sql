-- `tegami import imap` (issue 20): how far the copy of each folder of a live IMAP server has
-- got. A batch of messages and the advance of its folder's row commit in one transaction, so
-- a run stopped anywhere (kill -9, a dropped connection) is continued by the next one with
-- neither a gap nor a duplicate, and a run with nothing left to copy fetches no message.

CREATE TABLE imap_import_progress (
  account_id     bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  -- the source login and server: user@host:port (never a password)
  source         text NOT NULL,
  -- the folder's name as the source lists it (its own encoding and delimiter)
  source_folder  text NOT NULL,
  -- the folder's UIDVALIDITY when its copy began: another one means other UIDs, start over
  uidvalidity    bigint NOT NULL CHECK (uidvalidity BETWEEN 1 AND 4294967295),
  -- every message of the folder with a UID up to this one is in the mailbox (or was there already)
  last_uid       bigint NOT NULL DEFAULT 0 CHECK (last_uid BETWEEN 0 AND 4294967295),
  -- where its messages go; the copy starts over when that mailbox is deleted
  mailbox_id     bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
  -- the mailbox held messages when the copy began (or it began again): a message whose bytes
  -- it holds is skipped. Into an empty mailbox the copy is exact, identical copies and all.
  dedupe         boolean NOT NULL,
  messages       bigint NOT NULL DEFAULT 0,
  bytes          bigint NOT NULL DEFAULT 0,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, source, source_folder)
);

CREATE INDEX imap_import_progress_mailbox ON imap_import_progress (mailbox_id);
