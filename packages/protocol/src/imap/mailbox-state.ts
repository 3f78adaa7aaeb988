// The messages a session's view of its mailbox holds (UIDs in sequence order, a flag-set id
// each), and the process-wide shelf through which views with the same messages hold one
// copy. 5,000 sessions in IDLE on a 10,000-message INBOX would otherwise keep 5,000 copies
// of the same 80 KB (bench/imap); shared, they keep one, and a view copies only when it is
// about to differ (its own STORE, a sync that finds changes), then offers its new state
// back once the change is folded in, where the others find it when they sync to the same.

/**
 * The distinct flag sets of one state: a mailbox of 10,000 messages has a handful of flag
 * combinations, so a state keeps one 32-bit id per message instead of an array of strings.
 * The table belongs to the state, not to the process: a client storing a new set of
 * keywords with every command would grow a process-wide table for as long as it runs.
 */
export class FlagSets {
  private readonly ids: Map<string, number>;
  private readonly sets: (readonly string[])[];

  constructor(from?: FlagSets) {
    // The sets themselves are frozen: a copy shares them.
    this.ids = new Map(from?.ids);
    this.sets = from ? [...from.sets] : [];
  }

  get size(): number {
    return this.sets.length;
  }

  intern(flags: readonly string[]): number {
    const sorted = [...flags].sort();
    const key = sorted.join(' ');
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.sets.length;
      this.sets.push(Object.freeze(sorted));
      this.ids.set(key, id);
    }
    return id;
  }

  /** The id of the set if the table has it; never adds one. */
  find(flags: readonly string[]): number | undefined {
    return this.ids.get([...flags].sort().join(' '));
  }

  get(id: number): readonly string[] {
    return this.sets[id]!;
  }

  /** The keywords (flags without a backslash) of every set in the table. */
  keywords(): string[] {
    const found = new Map<string, string>();
    for (const set of this.sets) {
      for (const flag of set) if (!flag.startsWith('\\')) found.set(flag.toLowerCase(), flag);
    }
    return [...found.values()];
  }
}

/** A view's messages. Once on the shelf, nothing writes to it again. */
export interface MailboxState {
  readonly uidValidity: number;
  /** The MODSEQ of the view that offered it to the shelf: a newer state replaces an older one. */
  readonly modseq: bigint;
  /** uids[n - 1] is message n, for n up to count; flagIds[n - 1] its flags in flagSets. */
  readonly count: number;
  readonly uids: Uint32Array;
  readonly flagIds: Uint32Array;
  /** modseqs[n - 1] is message n's MODSEQ (FETCH MODSEQ from the view, RFC 7162). */
  readonly modseqs: BigUint64Array;
  readonly flagSets: FlagSets;
}

/** Where an open mailbox's views share their state: the process's shelf and the mailbox's key on it. */
export interface StateSharing {
  readonly shelf: SharedMailboxStates;
  /** Names the mailbox in the process (the store's mailbox id). */
  readonly key: string;
}

/**
 * One state per mailbox, the newest offered, held weakly: the views holding it keep it
 * alive, and when the last lets go the entry goes with it. Sharing is decided by comparing
 * the messages, never by trusting that two views at one MODSEQ agree: a view that is not
 * what the shelf holds keeps its own copy, which is only memory, never a wrong answer.
 *
 * Each entry also keeps the newest MODSEQ at which a view synchronised and found exactly
 * these messages: the state is the mailbox as of that MODSEQ, so a new session can start
 * from it and ask the store only what changed since (SelectedMailbox.open) instead of
 * reading every message again. That MODSEQ is a live session's, so the store's expunge
 * history still covers it (packages/store retention.ts: a live session is never older
 * than the idle timeout, the history is kept at least a day); and a state nobody has
 * confirmed for START_WITHIN_MS (its sessions gone, the garbage collector not yet by) is
 * not started from at all.
 */
export class SharedMailboxStates {
  private readonly states = new Map<string, ShelfEntry>();

  /** `now`: the clock confirmations are timed by (tests move it). */
  constructor(private readonly now: () => number = Date.now) {}

  private readonly cleanup = new FinalizationRegistry<{ key: string; ref: WeakRef<MailboxState> }>(
    ({ key, ref }) => {
      if (this.states.get(key)?.ref === ref) this.states.delete(key);
    },
  );

  /**
   * The state to hold instead of this one: the shelf's when it has the same messages, or
   * this one, now on the shelf (the caller must not write to it again); undefined when
   * the shelf holds a newer, different state (the caller keeps its own).
   */
  share(key: string, state: MailboxState): MailboxState | undefined {
    const entry = this.states.get(key);
    const current = entry?.ref.deref();
    if (entry && current && (current === state || sameMessages(current, state))) {
      if (state.modseq > entry.modseq) entry.modseq = state.modseq;
      entry.confirmedAt = this.now();
      return current;
    }
    if (entry && current && entry.modseq > state.modseq) return undefined;
    const ref = new WeakRef(state);
    this.states.set(key, { ref, modseq: state.modseq, confirmedAt: this.now() });
    this.cleanup.register(state, { key, ref });
    return state;
  }

  /** A view holding this state synchronised to `modseq` and found nothing to change. */
  confirm(key: string, state: MailboxState, modseq: bigint): void {
    const entry = this.states.get(key);
    if (!entry || entry.ref.deref() !== state) return;
    if (modseq > entry.modseq) entry.modseq = modseq;
    entry.confirmedAt = this.now();
  }

  /**
   * The mailbox's state on the shelf and the MODSEQ it is the mailbox as of, when a view
   * confirmed it lately enough to start a new view from.
   */
  latest(key: string): { readonly state: MailboxState; readonly modseq: bigint } | undefined {
    const entry = this.states.get(key);
    const state = entry?.ref.deref();
    if (!entry || !state || this.now() - entry.confirmedAt > START_WITHIN_MS) return undefined;
    return { state, modseq: entry.modseq };
  }

  /** Mailboxes with a state on the shelf (for tests). */
  get size(): number {
    return this.states.size;
  }
}

/** Ten minutes: far inside the shortest expunge history the store keeps (a day). */
export const START_WITHIN_MS = 10 * 60_000;

interface ShelfEntry {
  readonly ref: WeakRef<MailboxState>;
  modseq: bigint;
  /** When a view last offered or confirmed it (the shelf's clock). */
  confirmedAt: number;
}

/** Same validity, same UIDs in the same order, same flags and MODSEQ on each (ids may differ between tables). */
function sameMessages(a: MailboxState, b: MailboxState): boolean {
  if (a.uidValidity !== b.uidValidity || a.count !== b.count) return false;
  const mapped = new Map<number, number>();
  for (let i = 0; i < a.count; i++) {
    if (a.uids[i] !== b.uids[i] || a.modseqs[i] !== b.modseqs[i]) return false;
    const ia = a.flagIds[i]!;
    const ib = b.flagIds[i]!;
    const known = mapped.get(ib);
    if (known === ia) continue;
    if (known !== undefined || !sameSet(a.flagSets.get(ia), b.flagSets.get(ib))) return false;
    mapped.set(ib, ia);
  }
  return true;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((flag, i) => flag === b[i]);
}
