// Mailbox names on the wire in "modified UTF-7" (RFC 3501 §5.1.3, kept by RFC 9051 §5.1.3
// for clients that have not enabled UTF8=ACCEPT). Printable US-ASCII stands for itself,
// except `&`, which is written `&-`; every other run of characters is `&`, the UTF-16BE
// code units in base64 with `,` in place of `/` and no padding, then `-`.
//
// The decoder is strict: a name has exactly one spelling, so two clients cannot create
// "the same" mailbox twice under different wire names, and a name we cannot decode is
// refused rather than stored mangled.

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';

/** The 6-bit value of each modified-base64 character, or -1 for any other code unit. */
const BASE64_VALUE: readonly number[] = (() => {
  const table = new Array<number>(128).fill(-1);
  for (let i = 0; i < BASE64_ALPHABET.length; i++) table[BASE64_ALPHABET.charCodeAt(i)] = i;
  return table;
})();

const AMPERSAND = 0x26;

/** RFC 3501 §5.1.3: these "represent themselves"; everything else must be base64-encoded. */
function isPrintableAscii(unit: number): boolean {
  return unit >= 0x20 && unit <= 0x7e;
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** UTF-16 code units as modified base64: big-endian bytes, `,` for `/`, no `=` padding. */
function encodeUnits(units: readonly number[]): string {
  let out = '';
  let bits = 0;
  let bitCount = 0;
  for (const unit of units) {
    bits = (bits << 16) | unit;
    bitCount += 16;
    while (bitCount >= 6) {
      bitCount -= 6;
      out += BASE64_ALPHABET[(bits >> bitCount) & 0x3f];
    }
    // Keep only the bits not yet written, so `bits` never outgrows 32 bits.
    bits &= (1 << bitCount) - 1;
  }
  if (bitCount > 0) out += BASE64_ALPHABET[(bits << (6 - bitCount)) & 0x3f];
  return out;
}

/**
 * A Unicode mailbox name as modified UTF-7. Lone surrogates in `name` are encoded as they
 * are (the encoder cannot repair them), and `decodeMailboxName` will then refuse the result.
 */
export function encodeMailboxName(name: string): string {
  let out = '';
  let pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    out += `&${encodeUnits(pending)}-`;
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (!isPrintableAscii(unit)) {
      pending.push(unit);
      continue;
    }
    flush();
    out += unit === AMPERSAND ? '&-' : name[i];
  }
  flush();
  return out;
}

/**
 * The base64 between `&` and `-` as UTF-16 code units, or undefined unless it is exactly
 * what `encodeUnits` would have written for them.
 */
function decodeUnits(encoded: string): number[] | undefined {
  const units: number[] = [];
  let bits = 0;
  let bitCount = 0;
  for (let i = 0; i < encoded.length; i++) {
    const value = BASE64_VALUE[encoded.charCodeAt(i)] ?? -1;
    if (value < 0) return undefined;
    bits = (bits << 6) | value;
    bitCount += 6;
    if (bitCount >= 16) {
      bitCount -= 16;
      units.push((bits >> bitCount) & 0xffff);
      bits &= (1 << bitCount) - 1;
    }
  }
  // A whole base64 character left over means half a code unit was sent (an odd number of
  // bytes); fewer bits are the padding of the last character and must be zero.
  if (bitCount >= 6 || bits !== 0) return undefined;
  if (units.length === 0) return undefined;
  for (let i = 0; i < units.length; i++) {
    const unit = units[i]!;
    // §5.1.3: base64 "MUST NOT be used to represent any printing US-ASCII character which
    // can represent itself" (that includes `&`, whose spelling is `&-`).
    if (isPrintableAscii(unit)) return undefined;
    if (isHighSurrogate(unit)) {
      // A pair may not straddle two runs: the encoder never splits one.
      if (!isLowSurrogate(units[i + 1] ?? 0)) return undefined;
      i++;
    } else if (isLowSurrogate(unit)) {
      return undefined;
    }
  }
  return units;
}

/**
 * A modified UTF-7 mailbox name as Unicode, or undefined when it is not valid: characters
 * outside 0x20–0x7e, `&` without a closing `-` (RFC 3501's "&Jjo!"), bad or
 * non-canonical base64, an odd number of bytes, unpaired surrogates, printable ASCII
 * hidden in base64, or two encoded runs back to back (RFC 3501's "&U,BTFw-&ZeVnLIqe-",
 * "not permitted because it contains a superfluous shift").
 */
export function decodeMailboxName(wire: string): string | undefined {
  let out = '';
  let i = 0;
  /** Where the last base64 run's `-` ended, to spot a run that starts right there. */
  let afterEncodedRun = -1;
  while (i < wire.length) {
    const unit = wire.charCodeAt(i);
    if (!isPrintableAscii(unit)) return undefined;
    if (unit !== AMPERSAND) {
      out += wire[i];
      i++;
      continue;
    }
    const end = wire.indexOf('-', i + 1);
    if (end < 0) return undefined;
    if (end === i + 1) {
      out += '&';
    } else {
      if (i === afterEncodedRun) return undefined;
      const units = decodeUnits(wire.slice(i + 1, end));
      if (!units) return undefined;
      for (const decoded of units) out += String.fromCharCode(decoded);
      afterEncodedRun = end + 1;
    }
    i = end + 1;
  }
  return out;
}
