import type { MailBus, MailboxChanged, Subscription } from '@tegami/bus';

// One NATS subscription per account per process, however many of that user's sessions
// watch mailboxes here: a phone, a laptop and a tablet in IDLE cost one subscription, and
// 5,000 idle sessions do not mean 5,000 subscriptions when users have several devices.
// The event only says "look": sessions re-read Postgres, so a lost event costs latency
// (the next command or NOOP finds the change), never correctness.

type Listener = (event: MailboxChanged) => void;

export class MailboxWatchers {
  private readonly accounts = new Map<string, { subscription: Subscription; listeners: Set<Listener> }>();

  constructor(private readonly bus: MailBus) {}

  /** Calls the listener with each change of the mailbox; returns the unwatch. */
  watch(accountId: string, mailboxId: string, listener: (event: MailboxChanged) => void): () => void {
    return this.watchAccount(accountId, (event) => {
      if (event.mailboxId === mailboxId) listener(event);
    });
  }

  /** Calls the listener with each change anywhere in the account (NOTIFY); returns the unwatch. */
  watchAccount(accountId: string, listener: (event: MailboxChanged) => void): () => void {
    let entry = this.accounts.get(accountId);
    if (!entry) {
      const listeners = new Set<Listener>();
      const subscription = this.bus.subscribeMailboxChanged(accountId, (event) => {
        for (const l of listeners) l(event);
      });
      entry = { subscription, listeners };
      this.accounts.set(accountId, entry);
    }
    // A listener of its own, so one function watching twice is two watches.
    const filtered: Listener = (event) => listener(event);
    entry.listeners.add(filtered);
    const current = entry;
    return () => {
      current.listeners.delete(filtered);
      if (current.listeners.size === 0 && this.accounts.get(accountId) === current) {
        current.subscription.unsubscribe();
        this.accounts.delete(accountId);
      }
    };
  }

  /** Accounts with a subscription now (for metrics and tests). */
  get size(): number {
    return this.accounts.size;
  }
}
