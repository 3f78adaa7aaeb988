// Values of the RFC 9051 §9 grammar as command arguments: strings and numbers, checked
// here so that every value a command hands on is one the store can hold. A value out of
// its range is the client's error (tagged BAD), never a store error answered with
// SERVERBUG: Postgres refuses NUL in text, invalid UTF-8 and integers past bigint, and a
// JS number loses precision past 2^53.

import type { ImapToken } from './command-reader.js';

/** A command argument that is not what the grammar allows there: answered with BAD. */
export class ImapSyntaxError extends Error {}

/** RFC 9051 §9 `number`: an unsigned 32-bit integer. */
export const MAX_NUMBER = 4_294_967_295;
/** RFC 9051 §9 `number64` and RFC 7162 `mod-sequence-value`: 0 ≤ n < 2^63. */
export const MAX_NUMBER64 = 9_223_372_036_854_775_807n;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Octets as UTF-8 text, or undefined when they are not valid UTF-8 (overlong forms, surrogates, …). */
export function strictUtf8(octets: Uint8Array): string | undefined {
  try {
    return utf8.decode(octets);
  } catch {
    return undefined;
  }
}

type Checked = { readonly text: string } | { readonly problem: string };

/**
 * An `astring` argument, checked. A string holds no NUL (CHAR8 is %x01-ff), is not a
 * literal8 (RFC 3516 allows `~{n}` only for APPEND's message data) and is valid UTF-8.
 *
 * An atom is 7-bit by the grammar (ASTRING-CHAR), but python's imaplib sends a UTF-8
 * search string as an atom (`M.search('UTF-8', 'TEXT', word)`), so 8-bit atoms are taken
 * as UTF-8 where Dovecot answers BAD. The command reader has decoded the atom already, so
 * invalid UTF-8 shows as U+FFFD: refused, as in a string.
 */
export function checkAstring(token: ImapToken | undefined, what: string): Checked {
  if (!token || token.type === 'list') return { problem: `${what} expected` };
  if (token.type === 'atom') {
    return token.value.includes('\ufffd') ? { problem: 'invalid UTF-8 in an atom' } : { text: token.value };
  }
  if (token.binary) return { problem: 'literal8 is allowed only for APPEND message data' };
  if (token.value.includes(0)) return { problem: 'NUL is not allowed in a string' };
  const text = strictUtf8(token.value);
  return text === undefined ? { problem: 'invalid UTF-8 in a string' } : { text };
}

/** An `astring` argument as text; throws ImapSyntaxError saying what is wrong with it. */
export function astringText(token: ImapToken | undefined, what = 'string'): string {
  const checked = checkAstring(token, what);
  if ('problem' in checked) throw new ImapSyntaxError(checked.problem);
  return checked.text;
}

/** An `astring` argument as text, or undefined when it is missing or not a valid one. */
export function astringOf(token: ImapToken | undefined): string | undefined {
  const checked = checkAstring(token, 'string');
  return 'text' in checked ? checked.text : undefined;
}

/**
 * Whether the text is an atom of ATOM-CHARs (RFC 9051 §9): 7-bit, printable, none of the
 * atom-specials `( ) { % * " \` and no `]`. Flag keywords and capability names are such
 * atoms; Dovecot answers 8-bit ones with "8bit data in atom", and so does this, with BAD.
 */
export function isAtom(text: string): boolean {
  return /^[!-~]+$/.test(text) && !/[(){%*"\\\]]/.test(text);
}

/** `1*DIGIT` as a bigint no larger than `max`, or undefined (no sign, no spaces, no other characters). */
function digits(text: string, max: bigint): bigint | undefined {
  if (!/^[0-9]{1,40}$/.test(text)) return undefined;
  const value = BigInt(text);
  return value <= max ? value : undefined;
}

/** RFC 9051 §9 `number` (leading zeros allowed, as 1*DIGIT does), or undefined. */
export function parseNumber(text: string): number | undefined {
  const value = digits(text, BigInt(MAX_NUMBER));
  return value === undefined ? undefined : Number(value);
}

/** A `number` that is not 0 (nz-number's range; leading zeros read as Dovecot reads them). */
export function parseNzNumber(text: string): number | undefined {
  const value = parseNumber(text);
  return value === 0 ? undefined : value;
}

/** RFC 9051 §9 `number64` (also RFC 7162 `mod-sequence-valzer`), or undefined. */
export function parseNumber64(text: string): bigint | undefined {
  return digits(text, MAX_NUMBER64);
}

/**
 * A number64 as a JS number for comparing with sizes and offsets, which are far below
 * 2^53: anything larger compares the same as 2^53 - 1 does.
 */
export function clampToSafe(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}
