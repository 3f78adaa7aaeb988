import { ResolveStatus, type ResolveTxtResponse } from '@tegami/rpc';
import {
  addDomain,
  migrate,
  openStore,
  recordDmarcResults,
  recordTlsResults,
  type StorePool,
} from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORT_RETENTION_DAYS, runReports } from './report-run.js';

// One run of the daily reports against the store, with scripted TXT answers: what is sent,
// what waits for DNS, what is skipped and why. Delivery of what is queued is the worker's (see
// test/daily-reports.test.ts for the whole path).

let database: TestDatabase;
let store: StorePool;
const txt = new Map<string, ResolveTxtResponse>();
const lookups: string[] = [];
const silent = { info: () => undefined, warn: () => undefined };

const answer = (records: string[]): ResolveTxtResponse => ({
  status: ResolveStatus.RESOLVE_STATUS_OK,
  records: records.map((r) => ({ strings: [r], ttlSeconds: 60 })),
  detail: '',
});

const deps = () => ({
  pool: store.pool,
  resolver: {
    async resolveTxt(name: string): Promise<ResolveTxtResponse> {
      lookups.push(name);
      return (
        txt.get(name) ?? {
          status: ResolveStatus.RESOLVE_STATUS_NXDOMAIN,
          records: [],
          detail: 'scripted NXDOMAIN',
        }
      );
    },
  },
  config: { reportOrgName: 'Example Mail' },
  hostname: 'mx.example.test',
  logger: silent,
  worker: 'test-worker',
});

const now = new Date('2026-05-02T00:07:00Z');
const tally = (policyDomain: string) => ({
  day: '2026-05-01',
  policyDomain,
  policyType: 'no-policy-found' as const,
  policyStrings: [],
  mxHostPatterns: [],
  resultType: 'success',
  sendingIp: '',
  receivingIp: '192.0.2.1',
  receivingMxHost: `mx.${policyDomain}`,
  failureReason: '',
});

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 4 });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.test');
}, 60_000);

afterAll(async () => {
  await store?.close();
  await database?.drop();
});

describe('a report run', () => {
  it('waits when DNS fails for now, and sends at the next run once it answers', async () => {
    await recordTlsResults(store.pool, [{ tally: tally('flaky.test'), count: 3 }]);
    txt.set('_smtp._tls.flaky.test', {
      status: ResolveStatus.RESOLVE_STATUS_SERVFAIL,
      records: [],
      detail: 'upstream failed',
    });
    const [first] = await runReports(deps(), { now });
    expect(first).toMatchObject({ kind: 'tlsrpt', domain: 'flaky.test', outcome: 'postponed' });
    expect(first!.detail).toMatch(/temporary DNS failure looking up _smtp\._tls\.flaky\.test/);
    // Not due again before its retry time.
    expect(await runReports(deps(), { now })).toEqual([]);
    await store.pool.query(`UPDATE report_runs SET claimed_until = now() - interval '1 second'`);
    txt.set('_smtp._tls.flaky.test', answer(['v=TLSRPTv1; rua=mailto:tls@flaky.test']));
    const [second] = await runReports(deps(), { now });
    expect(second).toMatchObject({ outcome: 'sent', detail: 'mailto:tls@flaky.test' });
    expect(second!.queueIds).toHaveLength(1);
    const queued = await store.pool.query('SELECT sender FROM queue WHERE id = $1', [second!.queueIds[0]]);
    expect(queued.rows).toEqual([{ sender: 'noreply-reports@example.test' }]);
  });

  it('skips a DMARC report whose record asks only for https reports, saying why', async () => {
    await recordDmarcResults(store.pool, [
      {
        tally: {
          day: '2026-05-01',
          policyDomain: 'web-only.test',
          headerFrom: 'web-only.test',
          envelopeFrom: 'web-only.test',
          sourceIp: '192.0.2.9',
          disposition: 'none',
          dkimAligned: true,
          spfAligned: true,
          reasons: [],
          dkimResults: [],
          spf: { domain: 'web-only.test', scope: 'mfrom', result: 'pass' },
          published: { p: 'none', sp: 'none', pct: 100, adkim: 'r', aspf: 'r', fo: '0' },
          rua: 'https://reports.web-only.test/dmarc',
        },
        count: 1,
      },
    ]);
    const outcomes = await runReports(deps(), { now });
    expect(outcomes).toEqual([
      {
        kind: 'dmarc',
        day: '2026-05-01',
        domain: 'web-only.test',
        outcome: 'skipped',
        detail: 'https://reports.web-only.test/dmarc: only mailto: destinations get DMARC reports',
        queueIds: [],
      },
    ]);
  });

  it('only looks at the day asked for, and never at today', async () => {
    await recordTlsResults(store.pool, [
      { tally: { ...tally('today.test'), day: '2026-05-02' }, count: 1 },
      { tally: { ...tally('earlier.test'), day: '2026-04-28' }, count: 1 },
    ]);
    lookups.length = 0;
    expect(await runReports(deps(), { now, day: '2026-04-30' })).toEqual([]);
    const outcomes = await runReports(deps(), { now });
    expect(outcomes.map((o) => [o.day, o.domain, o.outcome])).toEqual([
      ['2026-04-28', 'earlier.test', 'skipped'],
    ]);
    expect(lookups).toEqual(['_smtp._tls.earlier.test']);
  });

  it(`forgets counts older than ${REPORT_RETENTION_DAYS} days`, async () => {
    const later = new Date(now.getTime() + (REPORT_RETENTION_DAYS + 5) * 86_400_000);
    await runReports(deps(), { now: later });
    const left = await store.pool.query('SELECT count(*)::int AS n FROM tls_report_results');
    expect(left.rows[0].n).toBe(0);
  });
});
