// The preview of a message (RFC 8970 PREVIEW): the start of what a reader would see first,
// as a client shows it under the subject in a message list. Taken from the first text part
// that is not an attachment (text/plain, else text/html as text), decoded from its transfer
// encoding and charset, whitespace collapsed, at most 200 characters (the RFC's limit is
// 256). Undefined when the message has no such part, as a FETCH PREVIEW answers NIL.

import type { MimePart } from './mime-part.js';
import { decodeTextPart } from './search-text.js';

export const PREVIEW_LENGTH = 200;

export function messagePreview(raw: Uint8Array, root: MimePart): string | undefined {
  const part = firstReadable(root);
  if (!part) return undefined;
  // Decoding only as much as the preview can use: QP and base64 only shrink text.
  const limited = { ...part, bodyEnd: Math.min(part.bodyEnd, part.bodyStart + PREVIEW_LENGTH * 16 + 4096) };
  const text = decodeTextPart(raw, limited)
    .replace(/[\s\u00a0]+/gu, ' ')
    .trim();
  return [...text].slice(0, PREVIEW_LENGTH).join('');
}

function firstReadable(part: MimePart): MimePart | undefined {
  if (part.disposition?.type.toLowerCase() === 'attachment') return undefined;
  if (part.children.length > 0) {
    // multipart/alternative lists the plainest first; any other multipart reads in order.
    for (const child of part.children) {
      const found = firstReadable(child);
      if (found) return found;
    }
    return undefined;
  }
  if (part.message) return undefined;
  return part.type === 'text' && (part.subtype === 'plain' || part.subtype === 'html') ? part : undefined;
}
