-- RFC 3501 §6.3.4: DELETE of a mailbox that has inferior names removes its messages and
-- keeps the name as \Noselect, so the children stay reachable. A \Noselect mailbox cannot
-- be selected, appended or copied to; CREATE of its name makes it selectable again (its
-- UIDs continue from uidnext, so UIDVALIDITY need not change).
ALTER TABLE mailboxes ADD COLUMN noselect boolean NOT NULL DEFAULT false;
