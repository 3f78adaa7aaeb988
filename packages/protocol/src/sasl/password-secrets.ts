import { createHash, createHmac, pbkdf2Sync, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { encodeMd5State, MD5_INITIAL_STATE, md5Compress } from './md5-state.js';
import { saslprep } from './saslprep.js';

const scryptAsync = promisify(scrypt) as (
  password: string | Buffer,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/**
 * Everything the server keeps to check a password, derived once when it is set. None of it
 * is the password: the scrypt verifier serves PLAIN, LOGIN and USER/PASS; the other three
 * are what the challenge-response mechanisms need to verify a client without the cleartext.
 *
 * The CRAM-MD5 and DIGEST-MD5 secrets are password-equivalent, though: whoever holds them
 * logs in with that mechanism as the user, and DIGEST's is an unsalted MD5 that a GPU
 * brute-forces for any ordinary password. So they are optional (absent when an operator
 * turned those mechanisms off) and the store keeps them sealed (store/legacy-sasl-secrets.ts).
 * SCRAM's StoredKey and ServerKey are not: a client must prove the ClientKey, which only
 * the salted, iterated password gives (RFC 5802 §9); they cost a dictionary attack at
 * 4096 PBKDF2 rounds per guess, like any verifier.
 */
export interface PasswordSecrets {
  readonly scrypt: string;
  /** HMAC-MD5 inner and outer MD5 states (RFC 2195 via RFC 2104), 16 bytes each. */
  readonly cramMd5?: { readonly inner: Buffer; readonly outer: Buffer } | undefined;
  /** H({ username-value, ":", realm-value, ":", passwd }) of RFC 2831 §2.1.2.1. */
  readonly digestMd5?: { readonly realm: string; readonly ha1: Buffer } | undefined;
  readonly scramSha256: {
    readonly salt: Buffer;
    readonly iterations: number;
    readonly storedKey: Buffer;
    readonly serverKey: Buffer;
  };
}

// scrypt cost: N=2^15, r=8, p=1 is ~50 ms and 32 MiB here (OWASP's floor is N=2^17 with
// r=8 at p=1 for interactive logins with caching; mail clients log in constantly, so we
// take the RFC 7914 interactive figure and keep the parameters in the verifier to raise later).
// An operator sets log2 N (TEGAMI_PASSWORD_SCRYPT_LN) for new verifiers; a stored one is
// always checked with the parameters written in it.
export const DEFAULT_SCRYPT_LN = 15;
const SCRYPT = { r: 8, p: 1, keyLength: 32 } as const;
/** The least and most log2 N accepted: below 2^14 is too cheap; 2^20 is 1 GiB of memory per check. */
export const SCRYPT_LN_RANGE = { min: 14, max: 20 } as const;

// Process-wide, like the setting it comes from: the verifiers written here and the one an
// unknown user is checked against must cost the same, or the timing tells accounts apart.
let scryptLn: number = DEFAULT_SCRYPT_LN;

/** Sets log2 N of the verifiers this process writes from now on (each main, from its config). */
export function setScryptCost(ln: number): void {
  if (!Number.isInteger(ln) || ln < SCRYPT_LN_RANGE.min || ln > SCRYPT_LN_RANGE.max)
    throw new RangeError(`scrypt log2 N must be an integer ${SCRYPT_LN_RANGE.min}..${SCRYPT_LN_RANGE.max}`);
  scryptLn = ln;
}

/** log2 N of the verifiers this process writes. */
export function scryptCost(): number {
  return scryptLn;
}

/** The `ln=…,r=…,p=…` a verifier is made with, as written in it (undefined: not a verifier). */
export function scryptParameters(verifier: string): string | undefined {
  return /^\$scrypt\$(ln=\d+,r=\d+,p=\d+)\$/.exec(verifier)?.[1];
}

/** Whether a verifier was made with other parameters than this process writes (rehash it). */
export function scryptCostDiffers(verifier: string): boolean {
  const stored = scryptParameters(verifier);
  return stored !== undefined && stored !== `ln=${scryptLn},r=${SCRYPT.r},p=${SCRYPT.p}`;
}

// RFC 7677 §4: at least 4096 iterations.
export const SCRAM_ITERATIONS = 4096;

/**
 * The secrets of every mechanism; with `legacy: false`, none for CRAM-MD5 and DIGEST-MD5
 * (the operator turned them off, so nothing password-equivalent is derived).
 */
export async function derivePasswordSecrets(
  username: string,
  realm: string,
  password: string,
  options: { readonly legacy?: boolean } = {},
): Promise<PasswordSecrets> {
  const prepared = saslprep(password);
  const secrets = {
    scrypt: await scryptVerifier(prepared),
    scramSha256: scramSha256Keys(prepared, randomBytes(16), SCRAM_ITERATIONS),
  };
  if (options.legacy === false) return secrets;
  return {
    ...secrets,
    cramMd5: cramMd5Contexts(prepared),
    digestMd5: { realm, ha1: digestMd5Ha1(username, realm, prepared) },
  };
}

/** A new `$scrypt$…` verifier of a cleartext password at this process's cost (a rehash at login). */
export function deriveScryptVerifier(password: string): Promise<string> {
  return scryptVerifier(saslprep(password));
}

async function scryptVerifier(prepared: string): Promise<string> {
  const salt = randomBytes(16);
  const ln = scryptLn;
  const hash = await runScrypt(prepared, salt, ln, SCRYPT.r, SCRYPT.p, SCRYPT.keyLength);
  return `$scrypt$ln=${ln},r=${SCRYPT.r},p=${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

function runScrypt(password: string, salt: Buffer, ln: number, r: number, p: number, keyLength: number) {
  const N = 2 ** ln;
  return scryptAsync(password, salt, keyLength, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
}

/** Checks a cleartext password against a `$scrypt$…` verifier in constant time. */
export async function verifyScrypt(verifier: string, password: string): Promise<boolean> {
  const match = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(verifier);
  if (!match) return false;
  const [, ln, r, p, salt, hash] = match as unknown as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64');
  let prepared: string;
  try {
    prepared = saslprep(password);
  } catch {
    return false;
  }
  const actual = await runScrypt(prepared, Buffer.from(salt, 'base64'), +ln, +r, +p, expected.length);
  return timingSafeEqual(actual, expected);
}

/** The MD5 states after absorbing key⊕ipad and key⊕opad: HMAC-MD5 resumes from them. */
export function cramMd5Contexts(password: string): { inner: Buffer; outer: Buffer } {
  let key = Buffer.from(password, 'utf8');
  if (key.length > 64) key = createHash('md5').update(key).digest();
  const padded = Buffer.alloc(64);
  key.copy(padded);
  const innerPad = Buffer.from(padded.map((byte) => byte ^ 0x36));
  const outerPad = Buffer.from(padded.map((byte) => byte ^ 0x5c));
  return {
    inner: encodeMd5State(md5Compress(MD5_INITIAL_STATE, innerPad)),
    outer: encodeMd5State(md5Compress(MD5_INITIAL_STATE, outerPad)),
  };
}

export function digestMd5Ha1(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest();
}

/** RFC 5802 §3: SaltedPassword, then StoredKey = H(ClientKey) and ServerKey. */
export function scramSha256Keys(password: string, salt: Buffer, iterations: number) {
  const saltedPassword = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', saltedPassword).update('Client Key').digest();
  return {
    salt,
    iterations,
    storedKey: createHash('sha256').update(clientKey).digest(),
    serverKey: createHmac('sha256', saltedPassword).update('Server Key').digest(),
  };
}
