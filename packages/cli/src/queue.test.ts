import {
  claimDueDeliveries,
  migrate,
  newQueueId,
  openStore,
  recordAcceptedMessage,
  type StorePool,
  settleDeliveries,
} from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from './test-cli.js';

let database: TestDatabase;
let store: StorePool;
const tegami = (args: readonly string[], stdin?: string) =>
  runCliInProcess(args, { databaseUrl: database.url }, stdin);

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 2 });
  await migrate(store.pool);
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

/** A queued message to two remote recipients; the first was deferred with a 451. */
async function deferredMessage(): Promise<string> {
  const queueId = newQueueId();
  await recordAcceptedMessage(store.pool, {
    queueId,
    raw: Buffer.from(`Subject: q\r\nMessage-ID: <${queueId}@example.test>\r\n\r\nbody\r\n`),
    sender: 'alice@example.test',
    recipients: [{ address: 'far@remote.test' }, { address: 'near@remote.test' }],
    messageId: `<${queueId}@example.test>`,
  });
  const [first] = await claimDueDeliveries(store.pool, queueId, 'test-worker', 60_000);
  await settleDeliveries(store.pool, 'test-worker', [
    {
      deliveryId: first!.id,
      outcome: 'deferred',
      reply: 'mx.remote.test[192.0.2.1] said: 451 4.7.1 try later',
      statusCode: '4.7.1',
      mxHost: 'mx.remote.test',
      address: '192.0.2.1',
      nextAttemptAt: new Date(Date.now() + 3_600_000),
    },
  ]);
  return queueId;
}

describe('tegami queue and trace', () => {
  it('lists waiting recipients, retries them now, traces their attempts, and drops a message', async () => {
    const queueId = await deferredMessage();

    const list = await tegami(['queue', 'list']);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    expect(list.stdout).toMatch(/^QUEUE ID\s+SENDER\s+RECIPIENT\s+ATTEMPTS\s+NEXT TRY\s+LAST REPLY$/m);
    expect(list.stdout).toMatch(
      new RegExp(
        `^${queueId}\\s+alice@example\\.test\\s+far@remote\\.test\\s+1\\s+\\d{4}-.*451 4\\.7\\.1 try later$`,
        'm',
      ),
    );
    expect(list.stdout).toMatch(
      new RegExp(`^${queueId}\\s+alice@example\\.test\\s+near@remote\\.test\\s+0\\s+now\\s+-$`, 'm'),
    );

    const json = await tegami(['queue', 'list', '--json']);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    const rows = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(rows.find((r) => r.recipient === 'far@remote.test')).toEqual({
      queueId,
      sender: 'alice@example.test',
      recipient: 'far@remote.test',
      attempts: 1,
      nextAttemptAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      lastReply: 'mx.remote.test[192.0.2.1] said: 451 4.7.1 try later',
    });
    expect(rows.find((r) => r.recipient === 'near@remote.test')).toMatchObject({
      attempts: 0,
      nextAttemptAt: null,
      lastReply: null,
    });

    const trace = await tegami(['trace', `<${queueId}@example.test>`]);
    expect(trace.code).toBe(0);
    expect(trace.stdout).toContain(`${queueId}  queued`);
    expect(trace.stdout).toMatch(/to <far@remote\.test>: deferred, next try /);
    expect(trace.stdout).toMatch(
      / deferred mx\.remote\.test\[192\.0\.2\.1\] {2}mx\.remote\.test\[192\.0\.2\.1\] said: 451/,
    );

    const retry = await tegami(['queue', 'retry', queueId]);
    expect(retry).toMatchObject({ code: 0, stdout: '1 message due for delivery now\n' });
    expect((await tegami(['queue', 'list'])).stdout).not.toMatch(/far@remote\.test\s+1\s+\d{4}-/);

    const drop = await tegami(['queue', 'drop', queueId]);
    expect(drop).toMatchObject({ code: 0, stdout: `dropped 2 recipients of ${queueId}\n` });
    expect((await tegami(['queue', 'list'])).stdout.trim()).toBe('(none)');
    const after = await tegami(['trace', queueId]);
    expect(after.stdout).toContain(`${queueId}  done`);
    expect(after.stdout).toMatch(/dropped\s+dropped by the operator/);

    const again = await tegami(['queue', 'drop', queueId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no waiting recipients for ${queueId}`);
  }, 60_000);

  it('retries every waiting recipient of every message with --all', async () => {
    const first = await deferredMessage();
    const second = await deferredMessage();
    const later = await store.pool.query(
      `SELECT count(*)::int AS n FROM deliveries WHERE queue_id = ANY($1) AND next_attempt_at > now()`,
      [[first, second]],
    );
    expect(later.rows[0].n).toBe(2);
    const all = await tegami(['queue', 'retry', '--all']);
    expect(all).toMatchObject({ code: 0, stdout: '2 messages due for delivery now\n' });
    // progress.ts's summary: two recipients of each message.
    expect(all.stderr).toMatch(/^made due 4 recipients in [\d.]+s(: .*)?\n$/);
    const due = await store.pool.query(
      `SELECT count(*)::int AS n FROM deliveries WHERE queue_id = ANY($1) AND next_attempt_at <= now()`,
      [[first, second]],
    );
    expect(due.rows[0].n).toBe(4);
    await tegami(['queue', 'drop', first]);
    await tegami(['queue', 'drop', second]);
    expect((await tegami(['queue', 'retry', '--all'])).stdout).toBe('0 messages due for delivery now\n');
  });

  it('sets and clears a quota, refusing what is not a size', async () => {
    await tegami(['domain', 'add', 'example.test']);
    await tegami(['user', 'add', 'q@example.test', '--password-stdin'], 'quota-password\n');
    expect(await tegami(['user', 'quota', 'q@example.test', '2M'])).toMatchObject({
      code: 0,
      stdout: 'q@example.test may keep 2097152 bytes (2M)\n',
    });
    const row = await store.pool.query("SELECT quota_bytes FROM accounts WHERE address = 'q@example.test'");
    expect(Number(row.rows[0].quota_bytes)).toBe(2 * 1024 * 1024);
    expect((await tegami(['user', 'quota', 'q@example.test', 'none'])).code).toBe(0);
    const cleared = await store.pool.query(
      "SELECT quota_bytes FROM accounts WHERE address = 'q@example.test'",
    );
    expect(cleared.rows[0].quota_bytes).toBeNull();
    const bad = await tegami(['user', 'quota', 'q@example.test', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a size: lots');
  }, 30_000);

  it('shows what the inbound checks found and decided', async () => {
    const queueId = newQueueId();
    await recordAcceptedMessage(store.pool, {
      queueId,
      raw: Buffer.from('Subject: q\r\n\r\nbody\r\n'),
      sender: 'x@quarantine.test',
      recipients: [{ address: 'bob@example.test' }],
      junk: true,
      verdict: {
        spf: 'fail',
        spfHelo: 'none',
        dkim: [{ domain: 'quarantine.test', selector: 's1', result: 'fail' }],
        dmarc: {
          result: 'fail',
          domain: 'quarantine.test',
          policy: 'quarantine',
          action: 'quarantine',
          reason: 'policy',
        },
        arc: 'none',
        spam: { action: 'add header', score: 7.5, required: 15, symbols: ['BAYES_SPAM'] },
        action: 'junk',
      },
    });
    const trace = await tegami(['trace', queueId]);
    expect(trace.stdout).toContain(
      '  checks: spf=fail helo=none dkim=fail(quarantine.test/s1) dmarc=fail(p=quarantine: quarantine by policy) arc=none spam=add header 7.5/15 → junk\n',
    );
  });

  it('says so when nothing matches a trace', async () => {
    const run = await tegami(['trace', 'NOSUCHQUEUEID000']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('no message with queue id or Message-ID NOSUCHQUEUEID000');
  });
});
