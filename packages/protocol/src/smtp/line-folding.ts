/**
 * RFC 5321 §4.5.3.1.6 and RFC 5322 §2.1.1: a line of a message is at most 998 octets
 * before its CRLF. Tegami keeps a longer line as received (§4.5.3.1 asks servers not to
 * enforce limits they need not, and mailboxes serve the bytes they got), but another
 * MTA may refuse or cut it. So, as Postfix's smtp_line_length_limit does, a message is
 * folded when it is relayed, and only a message that has such a line.
 */
export const MAX_LINE_OCTETS = 998;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const CRLF = Buffer.from('\r\n');
const CRLF_SP = Buffer.from('\r\n ');

/**
 * Breaks every line longer than `limit` octets into lines of at most `limit`. A break goes
 * before the last space or tab that fits, which in a header field is exactly RFC 5322
 * §2.2.3 folding (unfolding gives the field back unchanged, so a DKIM signature with
 * relaxed header canonicalisation survives) and in a body is a line break at a word
 * boundary. A run with no space or tab to break at is cut at the limit (never inside a
 * UTF-8 sequence) and continues after CRLF and a space, as Postfix does: the least
 * damage a MIME message can take. A bare CR or LF ends a line too: the SMTP client sends
 * it as CRLF. Returns `message` itself when no line is too long.
 */
export function foldLongLines(message: Buffer, limit = MAX_LINE_OCTETS): Buffer {
  if (limit < 2) throw new RangeError('a line limit must leave room for a space and one octet');
  const parts: Buffer[] = [];
  let copiedUpTo = 0;
  // Most lines are short: jump from LF to LF, and look closer only at a long stretch.
  for (let start = 0, end = 0; start <= message.length; start = end + 1) {
    end = message.indexOf(LF, start);
    if (end < 0) end = message.length;
    const length = end - start;
    if (length <= limit || (length === limit + 1 && message[end - 1] === CR)) continue;
    // A bare CR inside the stretch ends a line too.
    for (let runStart = start, i = start; i <= end; i++) {
      if (i < end && message[i] !== CR) continue;
      if (i - runStart > limit) {
        parts.push(message.subarray(copiedUpTo, runStart), ...foldLine(message.subarray(runStart, i), limit));
        copiedUpTo = i;
      }
      runStart = i + 1;
    }
  }
  if (parts.length === 0) return message;
  parts.push(message.subarray(copiedUpTo));
  return Buffer.concat(parts);
}

function foldLine(line: Buffer, limit: number): Buffer[] {
  const out: Buffer[] = [];
  let rest = line;
  // After a cut with no whitespace to break at, the next piece starts with an added space.
  let addedSpace = false;
  for (;;) {
    const room = addedSpace ? limit - 1 : limit;
    if (rest.length <= room) {
      out.push(rest);
      return out;
    }
    // A break before whitespace at index 0 would make no progress: the piece starts there.
    let at = room;
    while (at > 0 && rest[at] !== SP && rest[at] !== HTAB) at--;
    if (at > 0) {
      out.push(rest.subarray(0, at), CRLF);
      rest = rest.subarray(at);
      addedSpace = false;
      continue;
    }
    let cut = room;
    // A UTF-8 continuation byte (10xxxxxx) would start the next piece: move back to the
    // start of its character (at most 3 octets back, and never to an empty piece).
    while (cut > Math.max(1, room - 3) && (rest[cut]! & 0xc0) === 0x80) cut--;
    out.push(rest.subarray(0, cut), CRLF_SP);
    rest = rest.subarray(cut);
    addedSpace = true;
  }
}
