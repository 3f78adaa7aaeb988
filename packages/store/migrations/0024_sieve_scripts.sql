-- Sieve (RFC 5228, issue 19): each user's scripts as ManageSieve (RFC 5804) and `tegami sieve`
-- keep them, and the one of them that runs at delivery. A script is stored as uploaded (the
-- text a GETSCRIPT returns byte for byte); it was compiled once when it was put, and the
-- delivery-worker compiles it again (and caches it) when it runs it. Names are what the
-- user gave, compared exactly: RFC 5804 §1.6 leaves case to the server, and exact keeps
-- GETSCRIPT, RENAMESCRIPT and `include :personal` (RFC 6609) in agreement.
--
-- At most one script of an account is active (§2.8 SETACTIVE): the partial unique index
-- holds that under concurrent SETACTIVEs from two sessions, and `active` is flipped in one
-- statement so the switch never passes through two active scripts or, needlessly, none.
CREATE TABLE sieve_scripts (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  name        text NOT NULL CHECK (name <> '' AND length(name) <= 512),
  content     text NOT NULL,
  active      boolean NOT NULL DEFAULT false,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, name)
);
CREATE UNIQUE INDEX sieve_scripts_one_active ON sieve_scripts (account_id) WHERE active;
-- The administrator's scripts: `include :global` (RFC 6609) and the per-domain script run before each user's.
CREATE TABLE sieve_global_scripts (
  name        text PRIMARY KEY CHECK (name <> '' AND length(name) <= 512),
  content     text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- The global script (by name) every recipient in the domain runs before their own; NULL: none.
ALTER TABLE domains ADD COLUMN sieve_before text NULL;
