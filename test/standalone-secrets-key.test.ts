import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type Program } from '@tegami/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { runInRepo, startInRepo } from './support/processes.js';

// `pnpm start` keeps CRAM-MD5 and DIGEST-MD5 on with a key of its own: generated in the data
// directory (0600) on the first start, reused on the next, and found there by `pnpm tegami`,
// so a password the CLI sets works with every mechanism.
const dataDir = mkdtempSync(join(tmpdir(), 'tegami-secrets-e2e-'));
let running: Program | undefined;

afterAll(() => {
  running?.signal('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function startTegami(ports: { submission: number; imap: number }): Promise<Program> {
  const program = startInRepo('pnpm', ['start'], {
    TEGAMI_DATA_DIR: dataDir,
    TEGAMI_OPS_PORT: '0',
    TEGAMI_SMTP_MX_PORT: '0',
    TEGAMI_SMTP_SUBMISSION_PORT: String(ports.submission),
    TEGAMI_SMTP_SUBMISSIONS_PORT: '0',
    TEGAMI_MTA_STS_PORT: '0',
    TEGAMI_POP_PORT: '0',
    TEGAMI_POPS_PORT: '0',
    TEGAMI_IMAP_PORT: String(ports.imap),
    TEGAMI_IMAPS_PORT: '0',
    TEGAMI_MANAGESIEVE_PORT: '0',
  });
  running = program;
  await program.waitFor(/Tegami is running/, 90_000);
  return program;
}

/** CRAM-MD5 on submission (swaks) and DIGEST-MD5 on IMAP (curl), both without TLS: true when both log in. */
async function legacyLogins(ports: { submission: number; imap: number }): Promise<boolean> {
  const smtp = await runInRepo(
    'swaks',
    [
      '--server',
      `127.0.0.1:${ports.submission}`,
      '--auth',
      'CRAM-MD5',
      '--auth-user',
      'alice@localhost',
      '--auth-password',
      'correct horse',
      '--quit-after',
      'AUTH',
    ],
    {},
  );
  const imap = await runInRepo(
    'curl',
    [
      '-s',
      '--login-options',
      'AUTH=DIGEST-MD5',
      '--user',
      'alice@localhost:correct horse',
      `imap://127.0.0.1:${ports.imap}/`,
    ],
    {},
  );
  return /<- +235 2\.7\.0/.test(smtp.stdout) && imap.code === 0 && imap.stdout.includes('INBOX');
}

describe('pnpm start and its secrets key (and SRS secret)', () => {
  it('generates the key and the SRS secret 0600 on the first start, seals the CLI’s secrets with the key, and reuses both after a restart', async () => {
    const ports = { submission: await freePort(), imap: await freePort() };
    const keyFile = join(dataDir, 'secrets.key');
    const first = await startTegami(ports);
    expect(first.output()).toContain('generated the key that seals CRAM-MD5/DIGEST-MD5 secrets');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile, 'utf8');
    // The secret that signs SRS senders of forwarded mail, kept beside it the same way.
    const srsFile = join(dataDir, 'srs.secret');
    expect(first.output()).toContain('generated the SRS secret for forwarding');
    expect(statSync(srsFile).mode & 0o777).toBe(0o600);
    const srsSecret = readFileSync(srsFile, 'utf8');
    expect(srsSecret).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);

    const add = await runInRepo(
      'pnpm',
      ['--silent', 'tegami', 'user', 'add', 'alice@localhost', '--password-stdin'],
      { TEGAMI_DATA_DIR: dataDir },
      'correct horse\n',
    );
    expect(add, add.stderr).toMatchObject({ code: 0 });
    expect(await legacyLogins(ports)).toBe(true);

    first.signal('SIGINT');
    await first.exited();
    const second = await startTegami(ports);
    expect(second.output()).not.toContain('generated the key');
    expect(second.output()).toMatch(/CRAM-MD5 and DIGEST-MD5 are on/);
    expect(readFileSync(keyFile, 'utf8')).toBe(key);
    expect(second.output()).not.toContain('generated the SRS secret');
    expect(readFileSync(srsFile, 'utf8')).toBe(srsSecret);
    expect(await legacyLogins(ports)).toBe(true);
    second.signal('SIGTERM');
    await second.exited();
  }, 240_000);
});
