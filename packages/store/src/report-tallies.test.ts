import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  claimReportRun,
  dueReports,
  finishReportRun,
  listReportRuns,
  postponeReportRun,
  pruneReportData,
} from './report-runs.js';
import {
  type DmarcResultTally,
  dmarcResultsFor,
  recordDmarcResults,
  recordTlsResults,
  type TlsResultTally,
  tlsResultsFor,
} from './report-tallies.js';
import { createTallyBuffer, createTlsResultBuffer } from './tally-buffer.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;

beforeAll(async () => {
  store = await openTestStore();
});

afterAll(async () => {
  await store?.close();
});

const tls = (overrides: Partial<TlsResultTally> = {}): TlsResultTally => ({
  day: '2026-05-01',
  policyDomain: 'receiver.test',
  policyType: 'sts',
  policyStrings: ['version: STSv1', 'mode: enforce', 'mx: mx1.receiver.test', 'max_age: 86400'],
  mxHostPatterns: ['mx1.receiver.test'],
  resultType: 'success',
  sendingIp: '',
  receivingIp: '192.0.2.1',
  receivingMxHost: 'mx1.receiver.test',
  failureReason: '',
  ...overrides,
});

const dmarc = (overrides: Partial<DmarcResultTally> = {}): DmarcResultTally => ({
  day: '2026-05-01',
  policyDomain: 'sender.test',
  headerFrom: 'sender.test',
  envelopeFrom: 'sender.test',
  sourceIp: '198.51.100.9',
  disposition: 'none',
  dkimAligned: true,
  spfAligned: false,
  reasons: [],
  dkimResults: [{ domain: 'sender.test', selector: 's1', result: 'pass' }],
  spf: { domain: 'sender.test', scope: 'mfrom', result: 'softfail' },
  published: { p: 'reject', sp: 'reject', pct: 100, adkim: 'r', aspf: 'r', fo: '0' },
  rua: 'mailto:dmarc@sender.test',
  ...overrides,
});

describe('report counts', () => {
  it('add up per day and distinct fields, keeping the order of policy strings', async () => {
    await recordTlsResults(store.pool, [
      { tally: tls(), count: 3 },
      { tally: tls({ resultType: 'certificate-expired', failureReason: 'CERT_HAS_EXPIRED' }), count: 1 },
      { tally: tls({ day: '2026-05-02' }), count: 7 },
    ]);
    await recordTlsResults(store.pool, [{ tally: tls(), count: 2 }]);
    const rows = await tlsResultsFor(store.pool, '2026-05-01', 'receiver.test');
    expect(rows.map((r) => [r.tally.resultType, r.count])).toEqual([
      ['certificate-expired', 1],
      ['success', 5],
    ]);
    expect(rows[1]!.tally.policyStrings).toEqual(tls().policyStrings);
  });

  it('keep the latest rua of a DMARC row, which is not part of what makes it distinct', async () => {
    await recordDmarcResults(store.pool, [{ tally: dmarc(), count: 2 }]);
    await recordDmarcResults(store.pool, [{ tally: dmarc({ rua: 'mailto:new@sender.test' }), count: 1 }]);
    await recordDmarcResults(store.pool, [{ tally: dmarc({ disposition: 'quarantine' }), count: 1 }]);
    const rows = await dmarcResultsFor(store.pool, '2026-05-01', 'sender.test');
    expect(rows).toHaveLength(2);
    const none = rows.find((r) => r.tally.disposition === 'none')!;
    expect(none.count).toBe(3);
    expect(none.tally.rua).toBe('mailto:new@sender.test');
    expect(none.tally.dkimResults).toEqual([{ domain: 'sender.test', selector: 's1', result: 'pass' }]);
  });

  it('cut what other people publish to its bound', async () => {
    const long = 'x'.repeat(5000);
    await recordTlsResults(store.pool, [
      { tally: tls({ policyDomain: 'long.test', failureReason: long, policyStrings: [long] }), count: 1 },
    ]);
    const [row] = await tlsResultsFor(store.pool, '2026-05-01', 'long.test');
    expect(row!.tally.failureReason).toHaveLength(255);
    expect(row!.tally.policyStrings[0]).toHaveLength(2048);
  });
});

describe('the tally buffer', () => {
  it('writes the counts added up, in one batch per flush', async () => {
    const batches: number[][] = [];
    const buffer = createTallyBuffer<string>(
      (s) => s,
      async (counts) => {
        batches.push(counts.map((c) => c.count));
      },
      { flushIntervalMs: 3_600_000 },
    );
    for (const s of ['a', 'b', 'a', 'a']) buffer.add(s);
    await buffer.flush();
    await buffer.flush();
    expect(batches).toEqual([[3, 1]]);
    await buffer.stop();
  });

  it('keeps the counts of a failed write for the next one, within its bound', async () => {
    let fail = true;
    const written: [string, number][] = [];
    const errors: unknown[] = [];
    const buffer = createTallyBuffer<string>(
      (s) => s,
      async (counts) => {
        if (fail) throw new Error('Postgres is down');
        written.push(...counts.map((c): [string, number] => [c.tally, c.count]));
      },
      { flushIntervalMs: 3_600_000, maxEntries: 2, onError: (err) => errors.push(err) },
    );
    buffer.add('a');
    buffer.add('b');
    buffer.add('c');
    expect(buffer.stats()).toEqual({ held: 2, dropped: 1 });
    await buffer.flush();
    expect(errors).toHaveLength(1);
    buffer.add('a');
    fail = false;
    await buffer.stop();
    expect(written.sort()).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
  });

  it('writes TLS results to the store on stop', async () => {
    const buffer = createTlsResultBuffer(store.pool, { flushIntervalMs: 3_600_000 });
    buffer.add(tls({ policyDomain: 'buffered.test' }));
    buffer.add(tls({ policyDomain: 'buffered.test' }));
    await buffer.stop();
    const rows = await tlsResultsFor(store.pool, '2026-05-01', 'buffered.test');
    expect(rows.map((r) => r.count)).toEqual([2]);
  });
});

describe('report runs', () => {
  const key = { kind: 'tlsrpt' as const, day: '2026-05-01', domain: 'receiver.test' };

  it('list the reports with counts and no run yet', async () => {
    const due = await dueReports(store.pool, '2026-05-01', '2026-05-01');
    expect(due).toContainEqual(key);
    expect(due).toContainEqual({ kind: 'dmarc', day: '2026-05-01', domain: 'sender.test' });
    expect(due.some((d) => d.day === '2026-05-02')).toBe(false);
  });

  it('are claimed by one worker at a time, and finished once with their messages queued', async () => {
    expect(await claimReportRun(store.pool, key, 'worker-a', 60_000)).toBe(1);
    expect(await claimReportRun(store.pool, key, 'worker-b', 60_000)).toBeUndefined();
    expect(await dueReports(store.pool, '2026-05-01', '2026-05-01')).not.toContainEqual(key);
    const message = {
      queueId: 'REPORTQUEUEID0001',
      raw: Buffer.from('Subject: report\r\n\r\nhello\r\n'),
      sender: 'noreply-reports@example.test',
      recipient: 'tlsrpt@receiver.test',
      messageId: '<r1@example.test>',
    };
    const done = {
      state: 'sent' as const,
      reportId: 'r1',
      detail: 'mailto:tlsrpt@receiver.test',
      messages: [message],
    };
    expect(await finishReportRun(store.pool, key, 'worker-b', done)).toBe(false);
    expect(await finishReportRun(store.pool, key, 'worker-a', done)).toBe(true);
    expect(await finishReportRun(store.pool, key, 'worker-a', done)).toBe(false);
    const queued = await store.pool.query(
      `SELECT q.state, q.sender, q.listener, d.recipient, d.dsn_notify, d.next_attempt_at IS NOT NULL AS due
         FROM queue q JOIN deliveries d ON d.queue_id = q.id WHERE q.id = $1`,
      [message.queueId],
    );
    expect(queued.rows).toEqual([
      {
        state: 'queued',
        sender: 'noreply-reports@example.test',
        listener: 'report',
        recipient: 'tlsrpt@receiver.test',
        dsn_notify: ['NEVER'],
        due: true,
      },
    ]);
    expect(await claimReportRun(store.pool, key, 'worker-b', 60_000)).toBeUndefined();
    const [run] = (await listReportRuns(store.pool, '2026-05-01')).filter((r) => r.kind === 'tlsrpt');
    expect(run).toMatchObject({ state: 'sent', reportId: 'r1', attempts: 1 });
  });

  it('are taken over when a claim expires, and only the new holder can finish', async () => {
    const other = { kind: 'dmarc' as const, day: '2026-05-01', domain: 'sender.test' };
    expect(await claimReportRun(store.pool, other, 'worker-a', 1)).toBe(1);
    await store.pool.query(`UPDATE report_runs SET claimed_until = now() - interval '1 second'`);
    expect(await claimReportRun(store.pool, other, 'worker-b', 60_000)).toBe(2);
    const skipped = { state: 'skipped' as const, detail: 'no rua', messages: [] };
    expect(await finishReportRun(store.pool, other, 'worker-a', skipped)).toBe(false);
    expect(await finishReportRun(store.pool, other, 'worker-b', skipped)).toBe(true);
  });

  it('wait after a temporary failure, and fail for good after the last attempt', async () => {
    await recordTlsResults(store.pool, [{ tally: tls({ policyDomain: 'flaky.test' }), count: 1 }]);
    const flaky = { kind: 'tlsrpt' as const, day: '2026-05-01', domain: 'flaky.test' };
    expect(await claimReportRun(store.pool, flaky, 'w', 60_000)).toBe(1);
    const retry = { retryInMs: 3_600_000, maxAttempts: 2, detail: 'SERVFAIL' };
    expect(await postponeReportRun(store.pool, flaky, 'w', retry)).toBe('postponed');
    expect(await dueReports(store.pool, '2026-05-01', '2026-05-01')).not.toContainEqual(flaky);
    expect(await claimReportRun(store.pool, flaky, 'w', 60_000)).toBeUndefined();
    await store.pool.query(
      `UPDATE report_runs SET claimed_until = now() - interval '1 second' WHERE domain = 'flaky.test'`,
    );
    expect(await dueReports(store.pool, '2026-05-01', '2026-05-01')).toContainEqual(flaky);
    expect(await claimReportRun(store.pool, flaky, 'w', 60_000)).toBe(2);
    expect(await postponeReportRun(store.pool, flaky, 'w', retry)).toBe('failed');
    expect(await dueReports(store.pool, '2026-05-01', '2026-05-01')).not.toContainEqual(flaky);
  });

  it('are forgotten with their counts after the retention', async () => {
    expect(await pruneReportData(store.pool, '2026-05-02')).toBeGreaterThan(0);
    expect(await tlsResultsFor(store.pool, '2026-05-01', 'receiver.test')).toEqual([]);
    expect(await tlsResultsFor(store.pool, '2026-05-02', 'receiver.test')).toHaveLength(1);
    expect(await listReportRuns(store.pool, '2026-01-01')).toEqual([]);
  });
});
