import { describe, expect, it } from 'vitest';
import {
  appendAll,
  mail,
  type NewMailUser,
  nextWake,
  openOrFail,
  recentOf,
} from './mail-store-contract-support.js';

// The mail store contract, what one session learns of another's changes: \Recent claimed
// by exactly one session (RFC 3501 §2.3.2), "what changed since MODSEQ n" (RFC 7162's
// model), and the watch that tells a session to look again.

export function describeSessionContract(newUser: NewMailUser): void {
  describe('sessions', () => {
    it('snapshots a mailbox: its messages in UID order, flags, UIDNEXT and UIDVALIDITY', async () => {
      const account = await (await newUser()).session();
      await appendAll(account, 'INBOX', [mail(1), mail(2)], ['\\Seen']);
      await appendAll(account, 'INBOX', [mail(3)]);
      const status = await account.status('INBOX');
      const inbox = await openOrFail(account, 'INBOX', true);
      expect(inbox).toMatchObject({ name: 'INBOX', readOnly: true });
      const snapshot = await inbox.snapshot();
      expect(snapshot).toMatchObject({
        uidValidity: status!.uidValidity,
        uidNext: 4,
        highestModseq: status!.highestModseq,
      });
      expect(snapshot.messages.map((m) => [m.uid, m.flags])).toEqual([
        [1, ['\\Seen']],
        [2, ['\\Seen']],
        [3, []],
      ]);
      expect(await account.open('Nowhere', false)).toBeUndefined();
      expect((await openOrFail(account, 'inbox', true)).name).toBe('INBOX');
    });

    it('gives \\Recent to the first read-write session only; EXAMINE sees it and claims nothing', async () => {
      const user = await newUser();
      const a = await user.session();
      const b = await user.session();
      const uids = await appendAll(a, 'INBOX', [mail(1), mail(2)]);

      const examined = await (await openOrFail(b, 'INBOX', true)).snapshot();
      expect(recentOf(examined.recent, uids)).toEqual([1, 2]);
      const first = await openOrFail(a, 'INBOX');
      expect(recentOf((await first.snapshot()).recent, uids)).toEqual([1, 2]);
      const second = await openOrFail(b, 'INBOX');
      const secondView = await second.snapshot();
      expect(recentOf(secondView.recent, uids)).toEqual([]);
      expect(await a.status('INBOX')).toMatchObject({ recent: 0 });

      // A message that arrives later is the first looker's: here the second session's.
      const [third] = await appendAll(a, 'INBOX', [mail(3)]);
      const changes = await second.changesSince(secondView.highestModseq);
      expect(recentOf(changes.recent, [third!])).toEqual([third]);
      expect(recentOf((await first.changesSince(0n)).recent, [third!])).toEqual([]);
    });

    it("shows another session's STORE, EXPUNGE and APPEND in changesSince", async () => {
      const user = await newUser();
      const a = await user.session();
      const b = await user.session();
      await appendAll(a, 'INBOX', [mail(1), mail(2), mail(3)]);
      const mine = await openOrFail(a, 'INBOX');
      const view = await mine.snapshot();
      expect(await mine.changesSince(view.highestModseq)).toMatchObject({
        highestModseq: view.highestModseq,
        uidNext: 4,
        changed: [],
        expunged: [],
      });

      const theirs = await openOrFail(b, 'INBOX');
      const [flagged] = await theirs.store([2], 'add', ['\\Flagged']);
      const afterStore = await mine.changesSince(view.highestModseq);
      expect(afterStore.changed).toEqual([{ uid: 2, flags: ['\\Flagged'], modseq: flagged!.modseq }]);
      expect(afterStore.highestModseq).toBe(flagged!.modseq);

      await theirs.store([1], 'add', ['\\Deleted']);
      await theirs.expunge([1]);
      const afterExpunge = await mine.changesSince(afterStore.highestModseq);
      expect(afterExpunge.expunged).toEqual([1]);
      expect(afterExpunge.highestModseq).toBeGreaterThan(afterStore.highestModseq);

      const appended = await b.append('INBOX', { raw: mail(4), flags: ['$Fresh'] });
      const afterAppend = await mine.changesSince(afterExpunge.highestModseq);
      expect(afterAppend.changed.map((m) => [m.uid, m.flags])).toEqual([[4, ['$Fresh']]]);
      expect(afterAppend.uidNext).toBe(5);
      expect(appended).toMatchObject({ uid: 4 });

      // From the start: every message changed since, and every expunge.
      const all = await mine.changesSince(view.highestModseq);
      expect(all.changed.map((m) => m.uid)).toEqual([2, 4]);
      expect(all.expunged).toEqual([1]);
    });

    it("wakes a watcher on another session's APPEND, STORE, EXPUNGE and COPY into its mailbox", async () => {
      const user = await newUser();
      const a = await user.session();
      const b = await user.session();
      await appendAll(b, 'INBOX', [mail(1), mail(2)]);
      const watching = await openOrFail(a, 'INBOX');
      const theirs = await openOrFail(b, 'INBOX');
      const archive = await openOrFail(b, 'Archive');
      await appendAll(b, 'Archive', [mail(3)]);

      let wake = nextWake(watching);
      await b.append('INBOX', { raw: mail(4), flags: [] });
      await wake.woken;

      wake = nextWake(watching);
      await theirs.store([1], 'add', ['\\Deleted']);
      await wake.woken;

      wake = nextWake(watching);
      await theirs.expunge([1]);
      await wake.woken;

      wake = nextWake(watching);
      await archive.copy([1], 'INBOX', false);
      await wake.woken;
    });

    it('wakes only the watchers of the mailbox changed, and none after unwatch or close', async () => {
      const user = await newUser();
      const a = await user.session();
      const b = await user.session();
      const inbox = await openOrFail(a, 'INBOX');
      const junk = await openOrFail(a, 'Junk');
      let junkCalls = 0;
      junk.watch(() => junkCalls++);
      let droppedCalls = 0;
      const unwatch = inbox.watch(() => droppedCalls++);
      unwatch();
      const closed = await openOrFail(a, 'INBOX');
      let closedCalls = 0;
      closed.watch(() => closedCalls++);
      closed.close();

      // Changes reach watchers in the order they were made: when INBOX's watcher wakes,
      // the change to Sent made before it has been delivered too, to nobody.
      const wake = nextWake(inbox);
      await b.append('Sent', { raw: mail(1), flags: [] });
      await b.append('INBOX', { raw: mail(2), flags: [] });
      await wake.woken;
      expect(wake.calls()).toBe(1);
      expect(junkCalls).toBe(0);
      expect(droppedCalls).toBe(0);
      expect(closedCalls).toBe(0);
    });
  });
}
