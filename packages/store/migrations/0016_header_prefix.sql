-- One blob per message (issue 16 §4). A local delivery used to store Return-Path and
-- Delivered-To in front of the message as a blob of its own, so a message to 100 local
-- recipients was stored 101 times. Now each copy keeps only its own header lines here and
-- points at the blob smtp-ingress stored, byte for byte; the message a client reads is
-- header_prefix || blob (packages/store/src/message-bytes.ts), and messages.size, the
-- part offsets in messages.metadata and the search headers describe that whole.
-- APPEND and rows stored before this migration have the empty prefix: their blob is the
-- whole message, as before.
ALTER TABLE messages ADD COLUMN header_prefix bytea NOT NULL DEFAULT '';
