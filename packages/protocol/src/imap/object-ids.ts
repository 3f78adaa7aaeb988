// OBJECTID (RFC 8474): the identifiers a client may cache across RENAME, COPY and MOVE.
// Both are derived from what the store keeps anyway, so no identifier is stored twice:
//
// - EMAILID from the message's content key: the SHA-256 of its blob (the bytes COPY and
//   MOVE share, never copy), or, when the copy has header lines of its own before the blob
//   (local delivery's per-recipient prefix), the SHA-256 of the blob's hash and that prefix.
//   Equal keys mean equal bytes, which is what §5.1 asks of messages sharing an EMAILID.
// - MAILBOXID from the mailbox row's id, which a sequence gives and never gives again
//   (§4.1: never reused for another mailbox; RENAME keeps the row, so the id survives it).
//
// Every objectid is 1*255(ALPHA / DIGIT / "_" / "-") (RFC 8474 §3); each starts with a
// letter saying what it names (M, F), as RFC 8474's examples and JMAP's ids do.

/** RFC 8474 §3 objectid. */
const OBJECT_ID = /^[A-Za-z0-9_-]{1,255}$/;

export function isObjectId(text: string): boolean {
  return OBJECT_ID.test(text);
}

/** The EMAILID of a message whose content key (32 bytes of SHA-256) is `key`. */
export function emailIdOf(key: Uint8Array): string {
  return `M${Buffer.from(key).toString('base64url')}`;
}

/** The content key an EMAILID names; undefined when no message of this server could have it. */
export function emailKeyOf(emailId: string): Buffer | undefined {
  if (!/^M[A-Za-z0-9_-]{43}$/.test(emailId)) return undefined;
  const key = Buffer.from(emailId.slice(1), 'base64url');
  // 43 characters carry 258 bits: the last two must be zero for the id to be one we made.
  return key.length === 32 && emailIdOf(key) === emailId ? key : undefined;
}

/** The MAILBOXID of the mailbox whose store id is `id` (a positive integer). */
export function mailboxIdOf(id: string | number): string {
  return `F${id}`;
}
