import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createSecretFileOnce, readSecretFile } from './secret-files.js';

// The secrets that sign SRS addresses (TEGAMI_SRS_SECRET_FILE). The file has postsrsd's
// form: one secret per line, the first signs, every line verifies. So a site moving from
// Postfix with postsrsd keeps its file, and the bounces to addresses postsrsd wrote still
// come back.

/**
 * A secret file that cannot be used: the operator's to fix, like a bad setting (start-up
 * says so on one line and exits 2; runtime's exit.ts looks for `configurationProblem`).
 */
export class SrsSecretError extends Error {
  readonly configurationProblem = true;
  constructor(message: string) {
    super(message);
    this.name = 'SrsSecretError';
  }
}

/** The secret file the standalone keeps in its data directory. */
export const SRS_SECRET_FILE_NAME = 'srs.secret';

/** A secret shorter than this is guessable enough to forge bounce addresses with. */
export const SRS_SECRET_MIN_LENGTH = 16;

/** Reads the secrets, first (signing) one first. Blank lines are skipped; nothing else is (postsrsd has no comments). */
export function loadSrsSecrets(file: string): string[] {
  const text = readSecretFile(file, 'SRS secret file', (message) => new SrsSecretError(message));
  const secrets: string[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const secret = raw.replace(/\r$/, '');
    if (secret.trim() === '') continue;
    if (secret.length < SRS_SECRET_MIN_LENGTH) {
      throw new SrsSecretError(
        `SRS secret file ${file} line ${index + 1}: shorter than ${SRS_SECRET_MIN_LENGTH} characters (make one with \`openssl rand -base64 32\`)`,
      );
    }
    secrets.push(secret);
  }
  if (secrets.length === 0) throw new SrsSecretError(`SRS secret file ${file}: holds no secret`);
  return secrets;
}

/**
 * The standalone's secret: `<dir>/srs.secret`, created (0600) on the first start and kept,
 * so the SRS addresses it signed stay valid across restarts. A file that is there is never
 * replaced (loadSrsSecrets says what is wrong with it).
 */
export function ensureSrsSecretFile(dir: string): { readonly file: string; readonly generated: boolean } {
  const file = join(dir, SRS_SECRET_FILE_NAME);
  return { file, generated: createSecretFileOnce(file, `${randomBytes(32).toString('base64')}\n`) };
}
