// A stored message as POP3 sends it (RFC 1939 §3): CRLF line ends, every line that begins
// with "." given another ".", and CRLF.CRLF after it. Stored messages normally have CRLF
// already; one with bare LF (accepted by IMAP APPEND) is sent with CRLF, and its POP3 size
// counts those CRs, so that LIST and RETR agree with what arrives.

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** Octets of the message on the wire, before byte-stuffing: bare LFs count as CRLF. */
export function pop3WireSize(raw: Uint8Array): number {
  let size = raw.length;
  for (let i = 0; i < raw.length; i++) if (raw[i] === LF && (i === 0 || raw[i - 1] !== CR)) size++;
  return size;
}

/**
 * The multi-line body of RETR/TOP: CRLF line ends, dot-stuffed, ending in CRLF.CRLF
 * (a CRLF is added first if the message does not end with one).
 */
export function dotStuffed(raw: Uint8Array): Buffer {
  const out: number[] = [];
  let lineStart = true;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i]!;
    if (lineStart && byte === DOT) out.push(DOT);
    if (byte === LF && (i === 0 || raw[i - 1] !== CR)) out.push(CR);
    out.push(byte);
    lineStart = byte === LF;
  }
  if (!lineStart) out.push(CR, LF);
  out.push(DOT, CR, LF);
  return Buffer.from(out);
}

/** TOP n m (RFC 1939 §7): the header, the blank line, and the first `lines` body lines. */
export function topOf(raw: Uint8Array, lines: number): Uint8Array {
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  // An empty header: the message starts with its blank line.
  let bodyStart = bytes[0] === LF ? 1 : bytes[0] === CR && bytes[1] === LF ? 2 : -1;
  for (let i = 0; bodyStart < 0 && i < bytes.length; i++) {
    if (bytes[i] !== LF) continue;
    const next = bytes[i + 1];
    if (next === LF) {
      bodyStart = i + 2;
      break;
    }
    if (next === CR && bytes[i + 2] === LF) {
      bodyStart = i + 3;
      break;
    }
  }
  if (bodyStart < 0) return raw;
  let end = bodyStart;
  for (let n = 0; n < lines && end < bytes.length; n++) {
    const eol = bytes.indexOf(LF, end);
    end = eol < 0 ? bytes.length : eol + 1;
  }
  return raw.subarray(0, end);
}
