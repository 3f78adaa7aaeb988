-- SAVEDATE (RFC 8514): when a message was saved into its mailbox. That is messages.created_at,
-- which every path that saves a message (local delivery, IMAP APPEND, COPY and MOVE, which
-- insert a new row each) leaves to its default, now(), and which none copies from another
-- row (packages/store messages.ts insertMessagesSql). So no new column, and no rewrite of
-- every message row to fill one: the meaning is recorded here, where a later change to the
-- column would have to read it. Every row has one (NOT NULL), so FETCH SAVEDATE is never NIL.
COMMENT ON COLUMN messages.created_at IS
  'SAVEDATE (RFC 8514): when the message was saved into this mailbox. Set by default (now()) on every insert; never copied from another row.';
