// A Sieve script is UTF-8 (RFC 5228 §2.2, "the script is in UTF-8"); invalid sequences
// and NUL are refused with the place they occur, as Pigeonhole does, rather than turned
// into U+FFFD that would then match nothing. A leading byte order mark (Windows editors
// write one) is dropped.

import { SieveError, type SourcePosition } from './types.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    let length: number;
    let min: number;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
      min = 0x80;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      min = 0x800;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      min = 0x10000;
    } else {
      return i;
    }
    let code = lead & (0xff >> (length + 1));
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return i;
      code = (code << 6) | (next & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are invalid too.
    if (code < min || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return i;
    i += length;
  }
  return -1;
}

function positionOfByte(bytes: Uint8Array, offset: number): SourcePosition {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  const before = strictUtf8.decode(bytes.subarray(lineStart, offset));
  return { line, column: [...before].length + 1 };
}

/** Decodes a script's bytes; SieveError on invalid UTF-8 or a NUL byte. */
export function decodeSieveSource(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  if (nul < 0) {
    try {
      return strictUtf8.decode(bytes);
    } catch {
      // Invalid somewhere: find where, below.
    }
  }
  // Whichever comes first is reported: the text before it is valid, so it has a position.
  const invalid = firstInvalidUtf8(nul < 0 ? bytes : bytes.subarray(0, nul));
  if (invalid >= 0) {
    throw new SieveError('invalid UTF-8 in the script', positionOfByte(bytes, invalid));
  }
  if (nul >= 0) throw new SieveError('NUL character in the script', positionOfByte(bytes, nul));
  return strictUtf8.decode(bytes);
}
