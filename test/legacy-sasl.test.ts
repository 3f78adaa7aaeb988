import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cramMd5Contexts, digestMd5Ha1 } from '@tegami/protocol';
import { ensureSelfSignedCertificate } from '@tegami/runtime';
import {
  addDomain,
  createAccount,
  createSecretsKeyring,
  legacySaslPolicy,
  migrate,
  openStore,
  type StorePool,
} from '@tegami/store';
import {
  createTestDatabase,
  LineClient,
  type ProgramRun,
  runProgram,
  type TestDatabase,
  testNats,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOOPBACK, type LoginServices, startLoginServices } from './support/login-services.js';
import { REPO_ROOT, runInRepo } from './support/processes.js';

// CRAM-MD5 and DIGEST-MD5 (issue 13, item 6) across processes, as the chart runs them. With
// a key (TEGAMI_SECRETS_KEY_FILE) logins work over SMTP, POP3 and IMAP with real clients
// (swaks, curl), with secrets the CLI sealed; the database holds none in clear. Without a
// key the services delete what was stored, offer neither mechanism and refuse both.

const DOMAIN = 'sealed.test';
const scratch = mkdtempSync(join(tmpdir(), 'tegami-legacy-sasl-'));

interface Site {
  readonly database: TestDatabase;
  readonly store: StorePool;
  readonly env: Record<string, string>;
  services?: LoginServices;
}

async function openSite(): Promise<Site> {
  const database = await createTestDatabase();
  const store = openStore({ url: database.url, poolSize: 2, onIdleError: () => undefined });
  await migrate(store.pool);
  await addDomain(store.pool, DOMAIN);
  const nats = await testNats();
  const cert = await ensureSelfSignedCertificate(scratch, 'localhost');
  return {
    database,
    store,
    env: {
      DATABASE_URL: database.url,
      NATS_URL: nats.url,
      TEGAMI_NATS_PREFIX: nats.prefix,
      TEGAMI_HOSTNAME: `mx.${DOMAIN}`,
      TEGAMI_TLS_CERT_FILE: cert.certFile,
      TEGAMI_TLS_KEY_FILE: cert.keyFile,
    },
  };
}

async function closeSite(site: Site | undefined): Promise<void> {
  await site?.services?.stop();
  await site?.store.close();
  await site?.database.drop().catch(() => undefined);
}

/** curl logging in over POP3 or IMAP (no TLS: these mechanisms never send the password) with one SASL mechanism. */
function curlLogin(url: string, user: string, password: string, mechanism: string): Promise<ProgramRun> {
  return runProgram(
    'curl',
    ['-s', '--max-time', '10', '--login-options', `AUTH=${mechanism}`, '--user', `${user}:${password}`, url],
    { cwd: REPO_ROOT, env: process.env, stdin: '' },
  );
}

/** swaks authenticating on submission, then quitting. */
function swaksAuth(port: number, user: string, password: string, mechanism: string): Promise<ProgramRun> {
  return runProgram(
    'swaks',
    [
      '--server',
      `${LOOPBACK}:${port}`,
      '--auth',
      mechanism,
      '--auth-user',
      user,
      '--auth-password',
      password,
      '--quit-after',
      'AUTH',
      '--timeout',
      '10',
    ],
    { cwd: REPO_ROOT, env: process.env, stdin: '' },
  );
}

async function legacyColumns(store: StorePool) {
  const result = await store.pool.query(
    `SELECT address, cram_md5_inner, cram_md5_outer, digest_md5_ha1, legacy_sasl_key_id, legacy_sasl_sealed
       FROM accounts ORDER BY address`,
  );
  return result.rows;
}

/** The JSON log lines of a program with this message text in them. */
function logLines(output: string, text: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes(text))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('CRAM-MD5 and DIGEST-MD5 with a key', () => {
  let site: Site;
  let keyFile: string;

  beforeAll(async () => {
    site = await openSite();
    keyFile = join(scratch, 'secrets.key');
    writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    // Users as an operator adds them: with the CLI, which reads the same key.
    for (const user of ['alice', 'bob']) {
      const add = await runInRepo(
        'node',
        [
          '--conditions=tegami-source',
          '--import',
          'tsx',
          'packages/cli/src/main.ts',
          'user',
          'add',
          `${user}@${DOMAIN}`,
          '--password-stdin',
        ],
        { DATABASE_URL: site.database.url, TEGAMI_SECRETS_KEY_FILE: keyFile },
        `${user}-password\n`,
      );
      expect(add, add.stderr).toMatchObject({ code: 0 });
    }
    site.services = await startLoginServices({ ...site.env, TEGAMI_SECRETS_KEY_FILE: keyFile });
  }, 120_000);
  afterAll(() => closeSite(site));

  it('logs in over SMTP, POP3 and IMAP with real clients, the database holding the secrets only sealed', async () => {
    const rows = await legacyColumns(site.store);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toMatchObject({ cram_md5_inner: null, cram_md5_outer: null, digest_md5_ha1: null });
      expect(row.legacy_sasl_key_id).toMatch(/^[0-9a-f]{16}$/);
      const password = `${row.address.split('@')[0]}-password`;
      const { inner, outer } = cramMd5Contexts(password);
      for (const secret of [inner, outer, digestMd5Ha1(row.address, DOMAIN, password)])
        expect(row.legacy_sasl_sealed.includes(secret)).toBe(false);
    }

    const { ports } = site.services!;
    const alice = `alice@${DOMAIN}`;
    for (const mechanism of ['CRAM-MD5', 'DIGEST-MD5']) {
      const smtp = await swaksAuth(ports.submission, alice, 'alice-password', mechanism);
      expect(smtp.stdout, `SMTP ${mechanism}`).toMatch(/<- +235 2\.7\.0 Authentication successful/);
      const pop = await curlLogin(`pop3://${LOOPBACK}:${ports.pop3}/`, alice, 'alice-password', mechanism);
      expect(pop, `POP3 ${mechanism}`).toMatchObject({ code: 0 });
      const imap = await curlLogin(`imap://${LOOPBACK}:${ports.imap}/`, alice, 'alice-password', mechanism);
      expect(imap, `IMAP ${mechanism}`).toMatchObject({ code: 0 });
      expect(imap.stdout).toContain('INBOX');
      // curl's exit code 67: the server refused the login.
      const wrong = await curlLogin(`imap://${LOOPBACK}:${ports.imap}/`, alice, 'wrong', mechanism);
      expect(wrong.code, `IMAP ${mechanism} with a wrong password`).toBe(67);
    }
  });

  it('refuses the login of an account given another account’s sealed secrets, logs it once, and serves on', async () => {
    const bob = `bob@${DOMAIN}`;
    await site.store.pool.query(
      `UPDATE accounts SET legacy_sasl_sealed = (SELECT legacy_sasl_sealed FROM accounts WHERE address = $1)
        WHERE address = $2`,
      [`alice@${DOMAIN}`, bob],
    );
    const { ports, imap } = site.services!;
    for (const password of ['bob-password', 'alice-password']) {
      const run = await curlLogin(`imap://${LOOPBACK}:${ports.imap}/`, bob, password, 'CRAM-MD5');
      expect(run.code).toBe(67);
    }
    const errors = logLines(imap.output(), 'do not authenticate');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ level: 'error', address: bob, problem: 'not-authentic' });
    expect(imap.output()).not.toMatch(/\n\s+at /);
    // PLAIN does not use those secrets, and the process is alive.
    const plain = await curlLogin(`imap://${LOOPBACK}:${ports.imap}/`, bob, 'bob-password', 'PLAIN');
    expect(plain).toMatchObject({ code: 0 });
  });
});

describe('CRAM-MD5 and DIGEST-MD5 without a key', () => {
  let site: Site;

  beforeAll(async () => {
    site = await openSite();
    // Accounts made while the mechanisms were on (sealed), and one from before migration
    // 0008 (in clear), then the services started with no key at all.
    const legacy = legacySaslPolicy(createSecretsKeyring([randomBytes(32)]), true);
    await createAccount(site.store.pool, `alice@${DOMAIN}`, 'alice-password', legacy);
    await createAccount(site.store.pool, `carol@${DOMAIN}`, 'carol-password');
    const { inner, outer } = cramMd5Contexts('carol-password');
    await site.store.pool.query(
      'UPDATE accounts SET cram_md5_inner = $2, cram_md5_outer = $3, digest_md5_ha1 = $4 WHERE address = $1',
      [`carol@${DOMAIN}`, inner, outer, digestMd5Ha1(`carol@${DOMAIN}`, DOMAIN, 'carol-password')],
    );
    site.services = await startLoginServices(site.env);
  }, 120_000);
  afterAll(() => closeSite(site));

  it('deletes the stored secrets and says once, at start, that the mechanisms are off', async () => {
    for (const row of await legacyColumns(site.store)) {
      expect(row).toMatchObject({
        cram_md5_inner: null,
        cram_md5_outer: null,
        digest_md5_ha1: null,
        legacy_sasl_key_id: null,
        legacy_sasl_sealed: null,
      });
    }
    const { smtp, pop, imap } = site.services!;
    let removed = 0;
    for (const program of [smtp, pop, imap]) {
      const lines = logLines(program.output(), 'CRAM-MD5 and DIGEST-MD5 are off');
      expect(lines, program.output()).toHaveLength(1);
      expect(String(lines[0]!.msg)).toContain('no TEGAMI_SECRETS_KEY_FILE');
      removed += Number(lines[0]!.removed ?? 0);
    }
    // Three services started at once; between them they deleted both accounts' secrets once.
    expect(removed).toBe(2);
  });

  it('offers neither, and answers each protocol’s “unsupported mechanism”', async () => {
    const { ports } = site.services!;
    const smtp = await LineClient.connect(ports.submission, { host: LOOPBACK });
    try {
      await smtp.readReply();
      const ehlo = await smtp.command('EHLO client.test');
      expect(ehlo.lines).toContain('250-AUTH SCRAM-SHA-256 PLAIN LOGIN');
      expect((await smtp.command('AUTH CRAM-MD5')).text).toBe('504 5.5.4 Unrecognized authentication type');
      expect((await smtp.command('AUTH DIGEST-MD5')).text).toBe('504 5.5.4 Unrecognized authentication type');
    } finally {
      smtp.close();
    }

    const pop = await LineClient.connect(ports.pop3, { host: LOOPBACK });
    try {
      await pop.readLine();
      pop.write('CAPA\r\n');
      const capa: string[] = [];
      for (let line = await pop.readLine(); line !== '.'; line = await pop.readLine()) capa.push(line);
      expect(capa).toContain('SASL SCRAM-SHA-256 PLAIN LOGIN');
      pop.write('AUTH CRAM-MD5\r\n');
      expect(await pop.readLine()).toBe('-ERR unsupported authentication mechanism');
      pop.write('AUTH DIGEST-MD5\r\n');
      expect(await pop.readLine()).toBe('-ERR unsupported authentication mechanism');
    } finally {
      pop.close();
    }

    const imap = await LineClient.connect(ports.imap, { host: LOOPBACK });
    try {
      const greeting = await imap.readLine();
      expect(greeting).toContain('AUTH=SCRAM-SHA-256 AUTH=PLAIN AUTH=LOGIN]');
      expect(greeting).not.toMatch(/AUTH=(CRAM|DIGEST)-MD5/);
      expect(await imap.tagged('a AUTHENTICATE CRAM-MD5')).toEqual([
        'a NO unsupported authentication mechanism',
      ]);
      expect(await imap.tagged('b AUTHENTICATE DIGEST-MD5')).toEqual([
        'b NO unsupported authentication mechanism',
      ]);
    } finally {
      imap.close();
    }

    // Real clients: curl asked for CRAM-MD5 gets no login; PLAIN (and SCRAM) still work.
    const cram = await curlLogin(
      `imap://${LOOPBACK}:${ports.imap}/`,
      `alice@${DOMAIN}`,
      'alice-password',
      'CRAM-MD5',
    );
    expect(cram.code).not.toBe(0);
    const plain = await curlLogin(
      `pop3://${LOOPBACK}:${ports.pop3}/`,
      `alice@${DOMAIN}`,
      'alice-password',
      'PLAIN',
    );
    expect(plain).toMatchObject({ code: 0 });
  });

  it('stops with one line and exit code 2 when asked for them without a key', async () => {
    const run = await runInRepo(
      'node',
      ['--conditions=tegami-source', '--import', 'tsx', 'services/pop-gateway/src/main.ts'],
      {
        ...site.env,
        TEGAMI_SASL_LEGACY_MECHANISMS: 'true',
        TEGAMI_POP_PORT: '0',
        TEGAMI_POPS_PORT: '0',
        TEGAMI_OPS_PORT: '0',
      },
    );
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      'tegami: configuration error: TEGAMI_SASL_LEGACY_MECHANISMS is true, but there is no key to seal their secrets: set TEGAMI_SECRETS_KEY_FILE',
    ]);
  });
});
