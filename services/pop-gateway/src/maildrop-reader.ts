// RETR one message after another is what nearly every POP3 client does. One Postgres round
// trip per message made the round trips, not the bytes, the cost of a download (bench/pop3:
// most of the gateway's CPU went into the query writes), so the reader fetches the asked
// message together with the ones after it, up to a byte and a count budget, and hands
// those out from memory when they are asked for. Memory per session stays under the budget
// plus one message.

export interface ReadableEntry {
  readonly uid: number;
  readonly size: number;
}

/** The bytes of the given messages by UID (store's readMessageBytes); a missing one is absent. */
export type FetchMessages = (uids: readonly number[]) => Promise<Map<number, Buffer>>;

export interface PrefetchBudget {
  /** Bytes fetched ahead of the asked message, at most. */
  readonly bytes: number;
  /** Messages per query, at most (the asked one included). */
  readonly count: number;
}

export const DEFAULT_PREFETCH: PrefetchBudget = { bytes: 1 << 20, count: 128 };

export class MaildropReader {
  private readonly ahead = new Map<number, Buffer>();

  constructor(
    private readonly entries: readonly ReadableEntry[],
    private readonly fetchMessages: FetchMessages,
    private readonly budget: PrefetchBudget = DEFAULT_PREFETCH,
  ) {}

  /** The message at 0-based `index`; a message is kept only until it has been read once. */
  async read(index: number): Promise<Buffer> {
    const held = this.ahead.get(index);
    if (held) {
      this.ahead.delete(index);
      return held;
    }
    const batch = this.batchFrom(index);
    const messages = await this.fetchMessages(batch.map((i) => this.entry(i).uid));
    // A client that jumps elsewhere will not come back for what was fetched ahead before.
    this.ahead.clear();
    let asked: Buffer | undefined;
    for (const i of batch) {
      const data = messages.get(this.entry(i).uid);
      if (i === index) asked = data;
      else if (data) this.ahead.set(i, data);
    }
    if (!asked) throw new Error(`message ${index + 1} is gone (expunged over IMAP since)`);
    return asked;
  }

  /** Messages held in memory now (for tests and the budget's sake). */
  get heldCount(): number {
    return this.ahead.size;
  }

  private batchFrom(index: number): number[] {
    const batch = [index];
    let bytes = 0;
    for (let i = index + 1; i < this.entries.length && batch.length < this.budget.count; i++) {
      bytes += this.entry(i).size;
      if (bytes > this.budget.bytes) break;
      batch.push(i);
    }
    return batch;
  }

  private entry(index: number): ReadableEntry {
    const entry = this.entries[index];
    if (!entry) throw new RangeError(`no message ${index + 1} in this maildrop`);
    return entry;
  }
}
