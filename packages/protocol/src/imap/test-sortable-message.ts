// Messages for the SORT and THREAD unit tests: header lines in, what the commands hand the
// algorithms out (the ENVELOPE as the store keeps it, the References field as written).

import { describeMessage } from '../mime/describe-message.js';
import { firstField, parseHeaderFields } from '../mime/header-parser.js';
import type { ThreadableMessage } from './thread-references.js';

/** Message `seq` (UID seq * 10) with these header lines, arrived at `internalDate`. */
export function sortableMessage(
  seq: number,
  headerLines: readonly string[],
  internalDate = '2026-01-01T00:00:00Z',
  body = 'body',
): ThreadableMessage {
  const raw = Buffer.from(`${headerLines.join('\r\n')}\r\n\r\n${body}\r\n`);
  const { metadata } = describeMessage(raw);
  const fields = parseHeaderFields(raw, 0, metadata.root.bodyStart);
  return {
    seq,
    uid: seq * 10,
    internalDate: new Date(internalDate),
    size: raw.length,
    envelope: metadata.envelope,
    references: firstField(fields, 'References')?.value ?? null,
  };
}
