import { mtaStsPolicyId, parseMtaStsRecord } from '@tegami/protocol';
import { addDomain, migrate, openStore, type StorePool } from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess, runTegami } from './test-cli.js';

let database: TestDatabase;
let store: StorePool;

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url });
  await migrate(store.pool);
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

describe('tegami mta-sts', () => {
  it('prints the policy and, for each local domain, the TXT record whose id is derived from it', async () => {
    await addDomain(store.pool, 'one.test');
    await addDomain(store.pool, 'two.test');
    const policy = { mode: 'enforce' as const, mx: ['mx1.one.test', '*.mx.one.test'], maxAge: 86400 };
    const run = await runCliInProcess(['mta-sts'], { databaseUrl: database.url, mtaStsPolicy: policy });
    const text =
      'version: STSv1\r\nmode: enforce\r\nmx: mx1.one.test\r\nmx: *.mx.one.test\r\nmax_age: 86400\r\n';
    const id = mtaStsPolicyId(text);
    expect(run).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        '; The policy, served at https://mta-sts.<domain>/.well-known/mta-sts.txt:',
        ';   version: STSv1',
        ';   mode: enforce',
        ';   mx: mx1.one.test',
        ';   mx: *.mx.one.test',
        ';   max_age: 86400',
        `_mta-sts.one.test. 3600 IN TXT "v=STSv1; id=${id};"`,
        '; mta-sts.one.test.: an A/AAAA record (or CNAME) for the policy host',
        `_mta-sts.two.test. 3600 IN TXT "v=STSv1; id=${id};"`,
        '; mta-sts.two.test.: an A/AAAA record (or CNAME) for the policy host',
        '',
      ].join('\n'),
    });
    expect(parseMtaStsRecord(`v=STSv1; id=${id};`)).toEqual({ kind: 'record', id });
  });

  it('reads the settings as smtp-ingress does: the MX defaults to TEGAMI_HOSTNAME, and a change of mode changes the id', async () => {
    const env = { DATABASE_URL: database.url, TEGAMI_HOSTNAME: 'mx.one.test' };
    const testing = await runTegami(['mta-sts'], env);
    expect(testing.stdout).toContain(';   mode: testing\n;   mx: mx.one.test\n;   max_age: 604800\n');
    const enforce = await runTegami(['mta-sts'], { ...env, TEGAMI_MTA_STS_MODE: 'enforce' });
    const idOf = (out: string) => /id=([a-z0-9]+);/.exec(out)?.[1];
    expect(idOf(testing.stdout)).toMatch(/^[a-z0-9]{32}$/);
    expect(idOf(enforce.stdout)).not.toBe(idOf(testing.stdout));
    const bad = await runTegami(['mta-sts'], { ...env, TEGAMI_MTA_STS_MX: 'mx.*.one.test' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('TEGAMI_MTA_STS_MX: "mx.*.one.test" is not a host name or *.domain');
  }, 60_000);
});
