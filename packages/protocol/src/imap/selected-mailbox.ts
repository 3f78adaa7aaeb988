// One session's view of its selected mailbox (RFC 3501 §2.3.1.2, §7.4.1): the message
// sequence numbers it has been told, the flags it last saw, which messages are \Recent for
// it, and the MODSEQ up to which it is in step with the store. Changes from elsewhere are
// folded in only when the session says it may tell the client (after a command, or during
// IDLE), and expunges only when the command in progress allows EXPUNGE responses.

import type { MailboxChanges, MailboxSnapshot, OpenMailbox } from './session-types.js';

export interface ViewUpdate {
  /** Sequence numbers to announce as expunged, in the order to send them. */
  readonly expunged: readonly number[];
  /** New EXISTS count, when messages were added. */
  readonly exists: number | undefined;
  readonly recent: number | undefined;
  /** Flag changes of messages the client knows: sequence number, UID, flags. */
  readonly flags: readonly { seq: number; uid: number; flags: readonly string[] }[];
}

export class SelectedMailbox {
  /** UIDs in sequence-number order: uids[n - 1] is message n. */
  private uids: number[];
  private readonly flags = new Map<number, readonly string[]>();
  private readonly recent = new Set<number>();
  private modseq: bigint;
  uidNext: number;
  readonly uidValidity: number;
  /** Set by the store's "look" notification; cleared by a sync. */
  dirty = false;
  /** Expunged in the store but not yet told (a FETCH, STORE or SEARCH was running). */
  private pendingExpunges = new Set<number>();

  constructor(
    readonly box: OpenMailbox,
    snapshot: MailboxSnapshot,
  ) {
    this.uidValidity = snapshot.uidValidity;
    this.uidNext = snapshot.uidNext;
    this.modseq = snapshot.highestModseq;
    this.uids = snapshot.messages.map((m) => m.uid);
    for (const m of snapshot.messages) {
      this.flags.set(m.uid, m.flags);
      if (m.uid >= snapshot.recent.from && m.uid < snapshot.recent.to) this.recent.add(m.uid);
    }
  }

  get readOnly(): boolean {
    return this.box.readOnly;
  }

  get exists(): number {
    return this.uids.length;
  }

  get recentCount(): number {
    return this.recent.size;
  }

  get highestModseq(): bigint {
    return this.modseq;
  }

  uidAt(seq: number): number | undefined {
    return this.uids[seq - 1];
  }

  /** Sequence number of a UID, or 0 if the session does not know it. Binary search: UIDs ascend. */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.uids[mid]!;
      if (at === uid) return mid + 1;
      if (at < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  allUids(): readonly number[] {
    return this.uids;
  }

  largestUid(): number {
    return this.uids.at(-1) ?? 0;
  }

  flagsOf(uid: number): readonly string[] {
    return this.flags.get(uid) ?? [];
  }

  isRecent(uid: number): boolean {
    return this.recent.has(uid);
  }

  recentUids(): number[] {
    return [...this.recent].sort((a, b) => a - b);
  }

  /** Whether the UID was expunged elsewhere and the client has not been told yet. */
  isGone(uid: number): boolean {
    return this.pendingExpunges.has(uid);
  }

  firstUnseenSeq(): number | undefined {
    for (let i = 0; i < this.uids.length; i++) {
      if (!this.flagsOf(this.uids[i]!).includes('\\Seen')) return i + 1;
    }
    return undefined;
  }

  /** The session's own STORE: the client hears of it in the STORE answer, not again later. */
  noteFlags(uid: number, flags: readonly string[]): void {
    if (this.flags.has(uid)) this.flags.set(uid, flags);
  }

  /** Reads what changed in the store since the last sync and folds it into the view. */
  async sync(allowExpunge: boolean): Promise<ViewUpdate> {
    this.dirty = false;
    const changes = await this.box.changesSince(this.modseq);
    return this.apply(changes, allowExpunge);
  }

  private apply(changes: MailboxChanges, allowExpunge: boolean): ViewUpdate {
    if (changes.highestModseq > this.modseq) this.modseq = changes.highestModseq;
    this.uidNext = Math.max(this.uidNext, changes.uidNext);
    for (const uid of changes.expunged) if (this.flags.has(uid)) this.pendingExpunges.add(uid);
    const expunged: number[] = [];
    if (allowExpunge && this.pendingExpunges.size > 0) {
      // Highest sequence number first: each EXPUNGE renumbers only the messages after it,
      // so every number sent is still right when the client reads it.
      for (let seq = this.uids.length; seq >= 1; seq--) {
        const uid = this.uids[seq - 1]!;
        if (this.pendingExpunges.has(uid)) {
          expunged.push(seq);
          this.flags.delete(uid);
          this.recent.delete(uid);
        }
      }
      this.uids = this.uids.filter((uid) => !this.pendingExpunges.has(uid));
      this.pendingExpunges.clear();
    }
    const flags: { seq: number; uid: number; flags: readonly string[] }[] = [];
    let added = false;
    const largest = this.largestUid();
    for (const message of changes.changed) {
      if (message.uid > largest) {
        // Expunged again before we saw it: never announce it.
        if (changes.expunged.includes(message.uid)) continue;
        this.uids.push(message.uid);
        this.flags.set(message.uid, message.flags);
        if (message.uid >= changes.recent.from && message.uid < changes.recent.to)
          this.recent.add(message.uid);
        added = true;
        continue;
      }
      const known = this.flags.get(message.uid);
      if (!known || this.pendingExpunges.has(message.uid)) continue;
      if (!sameFlags(known, message.flags)) {
        this.flags.set(message.uid, message.flags);
        flags.push({ seq: this.seqOf(message.uid), uid: message.uid, flags: message.flags });
      }
    }
    return {
      expunged,
      exists: added ? this.uids.length : undefined,
      recent: added ? this.recent.size : undefined,
      flags,
    };
  }
}

function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((flag) => set.has(flag));
}
