import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from './accounts.js';
import { addDomain } from './domains.js';
import {
  imapChangesSince,
  imapMailboxStatusByName,
  imapModseqHistory,
  openImapMailbox,
  openImapSnapshot,
} from './imap-mailbox.js';
import { deleteMailbox } from './mailbox-deletion.js';
import { createMailbox, findMailbox } from './mailboxes.js';
import { appendMessage, appendMessageByName, expungeMessagesAt, updateFlags } from './messages.js';
import { pruneExpungeHistory } from './retention.js';
import { openTestStore } from './test-store.js';

// The one-statement forms of SELECT, sync, STATUS, APPEND, STORE and EXPUNGE (issue 17);
// the mail-store contract (packages/testing) runs them through the imap-gateway's account.

let store: Awaited<ReturnType<typeof openTestStore>>;
let accountId: string;

beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'example.net');
  accountId = (await createAccount(store.pool, 'carol@example.net', 'pw')).id;
});
afterAll(() => store.close());

const message = (n: number) => Buffer.from(`Subject: message ${n}\r\n\r\nbody ${n}\r\n`);

describe('opening and syncing by one statement', () => {
  it('opens by name with the snapshot, and not a \\Noselect name nor another account’s mailbox', async () => {
    const box = await createMailbox(store.pool, accountId, 'Open/Child');
    await createMailbox(store.pool, accountId, 'Open');
    await appendMessage(store.pool, { mailboxId: box.id, raw: message(1), flags: ['\\Seen'] });
    await appendMessage(store.pool, { mailboxId: box.id, raw: message(2) });
    const opened = await openImapMailbox(store.pool, accountId, 'Open/Child', false);
    expect(opened).toMatchObject({ id: box.id, name: 'Open/Child', specialUse: null });
    expect(opened!.snapshot!.messages.map((m) => [m.uid, m.flags])).toEqual([
      [1, ['\\Seen']],
      [2, []],
    ]);
    expect(opened!.snapshot!.recent).toEqual({ from: 1, to: 3 });
    expect(opened!.snapshot!.uidNext).toBe(3);

    await deleteMailbox(store.pool, accountId, 'Open');
    expect((await findMailbox(store.pool, accountId, 'Open'))?.noselect).toBe(true);
    expect(await openImapMailbox(store.pool, accountId, 'Open', false)).toBeUndefined();
    expect(await imapMailboxStatusByName(store.pool, accountId, 'Open')).toBeUndefined();
    const other = await createAccount(store.pool, 'dave@example.net', 'pw');
    expect(await openImapMailbox(store.pool, other.id, 'Open/Child', true)).toBeUndefined();
    expect(await imapMailboxStatusByName(store.pool, other.id, 'Open/Child')).toBeUndefined();
  });

  it('opens with only the changes since a state the caller holds, when the name still names that mailbox', async () => {
    const box = await createMailbox(store.pool, accountId, 'Shelved');
    for (const n of [1, 2, 3]) await appendMessage(store.pool, { mailboxId: box.id, raw: message(n) });
    const first = await openImapMailbox(store.pool, accountId, 'Shelved', false);
    const held = first!.snapshot!.highestModseq;
    expect(first!.changes).toBeUndefined();
    // Nothing changed since: no message read, nothing to claim.
    const same = await openImapMailbox(store.pool, accountId, 'Shelved', false, { id: box.id, modseq: held });
    expect(same).toMatchObject({ id: box.id, uidValidity: first!.uidValidity });
    expect(same!.snapshot).toBeUndefined();
    expect(same!.changes).toEqual({
      highestModseq: held,
      uidNext: 4,
      changed: [],
      expunged: [],
      recent: { from: 0, to: 0 },
    });
    // A flag, an expunge and an arrival since: exactly those, and the arrival claimed.
    await updateFlags(store.pool, box.id, [2], 'add', ['\\Seen']);
    await expungeMessagesAt(store.pool, box.id, [1]);
    await appendMessage(store.pool, { mailboxId: box.id, raw: message(4) });
    const since = await openImapMailbox(store.pool, accountId, 'Shelved', false, {
      id: box.id,
      modseq: held,
    });
    expect(since!.changes).toMatchObject({ uidNext: 5, expunged: [1], recent: { from: 4, to: 5 } });
    expect(since!.changes!.changed.map((m) => [m.uid, m.flags])).toEqual([
      [2, ['\\Seen']],
      [4, []],
    ]);
    // A state of another mailbox (the name was renamed, another made): the whole snapshot.
    const other = await openImapMailbox(store.pool, accountId, 'Shelved', true, {
      id: '999999',
      modseq: held,
    });
    expect(other!.changes).toBeUndefined();
    expect(other!.snapshot!.messages.map((m) => m.uid)).toEqual([2, 3, 4]);
  });

  it('opens an empty mailbox', async () => {
    const opened = await openImapMailbox(store.pool, accountId, 'Drafts', true);
    expect(opened?.snapshot?.messages).toEqual([]);
    expect(opened?.snapshot?.recent).toEqual({ from: 1, to: 1 });
  });

  it('syncs flags, expunges and arrivals since a MODSEQ, claiming new messages as \\Recent once', async () => {
    const box = await createMailbox(store.pool, accountId, 'Sync');
    for (const n of [1, 2, 3]) await appendMessage(store.pool, { mailboxId: box.id, raw: message(n) });
    const view = await openImapSnapshot(store.pool, box.id, false);
    expect(view.recent).toEqual({ from: 1, to: 4 });
    expect(await imapChangesSince(store.pool, box.id, view.highestModseq, false)).toEqual({
      highestModseq: view.highestModseq,
      uidNext: 4,
      changed: [],
      expunged: [],
      recent: { from: 0, to: 0 },
    });

    const [flagged] = await updateFlags(store.pool, box.id, [2], 'add', ['\\Flagged']);
    const removed = await expungeMessagesAt(store.pool, box.id, [1, 3]);
    expect(removed).toEqual({ uids: [1, 3], modseq: flagged!.modseq + 1n });
    await appendMessage(store.pool, { mailboxId: box.id, raw: message(4) });
    const changes = await imapChangesSince(store.pool, box.id, view.highestModseq, false);
    expect(changes.changed.map((m) => [m.uid, m.flags])).toEqual([
      [2, ['\\Flagged']],
      [4, []],
    ]);
    expect(changes.expunged).toEqual([1, 3]);
    expect(changes.recent).toEqual({ from: 4, to: 5 });
    expect(changes.highestModseq).toBe(flagged!.modseq + 2n);
    // Claimed: another read-write session does not get it, an EXAMINE still sees it.
    expect((await imapChangesSince(store.pool, box.id, view.highestModseq, false)).recent).toEqual({
      from: 0,
      to: 0,
    });
    expect((await imapChangesSince(store.pool, box.id, view.highestModseq, true)).recent).toEqual({
      from: 5,
      to: 5,
    });
  });

  it('keeps MODSEQ order and every flag under concurrent STOREs and EXPUNGEs of one mailbox', async () => {
    const box = await createMailbox(store.pool, accountId, 'Race');
    for (let n = 1; n <= 20; n++) await appendMessage(store.pool, { mailboxId: box.id, raw: message(n) });
    const start = (await openImapSnapshot(store.pool, box.id, true)).highestModseq;
    const keywords = Array.from({ length: 10 }, (_, i) => `$K${i}`);
    const results = await Promise.all([
      ...keywords.map((k) => updateFlags(store.pool, box.id, [1, 2, 3, 4, 5], 'add', [k])),
      expungeMessagesAt(store.pool, box.id, [20]),
    ]);
    // Every change got its own MODSEQ, and every keyword is on every message.
    const modseqs = results.map((r) => ('uids' in r ? r.modseq : r[0]!.modseq));
    expect(new Set(modseqs).size).toBe(11);
    const after = await openImapSnapshot(store.pool, box.id, true);
    expect(after.highestModseq).toBe(start + 11n);
    for (const m of after.messages.filter((m) => m.uid <= 5)) expect(m.flags).toEqual(keywords);
    expect(after.messages.map((m) => m.uid)).not.toContain(20);
  });
});

describe('STATUS and APPEND by name', () => {
  it('counts in one statement', async () => {
    const box = await createMailbox(store.pool, accountId, 'Counted');
    await appendMessage(store.pool, { mailboxId: box.id, raw: message(1), flags: ['\\Seen'] });
    await appendMessage(store.pool, { mailboxId: box.id, raw: message(22) });
    expect(await imapMailboxStatusByName(store.pool, accountId, 'Counted')).toMatchObject({
      messages: 2,
      unseen: 1,
      recent: 2,
      uidNext: 3,
      size: message(1).length + message(22).length,
    });
  });

  it('appends to the named mailbox, and refuses a missing or \\Noselect one and a message past the quota', async () => {
    const account = await createAccount(store.pool, 'erin@example.net', 'pw');
    const inbox = await findMailbox(store.pool, account.id, 'INBOX');
    const appended = await appendMessageByName(store.pool, account.id, 'inbox', {
      raw: message(1),
      flags: ['\\seen'],
    });
    expect(appended).toMatchObject({ mailboxId: inbox!.id, uid: 1, uidValidity: inbox!.uidValidity });
    expect(await appendMessageByName(store.pool, account.id, 'Nowhere', { raw: message(2) })).toBe(
      'nonexistent',
    );
    await createMailbox(store.pool, account.id, 'Parent/Child');
    await deleteMailbox(store.pool, account.id, 'Parent');
    await createMailbox(store.pool, account.id, 'Parent/Child2');
    expect(await appendMessageByName(store.pool, account.id, 'Parent', { raw: message(2) })).toBe(
      'nonexistent',
    );

    await store.pool.query('UPDATE accounts SET quota_bytes = $2 WHERE id = $1', [
      account.id,
      message(1).length + message(2).length,
    ]);
    expect(await appendMessageByName(store.pool, account.id, 'INBOX', { raw: message(22) })).toBe(
      'over-quota',
    );
    // Exactly full fits.
    expect(await appendMessageByName(store.pool, account.id, 'INBOX', { raw: message(2) })).toMatchObject({
      uid: 2,
    });
    const status = await imapMailboxStatusByName(store.pool, account.id, 'INBOX');
    expect(status).toMatchObject({ messages: 2, unseen: 1, uidNext: 3 });
  });
});

describe('history since a MODSEQ (CHANGEDSINCE, QRESYNC)', () => {
  it('says the expunge history is incomplete once retention forgot records after the MODSEQ asked about', async () => {
    const box = await createMailbox(store.pool, accountId, 'History');
    for (const n of [1, 2, 3]) await appendMessage(store.pool, { mailboxId: box.id, raw: message(n) });
    const since = (await openImapSnapshot(store.pool, box.id, true)).highestModseq;
    await updateFlags(store.pool, box.id, [2], 'add', ['\\Seen']);
    await expungeMessagesAt(store.pool, box.id, [1], {});
    expect(await imapModseqHistory(store.pool, box.id, since)).toMatchObject({
      vanished: [1],
      complete: true,
    });
    // The record of UID 1 ages out: a client that last synchronised before it cannot be
    // told exactly what vanished, and the history says so.
    await store.pool.query(
      "UPDATE expunged_messages SET expunged_at = now() - interval '400 days' WHERE mailbox_id = $1",
      [box.id],
    );
    await pruneExpungeHistory(store.pool, 365 * 86_400_000);
    const history = await imapModseqHistory(store.pool, box.id, since);
    expect(history).toMatchObject({ vanished: [], complete: false });
    expect(history.changed.map((m) => m.uid)).toEqual([2]);
    // A client that synchronised after the forgotten record lost nothing.
    const after = (await openImapSnapshot(store.pool, box.id, true)).highestModseq;
    expect(await imapModseqHistory(store.pool, box.id, after)).toEqual({
      changed: [],
      vanished: [],
      complete: true,
    });
  });
});
