import { fieldName, findHeaderEnd, splitFields } from './header-fields.js';

/**
 * What a submission server fixes in a message from a user's client (RFC 6409 §8): adds
 * `Date` and `Message-ID` when missing (§8.2, §8.3) and removes `Bcc` (RFC 5322 §3.6.3:
 * blind recipients must not see each other; many clients leave it in).
 */
export function fixSubmittedHeaders(raw: Buffer, opts: { messageId: string; date: string }): Buffer {
  const headerEnd = findHeaderEnd(raw);
  const header = raw.subarray(0, headerEnd).toString('latin1');
  const fields = splitFields(header);
  const kept = fields.filter((field) => fieldName(field) !== 'bcc');
  const names = new Set(kept.map(fieldName));
  const added: string[] = [];
  if (!names.has('date')) added.push(`Date: ${opts.date}\r\n`);
  if (!names.has('message-id')) added.push(`Message-ID: ${opts.messageId}\r\n`);
  if (added.length === 0 && kept.length === fields.length) return raw;
  const rebuilt = kept.join('') + added.join('');
  return Buffer.concat([Buffer.from(rebuilt, 'latin1'), raw.subarray(headerEnd)]);
}

/** The Message-ID field of a message, if it has one (for `tegami trace`). */
export function findMessageId(raw: Buffer): string | undefined {
  const header = raw.subarray(0, findHeaderEnd(raw)).toString('latin1');
  const field = splitFields(header).find((f) => fieldName(f) === 'message-id');
  return (
    field
      ?.slice(field.indexOf(':') + 1)
      .replace(/\s+/g, ' ')
      .trim() || undefined
  );
}
