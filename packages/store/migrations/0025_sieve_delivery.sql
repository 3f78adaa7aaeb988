-- Sieve at local delivery and subaddresses (issue 19). What the delivery-worker needs to run
-- a recipient's script with every action exactly once: each action is written in the one
-- transaction that marks the delivery row delivered, so a job run again after a crash finds
-- it settled, and these tables hold what must be remembered across messages.

-- RFC 5233 subaddresses: user+tag@domain reaches user@domain when no account or alias has
-- the whole address. On unless the domain turns it off (`tegami domain set <d> --plus-addressing off`).
ALTER TABLE domains ADD COLUMN plus_addressing boolean NOT NULL DEFAULT true;

-- What the recipient's Sieve script did with this delivery, for `tegami trace`: one object
-- per action (keep, fileinto, redirect, vacation…) and any error. NULL: no script ran.
ALTER TABLE deliveries ADD COLUMN sieve_actions jsonb;

-- vacation (RFC 5230 §4.2): when this account last answered this sender for this handle. The
-- reply is sent only by the transaction whose upsert moves last_sent_at (the row lock makes
-- two workers delivering two messages from one sender at once agree on which one answers).
CREATE TABLE sieve_vacation_replies (
  account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  -- the envelope sender answered, lower case
  sender        text NOT NULL,
  handle        text NOT NULL,
  last_sent_at  timestamptz NOT NULL,
  PRIMARY KEY (account_id, sender, handle)
);

-- duplicate (RFC 7352): the ids an account's script recorded as seen, until they expire.
CREATE TABLE sieve_duplicates (
  account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  key         text NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (account_id, key)
);

-- A script that fails to compile or run keeps the message in INBOX and tells its owner once
-- per version of the script: a row per (account, script version) told.
CREATE TABLE sieve_error_notices (
  account_id     bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  -- `personal:<script id>` or `global:<name>`, and the script's updated_at
  script         text NOT NULL,
  version        timestamptz NOT NULL,
  noticed_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, script, version)
);
