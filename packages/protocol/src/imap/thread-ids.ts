// THREADID (RFC 8474 §5.2): one id for the messages of a thread, stable across COPY, MOVE
// and RENAME because it is derived from the message itself, never stored.
//
// A thread is named by its root's Message-ID: a reply's References begins with the root
// (RFC 5322 §3.6.4: a reply's References is its parent's References followed by the
// parent's Message-ID, so the first is the first message's), a reply with only In-Reply-To
// names its parent (the root for a direct reply), and a message with neither is a root and
// names itself. A message with no msg-id at all is a thread of its own, named by its
// EMAILID, which its copies share. Clients that cut References keep the first entry (RFC
// 5322 advises it), so the name survives long threads; a reply whose client sent only
// In-Reply-To to a reply starts a thread id of its own, which §5.2 permits (the server
// decides what a thread is).

import { createHash } from 'node:crypto';
import type { Envelope } from '../mime/envelope.js';
import { firstField, parseHeaderFields } from '../mime/header-parser.js';
import type { StoredMetadata } from './session-types.js';
import { messageIdsIn } from './thread-references.js';

/** The References field of a message from its top-level header's bytes (to root.bodyStart or more). */
export function referencesField(header: Buffer, metadata: StoredMetadata): string | null {
  const end = Math.min(header.length, metadata.root.bodyStart);
  return firstField(parseHeaderFields(header, metadata.root.headerStart, end), 'References')?.value ?? null;
}

export function threadIdOf(envelope: Envelope, references: string | null, emailId: string): string {
  const root =
    messageIdsIn(references)[0] ?? messageIdsIn(envelope.inReplyTo)[0] ?? messageIdsIn(envelope.messageId)[0];
  // 27 base64url characters: 160 bits of SHA-256, an objectid (RFC 8474 §3) with room to spare.
  return `T${createHash('sha256')
    .update(root ?? emailId)
    .digest('base64url')
    .slice(0, 27)}`;
}
