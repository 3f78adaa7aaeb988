import { describeMessage } from '@tegami/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from './accounts.js';
import { addDomain } from './domains.js';
import { findMailbox } from './mailboxes.js';
import {
  acquireMaildropLock,
  grantPopBeforeSmtp,
  hasPopBeforeSmtp,
  lockAndOpenMaildrop,
  openMaildrop,
  recordPopLogin,
  releaseMaildropLock,
  renewMaildropLock,
} from './maildrop.js';
import { readMessageBytes } from './message-bytes.js';
import { appendMessage } from './messages.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
let accountId: string;
beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'pop.test');
  accountId = (await createAccount(store.pool, 'paula@pop.test', 'paula-password')).id;
});
afterAll(() => store.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('maildrop lock', () => {
  it('is exclusive between holders, re-entrant for its holder, and free once released', async () => {
    expect(await acquireMaildropLock(store.pool, accountId, 'session-a', 30_000)).toBe(true);
    expect(await acquireMaildropLock(store.pool, accountId, 'session-b', 30_000)).toBe(false);
    expect(await acquireMaildropLock(store.pool, accountId, 'session-a', 30_000)).toBe(true);
    await releaseMaildropLock(store.pool, accountId, 'session-b'); // not b's: no effect
    expect(await acquireMaildropLock(store.pool, accountId, 'session-b', 30_000)).toBe(false);
    await releaseMaildropLock(store.pool, accountId, 'session-a');
    expect(await acquireMaildropLock(store.pool, accountId, 'session-b', 30_000)).toBe(true);
    await releaseMaildropLock(store.pool, accountId, 'session-b');
  });

  it('records a login only when the previous one is LOGIN-DELAY old', async () => {
    expect(await recordPopLogin(store.pool, accountId, 300)).toBe(true);
    expect(await recordPopLogin(store.pool, accountId, 300)).toBe(false);
    await sleep(350);
    expect(await recordPopLogin(store.pool, accountId, 300)).toBe(true);
    expect(await recordPopLogin(store.pool, accountId, 0)).toBe(true);
  });

  it('lets a lease that was not renewed go to the next session', async () => {
    expect(await acquireMaildropLock(store.pool, accountId, 'crashed', 200)).toBe(true);
    expect(await acquireMaildropLock(store.pool, accountId, 'next', 30_000)).toBe(false);
    await sleep(300);
    expect(await acquireMaildropLock(store.pool, accountId, 'next', 30_000)).toBe(true);
    expect(await renewMaildropLock(store.pool, accountId, 'crashed', 30_000)).toBe(false);
    expect(await renewMaildropLock(store.pool, accountId, 'next', 30_000)).toBe(true);
    await releaseMaildropLock(store.pool, accountId, 'next');
  });

  it('gives one of many racing sessions the lock', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => acquireMaildropLock(store.pool, accountId, `racer-${i}`, 30_000)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    await releaseMaildropLock(store.pool, accountId, `racer-${winner}`);
  });
});

describe('openMaildrop', () => {
  it('lists the INBOX in UID order with sizes, and reads each message by UID', async () => {
    const inbox = await findMailbox(store.pool, accountId, 'INBOX');
    const first = Buffer.from('Subject: one\r\n\r\nfirst\r\n');
    const second = Buffer.from('Subject: two\r\n\r\nthe second one\r\n');
    await appendMessage(store.pool, { mailboxId: inbox!.id, raw: first });
    await appendMessage(store.pool, { mailboxId: inbox!.id, raw: second });
    const drop = await openMaildrop(store.pool, accountId);
    expect(drop?.mailboxId).toBe(inbox!.id);
    expect(drop?.uidValidity).toBe(inbox!.uidValidity);
    expect(drop?.messages.map((m) => [m.uid, m.size])).toEqual([
      [1, first.length],
      [2, second.length],
    ]);
    const read = await readMessageBytes(store.pool, inbox!.id, [2, 1, 99]);
    expect([...read.keys()]).toEqual([1, 2]);
    expect(read.get(1)?.equals(first)).toBe(true);
    expect(read.get(2)?.equals(second)).toBe(true);
  });

  it('counts a message with bare LF line ends as POP3 sends it, when the parser recorded that', async () => {
    const inbox = await findMailbox(store.pool, accountId, 'INBOX');
    const bare = Buffer.from('Subject: bare\n\nline\n');
    await appendMessage(store.pool, {
      mailboxId: inbox!.id,
      raw: bare,
      metadata: { ...describeMessage(bare).metadata, crlfSize: bare.length + 3 },
    });
    const drop = await openMaildrop(store.pool, accountId);
    expect(drop?.messages.at(-1)?.size).toBe(bare.length + 3);
  });
});

describe('lockAndOpenMaildrop', () => {
  it('takes the lock and reads the maildrop in one statement, or says the lock is taken', async () => {
    const other = (await createAccount(store.pool, 'lock-open@pop.test', 'pw')).id;
    const inbox = await findMailbox(store.pool, other, 'INBOX');
    await appendMessage(store.pool, { mailboxId: inbox!.id, raw: Buffer.from('Subject: x\r\n\r\nbody\r\n') });
    const opened = await lockAndOpenMaildrop(store.pool, other, 'session-a', 30_000);
    expect(opened).toEqual(await openMaildrop(store.pool, other));
    expect(opened).toMatchObject({ mailboxId: inbox!.id, messages: [{ uid: 1 }] });
    expect(await lockAndOpenMaildrop(store.pool, other, 'session-b', 30_000)).toBe('in-use');
    expect(await acquireMaildropLock(store.pool, other, 'session-b', 30_000)).toBe(false);
    await releaseMaildropLock(store.pool, other, 'session-a');
    expect(await lockAndOpenMaildrop(store.pool, other, 'session-b', 30_000)).toMatchObject({
      mailboxId: inbox!.id,
    });
    await releaseMaildropLock(store.pool, other, 'session-b');
  });

  it('gives undefined for an account without an INBOX, with the lock taken', async () => {
    const bare = (await createAccount(store.pool, 'no-inbox@pop.test', 'pw')).id;
    await store.pool.query("DELETE FROM mailboxes WHERE account_id = $1 AND name = 'INBOX'", [bare]);
    expect(await lockAndOpenMaildrop(store.pool, bare, 'session-a', 30_000)).toBeUndefined();
    expect(await acquireMaildropLock(store.pool, bare, 'session-b', 30_000)).toBe(false);
  });
});

describe('POP-before-SMTP grants', () => {
  it('lets an address relay until the grant expires, and no other address', async () => {
    await grantPopBeforeSmtp(store.pool, '192.0.2.7', 300);
    expect(await hasPopBeforeSmtp(store.pool, '192.0.2.7')).toBe(true);
    expect(await hasPopBeforeSmtp(store.pool, '192.0.2.8')).toBe(false);
    await sleep(400);
    expect(await hasPopBeforeSmtp(store.pool, '192.0.2.7')).toBe(false);
  });
});
