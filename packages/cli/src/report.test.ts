import { type ResolverServerHandle, ResolveStatus, startResolverServer } from '@tegami/rpc';
import { addDomain, migrate, openStore, recordTlsResults, type StorePool } from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from './test-cli.js';

// `tegami report send|list` against a store with counts, and a resolver over gRPC (the
// dns-resolver's interface) answering the TLSRPT record of one domain.

let database: TestDatabase;
let store: StorePool;
let resolver: ResolverServerHandle;
const tegami = (args: readonly string[], settings = {}) =>
  runCliInProcess(args, {
    databaseUrl: database.url,
    resolverTarget: `127.0.0.1:${resolver.port}`,
    ...settings,
  });

const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const today = new Date().toISOString().slice(0, 10);

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 2 });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.test');
  const unused = async () => {
    throw new Error('not in this test');
  };
  resolver = await startResolverServer({
    host: '127.0.0.1',
    port: 0,
    implementation: {
      resolveMx: unused,
      resolveAddresses: unused,
      resolvePtr: unused,
      resolveTlsa: unused,
      async resolveTxt(req) {
        if (req.name === '_smtp._tls.reports.test')
          return {
            status: ResolveStatus.RESOLVE_STATUS_OK,
            records: [{ strings: ['v=TLSRPTv1; rua=mailto:tls@reports.test'], ttlSeconds: 60 }],
            detail: '',
          };
        if (req.name === '_smtp._tls.broken.test')
          return { status: ResolveStatus.RESOLVE_STATUS_SERVFAIL, records: [], detail: 'upstream failed' };
        return { status: ResolveStatus.RESOLVE_STATUS_NXDOMAIN, records: [], detail: '' };
      },
    },
  });
  const tally = (policyDomain: string) => ({
    tally: {
      day: yesterday,
      policyDomain,
      policyType: 'no-policy-found' as const,
      policyStrings: [],
      mxHostPatterns: [],
      resultType: 'success',
      sendingIp: '',
      receivingIp: '192.0.2.1',
      receivingMxHost: `mx.${policyDomain}`,
      failureReason: '',
    },
    count: 1,
  });
  await recordTlsResults(store.pool, [tally('reports.test'), tally('quiet.test'), tally('broken.test')]);
}, 60_000);

afterAll(async () => {
  await resolver?.stop(0);
  await store?.close();
  await database?.drop();
});

describe('tegami report', () => {
  it('sends the due reports of a day once, says which wait and why, and lists them', async () => {
    const sent = await tegami(['report', 'send', yesterday], { reportFrom: 'dmarc-noreply@example.test' });
    expect(sent.code).toBe(1);
    expect(sent.stdout).toMatch(
      new RegExp(`${yesterday}\\s+tlsrpt\\s+reports\\.test\\s+sent\\s+mailto:tls@reports\\.test`),
    );
    expect(sent.stdout).toMatch(/quiet\.test\s+skipped\s+_smtp\._tls\.quiet\.test: no v=TLSRPTv1 record/);
    expect(sent.stdout).toMatch(/broken\.test\s+postponed\s+temporary DNS failure/);
    const queued = await store.pool.query(
      `SELECT q.sender, d.recipient FROM queue q JOIN deliveries d ON d.queue_id = q.id WHERE q.listener = 'report'`,
    );
    expect(queued.rows).toEqual([{ sender: 'dmarc-noreply@example.test', recipient: 'tls@reports.test' }]);

    const again = await tegami(['report', 'send', yesterday]);
    expect(again).toMatchObject({ code: 0, stdout: '(none)\n' });

    const list = await tegami(['report', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/DAY\s+KIND\s+DOMAIN\s+STATE\s+DETAIL/);
    expect(list.stdout).toMatch(/tlsrpt\s+reports\.test\s+sent/);
    expect(list.stdout).toMatch(/tlsrpt\s+broken\.test\s+pending\s+temporary DNS failure/);
  });

  it('refuses a day that is not over, or not a day', async () => {
    const now = await tegami(['report', 'send', today]);
    expect(now.code).toBe(2);
    expect(now.stderr).toContain(`${today} is not over yet (UTC)`);
    const bad = await tegami(['report', 'send', '2026-02-30']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"2026-02-30" is not a day (YYYY-MM-DD)');
  });
});
