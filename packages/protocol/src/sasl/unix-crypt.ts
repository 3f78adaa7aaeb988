import { createHash } from 'node:crypto';

// The crypt(3) formats other servers' password files hold and no maintained npm package
// implements for Node 20 without native code: SHA-crypt (Ulrich Drepper, "Unix crypt using
// SHA-256 and SHA-512", the $5$ and $6$ of glibc) and the older MD5-crypt ($1$, Poul-Henning
// Kamp's FreeBSD scheme). Both are transcribed step by step from their specifications; the
// tests hold them against hashes that Dovecot's `doveadm pw` (glibc's crypt) makes.

const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The spec's b64_from_24bit: three bytes, least significant six bits first, `count` characters. */
function base64From24Bit(b2: number, b1: number, b0: number, count: number): string {
  let word = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < count; i++) {
    out += CRYPT_ALPHABET[word & 0x3f];
    word >>>= 6;
  }
  return out;
}

/** Byte triples in the order each format writes them; the last group is special in each. */
const SHA512_ORDER: readonly (readonly [number, number, number])[] = [
  [0, 21, 42],
  [22, 43, 1],
  [44, 2, 23],
  [3, 24, 45],
  [25, 46, 4],
  [47, 5, 26],
  [6, 27, 48],
  [28, 49, 7],
  [50, 8, 29],
  [9, 30, 51],
  [31, 52, 10],
  [53, 11, 32],
  [12, 33, 54],
  [34, 55, 13],
  [56, 14, 35],
  [15, 36, 57],
  [37, 58, 16],
  [59, 17, 38],
  [18, 39, 60],
  [40, 61, 19],
  [62, 20, 41],
];
const SHA256_ORDER: readonly (readonly [number, number, number])[] = [
  [0, 10, 20],
  [21, 1, 11],
  [12, 22, 2],
  [3, 13, 23],
  [24, 4, 14],
  [15, 25, 5],
  [6, 16, 26],
  [27, 7, 17],
  [18, 28, 8],
  [9, 19, 29],
];
const MD5_ORDER: readonly (readonly [number, number, number])[] = [
  [0, 6, 12],
  [1, 7, 13],
  [2, 8, 14],
  [3, 9, 15],
  [4, 10, 5],
];

/** Repeats `block` until `length` bytes (the spec's P and S sequences). */
function repeatTo(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += block.length) block.copy(out, i, 0, Math.min(block.length, length - i));
  return out;
}

export const SHA_CRYPT_ROUNDS = { default: 5000, min: 1000, max: 999_999_999 } as const;

/**
 * The encoded hash (the part after the last `$`) of SHA-crypt, Drepper's steps 1–22.
 * `salt` is at most 16 bytes (longer is cut, as the spec says); `rounds` is clamped to the
 * spec's range by the caller, who also writes `rounds=` back as the stored string had it.
 */
export function shaCryptHash(
  algorithm: 'sha256' | 'sha512',
  password: Buffer,
  saltInput: Buffer,
  rounds: number,
): string {
  const salt = saltInput.subarray(0, 16);
  const size = algorithm === 'sha512' ? 64 : 32;
  const digest = (...parts: Buffer[]) => {
    const hash = createHash(algorithm);
    for (const part of parts) hash.update(part);
    return hash.digest();
  };
  // Steps 4–8: B = H(P S P).
  const b = digest(password, salt, password);
  // Steps 1–3, 9–12: A = H(P S, B repeated over len(P), then per bit of len(P): B or P).
  const a = createHash(algorithm).update(password).update(salt).update(repeatTo(b, password.length));
  for (let n = password.length; n > 0; n >>= 1) a.update(n & 1 ? b : password);
  let c = a.digest();
  // Steps 13–16: P' from H(P repeated len(P) times).
  const dp = digest(...Array.from({ length: password.length }, () => password));
  const pSequence = repeatTo(dp, password.length);
  // Steps 17–20: S' from H(S repeated 16 + A[0] times).
  const ds = digest(...Array.from({ length: 16 + c[0]! }, () => salt));
  const sSequence = repeatTo(ds, salt.length);
  // Step 21: the rounds.
  for (let i = 0; i < rounds; i++) {
    const round = createHash(algorithm);
    round.update(i & 1 ? pSequence : c);
    if (i % 3 !== 0) round.update(sSequence);
    if (i % 7 !== 0) round.update(pSequence);
    round.update(i & 1 ? c : pSequence);
    c = round.digest();
  }
  // Step 22: the custom base64 of the permuted bytes.
  let out = '';
  for (const [x, y, z] of size === 64 ? SHA512_ORDER : SHA256_ORDER)
    out += base64From24Bit(c[x]!, c[y]!, c[z]!, 4);
  out += size === 64 ? base64From24Bit(0, 0, c[63]!, 2) : base64From24Bit(0, c[31]!, c[30]!, 3);
  return out;
}

/** The encoded hash of MD5-crypt (`$1$`, FreeBSD's md5crypt): salt of at most 8 bytes. */
export function md5CryptHash(password: Buffer, saltInput: Buffer): string {
  const salt = saltInput.subarray(0, 8);
  const md5 = () => createHash('md5');
  const alternate = md5().update(password).update(salt).update(password).digest();
  const context = md5().update(password).update('$1$').update(salt);
  for (let left = password.length; left > 0; left -= 16)
    context.update(alternate.subarray(0, Math.min(left, 16)));
  // The original's quirk, kept by every implementation: a zero byte, or the first byte of P.
  for (let n = password.length; n > 0; n >>= 1)
    context.update(n & 1 ? Buffer.alloc(1) : password.subarray(0, 1));
  let final = context.digest();
  for (let i = 0; i < 1000; i++) {
    const round = md5();
    round.update(i & 1 ? password : final);
    if (i % 3 !== 0) round.update(salt);
    if (i % 7 !== 0) round.update(password);
    round.update(i & 1 ? final : password);
    final = round.digest();
  }
  let out = '';
  for (const [x, y, z] of MD5_ORDER) out += base64From24Bit(final[x]!, final[y]!, final[z]!, 4);
  return out + base64From24Bit(0, 0, final[11]!, 2);
}
