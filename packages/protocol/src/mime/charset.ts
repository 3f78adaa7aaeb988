// Charset conversion for MIME bodies and RFC 2231 parameters.
//
// Node 20 ships full ICU, so the WHATWG TextDecoder knows every charset that
// real mail uses (ISO-2022-JP, Shift_JIS, EUC-JP, GB18030, Big5, ISO-8859-x,
// windows-125x, KOI8-R, UTF-16...). It never throws on malformed input
// (fatal: false replaces bad sequences with U+FFFD), which is what a parser
// that must accept any stored message needs.

import { TextDecoder } from 'node:util';

const decoderCache = new Map<string, TextDecoder | null>();

// Names seen in the wild that are not WHATWG labels but mean one that is.
const charsetAliases: Record<string, string> = {
  cp932: 'shift_jis',
  'x-ms-cp932': 'shift_jis',
  'shift-jisx0213': 'shift_jis',
  'iso-2022-jp-1': 'iso-2022-jp',
  'iso-2022-jp-2': 'iso-2022-jp',
  'iso-2022-jp-3': 'iso-2022-jp',
  'x-euc-jp': 'euc-jp',
  'euc-jisx0213': 'euc-jp',
  ks_c_5601: 'euc-kr',
  cp949: 'euc-kr',
  cp936: 'gbk',
  'x-gbk': 'gbk',
  cp1252: 'windows-1252',
  latin1: 'windows-1252',
  'iso8859-1': 'windows-1252',
};

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');
// windows-1252 maps every byte to a character, so it is the last resort that never loses a byte.
const anyByte = new TextDecoder('windows-1252');

function decoderFor(charset: string): TextDecoder | null {
  const label = charset.trim().toLowerCase();
  const cached = decoderCache.get(label);
  if (cached !== undefined) return cached;
  let decoder: TextDecoder | null = null;
  try {
    decoder = new TextDecoder(charsetAliases[label] ?? label);
  } catch {
    decoder = null; // unknown charset: decodeCharset falls back
  }
  if (decoderCache.size < 256) decoderCache.set(label, decoder);
  return decoder;
}

/** Whether decodeCharset knows the charset (rather than falling back for it). */
export function knownCharset(charset: string): boolean {
  const label = charset.trim().toLowerCase();
  return ['utf-8', 'utf8', 'us-ascii', 'ascii'].includes(label) || decoderFor(label) !== null;
}

/** True when the bytes are well-formed UTF-8 (pure ASCII included). */
export function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Bytes whose charset nobody declared (RFC 6532 raw header values, bodies
 * labelled unknown-8bit): UTF-8 when they are valid UTF-8, else
 * windows-1252, so no byte is ever silently dropped.
 */
export function decodeUndeclared(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return fixWindows1252(anyByte.decode(bytes));
  }
}

/**
 * Decodes bytes in the named charset to a JS string. Unknown or missing
 * charsets fall back to decodeUndeclared; this never throws.
 */
export function decodeCharset(bytes: Uint8Array, charset: string | null | undefined): string {
  if (!charset) return decodeUndeclared(bytes);
  const label = charset.trim().toLowerCase();
  // us-ascii is often a lie (8-bit UTF-8 bodies labelled us-ascii): accept UTF-8 when it is valid.
  if (label === 'us-ascii' || label === 'ascii' || label === 'unknown-8bit' || label === 'x-unknown') {
    return decodeUndeclared(bytes);
  }
  if (label === 'utf-8' || label === 'utf8') return lenientUtf8.decode(bytes);
  const decoder = decoderFor(label);
  if (!decoder) return decodeUndeclared(bytes);
  const text = decoder.decode(bytes);
  return decoder.encoding === 'windows-1252' ? fixWindows1252(text) : text;
}

// Node 20.18.3 and later decode bytes 0x80–0x9F of windows-1252 (and of every label WHATWG
// maps to it: iso-8859-1, us-ascii, latin1) as the C1 controls U+0080–U+009F instead of
// € ‚ ƒ „ … (nodejs/node#56542, #60888), so "€" in a windows-1252 body could not be
// searched. The table restores the WHATWG mapping; the five undefined bytes stay as they are.
const WINDOWS_1252_C1 =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

function fixWindows1252(text: string): string {
  return /[\u0080-\u009f]/.test(text)
    ? text.replace(/[\u0080-\u009f]/g, (c) => WINDOWS_1252_C1[c.charCodeAt(0) - 0x80]!)
    : text;
}
