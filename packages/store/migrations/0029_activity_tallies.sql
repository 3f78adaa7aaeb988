-- The dashboard's counts of what leaves no row of its own (issue 20): logins per protocol and
-- outcome, and the spam filter's verdicts (a refused message is not in the queue). One row
-- per hour, kind and outcome, added to by the services' tally buffers
-- (packages/store/src/activity-tallies.ts): an upsert every few seconds per process, never a
-- write per login. Kept a few days (the maintenance run prunes them), so the table stays a
-- few thousand rows whatever the traffic.
--
-- kind and outcome are open text, not enums: a new counter is a new kind, not a migration.
-- Today: kind 'login:smtp' | 'login:pop3' | 'login:imap' | 'login:managesieve' with outcome
-- 'ok' | 'failed'; kind 'spam' with outcome 'ham' | 'spam' | 'rejected'.

CREATE TABLE activity_tallies (
  -- the start of the hour (UTC) the events fell in
  hour     timestamptz NOT NULL,
  kind     text NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
  outcome  text NOT NULL CHECK (length(outcome) BETWEEN 1 AND 64),
  count    bigint NOT NULL CHECK (count >= 0),
  PRIMARY KEY (hour, kind, outcome)
);
