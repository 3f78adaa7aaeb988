import {
  addDomain,
  applySieveDelivery,
  blobId,
  claimDueDeliveries,
  createAccount,
  migrate,
  newQueueId,
  openStore,
  plusAddressing,
  recordAcceptedMessage,
  routeLocalRecipient,
  type StorePool,
} from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from './test-cli.js';

// `tegami domain set --plus-addressing` and what `tegami trace` says a Sieve script did.

let database: TestDatabase;
let store: StorePool;
const tegami = (args: readonly string[]) => runCliInProcess(args, { databaseUrl: database.url });

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 2 });
  await migrate(store.pool);
  await addDomain(store.pool, 'trace.test');
  await createAccount(store.pool, 'tia@trace.test', 'pw');
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

describe('tegami domain set', () => {
  it('turns subaddresses off and on for a domain', async () => {
    expect(await tegami(['domain', 'set', 'Trace.test', '--plus-addressing', 'off'])).toEqual({
      code: 0,
      stdout: 'subaddresses off for trace.test\n',
      stderr: '',
    });
    expect(await plusAddressing(store.pool, 'trace.test')).toBe(false);
    expect((await tegami(['domain', 'set', 'trace.test', '--plus-addressing=on'])).code).toBe(0);
    expect(await plusAddressing(store.pool, 'trace.test')).toBe(true);
  });

  it('refuses a value other than on or off, and a domain that is not here', async () => {
    expect((await tegami(['domain', 'set', 'trace.test', '--plus-addressing', 'maybe'])).code).toBe(2);
    const missing = await tegami(['domain', 'set', 'nowhere.test', '--plus-addressing', 'off']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no domain nowhere.test');
  });
});

describe('tegami trace', () => {
  it('prints what the recipient’s Sieve script did', async () => {
    const queueId = newQueueId();
    const raw = Buffer.from('Subject: filed\r\n\r\nbody\r\n');
    await recordAcceptedMessage(store.pool, {
      queueId,
      raw,
      sender: 'sam@remote.test',
      recipients: [{ address: 'tia+news@trace.test' }],
    });
    const [delivery] = await claimDueDeliveries(store.pool, queueId, 'w', 60_000);
    const route = await routeLocalRecipient(store.pool, 'tia@trace.test');
    if (route.kind !== 'account') throw new Error('no account');
    const vacationId = newQueueId();
    await applySieveDelivery(store.pool, {
      deliveryId: delivery!.id,
      worker: 'w',
      queueId,
      accountId: route.mailbox.accountId,
      quotaBytes: null,
      inbox: { id: route.mailbox.inboxId, name: 'INBOX' },
      keepTarget: { id: route.mailbox.inboxId, name: 'INBOX' },
      redirectedFrom: 'tia@trace.test',
      content: { blob: { sha256: blobId(raw), size: raw.length }, headerPrefix: Buffer.alloc(0) },
      steps: [
        { kind: 'store', action: 'fileinto', mailbox: 'News', create: true, flags: ['\\Seen'] },
        {
          kind: 'send',
          action: 'vacation',
          message: {
            queueId: vacationId,
            raw: Buffer.from('Subject: away\r\n\r\naway\r\n'),
            recipient: 'sam@remote.test',
            reportsOn: queueId,
            messageId: `<${vacationId}.vacation@trace.test>`,
            listener: 'sieve',
          },
          once: { sender: 'sam@remote.test', handle: 'h', seconds: 86_400 },
        },
        { kind: 'note', record: { action: 'error', note: 'script "main": line 3: oops' } },
      ],
      duplicateMarks: [],
      internalDate: new Date(),
      reply: '250 2.0.0 delivered through Sieve',
    });
    const trace = await tegami(['trace', queueId]);
    expect(trace.code).toBe(0);
    expect(trace.stdout).toContain(
      [
        '    sieve: fileinto "News" (\\Seen) (created) → uid 1',
        `    sieve: vacation to <sam@remote.test>: queued as ${vacationId}`,
        '    sieve: error: script "main": line 3: oops',
      ].join('\n'),
    );
    // The vacation reply is listed with the message it answers.
    expect(trace.stdout).toContain(`${vacationId}  queued`);
    expect(trace.stdout).toContain(`  sent by a Sieve script (vacation) about ${queueId}`);
  });
});
