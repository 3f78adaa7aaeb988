/**
 * SASLprep (RFC 4013) for passwords, as SCRAM requires (RFC 5802 §2.2): non-ASCII spaces
 * map to SPACE, "commonly mapped to nothing" characters are dropped, the result is NFKC,
 * and prohibited code points (controls, private use, surrogates, non-characters) are refused.
 * Unassigned code points are let through (the "stored strings" rule does not apply to a
 * password being set in a single system that also verifies it).
 */
export function saslprep(input: string): string {
  const mapped = input.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '').normalize('NFKC');
  for (const char of mapped) {
    const cp = char.codePointAt(0)!;
    if (isProhibited(cp)) {
      throw new SaslprepError(`prohibited character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`);
    }
  }
  return mapped;
}

export class SaslprepError extends Error {}

// RFC 3454 C.1.2
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;
// RFC 3454 B.1 (the variation selectors are listed on purpose, hence the lint exception)
// biome-ignore lint/suspicious/noMisleadingCharacterClass: each code point is matched on its own
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;

function isProhibited(cp: number): boolean {
  return (
    cp < 0x20 ||
    cp === 0x7f ||
    (cp >= 0x80 && cp <= 0x9f) || // C.2 control characters
    (cp >= 0xe000 && cp <= 0xf8ff) ||
    (cp >= 0xf0000 && cp <= 0xffffd) ||
    (cp >= 0x100000 && cp <= 0x10fffd) || // C.3 private use
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe || // C.4 non-characters
    (cp >= 0xd800 && cp <= 0xdfff) || // C.5 surrogates
    (cp >= 0x2ff0 && cp <= 0x2ffb) || // C.7 ideographic description
    (cp >= 0x200e && cp <= 0x200f) ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x206a && cp <= 0x206f) || // C.8 change display properties
    (cp >= 0xe0001 && cp <= 0xe007f) // C.9 tagging
  );
}
