-- The per-account login failure delay, shared by every replica of smtp-ingress, pop-gateway
-- and imap-gateway (packages/store/src/login-throttle.ts has the policy).
--
-- Both tables are keyed by a SHA-256 of the login name as the client gave it (canonicalised),
-- whether or not an account has that name: an unknown name is slowed down exactly like a
-- real one, so the delay does not tell which accounts exist, and nothing a client typed
-- (often a password in the user field) is kept in clear.

-- One row per login name tried lately from an address not known for it. Attempts count
-- when they are let through (before the answer) and a successful one takes itself back, so
-- parallel guesses queue behind not_before instead of all going through at once.
CREATE TABLE login_failures (
  name_key         bytea PRIMARY KEY,
  failures         integer NOT NULL,
  last_failure_at  timestamptz NOT NULL,
  -- The next attempt from an unknown address is answered no sooner than this.
  not_before       timestamptz NOT NULL
);
CREATE INDEX login_failures_last_failure_at ON login_failures (last_failure_at);

-- Where each name logged in successfully lately (an IPv4 address or an IPv6 /64): attempts
-- from there are answered at once, so an attacker elsewhere cannot lock the owner out.
-- A few per name, the most recent kept.
CREATE TABLE login_known_addresses (
  name_key         bytea NOT NULL,
  address          text NOT NULL,
  last_success_at  timestamptz NOT NULL,
  PRIMARY KEY (name_key, address)
);
CREATE INDEX login_known_addresses_last_success_at ON login_known_addresses (last_success_at);
