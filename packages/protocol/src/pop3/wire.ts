// A stored message as POP3 sends it (RFC 1939 §3): CRLF line ends, every line that begins
// with "." given another ".", and CRLF.CRLF after it. Stored messages normally have CRLF
// already; one with bare LF (accepted by IMAP APPEND) is sent with CRLF, and its POP3 size
// counts those CRs, so that LIST and RETR agree with what arrives.

import { crlfSize } from '../mime/crlf-size.js';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** Octets of the message on the wire, before byte-stuffing: bare LFs count as CRLF. */
export const pop3WireSize: (raw: Uint8Array) => number = crlfSize;

/** Output chunks of about this size: a large message never becomes one giant copy. */
const CHUNK_BYTES = 64 * 1024;
const STUFFED_DOT = Buffer.from('.');
const CR_BYTE = Buffer.from('\r');
const CRLF = Buffer.from('\r\n');
const TERMINATOR = Buffer.from('.\r\n');

/**
 * The multi-line body of RETR/TOP as chunks of at most about 2 × `chunkBytes`: CRLF line
 * ends, dot-stuffed, ending in CRLF.CRLF (a CRLF is added first if the message does not end
 * with one). Runs of the message that need no change are copied once, into the chunk.
 */
export function* dotStuffedChunks(raw: Uint8Array, chunkBytes = CHUNK_BYTES): Generator<Uint8Array> {
  let pieces: Uint8Array[] = [];
  let pending = 0;
  const push = (piece: Uint8Array) => {
    if (piece.length === 0) return;
    pieces.push(piece);
    pending += piece.length;
  };
  const take = (): Buffer => {
    const chunk = Buffer.concat(pieces, pending);
    pieces = [];
    pending = 0;
    return chunk;
  };
  let lineStart = true;
  // Line ends are found with indexOf (native) rather than byte by byte in JS: RETR of a
  // 10 KB message was mostly this loop. The next LF found is remembered across windows, so
  // a long line is searched once, not once per window.
  let nextLf = -1;
  for (let window = 0; window < raw.length; window += chunkBytes) {
    const end = Math.min(window + chunkBytes, raw.length);
    let verbatim = window;
    let i = window;
    while (i < end) {
      if (lineStart && raw[i] === DOT) {
        push(raw.subarray(verbatim, i));
        push(STUFFED_DOT);
        verbatim = i;
      }
      if (nextLf < i) {
        nextLf = raw.indexOf(LF, i);
        if (nextLf < 0) nextLf = raw.length;
      }
      if (nextLf >= end) {
        lineStart = false;
        break;
      }
      if (nextLf === 0 || raw[nextLf - 1] !== CR) {
        push(raw.subarray(verbatim, nextLf));
        push(CR_BYTE);
        verbatim = nextLf;
      }
      lineStart = true;
      i = nextLf + 1;
    }
    push(raw.subarray(verbatim, end));
    if (pending >= chunkBytes) yield take();
  }
  if (!lineStart) push(CRLF);
  push(TERMINATOR);
  yield take();
}

/** The whole multi-line body at once (dotStuffedChunks joined): for small bodies and tests. */
export function dotStuffed(raw: Uint8Array): Buffer {
  return Buffer.concat([...dotStuffedChunks(raw)]);
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
