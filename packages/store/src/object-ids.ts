// OBJECTID (RFC 8474) and SAVEDATE (RFC 8514) as SQL over `messages m`: read from columns
// every message row has already, so neither costs a column of its own or a write.

/**
 * A message's content key, from which its EMAILID is made (packages/protocol object-ids.ts):
 * its blob's SHA-256, which COPY and MOVE carry over, or, when the copy serves header lines
 * of its own before the blob (local delivery's per-recipient prefix), the SHA-256 of the
 * blob's hash and that prefix, so two copies share an EMAILID only when their bytes agree.
 */
export const EMAIL_KEY_SQL =
  "CASE WHEN m.header_prefix = ''::bytea THEN m.blob_sha256 ELSE sha256(m.blob_sha256 || m.header_prefix) END";

/**
 * When the message was saved into its mailbox: the row's created_at, which every insert
 * (delivery, APPEND, COPY, MOVE) leaves to its default, now(), and none copies over
 * (messages.ts insertMessagesSql; migration 0021).
 */
export const SAVED_AT_SQL = 'm.created_at';
