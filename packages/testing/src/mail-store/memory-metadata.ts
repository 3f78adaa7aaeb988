import {
  type MetadataChange,
  type MetadataDepth,
  type MetadataEntry,
  type MetadataWriteResult,
  metadataEntryMatches,
  metadataEntryProblem,
} from '@tegami/protocol';
import type { MemoryMailbox } from './memory-mailbox.js';
import { StoreRefusal } from './postgres-refusals.js';

// METADATA annotations (RFC 5464) of the in-memory store, as packages/store imap-metadata.ts
// keeps them in Postgres: the server's per store (one store is one user's mail), a mailbox's
// with its MemoryMailbox object, so RENAME takes them along and a mailbox removed takes
// them with it; DELETE that keeps a \Noselect name calls forget(), as the table's trigger does.

/** The annotations of one store (one user). */
export class MemoryMetadata {
  private static readonly stores = new WeakMap<object, MemoryMetadata>();
  private readonly server = new Map<string, Buffer>();
  private readonly mailboxes = new WeakMap<MemoryMailbox, Map<string, Buffer>>();
  private readonly withEntries = new Set<MemoryMailbox>();

  /** The annotations kept for this store. */
  static of(store: object): MemoryMetadata {
    let metadata = MemoryMetadata.stores.get(store);
    if (!metadata) {
      metadata = new MemoryMetadata();
      MemoryMetadata.stores.set(store, metadata);
    }
    return metadata;
  }

  /** `mailbox` undefined: no selectable mailbox has the name asked about. */
  read(
    mailbox: MemoryMailbox | null | undefined,
    entries: readonly string[],
    depth: MetadataDepth,
  ): MetadataEntry[] | 'nonexistent' {
    for (const entry of entries) checkedEntry(entry, true);
    if (mailbox === undefined) return 'nonexistent';
    const values =
      mailbox === null ? this.server : (this.mailboxes.get(mailbox) ?? new Map<string, Buffer>());
    return [...values]
      .filter(([entry]) => entries.some((requested) => metadataEntryMatches(requested, entry, depth)))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([entry, value]) => ({ entry, value: Buffer.from(value) }));
  }

  write(
    mailbox: MemoryMailbox | null | undefined,
    changes: readonly MetadataChange[],
    maxEntries: number,
    allMailboxes: readonly MemoryMailbox[],
  ): MetadataWriteResult {
    for (const change of changes) checkedEntry(change.entry, false);
    if (mailbox === undefined) return 'nonexistent';
    let values = mailbox === null ? this.server : this.mailboxes.get(mailbox);
    if (!values) {
      values = new Map();
      this.mailboxes.set(mailbox!, values);
      this.withEntries.add(mailbox!);
    }
    const last = new Map(changes.map((change) => [change.entry, change.value]));
    const total = this.count(allMailboxes);
    let after = total;
    for (const [entry, value] of last) {
      if (value !== null && !values.has(entry)) after++;
      if (value === null && values.has(entry)) after--;
    }
    if (after > maxEntries && after > total) return 'too-many';
    for (const [entry, value] of last) {
      if (value === null) values.delete(entry);
      else values.set(entry, Buffer.from(value));
    }
    return 'ok';
  }

  /** A mailbox became \Noselect: its entries end. */
  forget(mailbox: MemoryMailbox): void {
    this.mailboxes.delete(mailbox);
    this.withEntries.delete(mailbox);
  }

  /** Entries of the server and of the mailboxes that still exist. */
  private count(allMailboxes: readonly MemoryMailbox[]): number {
    let total = this.server.size;
    for (const mailbox of this.withEntries) {
      if (allMailboxes.includes(mailbox)) total += this.mailboxes.get(mailbox)?.size ?? 0;
      else this.forget(mailbox);
    }
    return total;
  }
}

/** What the Postgres table's CHECK takes (lower case, valid; only reads name the bare tops). */
function checkedEntry(entry: string, reading: boolean): string {
  const top = entry === '/private' || entry === '/shared';
  if (metadataEntryProblem(entry) !== undefined || entry !== entry.toLowerCase() || (top && !reading)) {
    throw new StoreRefusal(
      `the Postgres store would refuse the entry name ${JSON.stringify(entry.slice(0, 80))}`,
    );
  }
  return entry;
}
