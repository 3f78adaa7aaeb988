import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createSecretsKeyring, SECRETS_KEY_BYTES, type SecretsKeyring } from './sealed-secrets.js';
import { createSecretFileOnce, readSecretFile } from './secret-files.js';

/**
 * A key file that cannot be used. It is the operator's to fix, like a bad setting, so
 * start-up reports it on one line and exits 2 (runtime's exit.ts looks for `configurationProblem`).
 */
export class SecretsKeyError extends Error {
  readonly configurationProblem = true;
  constructor(message: string) {
    super(message);
    this.name = 'SecretsKeyError';
  }
}

/** The key file the standalone keeps in its data directory. */
export const SECRETS_KEY_FILE_NAME = 'secrets.key';

/**
 * Reads a key file: one base64 key of 32 bytes per line (`openssl rand -base64 32`); blank
 * lines and `#` comments are skipped. The first key seals, all of them unseal: to rotate,
 * put a new key first and keep the old one below it until nothing is sealed with it.
 */
export function loadSecretsKeyring(file: string): SecretsKeyring {
  const text = readSecretFile(file, 'secrets key file', (message) => new SecretsKeyError(message));
  const keys: Buffer[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const key = Buffer.from(line, 'base64');
    // Buffer.from skips what is not base64: compare the round trip, so a typo is caught.
    if (key.length !== SECRETS_KEY_BYTES || key.toString('base64') !== line) {
      throw new SecretsKeyError(
        `secrets key file ${file} line ${index + 1}: not a base64 key of ${SECRETS_KEY_BYTES} bytes (make one with \`openssl rand -base64 32\`)`,
      );
    }
    keys.push(key);
  }
  if (keys.length === 0) throw new SecretsKeyError(`secrets key file ${file}: holds no key`);
  return createSecretsKeyring(keys);
}

/**
 * The standalone's key: `<dir>/secrets.key`, created (0600) on the first start and reused
 * on every later one, so what it sealed stays readable. Never replaced: a file that is
 * there but unusable stops the start (loadSecretsKeyring says why) rather than being
 * overwritten, which would lose every sealed secret.
 */
export function ensureSecretsKeyFile(dir: string): { readonly file: string; readonly generated: boolean } {
  const file = join(dir, SECRETS_KEY_FILE_NAME);
  const generated = createSecretFileOnce(
    file,
    [
      '# Tegami: the key that seals the CRAM-MD5 and DIGEST-MD5 secrets and the DKIM private',
      '# keys in the database. Keep it with (not inside) the backups of the data: without it',
      '# those logins fail until each password is set again, and mail goes out unsigned until',
      '# new DKIM keys are made and published. To rotate, put a new key on the first line.',
      randomBytes(SECRETS_KEY_BYTES).toString('base64'),
      '',
    ].join('\n'),
  );
  return { file, generated };
}
