-- RFC 2449 LOGIN-DELAY across every pop-gateway replica: when each account last logged in
-- over POP3. Written only when the service enforces a delay.
CREATE TABLE pop_logins (
  account_id    bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
  logged_in_at  timestamptz NOT NULL
);
