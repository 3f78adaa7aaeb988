import { describe, expect, it } from 'vitest';
import { appendAll, mail, type NewMailUser, openOrFail } from './mail-store-contract-support.js';

// The mail store contract, the APPEND extensions: MULTIAPPEND (RFC 3502) stores every
// message or none, and REPLACE (RFC 8508) appends the new message and expunges the old
// one together, or does neither.

export function describeMultiAppendContract(newUser: NewMailUser): void {
  describe('MULTIAPPEND and REPLACE', () => {
    it('stores all the messages at consecutive UIDs, in order, with their own flags and dates', async () => {
      const account = await (await newUser()).session();
      const status = await account.status('Drafts');
      const date = new Date('2025-06-05T06:00:00.000Z');
      const result = await account.appendMessages('Drafts', [
        { raw: mail(1), flags: ['\\Seen'], internalDate: date },
        { raw: mail(2), flags: ['\\Draft'] },
        { raw: mail(3), flags: [] },
      ]);
      expect(result).toEqual({ uidValidity: status!.uidValidity, uids: [1, 2, 3] });
      const fetched = await (await openOrFail(account, 'Drafts')).fetch([1, 2, 3], {
        metadata: false,
        raw: true,
      });
      expect(fetched.map((m) => [m.uid, m.flags, m.raw?.toString()])).toEqual([
        [1, ['\\Seen'], mail(1).toString()],
        [2, ['\\Draft'], mail(2).toString()],
        [3, [], mail(3).toString()],
      ]);
      expect(fetched[0]!.internalDate.getTime()).toBe(date.getTime());
      expect(await account.status('Drafts')).toMatchObject({ messages: 3, uidNext: 4 });
    });

    it('stores none when their sum is over the quota, though each alone would fit', async () => {
      const user = await newUser();
      const account = await user.session();
      await user.setQuota(mail(1).length + mail(2).length + 1);
      expect(
        await account.appendMessages('INBOX', [
          { raw: mail(1), flags: [] },
          { raw: mail(2), flags: [] },
          { raw: mail(3), flags: [] },
        ]),
      ).toBe('over-quota');
      expect(await account.status('INBOX')).toMatchObject({ messages: 0, uidNext: 1 });
      expect((await account.quota()).usedBytes).toBe(0);
    });

    it('stores none when the store refuses the 3rd message, and allocates no UID', async () => {
      const account = await (await newUser()).session();
      // Postgres text holds no NUL: the 3rd insert fails inside the transaction.
      await expect(
        account.appendMessages('INBOX', [
          { raw: mail(1), flags: [] },
          { raw: mail(2), flags: [] },
          { raw: mail(3), flags: ['$bad\u0000flag'] },
        ]),
      ).rejects.toThrow();
      expect(await account.status('INBOX')).toMatchObject({ messages: 0, uidNext: 1 });
      expect(await account.appendMessages('INBOX', [{ raw: mail(4), flags: [] }])).toMatchObject({
        uids: [1],
      });
    });

    it('answers nonexistent for a missing mailbox', async () => {
      const account = await (await newUser()).session();
      expect(await account.appendMessages('Nowhere', [{ raw: mail(1), flags: [] }])).toBe('nonexistent');
    });

    it('wakes the sessions watching the target once the messages are in', async () => {
      const user = await newUser();
      const watcher = await openOrFail(await user.session(), 'INBOX');
      let woken = 0;
      watcher.watch(() => woken++);
      const other = await user.session();
      await other.appendMessages('INBOX', [
        { raw: mail(1), flags: [] },
        { raw: mail(2), flags: [] },
      ]);
      await expect.poll(() => woken).toBeGreaterThan(0);
      expect((await watcher.changesSince(0n)).changed.map((m) => m.uid)).toEqual([1, 2]);
    });

    it('finds a stored message by mailbox, UIDVALIDITY and UID, raw and described', async () => {
      const account = await (await newUser()).session();
      await appendAll(account, 'INBOX', [mail(1), mail(2)]);
      const { uidValidity } = (await account.status('INBOX'))!;
      const found = await account.storedMessage('INBOX', uidValidity, 2);
      expect(found?.raw?.toString()).toBe(mail(2).toString());
      expect(found?.metadata?.envelope.subject).toBe('note 2');
      expect(await account.storedMessage('inbox', undefined, 1)).toMatchObject({ uid: 1 });
      expect(await account.storedMessage('INBOX', uidValidity + 1, 2)).toBeUndefined();
      expect(await account.storedMessage('INBOX', uidValidity, 3)).toBeUndefined();
      expect(await account.storedMessage('Nowhere', undefined, 1)).toBeUndefined();
    });

    it('REPLACE appends to the target and expunges the old message together', async () => {
      const account = await (await newUser()).session();
      await appendAll(account, 'Drafts', [mail(1), mail(2)]);
      const drafts = await openOrFail(account, 'Drafts');
      const sent = await account.status('Sent');
      expect(await drafts.replace(1, 'Sent', { raw: mail(3), flags: ['\\Seen'] })).toEqual({
        uidValidity: sent!.uidValidity,
        uid: 1,
        expunged: true,
      });
      expect(await account.status('Drafts')).toMatchObject({ messages: 1 });
      expect((await drafts.history(0n)).vanished).toEqual([1]);
      expect(await drafts.replace(2, 'Drafts', { raw: mail(4), flags: [] })).toMatchObject({ uid: 3 });
      expect((await drafts.snapshot()).messages.map((m) => m.uid)).toEqual([3]);
    });

    it('REPLACE over the quota or to a missing mailbox changes nothing', async () => {
      const user = await newUser();
      const account = await user.session();
      await appendAll(account, 'Drafts', [mail(1)]);
      const drafts = await openOrFail(account, 'Drafts');
      await user.setQuota(mail(1).length + 5);
      const bigger = mail(2, 'x'.repeat(100));
      expect(await drafts.replace(1, 'Drafts', { raw: bigger, flags: [] })).toBe('over-quota');
      expect(await drafts.replace(1, 'Nowhere', { raw: mail(2), flags: [] })).toBe('nonexistent');
      expect(await account.status('Drafts')).toMatchObject({ messages: 1, uidNext: 2 });
      // The old message's bytes count as freed: a replacement of about its size fits.
      expect(await drafts.replace(1, 'Drafts', { raw: mail(3), flags: [] })).toMatchObject({
        expunged: true,
      });
    });

    it('REPLACE of a message gone meanwhile still appends, and says the old one was not there', async () => {
      const account = await (await newUser()).session();
      const drafts = await openOrFail(account, 'Drafts');
      expect(await drafts.replace(7, 'Drafts', { raw: mail(1), flags: [] })).toMatchObject({
        uid: 1,
        expunged: false,
      });
    });
  });
}
