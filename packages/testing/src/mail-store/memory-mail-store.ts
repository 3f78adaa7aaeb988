import type { FlagOperation, MessageState, SpecialUseAttribute } from '@tegami/protocol';
import { MemoryAccount } from './memory-account.js';
import { MemoryAccountEvents } from './memory-account-events.js';
import {
  insertMessage,
  type MemoryMailbox,
  type MemoryMailboxes,
  newMailbox,
  removeMessages,
  storeFlags,
} from './memory-mailbox.js';

// An in-memory mail store behind the ImapAccount / OpenMailbox interfaces, for the IMAP
// engine's tests. It is a fake of the Postgres store (packages/store, and
// services/imap-gateway postgres-account.ts), held to the same behaviour by one contract
// suite run against both (mail-store.contract.ts). It throws where the Postgres store
// throws (postgres-refusals.ts), so a value the engine should have refused shows up here as
// the SERVERBUG it would be in the service.
//
// Several sessions share one MemoryMailStore: a change made through one account wakes the
// mailboxes the other accounts (sessions) watch, as the gateway's NATS fan-out does.

interface Watcher {
  readonly mailbox: MemoryMailbox;
  /** The account (session) that registered it: its own changes do not wake it. */
  readonly owner: object;
  readonly listener: () => void;
}

/** Message n of the default INBOX. */
export function messageOf(n: number): Buffer {
  return Buffer.from(
    `From: Bob <bob@example.net>\r\nTo: alice@example.org\r\nSubject: message ${n}\r\n` +
      `Date: Mon, 0${n} Jun 2025 10:00:00 +0200\r\nMessage-ID: <${n}@example.net>\r\n\r\n` +
      `${'body line\r\n'.repeat(n)}`,
  );
}

export class MemoryMailStore implements MemoryMailboxes {
  readonly mailboxes: MemoryMailbox[] = [];
  readonly subscriptions = new Set<string>();
  private readonly watchers = new Set<Watcher>();
  private nextUidValidity = 1_000;
  private nextMailboxId = 1;
  /** Accounts handed out and closed, for tests. */
  opened = 0;
  closed = 0;
  /** Bytes the account may hold; undefined for no quota. */
  quota: number | undefined;
  /** The owner of changes made by the test itself (delivery, "another client"). */
  static readonly OUTSIDE = Object.freeze({});

  constructor(names: readonly (string | [string, SpecialUseAttribute])[] = ['INBOX']) {
    for (const entry of names) {
      const [name, use] = typeof entry === 'string' ? [entry, null] : entry;
      this.create(name, use);
    }
  }

  /** A store with INBOX holding messages 1..count, Sent, Trash and Archive. */
  static withMessages(count = 3): MemoryMailStore {
    const store = new MemoryMailStore([
      'INBOX',
      ['Sent', '\\Sent'],
      ['Trash', '\\Trash'],
      ['Archive', '\\Archive'],
    ]);
    for (let n = 1; n <= count; n++) store.deliver('INBOX', messageOf(n));
    return store;
  }

  mailbox(name: string): MemoryMailbox | undefined {
    return this.mailboxes.find((m) => m.name === name);
  }

  selectable(name: string): MemoryMailbox | undefined {
    const mailbox = this.mailbox(name);
    return mailbox?.noselect ? undefined : mailbox;
  }

  create(name: string, specialUse: SpecialUseAttribute | null = null): MemoryMailbox {
    const mailbox = newMailbox(name, this.nextUidValidity++, specialUse, this.nextMailboxId++);
    this.mailboxes.push(mailbox);
    MemoryAccountEvents.of(this).remember(mailbox);
    // A new mailbox is subscribed, as the Postgres store does.
    this.subscriptions.add(name);
    return mailbox;
  }

  /** A message arriving from outside any session (delivery). Returns its UID. */
  deliver(
    name: string,
    raw: Buffer,
    options: { flags?: readonly string[]; internalDate?: Date; owner?: object } = {},
  ): number {
    const mailbox = this.mailbox(name);
    if (!mailbox) throw new Error(`no mailbox ${name}`);
    const uid = insertMessage(mailbox, raw, options.flags ?? [], options.internalDate);
    this.changed(mailbox, options.owner ?? MemoryMailStore.OUTSIDE);
    return uid;
  }

  /** Flags set from outside any session. */
  setFlags(
    name: string,
    uids: readonly number[],
    operation: FlagOperation,
    flags: readonly string[],
  ): MessageState[] {
    const mailbox = this.mailbox(name)!;
    const changed = storeFlags(mailbox, uids, operation, flags);
    if (changed.length > 0) this.changed(mailbox, MemoryMailStore.OUTSIDE);
    return changed;
  }

  /** Expunged from outside any session, \Deleted or not. */
  expungeNow(name: string, uids: readonly number[]): number[] {
    const mailbox = this.mailbox(name)!;
    const removed = removeMessages(mailbox, uids);
    if (removed.length > 0) this.changed(mailbox, MemoryMailStore.OUTSIDE);
    return removed;
  }

  /** One session's view of the store. */
  account(address: string): MemoryAccount {
    this.opened++;
    return new MemoryAccount(this, address);
  }

  usage(): number {
    return this.mailboxes.reduce((n, b) => n + b.messages.reduce((s, m) => s + m.raw.length, 0), 0);
  }

  watch(mailbox: MemoryMailbox, owner: object, listener: () => void): () => void {
    const watcher: Watcher = { mailbox, owner, listener };
    this.watchers.add(watcher);
    return () => {
      this.watchers.delete(watcher);
    };
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  changed(mailbox: MemoryMailbox, owner: object): void {
    for (const watcher of [...this.watchers]) {
      if (watcher.mailbox === mailbox && watcher.owner !== owner) watcher.listener();
    }
    MemoryAccountEvents.of(this).messagesChanged(mailbox, owner);
  }

  removeMailbox(mailbox: MemoryMailbox): void {
    this.mailboxes.splice(this.mailboxes.indexOf(mailbox), 1);
  }
}
