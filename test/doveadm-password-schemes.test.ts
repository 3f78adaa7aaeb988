import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { LEGACY_PASSWORD_SCHEMES, verifyLegacyPasswordHash } from '@tegami/protocol/legacy-password-hash';
import { describe, expect, it } from 'vitest';

// Every scheme `tegami user import` takes, against hashes Dovecot's own `doveadm pw` makes
// now, with passwords holding UTF-8 and a colon (packages/protocol keeps fixed ones of each
// for where Dovecot is not installed).

const available = existsSync('/usr/bin/doveadm');

describe.skipIf(!available)('password hashes doveadm makes', () => {
  const schemes = [
    ...LEGACY_PASSWORD_SCHEMES.filter((scheme) => scheme !== 'CRYPT'),
    'SHA512.HEX',
    'SSHA256.HEX',
    'SHA.B64',
    'PLAIN.B64',
    'PLAIN.HEX',
  ];

  it.each(schemes)('checks a fresh {%s} hash, and only with its password', async (scheme) => {
    const password = `Geheim ${scheme} €:${scheme.length}`;
    const stored = execFileSync('/usr/bin/doveadm', ['pw', '-s', scheme, '-p', password]).toString().trim();
    expect(await verifyLegacyPasswordHash(stored, password)).toBe(true);
    expect(await verifyLegacyPasswordHash(stored, `${password} `)).toBe(false);
  });

  it('checks SHA-crypt hashes with rounds= as doveadm writes them with -r', async () => {
    for (const scheme of ['SHA512-CRYPT', 'SHA256-CRYPT']) {
      const stored = execFileSync('/usr/bin/doveadm', ['pw', '-s', scheme, '-r', '12345', '-p', 'rounds'])
        .toString()
        .trim();
      expect(stored).toContain('$rounds=12345$');
      expect(await verifyLegacyPasswordHash(stored, 'rounds')).toBe(true);
    }
  });
});
