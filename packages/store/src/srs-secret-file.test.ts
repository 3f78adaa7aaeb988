import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSrsSecretFile, loadSrsSecrets, SrsSecretError } from './srs-secret-file.js';

const scratch = mkdtempSync(join(tmpdir(), 'tegami-srs-secret-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SrsSecretError);
    expect((err as SrsSecretError).configurationProblem).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected an SrsSecretError');
}

function file(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

describe('the SRS secret file', () => {
  it('reads postsrsd’s form: one secret per line, the first signing, blank lines skipped', () => {
    const path = file('two', 'first-secret-0123456789\r\n\nsecond secret, older one\n');
    expect(loadSrsSecrets(path)).toEqual(['first-secret-0123456789', 'second secret, older one']);
  });

  it('refuses a short secret, an empty file and a missing one, saying which', () => {
    expect(problem(() => loadSrsSecrets(file('short', 'long-enough-secret-1\nshort\n')))).toBe(
      `SRS secret file ${join(scratch, 'short')} line 2: shorter than 16 characters (make one with \`openssl rand -base64 32\`)`,
    );
    expect(problem(() => loadSrsSecrets(file('empty', '\n  \n')))).toBe(
      `SRS secret file ${join(scratch, 'empty')}: holds no secret`,
    );
    expect(problem(() => loadSrsSecrets(join(scratch, 'none')))).toBe(
      `SRS secret file ${join(scratch, 'none')}: does not exist`,
    );
  });

  it('is generated once in the data directory, 0600, and kept on the next start', () => {
    const dir = join(scratch, 'data');
    const first = ensureSrsSecretFile(dir);
    expect(first).toEqual({ file: join(dir, 'srs.secret'), generated: true });
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    const [secret] = loadSrsSecrets(first.file);
    expect(Buffer.from(secret!, 'base64')).toHaveLength(32);
    expect(ensureSrsSecretFile(dir)).toEqual({ file: first.file, generated: false });
    expect(loadSrsSecrets(first.file)).toEqual([secret]);
  });

  it('never replaces a file that is there, even one it cannot use', () => {
    const dir = join(scratch, 'kept');
    ensureSrsSecretFile(dir);
    writeFileSync(join(dir, 'srs.secret'), 'bad\n');
    expect(ensureSrsSecretFile(dir).generated).toBe(false);
    expect(readFileSync(join(dir, 'srs.secret'), 'utf8')).toBe('bad\n');
  });
});
