-- The admin REST API (issue 20, packages/admin). Its bearer tokens are stored only as a
-- SHA-256 of the token: the token itself is shown once (`tegami admin token create`), and a
-- copy of the database does not let anyone call the API. A token has 256 bits of entropy,
-- so an unsalted fast hash is enough (there is nothing to guess, unlike a password).
CREATE TABLE admin_tokens (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text NOT NULL UNIQUE CHECK (name <> ''),
  scope         text NOT NULL CHECK (scope IN ('read', 'full')),
  token_sha256  bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  -- Revoked tokens stay, so the audit rows that name them keep their meaning; the name stays taken.
  revoked_at    timestamptz
);

-- Every change made through the API, and every write it refused (no token, wrong scope, bad
-- input): who (the token, by id and by name, which outlives the token row; both null when the
-- request had no valid token), what and the answer.
CREATE TABLE admin_audit (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  token_id    bigint REFERENCES admin_tokens (id) ON DELETE SET NULL,
  token_name  text,
  method      text NOT NULL,
  route       text NOT NULL,
  -- the domain, address, queue id… the request named; null when none
  target      text,
  status      integer NOT NULL,
  detail      jsonb
);
CREATE INDEX admin_audit_at ON admin_audit (at);

-- The dashboard's counts of the last 24 hours (admin-views.ts mailStats) read these by time;
-- retention's pruning of old attempts uses the first one too.
CREATE INDEX delivery_attempts_attempted_at ON delivery_attempts (attempted_at);
CREATE INDEX deliveries_finished_at ON deliveries (finished_at) WHERE status IN ('delivered', 'bounced');
