import type { AccountEvent } from '@tegami/protocol';
import type { MemoryMailbox, MemoryMailboxes } from './memory-mailbox.js';

// NOTIFY (RFC 5465) on the memory store: the account-wide watch the gateway builds from its
// NATS events (services/imap-gateway account-events.ts), here a list of listeners per store.
// A change wakes every listener but those of the session (owner) that made it, as the
// gateway skips its own session's echo. The store's fan-out says only "this mailbox
// changed"; what changed is read off the mailbox against what the last event saw of it.

interface Listener {
  readonly owner: object;
  readonly listener: (event: AccountEvent) => void;
}

interface Seen {
  readonly uidNext: number;
  readonly count: number;
}

const registries = new WeakMap<MemoryMailboxes, MemoryAccountEvents>();

export class MemoryAccountEvents {
  private readonly listeners = new Set<Listener>();
  private readonly seen = new WeakMap<MemoryMailbox, Seen>();

  /** The one registry of a store. */
  static of(store: MemoryMailboxes): MemoryAccountEvents {
    let registry = registries.get(store);
    if (!registry) {
      registry = new MemoryAccountEvents();
      for (const mailbox of store.mailboxes) registry.remember(mailbox);
      registries.set(store, registry);
    }
    return registry;
  }

  watch(owner: object, listener: (event: AccountEvent) => void): () => void {
    const entry: Listener = { owner, listener };
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  get size(): number {
    return this.listeners.size;
  }

  /** The mailbox's messages changed (MemoryMailStore.changed). */
  messagesChanged(mailbox: MemoryMailbox, owner: object): void {
    const before = this.seen.get(mailbox);
    this.remember(mailbox);
    if (mailbox.noselect) return;
    const grew = !before || mailbox.uidNext > before.uidNext;
    const shrank =
      before !== undefined && mailbox.messages.length < before.count + (mailbox.uidNext - before.uidNext);
    if (grew) this.emit({ kind: 'messages', mailbox: mailbox.name, change: 'new' }, owner);
    if (shrank) this.emit({ kind: 'messages', mailbox: mailbox.name, change: 'expunge' }, owner);
    if (!grew && !shrank) this.emit({ kind: 'messages', mailbox: mailbox.name, change: 'flags' }, owner);
  }

  /** CREATE, DELETE, RENAME, SUBSCRIBE or UNSUBSCRIBE by a session. */
  listChanged(event: AccountEvent, owner: object): void {
    this.emit(event, owner);
  }

  /** What a later change is measured against. */
  remember(mailbox: MemoryMailbox): void {
    this.seen.set(mailbox, { uidNext: mailbox.uidNext, count: mailbox.messages.length });
  }

  private emit(event: AccountEvent, owner: object): void {
    for (const entry of [...this.listeners]) {
      if (entry.owner !== owner) entry.listener(event);
    }
  }
}
