import type {
  AppendMessage,
  CheckedStoreResult,
  CopyResult,
  FetchedMessage,
  FetchNeeds,
  FlagOperation,
  MailboxChanges,
  MailboxSnapshot,
  MessageFacts,
  MessageState,
  ModseqHistory,
  OpenMailbox,
  RecentRange,
  ReplaceResult,
  SearchNode,
} from '@tegami/protocol';
import { mailboxIdOf } from '@tegami/protocol';
import {
  insertMessage,
  type MemoryMailbox,
  type MemoryMailboxes,
  removeMessages,
  stateOf,
  storeFlags,
} from './memory-mailbox.js';
import { matches } from './memory-search.js';
import { storedDate, storedName, storedSearch, storedText } from './postgres-refusals.js';

/** A mailbox one session has selected (or examined) in the in-memory store. */
export class MemoryOpenMailbox implements OpenMailbox {
  private readonly unwatchers = new Set<() => void>();
  closed = false;

  constructor(
    /** The store this mailbox is in, shared by every session's account. */
    private readonly shared: MemoryMailboxes,
    /** The session's account: its own changes do not wake its watchers. */
    private readonly owner: object,
    readonly mailbox: MemoryMailbox,
    readonly readOnly: boolean,
  ) {}

  get name(): string {
    return this.mailbox.name;
  }

  get mailboxId(): string {
    return mailboxIdOf(this.mailbox.id);
  }

  /** As claimRecent: a read-write look takes every UID not claimed yet; EXAMINE takes none. */
  private claimRecent(): RecentRange {
    const mailbox = this.mailbox;
    const range = { from: mailbox.recentUid, to: mailbox.uidNext };
    if (!this.readOnly) mailbox.recentUid = mailbox.uidNext;
    return range;
  }

  async snapshot(): Promise<MailboxSnapshot> {
    const recent = this.claimRecent();
    const mailbox = this.mailbox;
    return {
      uidValidity: mailbox.uidValidity,
      uidNext: mailbox.uidNext,
      highestModseq: mailbox.highestModseq,
      messages: mailbox.messages.map(stateOf),
      recent,
    };
  }

  async changesSince(modseq: bigint): Promise<MailboxChanges> {
    const recent = this.claimRecent();
    const mailbox = this.mailbox;
    return {
      highestModseq: mailbox.highestModseq,
      uidNext: mailbox.uidNext,
      changed: mailbox.messages.filter((m) => m.modseq > modseq).map(stateOf),
      expunged: mailbox.expunged
        .filter((e) => e.modseq > modseq)
        .map((e) => e.uid)
        .sort((a, b) => a - b),
      recent,
    };
  }

  async fetch(uids: readonly number[], needs: FetchNeeds): Promise<readonly FetchedMessage[]> {
    const wanted = new Set(uids);
    return this.mailbox.messages
      .filter((m) => wanted.has(m.uid))
      .map((m) => ({
        uid: m.uid,
        flags: [...m.flags],
        modseq: m.modseq,
        internalDate: m.internalDate,
        size: m.raw.length,
        savedAt: m.savedAt,
        ...(needs.metadata && { metadata: m.metadata }),
        ...(needs.raw && { raw: m.raw }),
        ...(needs.emailId && { emailId: m.emailId }),
      }));
  }

  async describe(uids: readonly number[], header: boolean): Promise<readonly MessageFacts[]> {
    const wanted = new Set(uids);
    return this.mailbox.messages
      .filter((m) => wanted.has(m.uid))
      .map((m) => ({
        uid: m.uid,
        internalDate: m.internalDate,
        size: m.raw.length,
        emailId: m.emailId,
        metadata: m.metadata,
        ...(header && { header: m.raw.subarray(0, m.metadata.root.bodyStart) }),
      }));
  }

  async store(
    uids: readonly number[],
    operation: FlagOperation,
    flags: readonly string[],
  ): Promise<readonly MessageState[]> {
    flags.forEach(storedText);
    const changed = storeFlags(this.mailbox, uids, operation, flags);
    if (changed.length > 0) this.shared.changed(this.mailbox, this.owner);
    return changed;
  }

  async storeChecked(
    uids: readonly number[],
    operation: FlagOperation,
    flags: readonly string[],
    unchangedSince: bigint | undefined,
  ): Promise<readonly CheckedStoreResult[]> {
    flags.forEach(storedText);
    const wanted = new Set(uids);
    const named = this.mailbox.messages.filter((m) => wanted.has(m.uid));
    const refused = new Set(
      unchangedSince === undefined ? [] : named.filter((m) => m.modseq > unchangedSince).map((m) => m.uid),
    );
    const changed = new Map(
      storeFlags(
        this.mailbox,
        named.filter((m) => !refused.has(m.uid)).map((m) => m.uid),
        operation,
        flags,
      ).map((c) => [c.uid, c]),
    );
    if (changed.size > 0) this.shared.changed(this.mailbox, this.owner);
    return named.map((m) => ({
      uid: m.uid,
      flags: [...m.flags],
      modseq: m.modseq,
      outcome: refused.has(m.uid) ? 'modified' : changed.has(m.uid) ? 'changed' : 'unchanged',
    }));
  }

  async history(modseq: bigint): Promise<ModseqHistory> {
    // The memory store forgets no expunge: its history is always complete.
    return {
      changed: this.mailbox.messages.filter((m) => m.modseq > modseq).map(stateOf),
      vanished: this.mailbox.expunged
        .filter((e) => e.modseq > modseq)
        .map((e) => e.uid)
        .sort((a, b) => a - b),
      complete: true,
    };
  }

  async expunge(uids: readonly number[]): Promise<readonly number[]> {
    const wanted = new Set(uids);
    const deleted = this.mailbox.messages
      .filter((m) => wanted.has(m.uid) && m.flags.includes('\\Deleted'))
      .map((m) => m.uid);
    const removed = removeMessages(this.mailbox, deleted);
    if (removed.length > 0) this.shared.changed(this.mailbox, this.owner);
    return removed;
  }

  async search(criteria: SearchNode): Promise<readonly number[]> {
    storedSearch(criteria);
    return this.mailbox.messages.filter((m) => matches(criteria, m)).map((m) => m.uid);
  }

  async copy(uids: readonly number[], targetName: string, move: boolean): Promise<CopyResult> {
    const store = this.shared;
    const target = store.selectable(storedName(targetName));
    if (!target) return 'nonexistent';
    const wanted = new Set(uids);
    const sources = this.mailbox.messages.filter((m) => wanted.has(m.uid));
    if (sources.length === 0) return { uidValidity: target.uidValidity, source: [], target: [] };
    // A MOVE adds nothing to the account's total, so the quota does not stop it.
    if (!move && store.quota !== undefined) {
      const adding = sources.reduce((n, m) => n + m.raw.length, 0);
      if (store.usage() + adding > store.quota) return 'over-quota';
    }
    const targetUids = sources.map((m) => insertMessage(target, m.raw, m.flags, m.internalDate));
    const source = sources.map((m) => m.uid);
    if (move) removeMessages(this.mailbox, source);
    store.changed(target, this.owner);
    if (move) store.changed(this.mailbox, this.owner);
    return { uidValidity: target.uidValidity, source, target: targetUids };
  }

  /** As the Postgres transaction: the quota counts the account after the old message goes. */
  async replace(uid: number, targetName: string, message: AppendMessage): Promise<ReplaceResult> {
    const store = this.shared;
    message.flags.forEach(storedText);
    if (message.internalDate) storedDate(message.internalDate);
    const target = store.selectable(storedName(targetName));
    if (!target) return 'nonexistent';
    const old = this.mailbox.messages.find((m) => m.uid === uid);
    const freed = old?.raw.length ?? 0;
    if (store.quota !== undefined && store.usage() + message.raw.length - freed > store.quota)
      return 'over-quota';
    const newUid = insertMessage(target, message.raw, message.flags, message.internalDate);
    const expunged = removeMessages(this.mailbox, [uid]).length > 0;
    store.changed(target, this.owner);
    if (expunged && target !== this.mailbox) store.changed(this.mailbox, this.owner);
    return { uidValidity: target.uidValidity, uid: newUid, expunged };
  }

  watch(listener: () => void): () => void {
    const unwatch = this.shared.watch(this.mailbox, this.owner, listener);
    this.unwatchers.add(unwatch);
    return () => {
      unwatch();
      this.unwatchers.delete(unwatch);
    };
  }

  close(): void {
    this.closed = true;
    for (const unwatch of this.unwatchers) unwatch();
    this.unwatchers.clear();
  }
}
