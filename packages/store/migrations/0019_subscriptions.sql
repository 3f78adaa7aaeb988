-- Subscriptions are a list of names, not a property of mailboxes (issue 18). RFC 3501
-- §6.3.6 and §6.3.9: the server "MUST NOT unilaterally remove an existing mailbox name from
-- the subscription list even if a mailbox by that name no longer exists", so a mailbox
-- deleted while subscribed stays on the list (LSUB shows it; LIST (SUBSCRIBED) shows it as
-- \NonExistent, RFC 5258 §3.4) until the client unsubscribes it, and a mailbox created again
-- under that name is subscribed again. CREATE subscribes (as the column's default did);
-- RENAME takes the subscriptions along.
--
-- mailboxes.subscribed is copied here and no longer read or written. It stays for one
-- release, so that gateways of the previous release still answer during a rolling upgrade
-- (their subscription changes are not carried over); a later migration drops it.
CREATE TABLE subscriptions (
  account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  name        text NOT NULL CHECK (name <> '' AND name !~ '(^/|/$|//)'),
  PRIMARY KEY (account_id, name)
);

INSERT INTO subscriptions (account_id, name)
SELECT account_id, name FROM mailboxes WHERE subscribed;
