import type { FetchedMessage, OpenMailbox } from '@tegami/protocol';
import { describe, expect, it } from 'vitest';
import { appendAll, mail, type NewMailUser, openOrFail } from './mail-store-contract-support.js';

// The mail store contract, OBJECTID (RFC 8474) and SAVEDATE (RFC 8514): the identifiers a
// client caches by, and when each message was saved into its mailbox.

const OBJECT_ID = /^[A-Za-z0-9_-]{1,255}$/;

async function fetchOne(box: OpenMailbox, uid: number): Promise<FetchedMessage> {
  const [message] = await box.fetch([uid], { metadata: false, raw: false, emailId: true });
  if (!message) throw new Error(`no message ${uid} in ${box.name}`);
  return message;
}

const utcDay = (date: Date) => new Date(`${date.toISOString().slice(0, 10)}T00:00:00Z`);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function describeObjectIdContract(newUser: NewMailUser): void {
  describe('OBJECTID and SAVEDATE', () => {
    it('gives a message an EMAILID that COPY, MOVE and RENAME keep, and other bytes do not share', async () => {
      const account = await (await newUser()).session();
      await appendAll(account, 'INBOX', [mail(1), mail(2)]);
      const inbox = await openOrFail(account, 'INBOX');
      const first = (await fetchOne(inbox, 1)).emailId!;
      const second = (await fetchOne(inbox, 2)).emailId!;
      expect(first).toMatch(OBJECT_ID);
      expect(second).toMatch(OBJECT_ID);
      expect(first).not.toBe(second);

      expect(await account.createMailbox('Kept')).toBe('ok');
      expect(await inbox.copy([1], 'Kept', false)).toMatchObject({ target: [1] });
      expect(await inbox.copy([2], 'Kept', true)).toMatchObject({ target: [2] });
      expect(await account.renameMailbox('Kept', 'Renamed')).toBe('ok');
      const renamed = await openOrFail(account, 'Renamed');
      expect((await fetchOne(renamed, 1)).emailId).toBe(first);
      expect((await fetchOne(renamed, 2)).emailId).toBe(second);
      expect(await renamed.search({ op: 'emailid', emailId: second })).toEqual([2]);
      expect(await inbox.search({ op: 'emailid', emailId: first })).toEqual([1]);
      expect(await inbox.search({ op: 'emailid', emailId: second })).toEqual([]);
      // Any other objectid names nothing here, whatever it looks like.
      expect(await renamed.search({ op: 'emailid', emailId: 'M6d99ac3275bb4e' })).toEqual([]);
      expect(await renamed.search({ op: 'emailid', emailId: `${first.slice(0, -1)}_` })).toEqual([]);
    });

    it('gives a mailbox a MAILBOXID that RENAME keeps and a mailbox made again under its name does not get', async () => {
      const account = await (await newUser()).session();
      expect(await account.createMailbox('Work')).toBe('ok');
      expect(await account.createMailbox('Work/2026')).toBe('ok');
      const work = (await account.status('Work'))!.mailboxId!;
      const child = (await account.status('Work/2026'))!.mailboxId!;
      expect(work).toMatch(OBJECT_ID);
      expect(child).not.toBe(work);
      expect((await openOrFail(account, 'Work')).mailboxId).toBe(work);
      expect((await openOrFail(account, 'Work/2026', true)).mailboxId).toBe(child);

      expect(await account.renameMailbox('Work', 'Jobs')).toBe('ok');
      expect((await account.status('Jobs'))!.mailboxId).toBe(work);
      expect((await account.status('Jobs/2026'))!.mailboxId).toBe(child);
      expect((await openOrFail(account, 'Jobs/2026')).mailboxId).toBe(child);

      expect(await account.deleteMailbox('Jobs/2026')).toBe('ok');
      expect(await account.createMailbox('Jobs/2026')).toBe('ok');
      const again = (await account.status('Jobs/2026'))!.mailboxId!;
      expect(again).toMatch(OBJECT_ID);
      expect([work, child]).not.toContain(again);
    });

    it('keeps INBOX its MAILBOXID when RENAME INBOX moves its messages to a new mailbox', async () => {
      const account = await (await newUser()).session();
      await appendAll(account, 'INBOX', [mail(1)]);
      const inbox = (await account.status('INBOX'))!.mailboxId;
      const emailId = (await fetchOne(await openOrFail(account, 'INBOX'), 1)).emailId;
      expect(await account.renameMailbox('INBOX', 'Old')).toBe('ok');
      expect((await account.status('INBOX'))!.mailboxId).toBe(inbox);
      expect((await account.status('Old'))!.mailboxId).not.toBe(inbox);
      expect((await fetchOne(await openOrFail(account, 'Old'), 1)).emailId).toBe(emailId);
    });

    it('keeps the MAILBOXID of a \\Noselect name made a mailbox again: the same mailbox, its UIDs going on', async () => {
      // RFC 8474 §4.1 forbids reusing a MAILBOXID for a mailbox that breaks RFC 3501's
      // invariants for an unchanged name and UIDVALIDITY; this one keeps both, and its old
      // messages stay expunged, so a client's cache of it stays right.
      const account = await (await newUser()).session();
      expect(await account.createMailbox('P')).toBe('ok');
      expect(await account.createMailbox('P/C')).toBe('ok');
      const before = await account.status('P');
      expect(await account.deleteMailbox('P')).toBe('ok');
      expect(await account.createMailbox('P')).toBe('ok');
      const after = await account.status('P');
      expect(after).toMatchObject({ uidValidity: before!.uidValidity, mailboxId: before!.mailboxId });
    });

    it('dates each message by when it was saved into its mailbox: APPEND, COPY and MOVE set it anew', async () => {
      const account = await (await newUser()).session();
      const longAgo = new Date('2020-02-29T12:00:00.000Z');
      const started = Date.now();
      await account.append('INBOX', { raw: mail(1), flags: [], internalDate: longAgo });
      await account.append('INBOX', { raw: mail(2), flags: [], internalDate: longAgo });
      const inbox = await openOrFail(account, 'INBOX');
      const original = await fetchOne(inbox, 1);
      expect(original.internalDate.getTime()).toBe(longAgo.getTime());
      expect(original.savedAt).toBeInstanceOf(Date);
      // The store's clock and this one may differ by a little.
      expect(Math.abs(original.savedAt!.getTime() - started)).toBeLessThan(60_000);

      await pause(20);
      expect(await inbox.copy([1], 'Archive', false)).toMatchObject({ target: [1] });
      expect(await inbox.copy([2], 'Trash', true)).toMatchObject({ target: [1] });
      const copy = await fetchOne(await openOrFail(account, 'Archive'), 1);
      const moved = await fetchOne(await openOrFail(account, 'Trash'), 1);
      expect(copy.internalDate.getTime()).toBe(longAgo.getTime());
      expect(copy.savedAt!.getTime()).toBeGreaterThan(original.savedAt!.getTime());
      expect(moved.savedAt!.getTime()).toBeGreaterThan(original.savedAt!.getTime());
      // The source keeps its own.
      expect((await fetchOne(inbox, 1)).savedAt!.getTime()).toBe(original.savedAt!.getTime());
    });

    it('searches by the day a message was saved, in UTC', async () => {
      const account = await (await newUser()).session();
      await account.append('INBOX', {
        raw: mail(1),
        flags: [],
        internalDate: new Date('2020-01-01T00:00:00Z'),
      });
      const inbox = await openOrFail(account, 'INBOX');
      const saved = (await fetchOne(inbox, 1)).savedAt!;
      const day = utcDay(saved);
      const next = new Date(day.getTime() + 86_400_000);
      const search = (compare: 'before' | 'on' | 'since', at: Date) =>
        inbox.search({ op: 'date', field: 'saved', compare, day: at });
      expect(await search('on', day)).toEqual([1]);
      expect(await search('since', day)).toEqual([1]);
      expect(await search('before', day)).toEqual([]);
      expect(await search('before', next)).toEqual([1]);
      expect(await search('since', next)).toEqual([]);
      // The internal date is another thing.
      expect(await inbox.search({ op: 'date', field: 'internal', compare: 'on', day })).toEqual([]);
    });
  });
}
