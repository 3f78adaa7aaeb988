import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, setQuota } from './accounts.js';
import { addAlias } from './aliases.js';
import { blobId } from './blobs.js';
import { claimDueDeliveries, findDueMessages } from './deliveries.js';
import { addDomain } from './domains.js';
import { type LocalMailbox, routeLocalRecipient } from './local-delivery.js';
import { newQueueId, recordAcceptedMessage } from './queue.js';
import {
  applySieveDelivery,
  type SieveCopyContent,
  type SieveDeliveryPlan,
  type SieveDeliveryStep,
} from './sieve-delivery.js';
import { findSieveDuplicates, loadSieveDeliveryContext } from './sieve-delivery-context.js';
import { openTestStore } from './test-store.js';

/** The mailboxes a Sieve run sees as existing (mailboxexists): the context's map. */
async function deliverableMailboxNames(accountId: string, queueId: string): Promise<string[]> {
  const context = await loadSieveDeliveryContext(store.pool, accountId, queueId);
  return [...(context?.mailboxes.keys() ?? [])];
}

let store: Awaited<ReturnType<typeof openTestStore>>;
let mia: LocalMailbox;
beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'sieve.test');
  await createAccount(store.pool, 'mia@sieve.test', 'pw');
  await addAlias(store.pool, 'info@sieve.test', ['mia@sieve.test']);
  const route = await routeLocalRecipient(store.pool, 'mia@sieve.test');
  if (route.kind !== 'account') throw new Error('no account');
  mia = route.mailbox;
});
afterAll(() => store.close());

/** A message queued to mia with her delivery claimed by `worker`. */
async function claimed(worker: string, sender = 'sam@remote.test') {
  const queueId = newQueueId();
  const raw = Buffer.from(`From: <${sender}>\r\nSubject: ${queueId}\r\n\r\nbody\r\n`);
  await recordAcceptedMessage(store.pool, {
    queueId,
    raw,
    sender,
    recipients: [{ address: 'mia+news@sieve.test' }],
  });
  const [delivery] = await claimDueDeliveries(store.pool, queueId, worker, 60_000);
  const headerPrefix = Buffer.from('Delivered-To: mia+news@sieve.test\r\n');
  const content: SieveCopyContent = { blob: { sha256: blobId(raw), size: raw.length }, headerPrefix };
  return { queueId, deliveryId: delivery!.id, raw, content };
}

function plan(
  worker: string,
  c: Awaited<ReturnType<typeof claimed>>,
  steps: SieveDeliveryStep[],
  more: Partial<SieveDeliveryPlan> = {},
): SieveDeliveryPlan {
  return {
    deliveryId: c.deliveryId,
    worker,
    queueId: c.queueId,
    accountId: mia.accountId,
    quotaBytes: null,
    inbox: { id: mia.inboxId, name: 'INBOX' },
    keepTarget: { id: mia.inboxId, name: 'INBOX' },
    redirectedFrom: mia.address,
    content: c.content,
    steps,
    duplicateMarks: [],
    internalDate: new Date(),
    reply: '250 2.0.0 delivered through Sieve',
    ...more,
  };
}

/** A vacation reply to `to`, queued from <>. */
function reply(c: { queueId: string }, to: string) {
  const queueId = newQueueId();
  return {
    queueId,
    raw: Buffer.from(`To: <${to}>\r\nSubject: away\r\n\r\nAway.\r\n`),
    recipient: to,
    reportsOn: c.queueId,
    messageId: `<${queueId}@sieve.test>`,
    listener: 'sieve',
  };
}

async function messagesIn(name: string) {
  const result = await store.pool.query<{ uid: string; flags: string[] }>(
    `SELECT m.uid, m.flags FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
      WHERE b.account_id = $1 AND b.name = $2 ORDER BY m.uid`,
    [mia.accountId, name],
  );
  return result.rows;
}

describe('applySieveDelivery', () => {
  it('files copies with their flags, makes a :create mailbox, and falls back to INBOX for a missing one', async () => {
    const c = await claimed('w1');
    const result = await applySieveDelivery(
      store.pool,
      plan('w1', c, [
        {
          kind: 'store',
          action: 'fileinto',
          mailbox: 'Archive',
          create: false,
          flags: ['\\flagged', '$Work'],
        },
        { kind: 'store', action: 'fileinto', mailbox: 'Lists/news', create: true, flags: [] },
        { kind: 'store', action: 'fileinto', mailbox: 'Nowhere', create: false, flags: ['\\Seen'] },
      ]),
    );
    expect(result.kind).toBe('delivered');
    if (result.kind !== 'delivered') return;
    expect(result.copies.map((copy) => copy.name).sort()).toEqual(['Archive', 'INBOX', 'Lists/news']);
    expect((await messagesIn('Archive')).at(-1)!.flags).toEqual(['$Work', '\\Flagged']);
    expect((await messagesIn('INBOX')).at(-1)!.flags).toEqual(['\\Seen']);
    expect(await messagesIn('Lists/news')).toHaveLength(1);
    expect(await deliverableMailboxNames(mia.accountId, c.queueId)).toContain('Lists/news');
    expect(result.records).toEqual([
      { action: 'fileinto', mailbox: 'Archive', flags: ['\\flagged', '$Work'], uid: expect.any(Number) },
      { action: 'fileinto', mailbox: 'Lists/news', flags: [], created: true, uid: 1 },
      {
        action: 'fileinto',
        mailbox: 'INBOX',
        flags: ['\\Seen'],
        note: 'no mailbox "Nowhere": filed into INBOX instead',
        uid: expect.any(Number),
      },
    ]);
    const row = await store.pool.query(
      'SELECT status, claimed_by, sieve_actions, mailbox_id FROM deliveries WHERE id = $1',
      [c.deliveryId],
    );
    expect(row.rows[0]).toMatchObject({ status: 'delivered', claimed_by: null });
    expect(row.rows[0].sieve_actions).toEqual(JSON.parse(JSON.stringify(result.records)));
    expect(result.queueDone).toBe(true);
  });

  it('keeps one copy of a message filed twice into one mailbox, with the flags of both', async () => {
    const c = await claimed('w1');
    const before = (await messagesIn('INBOX')).length;
    const result = await applySieveDelivery(
      store.pool,
      plan('w1', c, [
        { kind: 'store', action: 'fileinto', mailbox: 'inbox', create: false, flags: ['\\Seen'] },
        { kind: 'store', action: 'keep', mailbox: null, create: false, flags: ['\\Answered'] },
      ]),
    );
    expect(result.kind === 'delivered' && result.copies).toHaveLength(1);
    const inbox = await messagesIn('INBOX');
    expect(inbox).toHaveLength(before + 1);
    expect(inbox.at(-1)!.flags).toEqual(['\\Answered', '\\Seen']);
  });

  it('does nothing for a delivery it does not hold, or holds no longer: a job run again changes nothing', async () => {
    const c = await claimed('w1');
    const steps: SieveDeliveryStep[] = [
      { kind: 'store', action: 'fileinto', mailbox: 'Archive', create: false, flags: [] },
      { kind: 'redirect', address: 'friend@remote.test' },
      { kind: 'send', action: 'reject', message: reply(c, 'sam@remote.test') },
    ];
    expect(await applySieveDelivery(store.pool, plan('w2', c, steps))).toEqual({ kind: 'not-held' });
    const archived = (await messagesIn('Archive')).length;
    expect((await applySieveDelivery(store.pool, plan('w1', c, steps))).kind).toBe('delivered');
    expect(await applySieveDelivery(store.pool, plan('w1', c, steps))).toEqual({ kind: 'not-held' });
    expect(await messagesIn('Archive')).toHaveLength(archived + 1);
    const rows = await store.pool.query(
      `SELECT recipient, expanded_from FROM deliveries WHERE queue_id = $1 ORDER BY id`,
      [c.queueId],
    );
    expect(rows.rows).toEqual([
      { recipient: 'mia+news@sieve.test', expanded_from: null },
      { recipient: 'friend@remote.test', expanded_from: 'mia@sieve.test' },
    ]);
    const sent = await store.pool.query(`SELECT count(*)::int AS n FROM queue WHERE reports_on = $1`, [
      c.queueId,
    ]);
    expect(sent.rows[0].n).toBe(1);
  });

  it('adds a redirect as a recipient of the message once, which the queue then waits for', async () => {
    const c = await claimed('w1');
    const result = await applySieveDelivery(
      store.pool,
      plan('w1', c, [
        { kind: 'redirect', address: 'friend@remote.test' },
        { kind: 'redirect', address: 'friend@remote.test' },
        { kind: 'note', record: { action: 'discard' } },
      ]),
    );
    expect(result).toMatchObject({ kind: 'delivered', redirected: 1, queueDone: false, copies: [] });
    if (result.kind !== 'delivered') return;
    expect(result.records).toEqual([
      { action: 'redirect', to: 'friend@remote.test' },
      { action: 'redirect', to: 'friend@remote.test', note: 'already a recipient of this message' },
      { action: 'discard' },
    ]);
    const added = await store.pool.query(
      `SELECT status, dsn_orcpt FROM deliveries WHERE queue_id = $1 AND recipient = 'friend@remote.test'`,
      [c.queueId],
    );
    expect(added.rows).toEqual([{ status: 'pending', dsn_orcpt: 'rfc822;mia+news@sieve.test' }]);
  });

  it('queues a vacation reply once per sender and handle in the period, from <>, found by the due scan', async () => {
    const once = { sender: 'Pat@remote.test', handle: 'h1', seconds: 7 * 86_400 };
    const first = await claimed('w1', 'pat@remote.test');
    const second = await claimed('w1', 'pat@remote.test');
    const r1 = await applySieveDelivery(
      store.pool,
      plan('w1', first, [
        { kind: 'send', action: 'vacation', message: reply(first, 'pat@remote.test'), once },
      ]),
    );
    const r2 = await applySieveDelivery(
      store.pool,
      plan('w1', second, [
        {
          kind: 'send',
          action: 'vacation',
          message: reply(second, 'pat@remote.test'),
          once: { ...once, sender: 'pat@REMOTE.test' },
        },
      ]),
    );
    expect(r1.kind === 'delivered' && r1.queued).toHaveLength(1);
    expect(r2.kind === 'delivered' && r2.queued).toEqual([]);
    expect(r2.kind === 'delivered' && r2.records[0]!.note).toBe(
      'not sent: pat@REMOTE.test was answered within 7 days',
    );
    const queued = await store.pool.query(
      `SELECT q.sender, q.state, q.listener, d.recipient FROM queue q JOIN deliveries d ON d.queue_id = q.id
        WHERE q.reports_on = $1`,
      [first.queueId],
    );
    expect(queued.rows).toEqual([
      { sender: '', state: 'queued', listener: 'sieve', recipient: 'pat@remote.test' },
    ]);
    // Its job is published after the commit; if that publish is lost, the due scan finds it.
    const due = await findDueMessages(store.pool, 0, 1000);
    expect(due.map((m) => m.queueId)).toContain(r1.kind === 'delivered' ? r1.queued[0] : '');

    // Another handle (another vacation text), or a period over, answers again.
    const third = await claimed('w1', 'pat@remote.test');
    const r3 = await applySieveDelivery(
      store.pool,
      plan('w1', third, [
        {
          kind: 'send',
          action: 'vacation',
          message: reply(third, 'pat@remote.test'),
          once: { ...once, handle: 'h2' },
        },
      ]),
    );
    expect(r3.kind === 'delivered' && r3.queued).toHaveLength(1);
    await store.pool.query(`UPDATE sieve_vacation_replies SET last_sent_at = now() - interval '8 days'`);
    const fourth = await claimed('w1', 'pat@remote.test');
    const r4 = await applySieveDelivery(
      store.pool,
      plan('w1', fourth, [
        { kind: 'send', action: 'vacation', message: reply(fourth, 'pat@remote.test'), once },
      ]),
    );
    expect(r4.kind === 'delivered' && r4.queued).toHaveLength(1);
  });

  it('sends one vacation reply when two workers deliver two messages from one sender at once', async () => {
    const once = { sender: 'rae@remote.test', handle: 'race', seconds: 86_400 };
    const messages = await Promise.all(
      Array.from({ length: 6 }, (_, i) => claimed(`racer${i}`, 'rae@remote.test')),
    );
    const results = await Promise.all(
      messages.map((c, i) =>
        applySieveDelivery(
          store.pool,
          plan(`racer${i}`, c, [
            { kind: 'send', action: 'vacation', message: reply(c, 'rae@remote.test'), once },
          ]),
        ),
      ),
    );
    expect(results.every((r) => r.kind === 'delivered')).toBe(true);
    expect(results.flatMap((r) => (r.kind === 'delivered' ? r.queued : []))).toHaveLength(1);
  });

  it('records duplicate ids until they expire', async () => {
    const c = await claimed('w1');
    await applySieveDelivery(
      store.pool,
      plan('w1', c, [], {
        duplicateMarks: [
          { key: 'k-live', seconds: 3600 },
          { key: 'k-short', seconds: 0.001 },
        ],
      }),
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(await findSieveDuplicates(store.pool, mia.accountId, ['k-live', 'k-short', 'k-never'])).toEqual(
      new Set(['k-live']),
    );
  });

  it('puts the error notice into INBOX once per version of the script', async () => {
    const notice = Buffer.from(
      'From: MAILER-DAEMON@sieve.test\r\nSubject: Sieve script "main" failed\r\n\r\nbroken\r\n',
    );
    const errorNotice = {
      script: 'personal:1',
      version: '2024-05-01 10:00:00.123456+00',
      content: {
        blob: { sha256: blobId(notice), size: notice.length },
        headerPrefix: Buffer.alloc(0),
        data: notice,
      },
    };
    const keep: SieveDeliveryStep[] = [
      { kind: 'store', action: 'keep', mailbox: null, create: false, flags: [] },
    ];
    const count = async () =>
      (
        await store.pool.query(
          `SELECT count(*)::int AS n FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
            WHERE b.account_id = $1 AND m.blob_sha256 = $2`,
          [mia.accountId, blobId(notice)],
        )
      ).rows[0].n;
    for (let i = 0; i < 2; i++) {
      const c = await claimed('w1');
      const result = await applySieveDelivery(store.pool, plan('w1', c, keep, { errorNotice }));
      expect(result.kind === 'delivered' && result.copies).toHaveLength(i === 0 ? 2 : 1);
    }
    expect(await count()).toBe(1);
    const c = await claimed('w1');
    await applySieveDelivery(
      store.pool,
      plan('w1', c, keep, { errorNotice: { ...errorNotice, version: '2024-05-02 10:00:00+00' } }),
    );
    expect(await count()).toBe(2);
  });

  it('stores a copy editheader changed as a blob of its own', async () => {
    const c = await claimed('w1');
    const edited = Buffer.from('X-Edited: yes\r\nSubject: edited\r\n\r\nbody\r\n');
    const result = await applySieveDelivery(
      store.pool,
      plan('w1', c, [{ kind: 'store', action: 'keep', mailbox: null, create: false, flags: [] }], {
        content: {
          blob: { sha256: blobId(edited), size: edited.length },
          headerPrefix: Buffer.alloc(0),
          data: edited,
        },
      }),
    );
    if (result.kind !== 'delivered') throw new Error(result.kind);
    const stored = await store.pool.query(
      `SELECT b.data FROM messages m JOIN blobs b ON b.sha256 = m.blob_sha256 WHERE m.mailbox_id = $1 AND m.uid = $2`,
      [mia.inboxId, result.copies[0]!.uid],
    );
    expect(stored.rows[0].data.toString()).toBe(edited.toString());
  });

  it('changes nothing when the copies do not fit the quota', async () => {
    await setQuota(store.pool, 'mia@sieve.test', 1);
    try {
      const c = await claimed('w1');
      const inbox = (await messagesIn('INBOX')).length;
      const result = await applySieveDelivery(
        store.pool,
        plan(
          'w1',
          c,
          [
            { kind: 'store', action: 'fileinto', mailbox: 'Quota/made', create: true, flags: [] },
            { kind: 'send', action: 'reject', message: reply(c, 'sam@remote.test') },
          ],
          { quotaBytes: 1 },
        ),
      );
      expect(result.kind).toBe('over-quota');
      expect(await messagesIn('INBOX')).toHaveLength(inbox);
      expect(await deliverableMailboxNames(mia.accountId, c.queueId)).not.toContain('Quota/made');
      const row = await store.pool.query('SELECT status, claimed_by FROM deliveries WHERE id = $1', [
        c.deliveryId,
      ]);
      expect(row.rows[0]).toEqual({ status: 'pending', claimed_by: 'w1' });
    } finally {
      await setQuota(store.pool, 'mia@sieve.test', null);
    }
  });
});

describe('loadSieveDeliveryContext', () => {
  it('reads the scripts, the user’s addresses and the spam verdict in one query', async () => {
    const c = await claimed('w1');
    await store.pool.query(
      `UPDATE queue SET verdict = $2, client_address = '192.0.2.7', authenticated_as = $3 WHERE id = $1`,
      [
        c.queueId,
        JSON.stringify({
          spam: { action: 'add header', score: 7.5, required: 6, symbols: [] },
          action: 'junk',
        }),
        mia.accountId,
      ],
    );
    expect(await loadSieveDeliveryContext(store.pool, mia.accountId, c.queueId)).toMatchObject({
      personal: null,
      before: null,
      beforeName: null,
      // Her address, then the aliases that deliver to her (the first user is postmaster too).
      ownAddresses: ['mia@sieve.test', 'info@sieve.test', 'postmaster@sieve.test'],
      spam: { score: 7.5, threshold: 6 },
      clientAddress: '192.0.2.7',
      // envelope "auth" (RFC 5228 §5.4): who submitted it (here she sent it to herself).
      authenticatedAs: 'mia@sieve.test',
    });
    const { rows } = await store.pool.query<{ id: string }>(
      `INSERT INTO sieve_scripts (account_id, name, content, active) VALUES ($1, 'main', 'keep;', true) RETURNING id`,
      [mia.accountId],
    );
    await store.pool.query(`INSERT INTO sieve_global_scripts (name, content) VALUES ('first', 'stop;')`);
    await store.pool.query(`UPDATE domains SET sieve_before = 'first' WHERE name = 'sieve.test'`);
    const context = await loadSieveDeliveryContext(store.pool, mia.accountId, c.queueId);
    expect(context).toMatchObject({
      personal: { key: `personal:${rows[0]!.id}`, name: 'main', content: 'keep;' },
      before: { key: 'global:first', name: 'first', content: 'stop;' },
      beforeName: 'first',
    });
    // A change to any script the account could include changes the version the cache keys on.
    await store.pool.query(
      `INSERT INTO sieve_scripts (account_id, name, content) VALUES ($1, 'lib', 'keep;')`,
      [mia.accountId],
    );
    expect((await loadSieveDeliveryContext(store.pool, mia.accountId, c.queueId))!.includeVersion).not.toBe(
      context!.includeVersion,
    );
    await store.pool.query(`UPDATE domains SET sieve_before = NULL`);
    await store.pool.query(`DELETE FROM sieve_scripts`);
  });
});
