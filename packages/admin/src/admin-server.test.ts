import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addDomain,
  createAccount,
  createAdminToken,
  createSecretsKeyring,
  migrate,
  openStore,
  revokeAdminToken,
  type StorePool,
} from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminServer, startAdminServer } from './admin-server.js';
import { ADMIN_ROUTES, type AdminRoute, API_PREFIX } from './routes/index.js';
import {
  type Answer,
  caller,
  capturingLogger,
  fillPath,
  queueDeferredMessage,
  storeFingerprint,
} from './test-admin-server.js';

let database: TestDatabase;
let store: StorePool;
let server: AdminServer;
let call: ReturnType<typeof caller>;
let full: string;
let readOnly: string;
let consoleDir: string;
const { logger, lines } = capturingLogger();

/** Path values that name things the fixtures made, so reads find them. */
const SAMPLES = {
  name: 'example.test',
  domain: 'example.test',
  address: 'alice@example.test',
  queueId: 'QADMINTEST1',
  key: 'QADMINTEST1',
};

/** The path of a route with the samples filled in ({name} is a script's name below /sieve/). */
function samplePath(route: AdminRoute): string {
  const values = route.tag === 'sieve' ? { ...SAMPLES, name: 'main' } : SAMPLES;
  return API_PREFIX + fillPath(route.path, values);
}

/** A valid body for each write, so that a refusal is about the token, not the input. */
const SAMPLE_BODIES: Readonly<Record<string, unknown>> = {
  addDomain: { name: 'other.test' },
  addUser: { address: 'carol@example.test', password: 'a good password' },
  setUserPassword: { password: 'another password' },
  setUserQuota: { quotaBytes: 1000 },
  setUserDisabled: { disabled: true },
  addAlias: { address: 'team@example.test', destinations: ['alice@example.test'] },
  putSieveScript: { content: 'keep;\n' },
  activateSieveScript: { name: null },
  rotateDkimKeys: {},
};

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 6 });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.test');
  await createAccount(store.pool, 'alice@example.test', 'alice password');
  await queueDeferredMessage(store.pool, SAMPLES.queueId, 'bob@remote.test');
  const alice = (await store.pool.query("SELECT id FROM accounts WHERE address = 'alice@example.test'"))
    .rows[0].id;
  await store.pool.query(
    "INSERT INTO sieve_scripts (account_id, name, content) VALUES ($1, 'main', 'keep;')",
    [alice],
  );
  full = (await createAdminToken(store.pool, 'ops', 'full')).token;
  readOnly = (await createAdminToken(store.pool, 'viewer', 'read')).token;
  consoleDir = mkdtempSync(join(tmpdir(), 'tegami-console-'));
  writeFileSync(join(consoleDir, 'index.html'), '<!doctype html><title>console</title>');
  writeFileSync(join(consoleDir, 'app.js'), 'console.log("hi")');
  server = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    pool: store.pool,
    logger,
    secretsKeyring: createSecretsKeyring([randomBytes(32)]),
    bodyLimit: 64 * 1024,
    // High enough that this file's requests never meet them (rate-limit.test.ts meets them).
    readLimit: { perSecond: 1000, burst: 10_000 },
    writeLimit: { perSecond: 1000, burst: 10_000 },
    consoleDir,
  });
  call = caller(server.url);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await store?.close();
  await database?.drop();
  if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
});

function expectError(answer: Answer, status: number, code: string) {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  expect(answer.body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
}

async function auditRows(): Promise<
  Array<{ token_name: string; method: string; route: string; status: number }>
> {
  return (
    await store.pool.query(
      'SELECT token_name, method, route, target, status, detail FROM admin_audit ORDER BY id',
    )
  ).rows;
}

describe('the admin API without a good token', () => {
  it('answers 401 JSON on every route when no token is sent, and audits the refused writes', async () => {
    const auditBefore = (await auditRows()).length;
    for (const route of ADMIN_ROUTES) {
      const answer = await call(route.method, samplePath(route), {
        body: SAMPLE_BODIES[route.operationId],
      });
      expectError(answer, 401, 'unauthorized');
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    }
    const refused = (await auditRows()).slice(auditBefore);
    expect(refused.map((r) => [r.token_name, r.method, r.route, r.status])).toEqual(
      ADMIN_ROUTES.filter((r) => r.write).map((r) => [null, r.method, API_PREFIX + r.path, 401]),
    );
  });

  it('has no HEAD twin of a GET route that would answer without a token', async () => {
    expect((await call('HEAD', '/api/v1/stats')).status).toBe(404);
  });

  it('answers 401 to a malformed, an unknown and a revoked token', async () => {
    const revoked = (await createAdminToken(store.pool, 'gone', 'full')).token;
    await revokeAdminToken(store.pool, 'gone');
    for (const token of ['not-a-token', `tgm_${'A'.repeat(43)}`, revoked]) {
      expectError(await call('GET', '/api/v1/whoami', { token }), 401, 'unauthorized');
    }
    expectError(await call('GET', '/api/v1/whoami', { token: full.slice(0, -1) }), 401, 'unauthorized');
  });
});

describe('a read-only token', () => {
  it('reads every GET route', async () => {
    for (const route of ADMIN_ROUTES.filter((r) => r.method === 'GET')) {
      const answer = await call('GET', samplePath(route), { token: readOnly });
      expect(answer.status, `${route.path}: ${JSON.stringify(answer.body)}`).toBe(200);
    }
    expect((await call('GET', '/api/v1/whoami', { token: readOnly })).body).toEqual({
      name: 'viewer',
      scope: 'read',
    });
  });

  it('is refused every write with 403: nothing changes, and each refusal is audited and logged', async () => {
    const before = await storeFingerprint(store.pool);
    const auditBefore = (await auditRows()).length;
    const writes = ADMIN_ROUTES.filter((r) => r.write);
    for (const route of writes) {
      const answer = await call(route.method, samplePath(route), {
        token: readOnly,
        body: SAMPLE_BODIES[route.operationId],
      });
      expectError(answer, 403, 'forbidden');
    }
    expect(await storeFingerprint(store.pool)).toBe(before);
    const refused = (await auditRows()).slice(auditBefore);
    expect(refused).toHaveLength(writes.length);
    expect(refused.map((r) => [r.token_name, r.method, r.route, r.status])).toEqual(
      writes.map((r) => ['viewer', r.method, API_PREFIX + r.path, 403]),
    );
    expect(
      lines.filter((l) => l.msg === 'admin change' && l.token === 'viewer' && l.status === 403),
    ).toHaveLength(writes.length);
  });
});

describe('a full token', () => {
  it('adds, lists and removes a domain', async () => {
    const added = await call('POST', '/api/v1/domains', { token: full, body: { name: 'New.Test' } });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ name: 'new.test', users: 0, aliases: 0, plusAddressing: true });
    expect(Date.parse(added.body.createdAt)).not.toBeNaN();
    const listed = await call('GET', '/api/v1/domains', { token: full });
    expect(listed.body.domains.map((d: { name: string }) => d.name)).toEqual(['example.test', 'new.test']);
    expectError(
      await call('POST', '/api/v1/domains', { token: full, body: { name: 'new.test' } }),
      409,
      'exists',
    );
    expect((await call('DELETE', '/api/v1/domains/new.test', { token: full })).body).toEqual({ ok: true });
    expectError(await call('DELETE', '/api/v1/domains/new.test', { token: full }), 404, 'not_found');
    // A domain with users is kept.
    expectError(await call('DELETE', '/api/v1/domains/example.test', { token: full }), 409, 'conflict');
  });

  it('manages a user: create, read, password, quota, disable, remove', async () => {
    const created = await call('POST', '/api/v1/users', {
      token: full,
      body: { address: 'Dave@example.test', password: 'dave password', quotaBytes: 5000 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      address: 'dave@example.test',
      domain: 'example.test',
      disabled: false,
      quotaBytes: 5000,
      usedBytes: 0,
      messages: 0,
    });
    expectError(
      await call('POST', '/api/v1/users', {
        token: full,
        body: { address: 'dave@example.test', password: 'dave password' },
      }),
      409,
      'exists',
    );
    const before = (
      await store.pool.query("SELECT password_scrypt FROM accounts WHERE address = 'dave@example.test'")
    ).rows[0].password_scrypt;
    const changed = await call('PUT', '/api/v1/users/dave@example.test/password', {
      token: full,
      body: { password: 'a new password' },
    });
    expect(changed.status).toBe(200);
    const after = (
      await store.pool.query("SELECT password_scrypt FROM accounts WHERE address = 'dave@example.test'")
    ).rows[0].password_scrypt;
    expect(after).not.toBe(before);
    expect(
      (
        await call('PUT', '/api/v1/users/dave@example.test/quota', {
          token: full,
          body: { quotaBytes: null },
        })
      ).body,
    ).toMatchObject({ quotaBytes: null });
    expect(
      (
        await call('PUT', '/api/v1/users/dave@example.test/disabled', {
          token: full,
          body: { disabled: true },
        })
      ).body,
    ).toMatchObject({ disabled: true });
    expect((await call('GET', '/api/v1/users/dave@example.test', { token: full })).body).toMatchObject({
      address: 'dave@example.test',
      disabled: true,
      quotaBytes: null,
    });
    const listed = await call('GET', '/api/v1/users?domain=example.test', { token: full });
    expect(listed.body.users.map((u: { address: string }) => u.address)).toEqual([
      'alice@example.test',
      'dave@example.test',
    ]);
    const removed = await call('DELETE', '/api/v1/users/dave@example.test', { token: full });
    expect(removed.body).toEqual({ newPostmaster: null, removed: { messages: 0, bytes: 0 } });
    expectError(await call('GET', '/api/v1/users/dave@example.test', { token: full }), 404, 'not_found');
    expectError(await call('DELETE', '/api/v1/users/dave@example.test', { token: full }), 404, 'not_found');
  });

  it('adds and removes an alias', async () => {
    const added = await call('POST', '/api/v1/aliases', {
      token: full,
      body: { address: 'sales@example.test', destinations: ['alice@example.test', 'far@remote.test'] },
    });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({
      address: 'sales@example.test',
      destinations: ['alice@example.test', 'far@remote.test'],
    });
    const listed = await call('GET', '/api/v1/aliases?domain=example.test', { token: full });
    expect(listed.body.aliases).toContainEqual({
      address: 'sales@example.test',
      destinations: ['alice@example.test', 'far@remote.test'],
      dangling: [],
    });
    // A local destination that is no user would accept mail and bounce it.
    expectError(
      await call('POST', '/api/v1/aliases', {
        token: full,
        body: { address: 'x@example.test', destinations: ['nobody@example.test'] },
      }),
      404,
      'not_found',
    );
    expect((await call('DELETE', '/api/v1/aliases/sales@example.test', { token: full })).body).toEqual({
      ok: true,
    });
    expectError(
      await call('DELETE', '/api/v1/aliases/sales@example.test', { token: full }),
      404,
      'not_found',
    );
  });

  it("keeps a user's Sieve scripts: put, get, activate, delete; a compile error names line and column", async () => {
    const base = '/api/v1/users/alice@example.test';
    const put = await call('PUT', `${base}/sieve/vacation`, {
      token: full,
      body: { content: 'require "fileinto";\nfileinto "Archive";\n' },
    });
    expect(put.body).toEqual({ name: 'vacation', created: true });
    const broken = await call('PUT', `${base}/sieve/broken`, {
      token: full,
      body: { content: 'keep;\nfrobnicate;\n' },
    });
    expectError(broken, 400, 'sieve_compile_error');
    expect(broken.body.error).toMatchObject({ line: 2, column: 1 });
    expectError(await call('GET', `${base}/sieve/broken`, { token: full }), 404, 'not_found');
    expect(
      (await call('PUT', `${base}/sieve-active`, { token: full, body: { name: 'vacation' } })).body,
    ).toEqual({
      active: 'vacation',
    });
    const listed = await call('GET', `${base}/sieve`, { token: full });
    expect(listed.body.scripts).toEqual([
      { name: 'main', active: false, updatedAt: expect.any(String) },
      { name: 'vacation', active: true, updatedAt: expect.any(String) },
    ]);
    expect((await call('GET', `${base}/sieve/vacation`, { token: full })).body).toMatchObject({
      name: 'vacation',
      active: true,
      content: 'require "fileinto";\nfileinto "Archive";\n',
    });
    expectError(await call('DELETE', `${base}/sieve/vacation`, { token: full }), 409, 'conflict');
    expectError(
      await call('PUT', `${base}/sieve-active`, { token: full, body: { name: 'nope' } }),
      404,
      'not_found',
    );
    await call('PUT', `${base}/sieve-active`, { token: full, body: { name: null } });
    expect((await call('DELETE', `${base}/sieve/vacation`, { token: full })).body).toEqual({ ok: true });
    expectError(
      await call('GET', '/api/v1/users/nobody@example.test/sieve', { token: full }),
      404,
      'not_found',
    );
  });

  it("makes a domain's first DKIM key, then rotates it", async () => {
    const first = await call('POST', '/api/v1/dkim/example.test/rotate', {
      token: full,
      body: { algorithm: 'ed25519' },
    });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.retiring).toEqual([]);
    expect(first.body.created).toEqual([
      expect.objectContaining({ domain: 'example.test', algorithm: 'ed25519-sha256', state: 'active' }),
    ]);
    const rotated = await call('POST', '/api/v1/dkim/example.test/rotate', { token: full });
    expect(rotated.body.retiring).toEqual([
      expect.objectContaining({ selector: first.body.created[0].selector, state: 'retiring' }),
    ]);
    const listed = await call('GET', '/api/v1/dkim?domain=example.test', { token: full });
    expect(listed.body.keys).toHaveLength(2);
    const active = listed.body.keys.find((k: { state: string }) => k.state === 'active');
    expect(active.dnsName).toBe(`${active.selector}._domainkey.example.test`);
    expect(active.dnsValue).toMatch(/^v=DKIM1; k=ed25519; p=/);
    expectError(await call('POST', '/api/v1/dkim/nowhere.test/rotate', { token: full }), 404, 'not_found');
  });

  it('lists, traces, retries and drops a queued message', async () => {
    await queueDeferredMessage(store.pool, 'QADMINTEST2', 'carl@remote.test');
    const listed = await call('GET', '/api/v1/queue', { token: full });
    expect(listed.body.recipients).toContainEqual(
      expect.objectContaining({
        queueId: 'QADMINTEST2',
        recipient: 'carl@remote.test',
        status: 'deferred',
        attempts: 1,
        lastReply: '451 4.7.1 try again later',
      }),
    );
    const traced = await call('GET', `/api/v1/trace/${encodeURIComponent('<QADMINTEST2@example.test>')}`, {
      token: full,
    });
    expect(traced.body.messages).toEqual([
      expect.objectContaining({ queueId: 'QADMINTEST2', sender: 'sender@remote.test', state: 'queued' }),
    ]);
    expectError(await call('GET', '/api/v1/trace/NOSUCHID', { token: full }), 404, 'not_found');
    const longKey = `<${'x'.repeat(300)}@example.test>`;
    expectError(
      await call('GET', `/api/v1/trace/${encodeURIComponent(longKey)}`, { token: full }),
      404,
      'not_found',
    );
    expect((await call('POST', '/api/v1/queue/QADMINTEST2/retry', { token: full })).body).toEqual({
      messages: 1,
    });
    const due = await store.pool.query(
      "SELECT next_attempt_at <= now() AS due FROM deliveries WHERE queue_id = 'QADMINTEST2'",
    );
    expect(due.rows[0].due).toBe(true);
    expectError(await call('POST', '/api/v1/queue/NOSUCHID/retry', { token: full }), 404, 'not_found');
    expect((await call('POST', '/api/v1/queue/retry-all', { token: full })).body).toEqual({ messages: 2 });
    expect((await call('DELETE', '/api/v1/queue/QADMINTEST2', { token: full })).body).toEqual({ dropped: 1 });
    expectError(await call('DELETE', '/api/v1/queue/QADMINTEST2', { token: full }), 404, 'not_found');
  });

  it('counts the queue and the totals in /stats', async () => {
    const stats = await call('GET', '/api/v1/stats', { token: full });
    expect(stats.body).toMatchObject({
      queue: { waiting: 1, deferred: 1, oldestQueuedAt: expect.any(String) },
      last24h: {
        delivered: 0,
        bounced: 0,
        received: 2,
        loginsOk: 0,
        loginsFailed: 0,
        spam: { ham: 0, spam: 0, rejected: 0 },
      },
      domains: 1,
      users: 1,
      messages: 0,
      storedBytes: 0,
    });
  });

  it('audits each change with its target, and lists the latest first', async () => {
    const rows = await auditRows();
    expect(rows).toContainEqual(
      expect.objectContaining({
        token_name: 'ops',
        method: 'POST',
        route: '/api/v1/users',
        target: 'dave@example.test',
        status: 201,
      }),
    );
    // Nothing of a password is kept.
    expect(JSON.stringify(rows)).not.toMatch(/dave password|a new password/);
    const audit = await call('GET', '/api/v1/audit?limit=2', { token: readOnly });
    expect(audit.body.entries).toHaveLength(2);
    expect(Number(audit.body.entries[0].id)).toBeGreaterThan(Number(audit.body.entries[1].id));
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'admin change',
        token: 'ops',
        method: 'DELETE',
        route: '/api/v1/queue/{queueId}',
        target: 'QADMINTEST2',
        status: 200,
      }),
    );
  });
});

describe('bad input', () => {
  it('is refused with 400 JSON and changes nothing', async () => {
    const before = await storeFingerprint(store.pool);
    const cases: Array<[string, string, { body?: unknown; rawBody?: string }]> = [
      ['POST', '/api/v1/domains', { body: { name: 5 } }],
      ['POST', '/api/v1/domains', { body: { name: 'bad domain!' } }],
      ['POST', '/api/v1/domains', { body: {} }],
      ['POST', '/api/v1/domains', { body: { name: 'x.test', extra: true } }],
      ['POST', '/api/v1/domains', { rawBody: '{"name": ' }],
      ['POST', '/api/v1/users', { body: { address: 'not an address', password: 'pw long enough' } }],
      ['POST', '/api/v1/users', { body: { address: 'eve@example.test', password: '' } }],
      [
        'POST',
        '/api/v1/users',
        { body: { address: 'eve@example.test', password: 'pw long', quotaBytes: -1 } },
      ],
      ['PUT', '/api/v1/users/alice@example.test/quota', { body: { quotaBytes: '500M' } }],
      ['PUT', '/api/v1/users/alice@example.test/disabled', { body: { disabled: 'yes' } }],
      ['PUT', '/api/v1/users/alice@example.test/disabled', { body: { disabled: 'false' } }],
      ['POST', '/api/v1/aliases', { body: { address: 'a@example.test', destinations: [] } }],
      ['POST', '/api/v1/dkim/example.test/rotate', { body: { algorithm: 'dsa' } }],
      ['GET', '/api/v1/audit?limit=0', {}],
      ['GET', '/api/v1/queue?limit=many', {}],
    ];
    for (const [method, path, options] of cases) {
      const answer = await call(method, path, { token: full, ...options });
      expect(
        answer.status,
        `${method} ${path} ${JSON.stringify(options)}: ${JSON.stringify(answer.body)}`,
      ).toBe(400);
      expect(answer.body.error.code).toMatch(/^(invalid_request|invalid)$/);
      expect(answer.body.error.message).not.toBe('');
    }
    expect(await storeFingerprint(store.pool)).toBe(before);
  });

  it('is refused with 413 when the body is larger than the limit', async () => {
    const answer = await call('PUT', '/api/v1/users/alice@example.test/sieve/big', {
      token: full,
      body: { content: `# ${'x'.repeat(70 * 1024)}\nkeep;\n` },
    });
    expectError(answer, 413, 'payload_too_large');
  });

  it('answers an unknown route with 404 JSON', async () => {
    expectError(await call('GET', '/api/v1/nothing', { token: full }), 404, 'not_found');
  });
});

describe('the same server', () => {
  it('serves the OpenAPI document without a token', async () => {
    const answer = await call('GET', '/api/openapi.json');
    expect(answer.status).toBe(200);
    expect(answer.body.openapi).toMatch(/^3\.1\./);
  });

  it('serves the console under /console/ and redirects / there, and nothing outside its directory', async () => {
    const root = await call('GET', '/');
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console/');
    const page = await call('GET', '/console/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.body).toContain('<title>console</title>');
    expect((await call('GET', '/console/users')).body).toContain('<title>console</title>');
    expect((await call('GET', '/console/app.js')).headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await call('GET', '/console/%2e%2e/%2e%2e/package.json')).status).toBe(404);
    expect((await call('GET', '/console/missing.js')).status).toBe(404);
  });
});
