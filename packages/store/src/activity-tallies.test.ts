import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ACTIVITY_TALLY_RETENTION_MS,
  activityHour,
  activityTallies,
  createActivityCounter,
  pruneActivityTallies,
  recordActivityTallies,
} from './activity-tallies.js';
import { mailStats } from './admin-views.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;

beforeAll(async () => {
  store = await openTestStore();
});

afterAll(async () => {
  await store?.close();
});

beforeEach(async () => {
  await store.pool.query('DELETE FROM activity_tallies');
});

const HOUR = 3_600_000;
const MAY_FIRST = Date.parse('2026-05-01T00:00:00Z');
const WHOLE_DAY = { from: new Date(MAY_FIRST), to: new Date(MAY_FIRST + 24 * HOUR) };

/** A counter that writes only when told to, on a clock the test sets. */
function counterAt(start: number) {
  const clock = { now: start };
  const counter = createActivityCounter(store.pool, { flushIntervalMs: 3_600_000, now: () => clock.now });
  return { counter, clock };
}

const rows = async () =>
  (await activityTallies(store.pool, WHOLE_DAY)).map(
    (r) =>
      `${new Date(r.tally.hour).toISOString().slice(11, 16)} ${r.tally.kind} ${r.tally.outcome} ${r.count}`,
  );

describe('the activity counter', () => {
  it('adds the counts of every flush, and of every process, to the same rows', async () => {
    const a = counterAt(MAY_FIRST + 10 * HOUR + 60_000);
    const b = counterAt(MAY_FIRST + 10 * HOUR + 120_000);
    a.counter.login('imap', 'ok');
    a.counter.login('imap', 'ok');
    a.counter.login('imap', 'failed');
    await a.counter.flush();
    a.counter.login('imap', 'ok');
    b.counter.login('imap', 'ok');
    b.counter.login('pop3', 'failed');
    b.counter.spamVerdict('rejected');
    // Two processes writing the same rows at the same moment: neither count is lost.
    await Promise.all([a.counter.flush(), b.counter.flush()]);
    await a.counter.stop();
    await b.counter.stop();
    expect(await rows()).toEqual([
      '10:00 login:imap failed 1',
      '10:00 login:imap ok 4',
      '10:00 login:pop3 failed 1',
      '10:00 spam rejected 1',
    ]);
  });

  it('puts an event in the hour it happened, not the hour it was written', async () => {
    const { counter, clock } = counterAt(MAY_FIRST + 11 * HOUR - 1);
    counter.login('smtp', 'failed');
    clock.now = MAY_FIRST + 11 * HOUR;
    counter.login('smtp', 'failed');
    counter.login('smtp', 'failed');
    clock.now = MAY_FIRST + 12 * HOUR + 5;
    await counter.flush();
    counter.spamVerdict('ham');
    await counter.stop();
    expect(await rows()).toEqual([
      '10:00 login:smtp failed 1',
      '11:00 login:smtp failed 2',
      '12:00 spam ham 1',
    ]);
  });

  it('writes what it holds when stopped, and nothing twice', async () => {
    const { counter } = counterAt(MAY_FIRST);
    counter.login('managesieve', 'ok');
    await counter.stop();
    await counter.flush();
    expect(await rows()).toEqual(['00:00 login:managesieve ok 1']);
  });

  it('sums rows given twice in one write', async () => {
    const tally = { hour: MAY_FIRST, kind: 'spam', outcome: 'spam' };
    await recordActivityTallies(store.pool, [
      { tally, count: 2 },
      { tally, count: 3 },
    ]);
    expect(await rows()).toEqual(['00:00 spam spam 5']);
  });

  it('takes the start of the UTC hour', () => {
    expect(activityHour(Date.parse('2026-05-01T10:59:59.999Z'))).toBe(Date.parse('2026-05-01T10:00:00Z'));
    expect(activityHour(Date.parse('2026-05-01T11:00:00Z'))).toBe(Date.parse('2026-05-01T11:00:00Z'));
  });
});

describe('the hourly rows', () => {
  it('are pruned once their hour ended longer ago than the retention', async () => {
    const now = Date.now();
    const old = activityHour(now - ACTIVITY_TALLY_RETENTION_MS - 2 * HOUR);
    const kept = activityHour(now - ACTIVITY_TALLY_RETENTION_MS + 2 * HOUR);
    await recordActivityTallies(store.pool, [
      { tally: { hour: old, kind: 'login:imap', outcome: 'ok' }, count: 1 },
      { tally: { hour: kept, kind: 'login:imap', outcome: 'ok' }, count: 1 },
    ]);
    expect(await pruneActivityTallies(store.pool, ACTIVITY_TALLY_RETENTION_MS)).toBe(1);
    const left = await activityTallies(store.pool, { from: new Date(0), to: new Date(now + HOUR) });
    expect(left.map((r) => r.tally.hour)).toEqual([kept]);
  });

  it("make the dashboard's last 24 hours: this hour and the 23 before it", async () => {
    const thisHour = activityHour(Date.now());
    const at = (hoursAgo: number, kind: string, outcome: string, count: number) => ({
      tally: { hour: thisHour - hoursAgo * HOUR, kind, outcome },
      count,
    });
    await recordActivityTallies(store.pool, [
      at(0, 'login:imap', 'ok', 5),
      at(0, 'login:pop3', 'ok', 2),
      at(23, 'login:imap', 'failed', 7),
      at(3, 'login:smtp', 'failed', 1),
      at(1, 'spam', 'ham', 10),
      at(1, 'spam', 'spam', 4),
      at(2, 'spam', 'rejected', 3),
      // A day ago and more: no longer in the last 24 hours.
      at(24, 'login:imap', 'ok', 100),
      at(30, 'spam', 'rejected', 100),
      // A kind this version does not serve is kept apart, not summed into the logins.
      at(0, 'login:future', 'ok', 50),
    ]);
    const stats = await mailStats(store.pool);
    expect(stats.last24h).toMatchObject({
      loginsOk: 7,
      loginsFailed: 8,
      loginsByProtocol: {
        imap: { ok: 5, failed: 7 },
        pop3: { ok: 2, failed: 0 },
        smtp: { ok: 0, failed: 1 },
        managesieve: { ok: 0, failed: 0 },
      },
      spam: { ham: 10, spam: 4, rejected: 3 },
    });
  });

  it('read as zeros when nothing was counted', async () => {
    const stats = await mailStats(store.pool);
    expect(stats.last24h).toMatchObject({
      loginsOk: 0,
      loginsFailed: 0,
      spam: { ham: 0, spam: 0, rejected: 0 },
    });
  });
});
