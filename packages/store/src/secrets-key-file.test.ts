import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LEGACY_SASL_OFF, legacySaslPolicy } from './legacy-sasl-secrets.js';
import { secretsKeyId } from './sealed-secrets.js';
import { ensureSecretsKeyFile, loadSecretsKeyring, SecretsKeyError } from './secrets-key-file.js';

const scratch = mkdtempSync(join(tmpdir(), 'tegami-secrets-key-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SecretsKeyError);
    expect((err as SecretsKeyError).configurationProblem).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a SecretsKeyError');
}

describe('the secrets key file', () => {
  it('is generated once in the data directory, 0600, and reused on the next start', () => {
    const dir = join(scratch, 'data');
    const first = ensureSecretsKeyFile(dir);
    expect(first).toEqual({ file: join(dir, 'secrets.key'), generated: true });
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    const keyring = loadSecretsKeyring(first.file);
    expect(keyring.keys.size).toBe(1);

    const again = ensureSecretsKeyFile(dir);
    expect(again).toEqual({ file: first.file, generated: false });
    expect(loadSecretsKeyring(again.file).current).toEqual(keyring.current);
  });

  it('reads keys one per line, comments skipped, the first one sealing', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const file = join(scratch, 'two.key');
    writeFileSync(
      file,
      `# new key first\n${a.toString('base64')}\n\n# the old one, until nothing uses it\n${b.toString('base64')}\n`,
    );
    const keyring = loadSecretsKeyring(file);
    expect(keyring.current).toEqual({ id: secretsKeyId(a), key: a });
    expect([...keyring.keys.keys()]).toEqual([secretsKeyId(a), secretsKeyId(b)]);
  });

  it('says in one line what is wrong with a key file', () => {
    const missing = join(scratch, 'missing.key');
    expect(problem(() => loadSecretsKeyring(missing))).toBe(`secrets key file ${missing}: does not exist`);
    const short = join(scratch, 'short.key');
    writeFileSync(short, `${randomBytes(16).toString('base64')}\n`);
    expect(problem(() => loadSecretsKeyring(short))).toBe(
      `secrets key file ${short} line 1: not a base64 key of 32 bytes (make one with \`openssl rand -base64 32\`)`,
    );
    const typo = join(scratch, 'typo.key');
    writeFileSync(typo, `${randomBytes(32).toString('base64').replace(/.$/, '!')}\n`);
    expect(problem(() => loadSecretsKeyring(typo))).toMatch(/line 1: not a base64 key/);
    const empty = join(scratch, 'empty.key');
    writeFileSync(empty, '# nothing here\n');
    expect(problem(() => loadSecretsKeyring(empty))).toBe(`secrets key file ${empty}: holds no key`);
    // Never overwritten, even when unusable: that would lose what the old key sealed.
    const dir = join(scratch, 'broken');
    ensureSecretsKeyFile(dir);
    writeFileSync(join(dir, 'secrets.key'), 'garbage\n');
    expect(ensureSecretsKeyFile(dir).generated).toBe(false);
    expect(readFileSync(join(dir, 'secrets.key'), 'utf8')).toBe('garbage\n');
  });
});

describe('legacySaslPolicy', () => {
  const keyring = loadSecretsKeyring(ensureSecretsKeyFile(join(scratch, 'policy')).file);

  it('is on exactly when there is a key, unless the operator says otherwise', () => {
    expect(legacySaslPolicy(keyring, undefined)).toEqual({ enabled: true, keyring });
    expect(legacySaslPolicy(undefined, undefined)).toBe(LEGACY_SASL_OFF);
    expect(legacySaslPolicy(keyring, false)).toBe(LEGACY_SASL_OFF);
    expect(legacySaslPolicy(keyring, true)).toEqual({ enabled: true, keyring });
    expect(problem(() => legacySaslPolicy(undefined, true))).toBe(
      'TEGAMI_SASL_LEGACY_MECHANISMS is true, but there is no key to seal their secrets: set TEGAMI_SECRETS_KEY_FILE',
    );
  });
});
