/**
 * MD5 (RFC 1321) with its internal state exposed. CRAM-MD5 (RFC 2195) needs the HMAC-MD5
 * of a challenge keyed by the password; storing the MD5 state after the key's inner and
 * outer pad blocks lets the server compute that HMAC without keeping the password in clear
 * (the scheme Cyrus and Dovecot call CRAM-MD5 "contexts"). node:crypto hides the state, so
 * the compression function lives here. It runs once per CRAM-MD5 login: speed is no issue.
 */

export type Md5State = readonly [number, number, number, number];

export const MD5_INITIAL_STATE: Md5State = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

const SHIFTS = [
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
  14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15,
  21, 6, 10, 15, 21,
];
const K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);

/** Runs the compression function over one 64-byte block. */
export function md5Compress(state: Md5State, block: Uint8Array): Md5State {
  if (block.length !== 64) throw new RangeError('an MD5 block is 64 bytes');
  const m = new Uint32Array(16);
  for (let i = 0; i < 16; i++) {
    m[i] =
      (block[i * 4]! | (block[i * 4 + 1]! << 8) | (block[i * 4 + 2]! << 16) | (block[i * 4 + 3]! << 24)) >>>
      0;
  }
  let [a, b, c, d] = state;
  for (let i = 0; i < 64; i++) {
    let f: number;
    let g: number;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    const rotated = (a + f + K[i]! + m[g]!) >>> 0;
    const s = SHIFTS[i]!;
    a = d;
    d = c;
    c = b;
    b = (b + ((rotated << s) | (rotated >>> (32 - s)))) >>> 0;
  }
  return [(state[0] + a) >>> 0, (state[1] + b) >>> 0, (state[2] + c) >>> 0, (state[3] + d) >>> 0];
}

/**
 * Finishes an MD5 digest from a state that has already absorbed `absorbedBytes` (a multiple
 * of 64) of input, over the rest of the input.
 */
export function md5Finish(state: Md5State, absorbedBytes: number, rest: Uint8Array): Buffer {
  if (absorbedBytes % 64 !== 0) throw new RangeError('absorbed length must be whole blocks');
  const totalBits = BigInt(absorbedBytes + rest.length) * 8n;
  const padLength = (rest.length % 64 < 56 ? 56 : 120) - (rest.length % 64);
  const tail = Buffer.alloc(rest.length + padLength + 8);
  tail.set(rest, 0);
  tail[rest.length] = 0x80;
  tail.writeBigUInt64LE(totalBits, rest.length + padLength);
  let current = state;
  for (let offset = 0; offset < tail.length; offset += 64) {
    current = md5Compress(current, tail.subarray(offset, offset + 64));
  }
  return encodeMd5State(current);
}

export function encodeMd5State(state: Md5State): Buffer {
  const out = Buffer.alloc(16);
  for (const [i, word] of state.entries()) out.writeUInt32LE(word, i * 4);
  return out;
}

export function decodeMd5State(bytes: Uint8Array): Md5State {
  if (bytes.length !== 16) throw new RangeError('an MD5 state is 16 bytes');
  const buf = Buffer.from(bytes);
  return [buf.readUInt32LE(0), buf.readUInt32LE(4), buf.readUInt32LE(8), buf.readUInt32LE(12)];
}
