// What the messages Sieve sends (vacation replies, rejects, notifications) have in common:
// header fields that are 7-bit and folded (RFC 5322 §2.2.3, non-ASCII text as RFC 2047
// encoded words), CRLF line ends, and bodies no line of which exceeds 998 octets (RFC 5322
// §2.1.1): plain 7bit when the text allows it, quoted-printable (RFC 2045 §6.7) when not,
// so a relay without 8BITMIME passes it unchanged.

import libmime from 'libmime';

/** Script text may hold bare LF (or CR); a message has CRLF only. */
export function crlfLines(text: string): string {
  return text.replace(/\r\n|\r|\n/g, '\r\n');
}

/** Header text on one line: line breaks (a header injection) become spaces. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+[\t ]*/g, ' ');
}

const printableAscii = /^[\x20-\x7e\t]*$/;

// Text a reader would take for an encoded word (RFC 2047 §2: "=?" charset "?" encoding "?"
// text "?=") though the script meant it literally.
const encodedWordLike = /=\?[\s\S]*\?=/;

// Text a header cannot carry as it is, though it is ASCII: control characters (RFC 5322
// §3.2.5 unstructured text is VCHAR and WSP; a NUL or ESC from a decoded Subject would go out
// raw), and a word too long to fold, which would make a line past RFC 5322 §2.1.1's 998
// octets (a 1,200-character Subject without a space, copied into a vacation reply).
// Encoded words can carry both and can be split anywhere. Found by the encoded-words fuzz
// target (issue 21).
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const unwritableAscii = /[\x00-\x08\x0b-\x1f\x7f]|[^\t ]{78}/;

/**
 * Unstructured text (Subject, a display name's words): encoded words where not ASCII; ASCII
 * that looks like an encoded word is encoded as a whole (as Pigeonhole does), so a reader
 * shows it as written instead of decoding it (RFC 2047 §5 (1): such text must be encoded);
 * so is ASCII with control characters or a word too long for a line.
 */
export function encodeHeaderText(text: string): string {
  const line = oneLine(text);
  if (encodedWordLike.test(line) || unwritableAscii.test(line)) return libmime.encodeWord(line, 'Q', 52);
  return printableAscii.test(line) ? line : libmime.encodeWords(line, 'Q', 52);
}

/** `Name: value`, folded to lines of at most 76 characters where it has spaces to fold at. */
export function headerField(name: string, value: string): string {
  return libmime.foldLines(`${name}: ${oneLine(value)}`, 76);
}

// Characters that need the display name quoted (RFC 5322 §3.2.3 specials).
const specials = /[()<>[\]:;@\\,."]/;

/**
 * A mailbox for From/To: `Name <addr>` keeps its name (encoded when not ASCII, quoted
 * when it has specials); a bare address is written `<addr>`.
 */
export function formatMailbox(mailbox: string): string {
  const text = oneLine(mailbox).trim();
  const open = text.lastIndexOf('<');
  const close = text.lastIndexOf('>');
  if (open < 0 || close < open) return `<${text.replace(/^<|>$/g, '')}>`;
  const address = text.slice(open + 1, close).trim();
  let name = text.slice(0, open).trim();
  if (name.startsWith('"') && name.endsWith('"') && name.length >= 2) {
    name = name.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  if (name === '') return `<${address}>`;
  if (!printableAscii.test(name)) return `${libmime.encodeWord(name, 'Q', 52)} <${address}>`;
  if (specials.test(name)) return `"${name.replace(/(["\\])/g, '\\$1')}" <${address}>`;
  return `${name} <${address}>`;
}

/** `<id>`, whether or not the caller wrote the angle brackets. */
export function angleId(id: string): string {
  const bare = oneLine(id).trim();
  return bare.startsWith('<') ? bare : `<${bare}>`;
}

const MAX_LINE = 998;
const QP_LINE = 76;

function hex(byte: number): string {
  return `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** RFC 2045 §6.7 quoted-printable of text whose lines end in CRLF. */
export function quotedPrintable(text: string): string {
  return text
    .split('\r\n')
    .map((line) => {
      const bytes = Buffer.from(line, 'utf8');
      const out: string[] = [];
      let current = '';
      for (let i = 0; i < bytes.length; i++) {
        const byte = bytes[i]!;
        const last = i === bytes.length - 1;
        // Rule 3: a space or tab at the end of a line would be lost, so it is encoded.
        const literal =
          (byte >= 0x21 && byte <= 0x7e && byte !== 0x3d) || ((byte === 0x20 || byte === 0x09) && !last);
        const piece = literal ? String.fromCharCode(byte) : hex(byte);
        // Rule 5: lines of at most 76 characters, a soft break "=" counted.
        if (current.length + piece.length > QP_LINE - 1) {
          out.push(`${current}=`);
          current = '';
        }
        current += piece;
      }
      out.push(current);
      return out.join('\r\n');
    })
    .join('\r\n');
}

/**
 * A text/plain UTF-8 body: its content header fields and the body itself (CRLF, ending
 * in CRLF). 7bit when ASCII with short lines, else quoted-printable.
 */
export function textBody(text: string): { headers: string[]; body: string } {
  let body = crlfLines(text);
  if (!body.endsWith('\r\n')) body += '\r\n';
  const lines = body.split('\r\n');
  const sevenBit =
    printableAscii.test(body.replaceAll('\r\n', '')) && lines.every((line) => line.length <= MAX_LINE);
  if (sevenBit) {
    return {
      headers: ['Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 7bit'],
      body,
    };
  }
  return {
    headers: ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable'],
    body: quotedPrintable(body.slice(0, -2)) + '\r\n',
  };
}

/** Header lines and a body (CRLF already) as the message's bytes. */
export function assembleMessage(headers: readonly string[], body: string | Buffer): Buffer {
  const head = Buffer.from(`${headers.join('\r\n')}\r\n\r\n`, 'utf8');
  return Buffer.concat([head, typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
}
