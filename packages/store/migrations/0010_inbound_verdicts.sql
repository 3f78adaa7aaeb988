-- Mail authentication and spam filtering at the end of DATA (issue 14). What the checks
-- decided travels with the message: `junk` files it into each recipient's \Junk mailbox
-- instead of INBOX; `verdict` keeps SPF/DKIM/DMARC/ARC results and the spam score for
-- `tegami trace` (the same results are in the stored Authentication-Results field).
ALTER TABLE queue ADD COLUMN junk boolean NOT NULL DEFAULT false;
ALTER TABLE queue ADD COLUMN verdict jsonb;
