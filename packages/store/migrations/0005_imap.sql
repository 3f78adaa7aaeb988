-- IMAP \Recent (RFC 3501 §2.3.2): a message is recent in exactly one session, the first
-- to open its mailbox read-write after it arrived. Messages with uid >= recent_uid have
-- not been claimed by any session yet; a session claims them by moving recent_uid to
-- uidnext.
ALTER TABLE mailboxes ADD COLUMN recent_uid bigint NOT NULL DEFAULT 1;
