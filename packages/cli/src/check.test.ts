import { createTestDatabase, type TestDatabase, testNats } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from './test-cli.js';

let database: TestDatabase;
let nats: { url: string; prefix: string };

beforeAll(async () => {
  database = await createTestDatabase();
  nats = await testNats();
});
afterAll(() => database.drop());

describe('tegami check', () => {
  it('tells an operator to migrate, then reports both dependencies ok', async () => {
    const settings = { databaseUrl: database.url, natsServers: [nats.url], natsPrefix: nats.prefix };
    const before = await runCliInProcess(['check'], settings);
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(
      /^postgres {2}FAIL the database schema is at version 0, .*run `tegami migrate`$/m,
    );
    expect(before.stdout).toMatch(/^nats {6}ok {3}JetStream answers/m);
    expect((await runCliInProcess(['migrate'], settings)).code).toBe(0);
    const after = await runCliInProcess(['check'], settings);
    expect(after).toMatchObject({ code: 0, stderr: '' });
    expect(after.stdout).toMatch(/^postgres {2}ok {3}schema version \d+ \(current\)$/m);
  }, 30_000);

  it('names a stopped Postgres and a stopped NATS in one line each', async () => {
    const run = await runCliInProcess(['check'], {
      databaseUrl: 'postgres://postgres@127.0.0.1:1/postgres',
      natsServers: ['nats://127.0.0.1:1'],
    });
    expect(run.code).toBe(1);
    expect(run.stdout.trim().split('\n')).toEqual([
      'postgres  FAIL connection refused (127.0.0.1:1)',
      expect.stringMatching(/^nats {6}FAIL .*(refused|cannot connect).*127\.0\.0\.1:1/),
    ]);
  }, 30_000);
});
