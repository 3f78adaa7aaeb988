import { createHash } from 'node:crypto';
import {
  describeMessage,
  emailIdOf,
  type HeaderDate,
  type MessageState,
  normaliseFlags,
  type SearchHeader,
  type SpecialUseAttribute,
  type StoredMetadata,
} from '@tegami/protocol';

// One mailbox of the in-memory store and the changes made to it, each as the Postgres store
// makes it (packages/store messages.ts, imap-mailbox.ts): UIDs only grow, every change takes
// a new MODSEQ, an expunge is remembered at its MODSEQ for changesSince.

export interface MemoryMessage {
  readonly uid: number;
  flags: string[];
  modseq: bigint;
  readonly internalDate: Date;
  readonly raw: Buffer;
  readonly metadata: StoredMetadata & {
    readonly searchHeaders?: readonly SearchHeader[];
    readonly searchPartHeaders?: string;
    readonly headerDate?: HeaderDate | null;
  };
  readonly searchText: string;
  /** EMAILID (RFC 8474): from the bytes, as the Postgres store's blob hash. */
  readonly emailId: string;
  /** SAVEDATE (RFC 8514): when it was saved into this mailbox (delivery, APPEND, COPY, MOVE). */
  readonly savedAt: Date;
}

export interface MemoryMailbox {
  /** Never reused: MAILBOXID (RFC 8474 §4) is made from it, as from the Postgres row id. */
  readonly id: number;
  name: string;
  specialUse: SpecialUseAttribute | null;
  /** Kept only as a parent (RFC 3501 §6.3.4): not selectable, holds no messages. */
  noselect: boolean;
  readonly uidValidity: number;
  uidNext: number;
  highestModseq: bigint;
  /** UIDs at or above this one have not been claimed as \Recent by any session yet. */
  recentUid: number;
  /** In UID order. */
  messages: MemoryMessage[];
  readonly expunged: { readonly uid: number; readonly modseq: bigint }[];
}

/**
 * What an account and its open mailboxes need of the store they share (MemoryMailStore):
 * its mailboxes, its quota, and the fan-out that wakes other sessions' watchers.
 */
export interface MemoryMailboxes {
  readonly mailboxes: readonly MemoryMailbox[];
  /**
   * The subscribed names (RFC 3501 §6.3.6): a list of names, not a property of mailboxes, so
   * a name stays subscribed after its mailbox is deleted (§6.3.9), as in Postgres.
   */
  readonly subscriptions: Set<string>;
  /** Bytes the account may hold; undefined for no quota. */
  readonly quota: number | undefined;
  /** Counts closed accounts, for tests. */
  closed: number;
  mailbox(name: string): MemoryMailbox | undefined;
  /** The mailbox when it can be selected, appended and copied to (not \Noselect). */
  selectable(name: string): MemoryMailbox | undefined;
  create(name: string, specialUse?: SpecialUseAttribute | null): MemoryMailbox;
  removeMailbox(mailbox: MemoryMailbox): void;
  /** Bytes held in all mailboxes. */
  usage(): number;
  /** Wakes every watcher of the mailbox that another owner registered. */
  changed(mailbox: MemoryMailbox, owner: object): void;
  watch(mailbox: MemoryMailbox, owner: object, listener: () => void): () => void;
}

export { normaliseFlags };

export function newMailbox(
  name: string,
  uidValidity: number,
  specialUse: SpecialUseAttribute | null,
  id: number = uidValidity,
): MemoryMailbox {
  return {
    id,
    name,
    specialUse,
    noselect: false,
    uidValidity,
    uidNext: 1,
    highestModseq: 1n,
    recentUid: 1,
    messages: [],
    expunged: [],
  };
}

/** Appends a message at the next UID and a new MODSEQ; returns its UID. */
export function insertMessage(
  mailbox: MemoryMailbox,
  raw: Buffer,
  flags: readonly string[],
  internalDate?: Date,
): number {
  const description = describeMessage(raw);
  const uid = mailbox.uidNext++;
  mailbox.highestModseq++;
  mailbox.messages.push({
    uid,
    flags: normaliseFlags(flags),
    modseq: mailbox.highestModseq,
    internalDate: internalDate ?? new Date(Date.UTC(2025, 5, 1, 12, 0, 0)),
    raw,
    metadata: description.metadata as MemoryMessage['metadata'],
    searchText: description.searchText,
    emailId: emailIdOf(createHash('sha256').update(raw).digest()),
    savedAt: new Date(),
  });
  return uid;
}

/** STORE: the messages whose flags change take one new MODSEQ (RFC 7162 §3.1.3: a no-op store does not). */
export function storeFlags(
  mailbox: MemoryMailbox,
  uids: readonly number[],
  operation: 'replace' | 'add' | 'remove',
  flagsInput: readonly string[],
): MessageState[] {
  const flags = normaliseFlags(flagsInput);
  const removing = new Set(flags.map((f) => f.toLowerCase()));
  const wanted = new Set(uids);
  const modseq = mailbox.highestModseq + 1n;
  const changed: MessageState[] = [];
  for (const message of mailbox.messages) {
    if (!wanted.has(message.uid)) continue;
    // Flag names are case-insensitive: a flag the message has keeps its spelling on add,
    // and any spelling removes it.
    const next =
      operation === 'replace'
        ? flags
        : operation === 'add'
          ? normaliseFlags([...flags, ...message.flags])
          : message.flags.filter((f) => !removing.has(f.toLowerCase()));
    if (next.length === message.flags.length && next.every((f, i) => f === message.flags[i])) continue;
    message.flags = next;
    message.modseq = modseq;
    changed.push({ uid: message.uid, flags: [...next], modseq });
  }
  if (changed.length > 0) mailbox.highestModseq = modseq;
  return changed;
}

/** Removes the messages, each remembered as expunged at one new MODSEQ; returns the UIDs removed. */
export function removeMessages(mailbox: MemoryMailbox, uids: readonly number[]): number[] {
  const wanted = new Set(uids);
  const removed = mailbox.messages.filter((m) => wanted.has(m.uid)).map((m) => m.uid);
  if (removed.length === 0) return [];
  const modseq = ++mailbox.highestModseq;
  mailbox.messages = mailbox.messages.filter((m) => !wanted.has(m.uid));
  for (const uid of removed) mailbox.expunged.push({ uid, modseq });
  return removed;
}

export function stateOf(m: MemoryMessage): MessageState {
  return { uid: m.uid, flags: [...m.flags], modseq: m.modseq };
}
