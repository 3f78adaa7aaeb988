import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from './accounts.js';
import { addDomain } from './domains.js';
import { prepareLegacySasl, type StartupLog } from './legacy-sasl-startup.js';
import { openTestStore } from './test-store.js';

const scratch = mkdtempSync(join(tmpdir(), 'tegami-legacy-startup-'));
let store: Awaited<ReturnType<typeof openTestStore>>;

beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'startup.test');
});
afterAll(async () => {
  await store.close();
  rmSync(scratch, { recursive: true, force: true });
});

function recordingLog(): StartupLog & { lines: [string, string, object][] } {
  const lines: [string, string, object][] = [];
  return {
    lines,
    info: (details, message) => lines.push(['info', message, details]),
    warn: (details, message) => lines.push(['warn', message, details]),
  };
}

function keyFile(name: string, mode: number): string {
  const file = join(scratch, name);
  writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode });
  return file;
}

describe('prepareLegacySasl', () => {
  it('turns the mechanisms on with a key and says so in one line, warning of a key file anyone can read', async () => {
    const log = recordingLog();
    const file = keyFile('open.key', 0o644);
    const policy = await prepareLegacySasl(
      store.pool,
      { secretsKeyFile: file, saslLegacyMechanisms: undefined },
      log,
    );
    expect(policy.enabled).toBe(true);
    expect(log.lines.map(([level, message]) => [level, message])).toEqual([
      ['warn', 'the secrets key file is readable by every user of this machine: chmod 600 it'],
      ['info', 'CRAM-MD5 and DIGEST-MD5 are on; their secrets are stored sealed (AES-256-GCM)'],
    ]);
    await createAccount(store.pool, 'ann@startup.test', 'ann-password', policy);
  });

  it('names keys it lacks, and turns the mechanisms off without a key or when told, deleting what was stored, in one line', async () => {
    // Another key than the first test's: ann's secrets no longer open, and the start says so.
    const other = recordingLog();
    const on = await prepareLegacySasl(
      store.pool,
      { secretsKeyFile: keyFile('own.key', 0o600), saslLegacyMechanisms: true },
      other,
    );
    expect(other.lines.map(([level, message]) => [level, message])).toEqual([
      ['info', 'CRAM-MD5 and DIGEST-MD5 are on; their secrets are stored sealed (AES-256-GCM)'],
      [
        'warn',
        'some accounts have CRAM-MD5/DIGEST-MD5 secrets no key here opens: those logins fail until the key is added to TEGAMI_SECRETS_KEY_FILE or the password is set again',
      ],
    ]);
    await createAccount(store.pool, 'ben@startup.test', 'ben-password', on);

    const told = recordingLog();
    expect(
      await prepareLegacySasl(
        store.pool,
        { secretsKeyFile: keyFile('unused.key', 0o600), saslLegacyMechanisms: false },
        told,
      ),
    ).toEqual({ enabled: false });
    expect(told.lines).toEqual([
      [
        'warn',
        'CRAM-MD5 and DIGEST-MD5 are off (TEGAMI_SASL_LEGACY_MECHANISMS is false): deleted their stored secrets; users need a new password to use them once they are on again',
        { removed: 2 },
      ],
    ]);

    const keyless = recordingLog();
    expect(
      await prepareLegacySasl(
        store.pool,
        { secretsKeyFile: undefined, saslLegacyMechanisms: undefined },
        keyless,
      ),
    ).toEqual({
      enabled: false,
    });
    expect(keyless.lines).toEqual([
      [
        'info',
        'CRAM-MD5 and DIGEST-MD5 are off (no TEGAMI_SECRETS_KEY_FILE to seal their secrets with): nothing password-equivalent is stored',
        {},
      ],
    ]);
  });
});
