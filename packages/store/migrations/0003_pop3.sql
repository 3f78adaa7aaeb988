-- POP3: the exclusive maildrop lock (RFC 1939 §8) across every pop-gateway replica, and
-- POP-before-SMTP grants.

-- One row while a POP3 session holds the account's maildrop. The holder renews it while
-- the session lives and deletes it when the session ends; if its process dies, the lease
-- runs out and the next login may take it.
CREATE TABLE maildrop_locks (
  account_id  bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
  holder      text NOT NULL,
  expires_at  timestamptz NOT NULL
);

-- A client address that logged in over POP3 may relay through smtp-ingress until
-- expires_at (POP-before-SMTP, off unless configured).
CREATE TABLE pop_before_smtp (
  client_address  inet PRIMARY KEY,
  expires_at      timestamptz NOT NULL
);
