// Content-Transfer-Encoding decoding (RFC 2045 §6) for IMAP BINARY (RFC 3516),
// BINARY.SIZE and the search text. Real mail has broken base64 and sloppy
// quoted-printable; decoding must be tolerant and must never throw.

const base64Values = new Int16Array(256).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) {
  base64Values[c.charCodeAt(0)] = i;
}

/** The effective encoding name: lower-cased, 7bit when absent (RFC 2045 §6.1). */
export function normaliseTransferEncoding(encoding: string | null | undefined): string {
  return encoding ? encoding.trim().toLowerCase() : '7bit';
}

/**
 * Base64 that skips every byte outside the alphabet (line breaks, junk,
 * padding) instead of failing: a message is stored whatever it contains, and a
 * client asking for BINARY still gets the decodable bytes.
 */
export function decodeBase64Tolerant(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.floor((bytes.length * 3) / 4) + 3);
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (const byte of bytes) {
    const v = base64Values[byte]!;
    if (v < 0) continue;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, n);
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

function isWsp(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09;
}

/**
 * Quoted-printable (RFC 2045 §6.7): "=XX" escapes, "=" at line end is a soft
 * break, trailing whitespace on a line is transport padding. A "=" that
 * starts neither is kept as it is, as the RFC advises for robustness.
 */
export function decodeQuotedPrintable(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  let n = 0;
  let i = 0;
  while (i < bytes.length) {
    const byte = bytes[i]!;
    if (byte === 0x3d) {
      const hi = hexValue(bytes[i + 1] ?? -1);
      const lo = hexValue(bytes[i + 2] ?? -1);
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 3;
        continue;
      }
      // soft line break, possibly with padding between "=" and the line end
      let j = i + 1;
      while (isWsp(bytes[j])) j++;
      if (bytes[j] === 0x0a) {
        i = j + 1;
        continue;
      }
      if (bytes[j] === 0x0d && bytes[j + 1] === 0x0a) {
        i = j + 2;
        continue;
      }
      if (j === bytes.length) break;
      out[n++] = byte;
      i++;
      continue;
    }
    if (isWsp(byte)) {
      // drop whitespace that only pads the end of a line
      let j = i;
      while (isWsp(bytes[j])) j++;
      if (j === bytes.length || bytes[j] === 0x0a || (bytes[j] === 0x0d && bytes[j + 1] === 0x0a)) {
        i = j;
        continue;
      }
    }
    out[n++] = byte;
    i++;
  }
  return out.subarray(0, n);
}

/**
 * Decodes a body by its Content-Transfer-Encoding. 7bit, 8bit, binary and
 * unknown encodings pass through unchanged (the same bytes, not a copy).
 */
export function decodeTransferEncoding(bytes: Uint8Array, encoding: string | null | undefined): Uint8Array {
  switch (normaliseTransferEncoding(encoding)) {
    case 'base64':
      return decodeBase64Tolerant(bytes);
    case 'quoted-printable':
      return decodeQuotedPrintable(bytes);
    default:
      return bytes;
  }
}

/** Size of the decoded body, for FETCH BINARY.SIZE, without keeping the decoded copy. */
export function decodedSize(bytes: Uint8Array, encoding: string | null | undefined): number {
  const name = normaliseTransferEncoding(encoding);
  if (name === 'base64') {
    let chars = 0;
    for (const byte of bytes) if (base64Values[byte]! >= 0) chars++;
    return Math.floor((chars * 6) / 8);
  }
  if (name === 'quoted-printable') return decodeQuotedPrintable(bytes).length;
  return bytes.length;
}
