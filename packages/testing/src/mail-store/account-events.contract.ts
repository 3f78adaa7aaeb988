import type { AccountEvent, ImapAccount } from '@tegami/protocol';
import { describe, expect, it } from 'vitest';
import { appendAll, mail, type NewMailUser, openOrFail } from './mail-store-contract-support.js';

// The mail store contract, the account-wide watch NOTIFY (RFC 5465) stands on: every change
// another session makes anywhere in the account, by mailbox name, in the order made; none
// of the watching session's own.

/** The events seen so far, and a wait for the next `count` of them (the test's timeout bounds it). */
function collect(account: ImapAccount): {
  readonly next: (count: number) => Promise<AccountEvent[]>;
  stop(): void;
} {
  const seen: AccountEvent[] = [];
  let taken = 0;
  const stop = account.watchAccount!((event) => void seen.push(event));
  return {
    async next(count) {
      while (seen.length < taken + count) await new Promise((resolve) => setTimeout(resolve, 5));
      const events = seen.slice(taken, taken + count);
      taken += count;
      return events;
    },
    stop,
  };
}

export function describeAccountEventsContract(newUser: NewMailUser): void {
  describe('account events (NOTIFY)', () => {
    it('tells new, flagged and expunged messages of any mailbox, made by another session', async () => {
      const user = await newUser();
      const watcher = await user.session();
      const actor = await user.session();
      const events = collect(watcher);
      // The watcher's own change is not news to it.
      await appendAll(watcher, 'Drafts', [mail(9)]);
      const [uid] = await appendAll(actor, 'Sent', [mail(1)]);
      expect(await events.next(1)).toEqual([{ kind: 'messages', mailbox: 'Sent', change: 'new' }]);
      const sent = await openOrFail(actor, 'Sent');
      await sent.snapshot();
      await sent.store([uid!], 'add', ['\\Deleted']);
      expect(await events.next(1)).toEqual([{ kind: 'messages', mailbox: 'Sent', change: 'flags' }]);
      await sent.expunge([uid!]);
      expect(await events.next(1)).toEqual([{ kind: 'messages', mailbox: 'Sent', change: 'expunge' }]);
      sent.close();
      events.stop();
    });

    it('tells mailboxes created, renamed with their children, subscribed and deleted', async () => {
      const user = await newUser();
      const watcher = await user.session();
      const actor = await user.session();
      const events = collect(watcher);
      expect(await actor.createMailbox('Projects')).toBe('ok');
      expect(await events.next(1)).toEqual([{ kind: 'created', mailbox: 'Projects' }]);
      expect(await actor.createMailbox('Projects/2025')).toBe('ok');
      await events.next(1);
      expect(await actor.renameMailbox('Projects', 'Done')).toBe('ok');
      expect(await events.next(2)).toEqual([
        { kind: 'renamed', mailbox: 'Done', oldName: 'Projects' },
        { kind: 'renamed', mailbox: 'Done/2025', oldName: 'Projects/2025' },
      ]);
      expect(await actor.setSubscribed('Done/2025', false)).toBe('ok');
      expect(await events.next(1)).toEqual([
        { kind: 'subscription', mailbox: 'Done/2025', subscribed: false },
      ]);
      expect(await actor.deleteMailbox('Done/2025')).toBe('ok');
      expect(await events.next(1)).toEqual([{ kind: 'deleted', mailbox: 'Done/2025' }]);
      // After a rename, messages are told by the new name.
      await appendAll(actor, 'Done', [mail(2)]);
      expect(await events.next(1)).toEqual([{ kind: 'messages', mailbox: 'Done', change: 'new' }]);
      events.stop();
    });
  });
}
