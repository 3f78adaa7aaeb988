import type { MessageFacts } from '@tegami/protocol';

// The unchanging facts of stored messages — INTERNALDATE, size, the MIME description
// (ENVELOPE, BODYSTRUCTURE) and, once a FETCH asked for header fields, the header's bytes —
// shared by every session of one gateway process: what Dovecot keeps in dovecot.index.cache,
// so that a client which caches nothing and asks for the same envelopes on every visit
// costs no database round trip after the first.
//
// Nothing here is ever stale, so nothing is invalidated, on this replica or another: a
// message's (mailbox id, UIDVALIDITY, UID) never names another message (RFC 3501 §2.3.1.1;
// mailbox ids are never reused either), and only a message's flags and MODSEQ change after
// it is stored — the store has no UPDATE of anything else. An expunged message's entry is
// simply not asked for again and ages out.
//
// Bounded in bytes (an estimate: the metadata's JSON length, the header's length and a fixed
// overhead per entry), least recently used out first: a Map keeps insertion order, and a hit
// moves its entry to the end.

/** A rough per-entry cost beyond the weighed parts: the key, the objects, the Map slot. */
const ENTRY_OVERHEAD = 256;

interface Entry {
  readonly facts: MessageFacts;
  readonly weight: number;
}

export class MessageFactsCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  /** Lookups answered, and lookups that had to ask the store (including for a missing header). */
  hits = 0;
  misses = 0;

  constructor(
    /** Upper bound of the estimated bytes held; 0 turns the cache off. */
    readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get weight(): number {
    return this.bytes;
  }

  /** The facts of one message, with its header when `header`; undefined if not held (so). */
  get(mailbox: string, uid: number, header: boolean): MessageFacts | undefined {
    const key = keyOf(mailbox, uid);
    const entry = this.entries.get(key);
    if (!entry || (header && !entry.facts.header)) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.facts;
  }

  /**
   * Keeps the facts read from the store. `metadataWeight` is what their metadata costs
   * (the length of the JSON it was parsed from). An entry with a header is not replaced
   * by one without.
   */
  set(mailbox: string, facts: MessageFacts, metadataWeight: number): void {
    const weight = ENTRY_OVERHEAD + metadataWeight + (facts.header?.length ?? 0);
    if (weight > this.maxBytes) return;
    // A header read from the store may be a view of a larger pooled buffer; its own copy
    // keeps only its bytes alive.
    if (facts.header) facts = { ...facts, header: ownCopy(facts.header) };
    const key = keyOf(mailbox, facts.uid);
    const old = this.entries.get(key);
    if (old) {
      if (old.facts.header && !facts.header) return;
      this.entries.delete(key);
      this.bytes -= old.weight;
    }
    this.entries.set(key, { facts, weight });
    this.bytes += weight;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.weight;
    }
  }
}

/** `mailbox` is the mailbox id and UIDVALIDITY together, e.g. "42/1700000000". */
function keyOf(mailbox: string, uid: number): string {
  return `${mailbox}/${uid}`;
}

function ownCopy(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}
