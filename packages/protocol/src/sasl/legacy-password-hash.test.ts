import { describe, expect, it } from 'vitest';
import {
  LEGACY_HASH_LIMITS,
  parseLegacyPasswordHash,
  verifyLegacyPasswordHash,
} from './legacy-password-hash.js';

// Made by Dovecot 2.3.19's `doveadm pw -s <SCHEME> -p 'pässword 1'` (glibc crypt,
// libsodium Argon2), kept here so the test runs where Dovecot is not installed;
// test/doveadm-password-schemes.test.ts checks fresh ones where it is.
const PASSWORD = 'pässword 1';
const DOVECOT_VECTORS: readonly (readonly [string, string])[] = [
  [
    'SHA512-CRYPT',
    '{SHA512-CRYPT}$6$pVUQVmJthKPrdOC5$EwRUbf5bcdR.DoRqlTiA.BsTZxBzpdMi8ZnVvas7sDVrsbnxYz5uCdtdhGqSaSu8aXTXYRrU/Of3RKO3hkuLE1',
  ],
  ['SHA256-CRYPT', '{SHA256-CRYPT}$5$EuBvp7h3JxXj25NE$1ftGIBn/oI2kUvsAknXa61M0tedZSPn/M42.tssBuI1'],
  ['BLF-CRYPT', '{BLF-CRYPT}$2y$05$Fs/LiYGHULLxSoCr6roPjuFwg4kHYqWmtvjlqfXYaSvfdH1BVNFNi'],
  [
    'ARGON2ID',
    '{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$JUIns1KJAUVpu8EOs1o17g$8u3TQ9jBRCrs2QSqC6QjOYvq90rc5a4xDFOc7tEkIMA',
  ],
  [
    'ARGON2I',
    '{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$xIZysAqZabzHCcSb02cnRA$qZgeaU90xroQnqw3EwQ90hNrtKS1I7s1gjs0INbpoEE',
  ],
  ['MD5-CRYPT', '{MD5-CRYPT}$1$L3kmzJE8$96ogyRn9gygsvlknT.ZJs0'],
  [
    'SSHA512',
    '{SSHA512}/AxKGFKpp3XBQ/Q2XTGPYW/TycGOmSH9LwZcgB1y5fqV6I0DVP80R8/v/fnDHDseIMsnXdz5GX8v5IycI4dI0EqYkGE=',
  ],
  ['SSHA256', '{SSHA256}H5vOhyahg3j0KZ4vwcp28+OIq15erZEFqL3zqZ4qclcK2gJF'],
  ['SSHA', '{SSHA}f6kAXzIMt28DVZc316SaqfeDkDzuAzGJ'],
  ['SMD5', '{SMD5}Bj7lr1oZzpgdUNT0BT7d5MUoVSM='],
  [
    'SHA512',
    '{SHA512}CKWQ1bFe+6HuV0fkV78KrhRH5bOjFVbkHBnd8vTWw2lc3YVFx8X2I6wtGQoVpZVuVsftC++RLO5GPIvd7H4Lyg==',
  ],
  ['SHA256', '{SHA256}f7RERuWhObO3oHciFhtpNCnGhD0FNBL7CyE3AkK4vbA='],
  ['SHA', '{SHA}wBFJYYjnh5eS5Eft5JORpd7Gkko='],
  ['PLAIN-MD5', '{PLAIN-MD5}ee0a0fa09df7c1e10c13c2792a1c5fba'],
  ['LDAP-MD5', '{LDAP-MD5}7goPoJ33weEME8J5Khxfug=='],
  ['PLAIN', '{PLAIN}pässword 1'],
  ['CLEARTEXT', '{CLEARTEXT}pässword 1'],
  [
    'SHA512.HEX',
    '{SHA512.HEX}08a590d5b15efba1ee5747e457bf0aae1447e5b3a31556e41c19ddf2f4d6c3695cdd8545c7c5f623ac2d190a15a5956e56c7ed0bef912cee463c8bddec7e0bca',
  ],
  [
    'SSHA512.HEX',
    '{SSHA512.HEX}13f4aa9b0d8c55c215b0ae880120413082adaa94fe71902967d0e09e287f9a5ae2ebc3c26e2c7ca51404ab401b6fd4b9ad52595c08ffd184402c10727797adfa58319ade',
  ],
  ['SHA256.B64', '{SHA256.B64}f7RERuWhObO3oHciFhtpNCnGhD0FNBL7CyE3AkK4vbA='],
  ['PLAIN.B64', '{PLAIN.B64}cMOkc3N3b3JkIDE='],
  ['PLAIN.HEX', '{PLAIN.HEX}70c3a47373776f72642031'],
];

describe('hashes written by Dovecot', () => {
  it.each(DOVECOT_VECTORS)(
    'checks %s against the password it was made from, and only that',
    async (_, stored) => {
      const parsed = parseLegacyPasswordHash(stored);
      if (!parsed.ok) throw new Error(parsed.problem);
      expect(parsed.hash.stored).toBe(stored);
      expect(await parsed.hash.verify(PASSWORD)).toBe(true);
      expect(await parsed.hash.verify('pässword 2')).toBe(false);
      expect(await parsed.hash.verify('')).toBe(false);
    },
  );

  it('reads rounds= in SHA-crypt strings', async () => {
    const sha512 =
      '{SHA512-CRYPT}$6$rounds=10000$iaGqxbeKKgmmX1cr$H4fQM2Y2iTPl.cacE9WuCDjn5ewYPSjHcLiG8heKNTJOepCbahlwxUGGOdivw0pg/ansUjL6OmzaAT0xoAYB/.';
    const sha256 =
      '{SHA256-CRYPT}$5$rounds=1000$CpQVWn/5U3sSVd.l$upbzaosamlOXQctPzWHIAbKO7Wqc1/V6seahORSQTA5';
    expect(await verifyLegacyPasswordHash(sha512, 'correct horse')).toBe(true);
    expect(await verifyLegacyPasswordHash(sha256, 'correct horse')).toBe(true);
    expect(await verifyLegacyPasswordHash(sha256, 'correct horsE')).toBe(false);
  });

  // The examples at the end of Drepper's "Unix crypt using SHA-256 and SHA-512".
  it("matches the specification's own test vectors", async () => {
    expect(
      await verifyLegacyPasswordHash(
        '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5',
        'Hello world!',
      ),
    ).toBe(true);
    expect(
      await verifyLegacyPasswordHash(
        '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
        'Hello world!',
      ),
    ).toBe(true);
    expect(
      await verifyLegacyPasswordHash(
        '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA',
        'Hello world!',
      ),
    ).toBe(true);
  });
});

describe('what it refuses at import', () => {
  it.each([
    ['{SCRAM-SHA-1}abc', /unknown scheme \{SCRAM-SHA-1\}/],
    ['{NOPE}abc', /unknown scheme/],
    ['5f4dcc3b5aa765d61d8327deb882cf99', /no \{SCHEME\} prefix/],
    ['', /empty/],
    ['{PLAIN}', /empty/],
    ['{SHA512-CRYPT}$5$abc$def', /not a SHA512-CRYPT string/],
    ['{SHA512-CRYPT}$6$salt$tooshort', /malformed SHA512-CRYPT/],
    ['{BLF-CRYPT}$2y$31$Fs/LiYGHULLxSoCr6roPjuFwg4kHYqWmtvjlqfXYaSvfdH1BVNFNi', /cost 31/],
    ['{SHA256}f7RERuWhObO3oHciFhtpNCnGhD0FNBL7', /24 bytes: 32 expected/],
    ['{SHA256}not base64!', /not valid base64/],
    ['{SSHA}wBFJYYjnh5eS5Eft5JORpd7Gkko=', /more than 20/],
    ['{SHA256.ROT13}abc', /unknown encoding \.ROT13/],
    ['{SHA512-CRYPT.HEX}$6$abc$def', /no encoding suffix/],
    ['{PLAIN}two\nlines', /line break/],
    [
      '{ARGON2ID}$argon2id$v=19$m=4194304,t=3,p=1$JUIns1KJAUVpu8EOs1o17g$8u3TQ9jBRCrs2QSqC6QjOYvq90rc5a4xDFOc7tEkIMA',
      /m=4194304/,
    ],
    [
      '{ARGON2ID}$argon2id$v=16$m=65536,t=3,p=1$JUIns1KJAUVpu8EOs1o17g$8u3TQ9jBRCrs2QSqC6QjOYvq90rc5a4xDFOc7tEkIMA',
      /v=16/,
    ],
  ])('refuses %j', (input, problem) => {
    const parsed = parseLegacyPasswordHash(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toMatch(problem);
  });

  it('refuses SHA-crypt rounds it could not check at login without stalling a gateway', () => {
    const rounds = LEGACY_HASH_LIMITS.shaCryptRounds + 1;
    const parsed = parseLegacyPasswordHash(`{SHA512-CRYPT}$6$rounds=${rounds}$salt$${'a'.repeat(86)}`);
    expect(parsed).toMatchObject({ ok: false, problem: expect.stringContaining(`rounds=${rounds}`) });
  });

  it('takes a bare crypt string as Dovecot’s default scheme CRYPT does, stored with its prefix', () => {
    const parsed = parseLegacyPasswordHash('$2y$05$Fs/LiYGHULLxSoCr6roPjuFwg4kHYqWmtvjlqfXYaSvfdH1BVNFNi');
    expect(parsed).toMatchObject({
      ok: true,
      hash: {
        scheme: 'BLF-CRYPT',
        stored: '{BLF-CRYPT}$2y$05$Fs/LiYGHULLxSoCr6roPjuFwg4kHYqWmtvjlqfXYaSvfdH1BVNFNi',
      },
    });
  });

  it('reads the scheme name in any case, as Dovecot does', async () => {
    expect(
      await verifyLegacyPasswordHash('{sha256}f7RERuWhObO3oHciFhtpNCnGhD0FNBL7CyE3AkK4vbA=', PASSWORD),
    ).toBe(true);
  });

  it('answers false, not an error, for a stored string that does not parse', async () => {
    expect(await verifyLegacyPasswordHash('{NOPE}x', 'x')).toBe(false);
  });
});
