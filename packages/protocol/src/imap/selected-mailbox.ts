// One session's view of its selected mailbox (RFC 3501 §2.3.1.2, §7.4.1): the message
// sequence numbers it has been told, the flags it last saw, which messages are \Recent for
// it, and the MODSEQ up to which it is in step with the store. Changes from elsewhere are
// folded in only when the session says it may tell the client (after a command, or during
// IDLE), and expunges only when the command in progress allows EXPUNGE responses.
// The messages themselves (UIDs and flags) are shared with every other view of the
// mailbox that holds the same (mailbox-state.ts) and copied only when this one changes.

import { FlagSets, type MailboxState } from './mailbox-state.js';
import type { MailboxChanges, MailboxSnapshot, OpenMailbox, ShelvedStart } from './session-types.js';
import { SYSTEM_FLAGS } from './system-flags.js';

/** A view started from the shelf: its state, the MODSEQ that state is as of, and what changed since. */

export interface ViewUpdate {
  /** Sequence numbers to announce as expunged, in the order to send them. */
  readonly expunged: readonly number[];
  /** The same messages' UIDs, ascending (VANISHED, RFC 7162 §3.2.10). */
  readonly vanished: readonly number[];
  /** New EXISTS count, when messages were added. */
  readonly exists: number | undefined;
  readonly recent: number | undefined;
  /** Flag changes of messages the client knows: sequence number, UID, flags, MODSEQ. */
  readonly flags: readonly { seq: number; uid: number; flags: readonly string[]; modseq: bigint }[];
}

/** A message the client knows: sequence number, UID, flags and MODSEQ as the view has them. */
export interface KnownMessage {
  readonly seq: number;
  readonly uid: number;
  readonly flags: readonly string[];
  readonly modseq: bigint;
}

export class SelectedMailbox {
  /** UIDs in sequence-number order: uids[n - 1] is message n; `count` of them are in use. */
  private uids: Uint32Array;
  private flagIds: Uint32Array;
  /** Each message's MODSEQ, in sequence order like uids. */
  private modseqs: BigUint64Array;
  private flagSets: FlagSets;
  private count: number;
  /**
   * The shelf's state these arrays are, when they are shared: held here so the shelf's
   * weak reference lives as long as a view uses it. Nothing may write to them then: own()
   * copies first.
   */
  private sharedState: MailboxState | undefined;
  private readonly recent = new Set<number>();
  private modseq: bigint;
  uidNext: number;
  readonly uidValidity: number;
  /** Set by the store's "look" notification; cleared by a sync. */
  dirty = false;
  /** Expunged in the store but not yet told (a FETCH, STORE or SEARCH was running). */
  private pendingExpunges = new Set<number>();
  /**
   * The keywords the client has been told of in FLAGS (lower case → spelling): SELECT lists
   * those of the mailbox's messages, and a keyword seen for the first time is announced in
   * a new FLAGS before any FETCH shows it (RFC 3501 §7.2.6, RFC 9051 §7.3.5).
   */
  private readonly keywords = new Map<string, string>();

  /**
   * Opens the view: from the snapshot the store read with the open when it has one; else
   * from the shelf's state of the mailbox and what changed since, when the shelf has one
   * (no need to read every message of the mailbox again); else from a snapshot. Either way the view is the mailbox as of the store's latest MODSEQ.
   */
  static async open(box: OpenMailbox): Promise<SelectedMailbox> {
    // Already read with the open (a snapshot, or the changes since a state on the shelf):
    // building from it costs no round trip, and the view still takes the shelf's copy when
    // the messages agree (share() in the constructor).
    const inHand = box.snapshotInHand?.();
    if (inHand) return new SelectedMailbox(box, inHand);
    const shelved = box.sharing?.shelf.latest(box.sharing.key);
    if (!shelved) return new SelectedMailbox(box, await box.snapshot());
    return new SelectedMailbox(box, { ...shelved, changes: await box.changesSince(shelved.modseq) });
  }

  constructor(
    readonly box: OpenMailbox,
    start: MailboxSnapshot | ShelvedStart,
  ) {
    if (!('messages' in start)) {
      const { state, modseq, changes } = start;
      this.uidValidity = state.uidValidity;
      this.uidNext = changes.uidNext;
      this.modseq = modseq;
      this.count = state.count;
      this.uids = state.uids;
      this.flagIds = state.flagIds;
      this.modseqs = state.modseqs;
      this.flagSets = state.flagSets;
      this.sharedState = state;
      // Expunged since that state: gone before the client knew them, never announced.
      this.apply(changes, true);
      // Every message the claim covers is \Recent here, as a snapshot would have said.
      for (let i = this.lowerBound(changes.recent.from); i < this.count; i++) {
        const uid = this.uids[i]!;
        if (uid >= changes.recent.to) break;
        this.recent.add(uid);
      }
      this.share();
      this.learnKeywords();
      return;
    }
    const snapshot = start;
    this.flagSets = new FlagSets();
    this.uidValidity = snapshot.uidValidity;
    this.uidNext = snapshot.uidNext;
    this.modseq = snapshot.highestModseq;
    this.count = snapshot.messages.length;
    this.uids = new Uint32Array(this.count);
    this.flagIds = new Uint32Array(this.count);
    this.modseqs = new BigUint64Array(this.count);
    snapshot.messages.forEach((m, i) => {
      this.uids[i] = m.uid;
      this.flagIds[i] = this.internFlags(m.flags);
      this.modseqs[i] = m.modseq;
      if (m.uid >= snapshot.recent.from && m.uid < snapshot.recent.to) this.recent.add(m.uid);
    });
    this.share();
    this.learnKeywords();
  }

  /** The keywords of the messages as opened: SELECT's FLAGS tells them all. */
  private learnKeywords(): void {
    for (const keyword of this.flagSets.keywords()) this.keywords.set(keyword.toLowerCase(), keyword);
  }

  /** SELECT's FLAGS and PERMANENTFLAGS: the system flags and the keywords in use; `\*` when new ones may be made. */
  flagsResponses(): string {
    const defined = [...SYSTEM_FLAGS, ...this.keywords.values()].join(' ');
    return (
      `* FLAGS (${defined})\r\n` +
      `* OK [PERMANENTFLAGS (${this.readOnly ? '' : `${defined} \\*`})] flags permitted\r\n`
    );
  }

  /**
   * FLAGS and PERMANENTFLAGS again when these flag lists (about to be shown in FETCH
   * responses) hold a keyword the client has not been told of; '' when they do not.
   * Every path that shows flags calls this first, so no FETCH shows a keyword before FLAGS.
   */
  keywordNews(lists: Iterable<readonly string[]>): string {
    let fresh = false;
    let last: readonly string[] | undefined;
    for (const flags of lists) {
      // Lists repeat (the view's interned sets): each distinct one is looked at once in a row.
      if (flags === last) continue;
      last = flags;
      for (const flag of flags) {
        if (flag.startsWith('\\')) continue;
        const lower = flag.toLowerCase();
        if (this.keywords.has(lower)) continue;
        this.keywords.set(lower, flag);
        fresh = true;
      }
    }
    return fresh ? this.flagsResponses() : '';
  }

  /** The index of the first UID at or above this one (count when none is). */
  private lowerBound(uid: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.uids[mid]! < uid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Whether this view holds the shelf's copy of its messages (for tests). */
  get sharesState(): boolean {
    return this.sharedState !== undefined;
  }

  /** Offers the messages to the shelf; holds the shelf's copy instead when it has the same. */
  private share(): void {
    const sharing = this.box.sharing;
    if (!sharing || this.sharedState) return;
    if (this.uids.length !== this.count) {
      // The room to append in is no use to a state nobody writes to.
      this.uids = this.uids.slice(0, this.count);
      this.flagIds = this.flagIds.slice(0, this.count);
      this.modseqs = this.modseqs.slice(0, this.count);
    }
    const state = sharing.shelf.share(sharing.key, {
      uidValidity: this.uidValidity,
      modseq: this.modseq,
      count: this.count,
      uids: this.uids,
      flagIds: this.flagIds,
      modseqs: this.modseqs,
      flagSets: this.flagSets,
    });
    if (!state) return;
    this.sharedState = state;
    this.uids = state.uids;
    this.flagIds = state.flagIds;
    this.modseqs = state.modseqs;
    this.flagSets = state.flagSets;
  }

  /** Before any write to the messages: a shared state is copied, with room for `extra` more. */
  private own(extra = 0): void {
    if (!this.sharedState) return;
    this.sharedState = undefined;
    this.uids = grown(this.uids, this.count, extra);
    this.flagIds = grown(this.flagIds, this.count, extra);
    this.modseqs = grown(this.modseqs, this.count, extra);
    this.flagSets = new FlagSets(this.flagSets);
  }

  get readOnly(): boolean {
    return this.box.readOnly;
  }

  /** Distinct flag sets the view holds: at most twice the messages, and 64 more. */
  get flagSetCount(): number {
    return this.flagSets.size;
  }

  /**
   * The id of a flag set. Sets no message has any more stay in the table until it holds
   * twice as many sets as there are messages (and 64 more); then it is rebuilt from the
   * sets in use, before the new one is added, so the id returned stays valid.
   */
  private internFlags(flags: readonly string[]): number {
    if (this.flagSets.size >= 2 * this.count + 64) {
      const rebuilt = new FlagSets();
      for (let i = 0; i < this.count; i++) {
        this.flagIds[i] = rebuilt.intern(this.flagSets.get(this.flagIds[i]!));
      }
      this.flagSets = rebuilt;
    }
    return this.flagSets.intern(flags);
  }

  get exists(): number {
    return this.count;
  }

  get recentCount(): number {
    return this.recent.size;
  }

  get highestModseq(): bigint {
    return this.modseq;
  }

  uidAt(seq: number): number | undefined {
    return seq >= 1 && seq <= this.count ? this.uids[seq - 1] : undefined;
  }

  /** Sequence number of a UID, or 0 if the session does not know it. Binary search: UIDs ascend. */
  seqOf(uid: number): number {
    const i = this.indexOf(uid);
    return i < 0 ? 0 : i + 1;
  }

  private indexOf(uid: number): number {
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.uids[mid]!;
      if (at === uid) return mid;
      if (at < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** The UIDs the client knows, in sequence order (a view: do not keep it across a sync). */
  allUids(): Uint32Array {
    return this.uids.subarray(0, this.count);
  }

  /**
   * Sequence number, UID and flags of each of these UIDs (ascending) the client knows and
   * that are not expunged elsewhere: one merge walk, no search per UID.
   */
  known(uids: readonly number[]): KnownMessage[] {
    const out: KnownMessage[] = [];
    let i = 0;
    for (const uid of uids) {
      while (i < this.count && this.uids[i]! < uid) i++;
      if (i >= this.count) break;
      if (this.uids[i] !== uid || this.pendingExpunges.has(uid)) continue;
      out.push({ seq: i + 1, uid, flags: this.flagSets.get(this.flagIds[i]!), modseq: this.modseqs[i]! });
    }
    return out;
  }

  largestUid(): number {
    return this.count > 0 ? this.uids[this.count - 1]! : 0;
  }

  flagsOf(uid: number): readonly string[] {
    const i = this.indexOf(uid);
    return i < 0 ? [] : this.flagSets.get(this.flagIds[i]!);
  }

  isRecent(uid: number): boolean {
    return this.recent.has(uid);
  }

  recentUids(): number[] {
    return [...this.recent].sort((a, b) => a - b);
  }

  get hasPendingExpunges(): boolean {
    return this.pendingExpunges.size > 0;
  }

  /** Whether the UID was expunged elsewhere and the client has not been told yet. */
  isGone(uid: number): boolean {
    return this.pendingExpunges.has(uid);
  }

  firstUnseenSeq(): number | undefined {
    for (let i = 0; i < this.count; i++) {
      if (!this.flagSets.get(this.flagIds[i]!).includes('\\Seen')) return i + 1;
    }
    return undefined;
  }

  /**
   * The session's own STORE: the client hears of it in the STORE answer, not again later.
   * The view copies its messages here; other views see the change at their next sync.
   */
  noteFlags(uid: number, flags: readonly string[], modseq: bigint): void {
    const i = this.indexOf(uid);
    if (i < 0 || (this.flagSets.find(flags) === this.flagIds[i] && this.modseqs[i] === modseq)) return;
    this.own();
    this.flagIds[i] = this.internFlags(flags);
    this.modseqs[i] = modseq;
  }

  /** Reads what changed in the store since the last sync and folds it into the view. */
  async sync(allowExpunge: boolean): Promise<ViewUpdate> {
    this.dirty = false;
    const changes = await this.box.changesSince(this.modseq);
    const update = this.apply(changes, allowExpunge);
    // A view that copied its messages offers them back; one that did not tells the shelf
    // its state is still the mailbox as of this MODSEQ.
    const sharing = this.box.sharing;
    if (sharing && this.sharedState) sharing.shelf.confirm(sharing.key, this.sharedState, this.modseq);
    else this.share();
    return update;
  }

  private append(uid: number, flags: readonly string[], modseq: bigint): void {
    this.own(1);
    if (this.count === this.uids.length) {
      // An eighth more each time: a view of 10,000 messages that gains one does not double.
      this.uids = grown(this.uids, this.count, Math.max(16, this.count >>> 3));
      this.flagIds = grown(this.flagIds, this.count, Math.max(16, this.count >>> 3));
      this.modseqs = grown(this.modseqs, this.count, Math.max(16, this.count >>> 3));
    }
    this.uids[this.count] = uid;
    this.flagIds[this.count] = this.internFlags(flags);
    this.modseqs[this.count] = modseq;
    this.count++;
  }

  private apply(changes: MailboxChanges, allowExpunge: boolean): ViewUpdate {
    if (changes.highestModseq > this.modseq) this.modseq = changes.highestModseq;
    this.uidNext = Math.max(this.uidNext, changes.uidNext);
    for (const uid of changes.expunged) if (this.indexOf(uid) >= 0) this.pendingExpunges.add(uid);
    const expunged: number[] = [];
    let vanished: number[] = [];
    if (allowExpunge && this.pendingExpunges.size > 0) {
      vanished = [...this.pendingExpunges].sort((a, b) => a - b);
      this.own();
      // Highest sequence number first: each EXPUNGE renumbers only the messages after it,
      // so every number sent is still right when the client reads it.
      for (let seq = this.count; seq >= 1; seq--) {
        const uid = this.uids[seq - 1]!;
        if (this.pendingExpunges.has(uid)) {
          expunged.push(seq);
          this.recent.delete(uid);
        }
      }
      let kept = 0;
      for (let i = 0; i < this.count; i++) {
        if (this.pendingExpunges.has(this.uids[i]!)) continue;
        this.uids[kept] = this.uids[i]!;
        this.flagIds[kept] = this.flagIds[i]!;
        this.modseqs[kept] = this.modseqs[i]!;
        kept++;
      }
      this.count = kept;
      this.pendingExpunges.clear();
    }
    const flags: { seq: number; uid: number; flags: readonly string[]; modseq: bigint }[] = [];
    let added = false;
    const largest = this.largestUid();
    const expungedNow = new Set(changes.expunged);
    for (const message of changes.changed) {
      if (message.uid > largest) {
        // Expunged again before we saw it: never announce it.
        if (expungedNow.has(message.uid)) continue;
        this.append(message.uid, message.flags, message.modseq);
        if (message.uid >= changes.recent.from && message.uid < changes.recent.to)
          this.recent.add(message.uid);
        added = true;
        continue;
      }
      const i = this.indexOf(message.uid);
      if (i < 0 || this.pendingExpunges.has(message.uid)) continue;
      // Unchanged flags and MODSEQ (most often the session's own STORE coming back) copy nothing.
      const sameFlags = this.flagSets.find(message.flags) === this.flagIds[i];
      if (sameFlags && this.modseqs[i] === message.modseq) continue;
      this.own();
      this.modseqs[i] = message.modseq;
      if (sameFlags) continue;
      const id = this.internFlags(message.flags);
      if (id !== this.flagIds[i]) {
        this.flagIds[i] = id;
        flags.push({ seq: i + 1, uid: message.uid, flags: this.flagSets.get(id), modseq: message.modseq });
      }
    }
    return {
      expunged,
      vanished,
      exists: added ? this.count : undefined,
      recent: added ? this.recent.size : undefined,
      flags,
    };
  }
}

/** The first `count` entries of the array in a new one with room for `extra` more. */
function grown<T extends Uint32Array | BigUint64Array>(array: T, count: number, extra: number): T {
  const copy = new (array.constructor as new (length: number) => T)(count + extra);
  (copy as Uint32Array).set((array as Uint32Array).subarray(0, count));
  return copy;
}
