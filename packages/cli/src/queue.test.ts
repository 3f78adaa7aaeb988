import {
  claimDueDeliveries,
  markQueued,
  migrate,
  newQueueId,
  openStore,
  recordAcceptedMessage,
  type StorePool,
  settleDeliveries,
} from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTegami } from './test-cli.js';

let database: TestDatabase;
let store: StorePool;
let env: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 2 });
  await migrate(store.pool);
  env = { DATABASE_URL: database.url };
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
  await markQueued(store.pool, queueId);
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

    const list = await runTegami(['queue', 'list'], env);
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

    const trace = await runTegami(['trace', `<${queueId}@example.test>`], env);
    expect(trace.code).toBe(0);
    expect(trace.stdout).toContain(`${queueId}  queued`);
    expect(trace.stdout).toMatch(/to <far@remote\.test>: deferred, next try /);
    expect(trace.stdout).toMatch(
      / deferred mx\.remote\.test\[192\.0\.2\.1\] {2}mx\.remote\.test\[192\.0\.2\.1\] said: 451/,
    );

    const retry = await runTegami(['queue', 'retry', queueId], env);
    expect(retry).toMatchObject({ code: 0, stdout: '1 message due for delivery now\n' });
    expect((await runTegami(['queue', 'list'], env)).stdout).not.toMatch(/far@remote\.test\s+1\s+\d{4}-/);

    const drop = await runTegami(['queue', 'drop', queueId], env);
    expect(drop).toMatchObject({ code: 0, stdout: `dropped 2 recipients of ${queueId}\n` });
    expect((await runTegami(['queue', 'list'], env)).stdout.trim()).toBe('(none)');
    const after = await runTegami(['trace', queueId], env);
    expect(after.stdout).toContain(`${queueId}  done`);
    expect(after.stdout).toMatch(/dropped\s+dropped by the operator/);

    const again = await runTegami(['queue', 'drop', queueId], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no waiting recipients for ${queueId}`);
  }, 60_000);

  it('sets and clears a quota, refusing what is not a size', async () => {
    await runTegami(['domain', 'add', 'example.test'], env);
    await runTegami(['user', 'add', 'q@example.test', '--password-stdin'], env, 'quota-password\n');
    expect(await runTegami(['user', 'quota', 'q@example.test', '2M'], env)).toMatchObject({
      code: 0,
      stdout: 'q@example.test may keep 2097152 bytes\n',
    });
    const row = await store.pool.query("SELECT quota_bytes FROM accounts WHERE address = 'q@example.test'");
    expect(Number(row.rows[0].quota_bytes)).toBe(2 * 1024 * 1024);
    expect((await runTegami(['user', 'quota', 'q@example.test', 'none'], env)).code).toBe(0);
    const cleared = await store.pool.query(
      "SELECT quota_bytes FROM accounts WHERE address = 'q@example.test'",
    );
    expect(cleared.rows[0].quota_bytes).toBeNull();
    const bad = await runTegami(['user', 'quota', 'q@example.test', 'lots'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a size: lots');
  }, 30_000);

  it('says so when nothing matches a trace', async () => {
    const run = await runTegami(['trace', 'NOSUCHQUEUEID000'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('no message with queue id or Message-ID NOSUCHQUEUEID000');
  });
});
