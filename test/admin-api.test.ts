import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Program } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInRepo, startInRepo } from './support/processes.js';

// The admin API as an operator meets it: `pnpm start` prints where it is and how to get a
// token, `pnpm tegami admin token create` makes one, and curl does the rest. What the API
// creates must then work for mail clients: the user logs in over IMAP and submits over SMTP.

const dataDir = mkdtempSync(join(tmpdir(), 'tegami-admin-e2e-'));
let running: Program | undefined;
let adminUrl = '';
let imapPort = 0;
let submissionPort = 0;
let full = '';
let viewer = '';

const tegami = (args: string[]) =>
  runInRepo('pnpm', ['--silent', 'tegami', ...args], { TEGAMI_DATA_DIR: dataDir });

interface Answer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: a test reads whatever JSON came back
  readonly body: any;
}

/** curl, the real client: the status code on the last line of standard output, after the body. */
async function curl(
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<Answer> {
  const args = ['-sS', '-X', method, '-w', '\n%{http_code}', `${adminUrl}${path}`];
  if (options.token) args.push('-H', `Authorization: Bearer ${options.token}`);
  if (options.body !== undefined)
    args.push('-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(options.body));
  const run = await runInRepo('curl', args, {});
  expect(run.code, run.stderr).toBe(0);
  const cut = run.stdout.lastIndexOf('\n');
  const text = run.stdout.slice(0, cut);
  return { status: Number(run.stdout.slice(cut + 1)), body: text === '' ? undefined : JSON.parse(text) };
}

/**
 * An IMAP login (AUTHENTICATE PLAIN: the password as the user typed it) and LIST with curl;
 * its exit code 67 says the login was refused.
 */
async function imapLogin(user: string, password: string) {
  return runInRepo(
    'curl',
    [
      '-sS',
      '--login-options',
      'AUTH=PLAIN',
      '--user',
      `${user}:${password}`,
      `imap://127.0.0.1:${imapPort}/`,
    ],
    {},
  );
}

beforeAll(async () => {
  const program = startInRepo('pnpm', ['start'], {
    TEGAMI_DATA_DIR: dataDir,
    TEGAMI_OPS_PORT: '0',
    TEGAMI_ADMIN_PORT: '0',
    TEGAMI_SMTP_MX_PORT: '0',
    TEGAMI_SMTP_SUBMISSION_PORT: '0',
    TEGAMI_SMTP_SUBMISSIONS_PORT: '0',
    TEGAMI_MTA_STS_PORT: '0',
    TEGAMI_POP_PORT: '0',
    TEGAMI_POPS_PORT: '0',
    TEGAMI_IMAP_PORT: '0',
    TEGAMI_IMAPS_PORT: '0',
    TEGAMI_MANAGESIEVE_PORT: '0',
  });
  running = program;
  await program.waitFor(/Tegami is running[\s\S]*admin token create/, 90_000);
  const banner = program.output().slice(program.output().lastIndexOf('Tegami is running'));
  adminUrl = /admin +(http:\/\/127\.0\.0\.1:\d+)\/api\/v1/.exec(banner)![1]!;
  imapPort = Number(/IMAP +[^:]+:(\d+) \(STARTTLS\)/.exec(banner)![1]);
  submissionPort = Number(/:(\d+) \(submission, STARTTLS\)/.exec(banner)![1]);
  const created = await tegami(['admin', 'token', 'create', 'e2e']);
  expect(created.code, created.stderr).toBe(0);
  full = created.stdout.trim();
}, 120_000);

afterAll(async () => {
  if (running) {
    running.signal('SIGTERM');
    await running.exited();
  }
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('the admin API of pnpm start, driven by curl', () => {
  it('says where it runs and how to get a token', () => {
    const banner = running!.output();
    expect(banner).toContain(`console: ${adminUrl}/console/`);
    expect(banner).toContain('pnpm tegami admin token create <name>');
    expect(full).toMatch(/^tgm_[A-Za-z0-9_-]{43}$/);
  });

  it('creates a domain and a user who can then log in over IMAP and send mail that the trace follows', async () => {
    expect((await curl('GET', '/api/v1/whoami', { token: full })).body).toEqual({
      name: 'e2e',
      scope: 'full',
    });
    const domain = await curl('POST', '/api/v1/domains', { token: full, body: { name: 'admin-e2e.test' } });
    expect(domain.status).toBe(201);
    const user = await curl('POST', '/api/v1/users', {
      token: full,
      body: { address: 'zoe@admin-e2e.test', password: 'zoe password', quotaBytes: 10_000_000 },
    });
    expect(user.status, JSON.stringify(user.body)).toBe(201);
    expect(user.body).toMatchObject({
      address: 'zoe@admin-e2e.test',
      quotaBytes: 10_000_000,
      disabled: false,
    });

    const login = await imapLogin('zoe@admin-e2e.test', 'zoe password');
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toMatch(/\* LIST .* "?INBOX"?/);
    expect((await imapLogin('zoe@admin-e2e.test', 'not her password')).code).not.toBe(0);

    const swaks = await runInRepo(
      'swaks',
      [
        '--server',
        `127.0.0.1:${submissionPort}`,
        '--tls',
        '--auth',
        'PLAIN',
        '--auth-user',
        'zoe@admin-e2e.test',
        '--auth-password',
        'zoe password',
        '--from',
        'zoe@admin-e2e.test',
        '--to',
        'zoe@admin-e2e.test',
      ],
      {},
    );
    expect(swaks.code, swaks.stdout + swaks.stderr).toBe(0);
    const queueId = /queued as ([0-9A-Z]{16})/.exec(swaks.stdout)![1]!;
    let trace: Answer = { status: 0, body: undefined };
    for (let i = 0; i < 100; i++) {
      trace = await curl('GET', `/api/v1/trace/${queueId}`, { token: full });
      if (trace.body?.messages?.[0]?.recipients?.[0]?.status === 'delivered') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(trace.body.messages[0]).toMatchObject({
      queueId,
      sender: 'zoe@admin-e2e.test',
      recipients: [expect.objectContaining({ recipient: 'zoe@admin-e2e.test', status: 'delivered' })],
    });
    const stored = await curl('GET', '/api/v1/users/zoe@admin-e2e.test', { token: full });
    expect(stored.body.messages).toBe(1);
    expect(stored.body.usedBytes).toBeGreaterThan(0);
  });

  it('locks a disabled user out, and lets them in again', async () => {
    const disabled = await curl('PUT', '/api/v1/users/zoe@admin-e2e.test/disabled', {
      token: full,
      body: { disabled: true },
    });
    expect(disabled.body.disabled).toBe(true);
    expect((await imapLogin('zoe@admin-e2e.test', 'zoe password')).code).not.toBe(0);
    await curl('PUT', '/api/v1/users/zoe@admin-e2e.test/disabled', {
      token: full,
      body: { disabled: false },
    });
    expect((await imapLogin('zoe@admin-e2e.test', 'zoe password')).code).toBe(0);
  });

  it('refuses no token (401), a read-only token a write (403, audited) and bad input (400)', async () => {
    expect((await curl('GET', '/api/v1/domains')).status).toBe(401);
    viewer = (await tegami(['admin', 'token', 'create', 'viewer', '--read-only'])).stdout.trim();
    expect((await curl('GET', '/api/v1/domains', { token: viewer })).status).toBe(200);
    const refused = await curl('DELETE', '/api/v1/users/zoe@admin-e2e.test', { token: viewer });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
    const bad = await curl('POST', '/api/v1/users', { token: full, body: { address: 'zoe', password: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
    const audit = await curl('GET', '/api/v1/audit?limit=50', { token: viewer });
    expect(audit.body.entries).toContainEqual(
      expect.objectContaining({
        token: 'viewer',
        method: 'DELETE',
        status: 403,
        target: 'zoe@admin-e2e.test',
      }),
    );
    expect((await imapLogin('zoe@admin-e2e.test', 'zoe password')).code).toBe(0);
    // The change lines of the log name the token, never a password.
    const changes = running!
      .output()
      .split('\n')
      .filter((line) => line.includes('"msg":"admin change"'));
    expect(changes.length).toBeGreaterThan(0);
    expect(changes.join('\n')).not.toContain('zoe password');
  });

  it('serves its OpenAPI 3.1 document and revokes a token at once', async () => {
    const document = await curl('GET', '/api/openapi.json');
    expect(document.body.openapi).toMatch(/^3\.1\./);
    expect((await tegami(['admin', 'token', 'revoke', 'viewer'])).code).toBe(0);
    const listed = JSON.parse((await tegami(['admin', 'token', 'list', '--json'])).stdout);
    expect(listed.find((t: { name: string }) => t.name === 'viewer').revokedAt).not.toBeNull();
    expect((await curl('GET', '/api/v1/whoami', { token: viewer })).status).toBe(401);
  });
});
