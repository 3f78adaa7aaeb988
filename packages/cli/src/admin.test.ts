import { findAdminToken, migrate, openStore, type StorePool } from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from './test-cli.js';

let database: TestDatabase;
let store: StorePool;
const tegami = (args: readonly string[]) => runCliInProcess(args, { databaseUrl: database.url });

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 2 });
  await migrate(store.pool);
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

describe('tegami admin token', () => {
  it('creates a token, printed once on standard output and stored only as its hash', async () => {
    const run = await tegami(['admin', 'token', 'create', 'console']);
    expect(run.code).toBe(0);
    const token = run.stdout.trim();
    expect(token).toMatch(/^tgm_[A-Za-z0-9_-]{43}$/);
    expect(run.stderr).toContain('cannot be shown again');
    expect((await findAdminToken(store.pool, token))?.scope).toBe('full');
    const stored = await store.pool.query('SELECT token_sha256 FROM admin_tokens WHERE name = $1', [
      'console',
    ]);
    expect(stored.rows[0].token_sha256).toHaveLength(32);
    expect(JSON.stringify(stored.rows)).not.toContain(token.slice(4));
  });

  it('creates a read-only token, lists both, and revokes one', async () => {
    const viewer = (await tegami(['admin', 'token', 'create', 'grafana', '--read-only'])).stdout.trim();
    expect((await findAdminToken(store.pool, viewer))?.scope).toBe('read');
    const table = await tegami(['admin', 'token', 'list']);
    expect(table.stdout).toMatch(/^NAME\s+SCOPE\s+CREATED\s+LAST USED\s+REVOKED/);
    expect(table.stdout).toMatch(/\ngrafana\s+read\s+\S+\s+\S+\s+-/);
    expect((await tegami(['admin', 'token', 'revoke', 'grafana'])).stdout).toBe(
      'revoked the admin token grafana\n',
    );
    expect(await findAdminToken(store.pool, viewer)).toBeUndefined();
    const listed = JSON.parse((await tegami(['admin', 'token', 'list', '--json'])).stdout);
    expect(listed).toEqual([
      expect.objectContaining({ name: 'console', scope: 'full', revokedAt: null }),
      expect.objectContaining({ name: 'grafana', scope: 'read', revokedAt: expect.any(String) }),
    ]);
  });

  it('refuses a second token of one name, a bad name, and revoking an unknown one', async () => {
    const again = await tegami(['admin', 'token', 'create', 'console']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists already');
    const bad = await tegami(['admin', 'token', 'create', 'has space']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('a token name is');
    const unknown = await tegami(['admin', 'token', 'revoke', 'nobody']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no token named nobody');
  });
});
