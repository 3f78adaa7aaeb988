import { createHmac, timingSafeEqual } from 'node:crypto';

// The Sender Rewriting Scheme, in the form libsrs2 and postsrsd write it, so that a secret
// moved between them and Tegami keeps every address already sent out valid:
//
//   SRS0=HHHH=TT=orig-domain=orig-local@forwarder
//   SRS1=HHHH=first-forwarder==HHHH=TT=orig-domain=orig-local@forwarder
//
// HHHH: the first 4 characters of base64(HMAC-SHA1(secret, the fields after it, lower-cased
// A-Z, concatenated)); TT: the day number (Unix time / 86400) mod 1024 in two base32
// characters. SRS1 is what a second forwarder makes of an SRS0 address: it keeps the first
// forwarder's address and signs that, so a bounce goes back hop by hop, and it has no time
// stamp of its own (the SRS0 inside it has one, checked by the forwarder that made it).
//
// A forwarder that rewrites an address signs it; a bounce to a rewritten address is honoured
// only with a valid signature and, for SRS0, within maxAgeDays: otherwise the forwarder would
// relay anything anyone sends to `SRS0=…=victim@forwarder` (an open relay).

export interface SrsOptions {
  /** The first signs; all of them verify, so a new secret can go first while old addresses still return. */
  readonly secrets: readonly (string | Buffer)[];
  /** How many days an SRS0 address is honoured (postsrsd and libsrs2: 21). */
  readonly maxAgeDays?: number;
  /** The character after SRS0/SRS1 in addresses we write: `=` (default), `+` or `-`. */
  readonly separator?: '=' | '+' | '-';
}

export const SRS_DEFAULT_MAX_AGE_DAYS = 21;

/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its angle brackets. */
export const SRS_MAX_ADDRESS_OCTETS = 254;

const HASH_LENGTH = 4;
const SEPARATORS = '=+-';
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const DAY_SECONDS = 86_400;
const TIME_SLOTS = 1024;

export type SrsForwardResult =
  | { readonly kind: 'rewritten'; readonly address: string }
  /** The address would pass the path limit: no receiver need take it (SRS_MAX_ADDRESS_OCTETS). */
  | { readonly kind: 'too-long'; readonly address: string }
  /**
   * A sender SRS cannot carry: no domain, or a quoted local part (`"a b"@x`), whose quotes
   * would end up inside ours and make it no address at all.
   */
  | { readonly kind: 'unsuitable' };

/**
 * The address to send from when forwarding mail from `sender` through `forwarderDomain`:
 * SRS0 for an ordinary sender, SRS1 for one that is already SRS (another forwarder's).
 */
export function srsForward(
  sender: string,
  forwarderDomain: string,
  options: SrsOptions,
  now: Date,
): SrsForwardResult {
  const at = sender.lastIndexOf('@');
  if (at <= 0 || at === sender.length - 1) return { kind: 'unsuitable' };
  const local = sender.slice(0, at);
  if (/["\\\s]/.test(local)) return { kind: 'unsuitable' };
  const domain = sender.slice(at + 1);
  const sep = options.separator ?? '=';
  const secret = signingSecret(options);
  let rewritten: string;
  if (hasTag(local, '1')) {
    // Another forwarder's SRS1: keep the first forwarder (host and its part), sign afresh.
    const parts = splitSrs1(local);
    rewritten = parts
      ? `SRS1${sep}${hash(secret, parts.host, parts.user)}=${parts.host}=${parts.user}@${forwarderDomain}`
      : srs0(secret, sep, local, domain, forwarderDomain, now);
  } else if (hasTag(local, '0')) {
    // An SRS0 of the forwarder before us: its whole local part after "SRS0" is kept as is.
    const user = local.slice(4);
    rewritten = `SRS1${sep}${hash(secret, domain, user)}=${domain}=${user}@${forwarderDomain}`;
  } else {
    rewritten = srs0(secret, sep, local, domain, forwarderDomain, now);
  }
  return Buffer.byteLength(rewritten) > SRS_MAX_ADDRESS_OCTETS
    ? { kind: 'too-long', address: rewritten }
    : { kind: 'rewritten', address: rewritten };
}

export type SrsReverseResult =
  /** Where a bounce to the SRS address goes: the original sender, or the previous forwarder's SRS0. */
  | { readonly kind: 'decoded'; readonly address: string }
  | { readonly kind: 'not-srs' }
  | { readonly kind: 'invalid'; readonly reason: SrsInvalidReason };

export type SrsInvalidReason = 'malformed' | 'bad-signature' | 'expired';

/** Whether a local part has the form of an SRS address (SRS0 or SRS1 and a separator). */
export function isSrsLocalPart(local: string): boolean {
  return hasTag(local, '0') || hasTag(local, '1');
}

/**
 * Decodes an SRS address that we (one of `options.secrets`) signed. The domain after the
 * `@` is not looked at: the caller knows which domains are ours.
 */
export function srsReverse(address: string, options: SrsOptions, now: Date): SrsReverseResult {
  const at = address.lastIndexOf('@');
  const local = at < 0 ? address : address.slice(0, at);
  if (hasTag(local, '1')) {
    const parts = splitSrs1(local);
    if (!parts) return { kind: 'invalid', reason: 'malformed' };
    if (!verified(options, parts.hash, parts.host, parts.user))
      return { kind: 'invalid', reason: 'bad-signature' };
    // The previous forwarder's address: "SRS0" and what followed it there (its separator first).
    return { kind: 'decoded', address: `SRS0${parts.user}@${parts.host}` };
  }
  if (!hasTag(local, '0')) return { kind: 'not-srs' };
  const fields = splitSrs0(local);
  if (!fields) return { kind: 'invalid', reason: 'malformed' };
  const stamp = stampDay(fields.stamp);
  if (stamp === undefined) return { kind: 'invalid', reason: 'malformed' };
  // The signature before the age (libsrs2 checks the age first): "expired" is then said only
  // of an address we did sign, and a forgery is called a forgery whatever its stamp.
  if (!verified(options, fields.hash, fields.stamp, fields.host, fields.user))
    return { kind: 'invalid', reason: 'bad-signature' };
  if (ageInDays(stamp, now) > (options.maxAgeDays ?? SRS_DEFAULT_MAX_AGE_DAYS))
    return { kind: 'invalid', reason: 'expired' };
  return { kind: 'decoded', address: `${fields.user}@${fields.host}` };
}

/** The two-character time stamp of a day (libsrs2's srs_timestamp_create). */
export function srsTimestamp(now: Date): string {
  const day = Math.floor(now.getTime() / 1000 / DAY_SECONDS) % TIME_SLOTS;
  return BASE32[(day >> 5) & 31]! + BASE32[day & 31]!;
}

function srs0(
  secret: string | Buffer,
  sep: string,
  local: string,
  domain: string,
  forwarder: string,
  now: Date,
) {
  const stamp = srsTimestamp(now);
  return `SRS0${sep}${hash(secret, stamp, domain, local)}=${stamp}=${domain}=${local}@${forwarder}`;
}

function signingSecret(options: SrsOptions): string | Buffer {
  const first = options.secrets[0];
  if (first === undefined || first.length === 0) throw new Error('SRS needs a secret');
  return first;
}

function hasTag(local: string, digit: '0' | '1'): boolean {
  return (
    local.length > 4 &&
    local.slice(0, 3).toUpperCase() === 'SRS' &&
    local[3] === digit &&
    SEPARATORS.includes(local[4]!)
  );
}

/** `SRS1<sep>HHHH=host=user`: user is the rest, separators and all. */
function splitSrs1(local: string): { hash: string; host: string; user: string } | undefined {
  const rest = local.slice(5);
  const hostAt = rest.indexOf('=');
  if (hostAt <= 0) return undefined;
  const userAt = rest.indexOf('=', hostAt + 1);
  if (userAt <= hostAt + 1 || userAt === rest.length - 1) return undefined;
  return { hash: rest.slice(0, hostAt), host: rest.slice(hostAt + 1, userAt), user: rest.slice(userAt + 1) };
}

/** `SRS0<sep>HHHH=TT=host=user`: the original local part may hold "=" itself. */
function splitSrs0(local: string): { hash: string; stamp: string; host: string; user: string } | undefined {
  const fields = local.slice(5).split('=');
  if (fields.length < 4) return undefined;
  const [hashField, stamp, host] = fields as [string, string, string];
  const user = fields.slice(3).join('=');
  if (hashField === '' || stamp === '' || host === '' || user === '') return undefined;
  return { hash: hashField, stamp, host, user };
}

function stampDay(stamp: string): number | undefined {
  if (stamp.length !== 2) return undefined;
  const high = BASE32.indexOf(stamp[0]!.toUpperCase());
  const low = BASE32.indexOf(stamp[1]!.toUpperCase());
  return high < 0 || low < 0 ? undefined : (high << 5) | low;
}

/** Days since a stamp, counting the 1024-day wrap as libsrs2 does (a stamp from "tomorrow" is 1023 days old). */
function ageInDays(stamp: number, now: Date): number {
  const today = Math.floor(now.getTime() / 1000 / DAY_SECONDS) % TIME_SLOTS;
  return (today - stamp + TIME_SLOTS) % TIME_SLOTS;
}

function hash(secret: string | Buffer, ...fields: string[]): string {
  const hmac = createHmac('sha1', secret);
  // libsrs2 lower-cases A-Z only (C's tolower in the C locale): an address whose case a
  // relay changed still verifies, and UTF-8 bytes are signed as they are.
  for (const field of fields) hmac.update(field.replace(/[A-Z]/g, (c) => c.toLowerCase()));
  return hmac.digest('base64').slice(0, HASH_LENGTH);
}

function verified(options: SrsOptions, given: string, ...fields: string[]): boolean {
  // Exactly the length we write; compared without regard to case, as libsrs2 does, since
  // some MTAs lower-case the whole address.
  if (given.length !== HASH_LENGTH) return false;
  const wanted = Buffer.from(given.toLowerCase());
  let ok = false;
  for (const secret of options.secrets) {
    if (secret.length === 0) continue;
    const expected = Buffer.from(hash(secret, ...fields).toLowerCase());
    if (expected.length === wanted.length && timingSafeEqual(expected, wanted)) ok = true;
  }
  return ok;
}
