import { describe, expect, it } from 'vitest';
import { appendAll, mail, type NewMailUser, openOrFail } from './mail-store-contract-support.js';

// The mail store contract, CONDSTORE and QRESYNC (RFC 7162): STORE with UNCHANGEDSINCE,
// checked and applied as one, and the history since a MODSEQ that CHANGEDSINCE and
// SELECT (QRESYNC …) read.

/** The largest of these MODSEQs (bigints: Math.max takes numbers only). */
function highest(modseqs: readonly bigint[]): bigint {
  let best = 0n;
  for (const m of modseqs) if (m > best) best = m;
  return best;
}

export function describeCondstoreContract(newUser: NewMailUser): void {
  describe('CONDSTORE and QRESYNC', () => {
    it('storeChecked answers every named message that exists with its MODSEQ, changed or not', async () => {
      const account = await (await newUser()).session();
      await appendAll(account, 'INBOX', [mail(1), mail(2), mail(3)]);
      const inbox = await openOrFail(account, 'INBOX');
      const before = await inbox.fetch([1, 2, 3], { metadata: false, raw: false });
      await inbox.store([2], 'add', ['\\Seen']);
      const results = await inbox.storeChecked([1, 2, 3, 99], 'add', ['\\Seen'], undefined);
      expect(results.map((r) => [r.uid, r.outcome])).toEqual([
        [1, 'changed'],
        [2, 'unchanged'],
        [3, 'changed'],
      ]);
      const [one, two, three] = results;
      // One new MODSEQ for the change, above everything before it.
      expect(one!.modseq).toBe(three!.modseq);
      expect(one!.modseq > highest(before.map((b) => b.modseq))).toBe(true);
      expect(two!.modseq < one!.modseq).toBe(true);
      expect(results.every((r) => r.flags.includes('\\Seen'))).toBe(true);
      expect((await account.status('INBOX'))!.highestModseq).toBe(one!.modseq);
    });

    it('UNCHANGEDSINCE leaves a message changed after it alone and reports it modified', async () => {
      const account = await (await newUser()).session();
      await appendAll(account, 'INBOX', [mail(1), mail(2)]);
      const inbox = await openOrFail(account, 'INBOX');
      const [first, second] = await inbox.fetch([1, 2], { metadata: false, raw: false });
      const since = highest([first!.modseq, second!.modseq]);
      // Message 2 changes after the client read `since`.
      await inbox.store([2], 'add', ['$Other']);
      const results = await inbox.storeChecked([1, 2], 'add', ['\\Deleted'], since);
      expect(results.map((r) => [r.uid, r.outcome])).toEqual([
        [1, 'changed'],
        [2, 'modified'],
      ]);
      const [, kept] = await inbox.fetch([1, 2], { metadata: false, raw: false });
      expect(kept!.flags).toEqual(['$Other']);
      // UNCHANGEDSINCE 0 fails for every message (RFC 7162 §3.1.3).
      const none = await inbox.storeChecked([1, 2], 'add', ['\\Flagged'], 0n);
      expect(none.map((r) => r.outcome)).toEqual(['modified', 'modified']);
    });

    it('a store that changes nothing leaves HIGHESTMODSEQ where it was', async () => {
      const account = await (await newUser()).session();
      await appendAll(account, 'INBOX', [mail(1)]);
      const inbox = await openOrFail(account, 'INBOX');
      await inbox.storeChecked([1], 'add', ['\\Seen'], undefined);
      const before = (await account.status('INBOX'))!.highestModseq;
      const again = await inbox.storeChecked([1], 'add', ['\\Seen'], undefined);
      expect(again[0]!.outcome).toBe('unchanged');
      expect((await account.status('INBOX'))!.highestModseq).toBe(before);
    });

    it('history: what changed and what was expunged since a MODSEQ, complete while records are kept', async () => {
      const account = await (await newUser()).session();
      await appendAll(account, 'INBOX', [mail(1), mail(2), mail(3), mail(4)]);
      const inbox = await openOrFail(account, 'INBOX');
      const since = (await account.status('INBOX'))!.highestModseq;
      await inbox.store([1], 'add', ['\\Deleted']);
      await inbox.store([3], 'add', ['\\Seen']);
      expect(await inbox.expunge([1])).toEqual([1]);
      const history = await inbox.history(since);
      expect(history.complete).toBe(true);
      expect(history.vanished).toEqual([1]);
      expect(history.changed.map((m) => [m.uid, m.flags])).toEqual([[3, ['\\Seen']]]);
      expect(history.changed[0]!.modseq > since).toBe(true);
      const everything = await inbox.history(0n);
      expect(everything.changed.map((m) => m.uid)).toEqual([2, 3, 4]);
      expect(everything.vanished).toEqual([1]);
      const nothing = await inbox.history((await account.status('INBOX'))!.highestModseq);
      expect(nothing).toEqual({ changed: [], vanished: [], complete: true });
    });
  });
}
