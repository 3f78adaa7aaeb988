import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { argon2i, argon2id } from 'hash-wasm';
import { md5CryptHash, SHA_CRYPT_ROUNDS, shaCryptHash } from './unix-crypt.js';

// Password hashes brought from another server (Dovecot's passwd-file, SQL or LDAP: the
// `{SCHEME}…` strings `doveadm pw` writes), kept until the user's first cleartext login,
// which checks the password here and replaces the hash with Tegami's own secrets. Parsing is
// strict and happens at import, so a hash Tegami cannot check is refused then, with the
// reason, and never turns into a user who silently cannot log in.

export type LegacyHashParse =
  | { readonly ok: true; readonly hash: LegacyPasswordHash }
  | { readonly ok: false; readonly problem: string };

export interface LegacyPasswordHash {
  /** The scheme as Dovecot names it, upper case, without the encoding suffix: `SHA512-CRYPT`. */
  readonly scheme: string;
  /** What is stored: the `{SCHEME}` prefix (added to a bare crypt string) and the hash as given. */
  readonly stored: string;
  /** Checks a cleartext password (its UTF-8 bytes, as Dovecot compares them) in constant time. */
  verify(password: string): Promise<boolean>;
}

/** The schemes accepted, by their Dovecot names (aliases included), for help and errors. */
export const LEGACY_PASSWORD_SCHEMES = [
  'SHA512-CRYPT',
  'SHA256-CRYPT',
  'BLF-CRYPT',
  'ARGON2ID',
  'ARGON2I',
  'MD5-CRYPT',
  'SSHA512',
  'SSHA256',
  'SSHA',
  'SMD5',
  'SHA512',
  'SHA256',
  'SHA',
  'SHA1',
  'PLAIN-MD5',
  'LDAP-MD5',
  'MD5',
  'PLAIN',
  'CLEARTEXT',
  'CLEAR',
  'CRYPT',
] as const;

// The costs a hash may ask for. A legacy hash is checked on the gateways' event loop (the
// SHA-crypt rounds and Argon2 run synchronously), and a wrong password costs as much as a
// right one: without a ceiling one imported line could stall a gateway for seconds per try.
export const LEGACY_HASH_LIMITS = {
  shaCryptRounds: 700_000,
  bcryptCost: 15,
  argon2MemoryKiB: 262_144,
  argon2Iterations: 16,
  argon2Parallelism: 16,
} as const;

type Digest = 'md5' | 'sha1' | 'sha256' | 'sha512';
type Encoding = 'base64' | 'hex' | 'raw';

/** Dovecot's schemes that hash the password (and a salt after the digest) once. */
const DIGEST_SCHEMES: Readonly<Record<string, { digest: Digest; salted: boolean; encoding: Encoding }>> = {
  SHA: { digest: 'sha1', salted: false, encoding: 'base64' },
  SHA1: { digest: 'sha1', salted: false, encoding: 'base64' },
  SHA256: { digest: 'sha256', salted: false, encoding: 'base64' },
  SHA512: { digest: 'sha512', salted: false, encoding: 'base64' },
  SSHA: { digest: 'sha1', salted: true, encoding: 'base64' },
  SSHA256: { digest: 'sha256', salted: true, encoding: 'base64' },
  SSHA512: { digest: 'sha512', salted: true, encoding: 'base64' },
  SMD5: { digest: 'md5', salted: true, encoding: 'base64' },
  'LDAP-MD5': { digest: 'md5', salted: false, encoding: 'base64' },
  'PLAIN-MD5': { digest: 'md5', salted: false, encoding: 'hex' },
};
const DIGEST_SIZE: Readonly<Record<Digest, number>> = { md5: 16, sha1: 20, sha256: 32, sha512: 64 };
const PLAIN_SCHEMES = new Set(['PLAIN', 'CLEARTEXT', 'CLEAR']);
/** The schemes whose value is a crypt(3)-style string; Dovecot's {MD5} is MD5-crypt. */
const CRYPT_SCHEMES = new Set([
  'SHA512-CRYPT',
  'SHA256-CRYPT',
  'MD5-CRYPT',
  'MD5',
  'BLF-CRYPT',
  'ARGON2ID',
  'ARGON2I',
  'CRYPT',
]);

/**
 * Reads a hash as Dovecot stores it: `{SCHEME}value` or `{SCHEME.HEX}` / `{SCHEME.B64}`
 * (`.BASE64`) for another encoding, or a bare crypt string (`$6$…`, `$2y$…`, `$argon2id$…`),
 * which Dovecot's default scheme CRYPT reads the same way.
 */
export function parseLegacyPasswordHash(input: string): LegacyHashParse {
  if (/[\0\r\n]/.test(input)) return fail('the hash holds a line break or NUL');
  if (input === '') return fail('the hash is empty');
  const prefixed = /^\{([A-Za-z0-9-]+)(?:\.([A-Za-z0-9]+))?\}/.exec(input);
  if (!prefixed) {
    const scheme = cryptSchemeOf(input);
    if (!scheme)
      return fail(
        'no {SCHEME} prefix, and not a crypt string ($1$, $5$, $6$, $2y$, $argon2id$): write it as Dovecot does, e.g. {SHA512-CRYPT}$6$…',
      );
    return cryptHash(scheme, `{${scheme}}${input}`, input);
  }
  const scheme = prefixed[1]!.toUpperCase();
  const suffix = prefixed[2]?.toUpperCase();
  const value = input.slice(prefixed[0].length);
  const stored = `{${scheme}${suffix === undefined ? '' : `.${suffix}`}}${value}`;
  let encoding: Encoding | undefined;
  if (suffix !== undefined) {
    encoding = suffix === 'HEX' ? 'hex' : suffix === 'B64' || suffix === 'BASE64' ? 'base64' : undefined;
    if (!encoding) return fail(`unknown encoding .${prefixed[2]} (Dovecot knows .HEX, .B64 and .BASE64)`);
  }
  if (CRYPT_SCHEMES.has(scheme)) {
    if (suffix !== undefined) return fail(`{${scheme}} takes no encoding suffix`);
    const actual = cryptSchemeOf(value);
    const expected = scheme === 'MD5' ? 'MD5-CRYPT' : scheme;
    if (!actual || (scheme !== 'CRYPT' && actual !== expected))
      return fail(`not a ${scheme === 'CRYPT' ? 'supported crypt' : scheme} string: ${describe(value)}`);
    return cryptHash(actual, stored, value);
  }
  const digestScheme = DIGEST_SCHEMES[scheme];
  if (digestScheme) return digestHash(scheme, stored, value, digestScheme, encoding);
  if (PLAIN_SCHEMES.has(scheme)) {
    const bytes = encoding ? decode(value, encoding) : Buffer.from(value, 'utf8');
    if (!bytes) return fail(`{${stored.slice(1, stored.indexOf('}'))}} value is not valid ${encoding}`);
    if (bytes.length === 0) return fail('the password is empty');
    return ok(scheme, stored, async (password) => sameBytes(Buffer.from(password, 'utf8'), bytes));
  }
  return fail(
    `unknown scheme {${prefixed[1]}}: Tegami checks ${LEGACY_PASSWORD_SCHEMES.map((s) => `{${s}}`).join(', ')}`,
  );
}

/** Checks a cleartext password against a stored hash; false for one that does not parse. */
export async function verifyLegacyPasswordHash(stored: string, password: string): Promise<boolean> {
  const parsed = parseLegacyPasswordHash(stored);
  return parsed.ok ? parsed.hash.verify(password) : false;
}

function ok(scheme: string, stored: string, verify: (password: string) => Promise<boolean>): LegacyHashParse {
  // No scheme's stored form is of an empty password (the import refuses {PLAIN}), and the
  // Argon2 library throws on one.
  return {
    ok: true,
    hash: { scheme, stored, verify: async (password) => password !== '' && verify(password) },
  };
}

function fail(problem: string): LegacyHashParse {
  return { ok: false, problem };
}

function describe(value: string): string {
  return value.length > 24 ? `${value.slice(0, 24)}…` : value || '(empty)';
}

const SHA_CRYPT = /^\$([56])\$(?:rounds=(\d{1,10})\$)?([^$:\s]{0,16})\$([./0-9A-Za-z]+)$/;
const MD5_CRYPT = /^\$1\$([^$:\s]{0,8})\$([./0-9A-Za-z]{22})$/;
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./0-9A-Za-z]{53}$/;
const ARGON2 =
  /^\$(argon2id|argon2i)\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

function cryptSchemeOf(value: string): string | undefined {
  if (value.startsWith('$6$')) return 'SHA512-CRYPT';
  if (value.startsWith('$5$')) return 'SHA256-CRYPT';
  if (value.startsWith('$1$')) return 'MD5-CRYPT';
  if (/^\$2[aby]\$/.test(value)) return 'BLF-CRYPT';
  if (value.startsWith('$argon2id$')) return 'ARGON2ID';
  if (value.startsWith('$argon2i$')) return 'ARGON2I';
  return undefined;
}

function cryptHash(scheme: string, stored: string, value: string): LegacyHashParse {
  switch (scheme) {
    case 'SHA512-CRYPT':
    case 'SHA256-CRYPT': {
      const match = SHA_CRYPT.exec(value);
      const length = scheme === 'SHA512-CRYPT' ? 86 : 43;
      if (!match || match[4]!.length !== length)
        return fail(`malformed ${scheme} string: ${describe(value)}`);
      const [, , roundsText, salt, encoded] = match as unknown as [
        string,
        string,
        string | undefined,
        string,
        string,
      ];
      // Drepper's spec clamps the rounds into its range rather than refusing them.
      const rounds = Math.min(
        Math.max(
          roundsText === undefined ? SHA_CRYPT_ROUNDS.default : Number(roundsText),
          SHA_CRYPT_ROUNDS.min,
        ),
        SHA_CRYPT_ROUNDS.max,
      );
      if (rounds > LEGACY_HASH_LIMITS.shaCryptRounds)
        return fail(
          `${scheme} with rounds=${rounds}: more than the ${LEGACY_HASH_LIMITS.shaCryptRounds} Tegami checks at login`,
        );
      const algorithm = scheme === 'SHA512-CRYPT' ? 'sha512' : 'sha256';
      const saltBytes = Buffer.from(salt, 'utf8');
      return ok(scheme, stored, async (password) =>
        sameText(shaCryptHash(algorithm, Buffer.from(password, 'utf8'), saltBytes, rounds), encoded),
      );
    }
    case 'MD5-CRYPT': {
      const match = MD5_CRYPT.exec(value);
      if (!match) return fail(`malformed MD5-CRYPT string: ${describe(value)}`);
      const salt = Buffer.from(match[1]!, 'utf8');
      const encoded = match[2]!;
      return ok(scheme, stored, async (password) =>
        sameText(md5CryptHash(Buffer.from(password, 'utf8'), salt), encoded),
      );
    }
    case 'BLF-CRYPT': {
      const match = BCRYPT.exec(value);
      if (!match) return fail(`malformed BLF-CRYPT string: ${describe(value)}`);
      const cost = Number(match[1]);
      if (cost < 4 || cost > LEGACY_HASH_LIMITS.bcryptCost)
        return fail(`BLF-CRYPT cost ${cost}: Tegami checks 4 to ${LEGACY_HASH_LIMITS.bcryptCost}`);
      // $2a$, $2b$ and $2y$ are one algorithm (the letters mark fixed bugs of other
      // implementations); bcryptjs compares in constant time.
      return ok(scheme, stored, (password) => bcrypt.compare(password, value));
    }
    default:
      return argon2Hash(scheme, stored, value);
  }
}

function argon2Hash(scheme: string, stored: string, value: string): LegacyHashParse {
  const match = ARGON2.exec(value);
  if (!match) return fail(`malformed ${scheme} string: ${describe(value)}`);
  const [, variant, version, m, t, p, saltText, hashText] = match as unknown as string[];
  if (version !== '19')
    return fail(`${scheme} version v=${version}: Tegami checks v=19 (what libsodium writes)`);
  const memorySize = Number(m);
  const iterations = Number(t);
  const parallelism = Number(p);
  const salt = Buffer.from(saltText!, 'base64');
  const expected = Buffer.from(hashText!, 'base64');
  if (parallelism < 1 || parallelism > LEGACY_HASH_LIMITS.argon2Parallelism)
    return fail(`${scheme} p=${parallelism}: Tegami checks 1 to ${LEGACY_HASH_LIMITS.argon2Parallelism}`);
  if (memorySize < 8 * parallelism || memorySize > LEGACY_HASH_LIMITS.argon2MemoryKiB)
    return fail(
      `${scheme} m=${memorySize}: Tegami checks ${8 * parallelism} to ${LEGACY_HASH_LIMITS.argon2MemoryKiB} KiB`,
    );
  if (iterations < 1 || iterations > LEGACY_HASH_LIMITS.argon2Iterations)
    return fail(`${scheme} t=${iterations}: Tegami checks 1 to ${LEGACY_HASH_LIMITS.argon2Iterations}`);
  if (salt.length < 8) return fail(`${scheme} salt shorter than 8 bytes`);
  if (expected.length < 4) return fail(`${scheme} hash shorter than 4 bytes`);
  const run = variant === 'argon2id' ? argon2id : argon2i;
  return ok(scheme, stored, async (password) => {
    const actual = await run({
      password: Buffer.from(password, 'utf8'),
      salt,
      memorySize,
      iterations,
      parallelism,
      hashLength: expected.length,
      outputType: 'binary',
    });
    return sameBytes(Buffer.from(actual), expected);
  });
}

function digestHash(
  scheme: string,
  stored: string,
  value: string,
  spec: { digest: Digest; salted: boolean; encoding: Encoding },
  given: Encoding | undefined,
): LegacyHashParse {
  const size = DIGEST_SIZE[spec.digest];
  // Dovecot reads a fixed-size hash in hex when its length says so, whatever the default.
  const encoding =
    given ??
    (!spec.salted && value.length === size * 2 && /^[0-9a-fA-F]+$/.test(value) ? 'hex' : spec.encoding);
  const bytes = decode(value, encoding);
  if (!bytes) return fail(`{${scheme}} value is not valid ${encoding}`);
  if (spec.salted ? bytes.length <= size : bytes.length !== size)
    return fail(
      `{${scheme}} value is ${bytes.length} bytes: ${spec.salted ? `more than ${size} (the hash, then the salt)` : `${size}`} expected`,
    );
  const digest = bytes.subarray(0, size);
  const salt = bytes.subarray(size);
  return ok(scheme, stored, async (password) =>
    sameBytes(createHash(spec.digest).update(password, 'utf8').update(salt).digest(), digest),
  );
}

function decode(value: string, encoding: Encoding): Buffer | undefined {
  if (encoding === 'raw') return Buffer.from(value, 'utf8');
  if (encoding === 'hex') return /^(?:[0-9a-fA-F]{2})*$/.test(value) ? Buffer.from(value, 'hex') : undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.replace(/=+$/, '').length % 4 === 1) return undefined;
  return Buffer.from(value, 'base64');
}

/** Equal bytes in time that depends on neither their content nor their lengths. */
function sameBytes(a: Buffer, b: Buffer): boolean {
  const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest();
  return timingSafeEqual(digest(a), digest(b)) && a.length === b.length;
}

function sameText(a: string, b: string): boolean {
  return sameBytes(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
