-- Quota as counters: what an account stores (bytes and messages in all its mailboxes),
-- kept exact in the same transaction as every change, so a quota check (delivery, APPEND,
-- COPY) and `tegami user list` read one row instead of summing every message.
--
-- Why triggers and not updates in packages/store/src/messages.ts: messages leave by more
-- doors than the messages module (a mailbox DELETE, `tegami user remove` and `domain
-- remove` cascading, the lifecycle sweeps to come); a counter kept by the code is right
-- only as long as every one of them remembers it, a trigger cannot be forgotten. Why
-- statement-level with transition tables: a COPY of 1000 messages or an EXPUNGE of 1000
-- updates the account's row once, not 1000 times (no per-row lock storm, no 1000 dead
-- tuples). The row lock it takes lasts to commit, after the mailbox row's (every writer
-- takes the mailbox first, then this one), so concurrent writers to one account queue
-- briefly here and the sums stay exact.
--
-- Per-mailbox counters are not kept: STATUS needs UNSEEN and RECENT, which are a scan of
-- the one mailbox anyway, and a second UPDATE of the hot mailbox row per delivery would
-- cost more than it saves.

CREATE TABLE account_usage (
  account_id  bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
  bytes       bigint NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  messages    bigint NOT NULL DEFAULT 0 CHECK (messages >= 0)
);

-- Every account has its row from the moment it exists, so the counters are only ever
-- UPDATEd (an upsert from the messages trigger would re-create the row of an account being
-- removed in the same transaction).
CREATE FUNCTION account_usage_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO account_usage (account_id) VALUES (NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER accounts_open_usage AFTER INSERT ON accounts
  FOR EACH ROW EXECUTE FUNCTION account_usage_open();

-- An account being removed in this transaction (its row already gone, its mailboxes and
-- counters going by cascade) has no counters left to keep: touching its usage row twice
-- in one transaction would make Postgres check the row's foreign key again, and fail.
CREATE FUNCTION account_usage_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE account_usage u SET bytes = u.bytes + d.bytes, messages = u.messages + d.messages
    FROM (SELECT b.account_id, sum(n.size) AS bytes, count(*) AS messages
            FROM added n JOIN mailboxes b ON b.id = n.mailbox_id GROUP BY b.account_id) d
   WHERE u.account_id = d.account_id
     AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = d.account_id);
  RETURN NULL;
END $$;
CREATE TRIGGER messages_count_added AFTER INSERT ON messages
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION account_usage_add();

CREATE FUNCTION account_usage_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE account_usage u SET bytes = u.bytes - d.bytes, messages = u.messages - d.messages
    FROM (SELECT b.account_id, sum(o.size) AS bytes, count(*) AS messages
            FROM removed o JOIN mailboxes b ON b.id = o.mailbox_id GROUP BY b.account_id) d
   WHERE u.account_id = d.account_id
     AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = d.account_id);
  RETURN NULL;
END $$;
CREATE TRIGGER messages_count_removed AFTER DELETE ON messages
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION account_usage_remove();

-- The removal trigger finds a message's account through its mailbox. A mailbox deleted
-- with its messages still in it (IMAP DELETE, an account or domain removed) would be gone
-- before ON DELETE CASCADE reaches the messages, so its messages go first, here, while
-- the mailbox row is still there to count them against.
CREATE FUNCTION mailbox_empty_before_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM messages WHERE mailbox_id = OLD.id;
  RETURN OLD;
END $$;
CREATE TRIGGER mailboxes_empty_first BEFORE DELETE ON mailboxes
  FOR EACH ROW EXECUTE FUNCTION mailbox_empty_before_delete();

-- A stored message never changes mailbox or size (MOVE is a copy and an expunge, RFC
-- 6851 §3.3), so the counters need no UPDATE trigger, and a flag change (STORE, the most
-- frequent write) pays nothing for them. A change that would slip past them is refused.
CREATE FUNCTION messages_refuse_resize() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a stored message keeps its mailbox and size (account_usage counts them)';
END $$;
CREATE TRIGGER messages_fixed_size BEFORE UPDATE OF mailbox_id, size ON messages
  FOR EACH ROW WHEN (OLD.mailbox_id IS DISTINCT FROM NEW.mailbox_id OR OLD.size IS DISTINCT FROM NEW.size)
  EXECUTE FUNCTION messages_refuse_resize();

CREATE FUNCTION account_usage_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE account_usage SET bytes = 0, messages = 0 WHERE bytes <> 0 OR messages <> 0;
  RETURN NULL;
END $$;
CREATE TRIGGER messages_truncated AFTER TRUNCATE ON messages
  FOR EACH STATEMENT EXECUTE FUNCTION account_usage_truncate();

-- The backfill comes after the triggers: creating them locked accounts and messages
-- against writers until this migration commits, so no message can be added or removed
-- between the sums below and the first counted change.
INSERT INTO account_usage (account_id, bytes, messages)
SELECT a.id, COALESCE(sum(m.size), 0), count(m.uid)
  FROM accounts a
  LEFT JOIN mailboxes b ON b.account_id = a.id
  LEFT JOIN messages m ON m.mailbox_id = b.id
 GROUP BY a.id;
