import type { OpenMailbox } from '@tegami/protocol';
import { describe, expect, it } from 'vitest';
import { appendAll, mail, type NewMailUser, openOrFail } from './mail-store-contract-support.js';

// The mail store contract, messages: APPEND, FETCH, STORE, EXPUNGE, COPY and MOVE as an
// open mailbox and its account answer them.

const flagsOf = async (box: OpenMailbox, uid: number) =>
  (await box.fetch([uid], { metadata: false, raw: false }))[0]?.flags;

export function describeMessageContract(newUser: NewMailUser): void {
  describe('messages', () => {
    it('appends at increasing UIDs, never reusing an expunged one (RFC 3501 §2.3.1.1)', async () => {
      const account = await (await newUser()).session();
      const status = await account.status('INBOX');
      const first = await account.append('INBOX', { raw: mail(1), flags: [] });
      const second = await account.append('INBOX', { raw: mail(2), flags: ['\\Deleted'] });
      expect(first).toEqual({ uidValidity: status!.uidValidity, uid: 1 });
      expect(second).toEqual({ uidValidity: status!.uidValidity, uid: 2 });
      const inbox = await openOrFail(account, 'INBOX');
      expect(await inbox.expunge([2])).toEqual([2]);
      expect(await account.append('INBOX', { raw: mail(3), flags: [] })).toMatchObject({ uid: 3 });
      expect(await account.status('INBOX')).toMatchObject({ messages: 2, uidNext: 4 });
      expect(await account.append('Nowhere', { raw: mail(4), flags: [] })).toBe('nonexistent');
    });

    it('keeps the INTERNALDATE and the flags given to APPEND, normalised', async () => {
      const account = await (await newUser()).session();
      const internalDate = new Date('2024-02-29T23:59:58.000Z');
      await account.append('INBOX', {
        raw: mail(1),
        flags: ['\\seen', '$Label', '\\SEEN', '\\flagged'],
        internalDate,
      });
      const [message] = await (await openOrFail(account, 'INBOX')).fetch([1], {
        metadata: false,
        raw: false,
      });
      expect(message).toMatchObject({
        uid: 1,
        flags: ['$Label', '\\Flagged', '\\Seen'],
        size: mail(1).length,
      });
      expect(message!.internalDate.getTime()).toBe(internalDate.getTime());
    });

    it('refuses an APPEND past the quota, and takes one that fills it exactly', async () => {
      const user = await newUser();
      const account = await user.session();
      await appendAll(account, 'INBOX', [mail(1)]);
      await user.setQuota(mail(1).length + mail(2).length);
      expect(await account.append('Archive', { raw: mail(2), flags: [] })).toMatchObject({ uid: 1 });
      expect(await account.append('INBOX', { raw: mail(3), flags: [] })).toBe('over-quota');
      expect(await account.status('INBOX')).toMatchObject({ messages: 1 });
      await user.setQuota(null);
      expect(await account.append('INBOX', { raw: mail(3), flags: [] })).toMatchObject({ uid: 2 });
    });

    it('fetches the asked messages that exist, in UID order, with what was asked for', async () => {
      const account = await (await newUser()).session();
      const raws = [mail(1), mail(2), mail(3)];
      await appendAll(account, 'INBOX', raws);
      const inbox = await openOrFail(account, 'INBOX', true);
      const plain = await inbox.fetch([3, 99, 1], { metadata: false, raw: false });
      expect(plain.map((m) => m.uid)).toEqual([1, 3]);
      expect(plain[0]).not.toHaveProperty('raw');
      expect(plain[0]).not.toHaveProperty('metadata');
      expect(plain.map((m) => m.size)).toEqual([raws[0]!.length, raws[2]!.length]);

      const full = await inbox.fetch([2], { metadata: true, raw: true });
      expect(full[0]!.raw!.equals(raws[1]!)).toBe(true);
      expect(full[0]!.metadata).toMatchObject({ size: raws[1]!.length });
      expect(full[0]!.metadata!.root).toMatchObject({ type: 'text' });
      expect(JSON.stringify(full[0]!.metadata!.envelope)).toContain('note 2');
      expect(await inbox.fetch([], { metadata: true, raw: true })).toEqual([]);
    });

    it("describes messages' unchanging facts, with the header's bytes when asked", async () => {
      const account = await (await newUser()).session();
      const raws = [mail(1), mail(2), mail(3)];
      await appendAll(account, 'INBOX', raws);
      const inbox = await openOrFail(account, 'INBOX', true);
      expect(inbox.describe).toBeDefined();
      const plain = await inbox.describe!([3, 99, 1], false);
      expect(plain.map((m) => m.uid)).toEqual([1, 3]);
      expect(plain.map((m) => m.size)).toEqual([raws[0]!.length, raws[2]!.length]);
      expect(plain[0]).not.toHaveProperty('header');
      expect(JSON.stringify(plain[1]!.metadata.envelope)).toContain('note 3');
      const [full] = await inbox.fetch([2], { metadata: true, raw: true });
      const [described] = await inbox.describe!([2], true);
      expect(described!.internalDate.getTime()).toBe(full!.internalDate.getTime());
      expect(described!.metadata).toEqual(full!.metadata);
      // At least the header, to the body's first byte: what BODY[HEADER] and HEADER.FIELDS read.
      const bodyStart = full!.metadata!.root.bodyStart;
      expect(described!.header!.subarray(0, bodyStart).equals(full!.raw!.subarray(0, bodyStart))).toBe(true);
      expect(described!.header!.length).toBeGreaterThanOrEqual(bodyStart);
      // Asked again (from a cache where the store keeps one): the same answer.
      expect(await inbox.describe!([1, 2, 3], true)).toEqual(
        expect.arrayContaining([expect.objectContaining({ uid: 2, size: raws[1]!.length })]),
      );
      expect((await inbox.describe!([1, 2, 3], true)).map((m) => m.uid)).toEqual([1, 2, 3]);
      expect(await inbox.describe!([], true)).toEqual([]);
    });

    it('stores flags by replace, add and remove: system flags canonical, no duplicates, sorted', async () => {
      const account = await (await newUser()).session();
      await appendAll(account, 'INBOX', [mail(1), mail(2)]);
      const inbox = await openOrFail(account, 'INBOX');
      const start = (await inbox.snapshot()).highestModseq;

      const added = await inbox.store([1, 2], 'add', ['\\seen', '$Work', '\\SEEN', '$Work']);
      expect(added.map((c) => [c.uid, c.flags])).toEqual([
        [1, ['$Work', '\\Seen']],
        [2, ['$Work', '\\Seen']],
      ]);
      // One STORE, one new MODSEQ for all it changed (RFC 7162 §3.1.3).
      expect(new Set(added.map((c) => c.modseq)).size).toBe(1);
      expect(added[0]!.modseq).toBeGreaterThan(start);

      // Nothing changes, nothing is returned, and the MODSEQ stays.
      expect(await inbox.store([1], 'add', ['\\Seen'])).toEqual([]);
      expect(await inbox.store([1], 'remove', ['\\Answered'])).toEqual([]);
      expect((await account.status('INBOX'))!.highestModseq).toBe(added[0]!.modseq);

      expect((await inbox.store([1], 'remove', ['\\SEEN'])).map((c) => c.flags)).toEqual([['$Work']]);
      expect(
        (await inbox.store([2], 'replace', ['\\draft', '\\Flagged', '\\Draft'])).map((c) => c.flags),
      ).toEqual([['\\Draft', '\\Flagged']]);
      expect(await inbox.store([99], 'add', ['\\Seen'])).toEqual([]);
      expect(await flagsOf(inbox, 1)).toEqual(['$Work']);
      expect(await flagsOf(inbox, 2)).toEqual(['\\Draft', '\\Flagged']);
      expect(await account.status('INBOX')).toMatchObject({ unseen: 2 });
    });

    it('takes keywords without regard to case: another spelling adds nothing, and removes it', async () => {
      const account = await (await newUser()).session();
      await account.append('INBOX', { raw: mail(1), flags: ['$Work'] });
      const inbox = await openOrFail(account, 'INBOX');
      expect(await inbox.store([1], 'add', ['$WORK', '\\Seen'])).toMatchObject([
        { flags: ['$Work', '\\Seen'] },
      ]);
      expect(await inbox.store([1], 'add', ['$work'])).toEqual([]);
      expect(await inbox.search({ op: 'flag', flag: '$wOrK', set: true })).toEqual([1]);
      expect(await inbox.store([1], 'remove', ['$work'])).toMatchObject([{ flags: ['\\Seen'] }]);
      expect(await flagsOf(inbox, 1)).toEqual(['\\Seen']);
    });

    it('expunges only those of the asked messages that have \\Deleted', async () => {
      const account = await (await newUser()).session();
      await appendAll(account, 'INBOX', [mail(1), mail(2), mail(3), mail(4)]);
      const inbox = await openOrFail(account, 'INBOX');
      await inbox.store([1, 3, 4], 'add', ['\\Deleted']);
      expect(await inbox.expunge([1, 2, 3])).toEqual([1, 3]);
      expect(await inbox.expunge([2])).toEqual([]);
      expect(await inbox.expunge([])).toEqual([]);
      expect((await inbox.snapshot()).messages.map((m) => m.uid)).toEqual([2, 4]);
    });

    it('copies with new UIDs in the target in source order, flags and dates kept (UIDPLUS)', async () => {
      const account = await (await newUser()).session();
      const internalDate = new Date('2025-01-02T03:04:05.000Z');
      await account.append('Archive', { raw: mail(9), flags: [] });
      await account.append('INBOX', { raw: mail(1), flags: ['\\Seen'], internalDate });
      await account.append('INBOX', { raw: mail(2), flags: ['$Later'], internalDate });
      await account.append('INBOX', { raw: mail(3), flags: [], internalDate });
      const inbox = await openOrFail(account, 'INBOX');
      const archive = await account.status('Archive');

      const copied = await inbox.copy([3, 1, 42], 'Archive', false);
      expect(copied).toEqual({ uidValidity: archive!.uidValidity, source: [1, 3], target: [2, 3] });
      expect((await inbox.snapshot()).messages.map((m) => m.uid)).toEqual([1, 2, 3]);
      const target = await openOrFail(account, 'Archive', true);
      const copies = await target.fetch([2, 3], { metadata: false, raw: true });
      expect(copies.map((m) => m.flags)).toEqual([['\\Seen'], []]);
      expect(copies[0]!.raw!.equals(mail(1))).toBe(true);
      expect(copies[1]!.internalDate.getTime()).toBe(internalDate.getTime());
      expect(await inbox.copy([99], 'Archive', false)).toEqual({
        uidValidity: archive!.uidValidity,
        source: [],
        target: [],
      });
      expect(await inbox.copy([1], 'Nowhere', false)).toBe('nonexistent');
    });

    it('moves: the copies arrive, the originals are expunged from the source', async () => {
      const account = await (await newUser()).session();
      await appendAll(account, 'INBOX', [mail(1), mail(2), mail(3)]);
      const inbox = await openOrFail(account, 'INBOX');
      const seen = await inbox.snapshot();
      const moved = await inbox.copy([1, 3], 'Trash', true);
      expect(moved).toMatchObject({ source: [1, 3], target: [1, 2] });
      const changes = await inbox.changesSince(seen.highestModseq);
      expect(changes.expunged).toEqual([1, 3]);
      expect(await account.status('INBOX')).toMatchObject({ messages: 1 });
      expect(await account.status('Trash')).toMatchObject({ messages: 2, uidNext: 3 });
    });

    it('refuses a COPY past the quota but lets a MOVE through, which adds nothing', async () => {
      const user = await newUser();
      const account = await user.session();
      await appendAll(account, 'INBOX', [mail(1), mail(2)]);
      await user.setQuota(mail(1).length + mail(2).length + mail(1).length);
      const inbox = await openOrFail(account, 'INBOX');
      expect(await inbox.copy([1, 2], 'Archive', false)).toBe('over-quota');
      expect(await account.status('Archive')).toMatchObject({ messages: 0, uidNext: 1 });
      expect(await inbox.copy([1], 'Archive', false)).toMatchObject({ target: [1] });
      expect(await inbox.copy([2], 'Trash', true)).toMatchObject({ source: [2], target: [1] });
    });
  });
}
