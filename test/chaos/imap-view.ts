import { chaosIdOf } from './accounts.js';
import type { ImapResponse } from './imap-session.js';
import type { ImapSessionView } from './records.js';

// A session's picture of its selected mailbox, built only from the untagged responses the
// server sent (EXISTS, EXPUNGE, FETCH): what a real client's cache holds. At the end of
// the run it is compared with the store; any difference is a notification the server
// owed a client and did not send (or sent wrong).

interface Slot {
  uid: number | undefined;
  flags: readonly string[] | undefined;
}

/** What a FETCH response told about one message. */
export interface FetchedMessage {
  readonly seq: number;
  readonly uid: number | undefined;
  readonly flags: readonly string[] | undefined;
  /** Present when the response carried the X-Chaos-Id header section. */
  readonly id: string | undefined;
  readonly headerFetched: boolean;
}

export class MailboxView {
  uidValidity = 0;
  uidNext = 0;
  highestModseq = 0n;
  /** Server behaviour a correct server never shows (an EXISTS that shrinks, say), for the report. */
  readonly oddities: string[] = [];
  private slots: Slot[] = [];
  private readonly ids = new Map<number, string>();

  constructor(readonly mailbox: string) {}

  get size(): number {
    return this.slots.length;
  }

  /** Applies one untagged response; returns what a FETCH in it showed, if any. */
  apply(response: ImapResponse): FetchedMessage | undefined {
    const text = response.text;
    let m = /^\* (\d+) EXISTS$/i.exec(text);
    if (m) {
      const count = Number(m[1]);
      if (count < this.slots.length) {
        this.oddities.push(`${this.mailbox}: EXISTS ${count} below the ${this.slots.length} known`);
        this.slots.length = count;
      }
      while (this.slots.length < count) this.slots.push({ uid: undefined, flags: undefined });
      return undefined;
    }
    m = /^\* (\d+) EXPUNGE$/i.exec(text);
    if (m) {
      const seq = Number(m[1]);
      if (seq < 1 || seq > this.slots.length) {
        this.oddities.push(`${this.mailbox}: EXPUNGE ${seq} of ${this.slots.length}`);
      } else {
        const [gone] = this.slots.splice(seq - 1, 1);
        if (gone?.uid !== undefined) this.ids.delete(gone.uid);
      }
      return undefined;
    }
    m = /^\* OK \[(UIDVALIDITY|UIDNEXT|HIGHESTMODSEQ) (\d+)\]/i.exec(text);
    if (m) {
      const name = m[1]!.toUpperCase();
      if (name === 'UIDVALIDITY') this.uidValidity = Number(m[2]);
      else if (name === 'UIDNEXT') this.uidNext = Number(m[2]);
      else this.highestModseq = BigInt(m[2]!);
      return undefined;
    }
    m = /^\* (\d+) FETCH \((.*)\)$/is.exec(text);
    if (m) return this.applyFetch(Number(m[1]), m[2]!, response.literals);
    return undefined;
  }

  private applyFetch(seq: number, items: string, literals: readonly Buffer[]): FetchedMessage {
    const uidMatch = /(?:^|[ (])UID (\d+)/i.exec(items);
    const flagsMatch = /(?:^|[ (])FLAGS \(([^)]*)\)/i.exec(items);
    const uid = uidMatch ? Number(uidMatch[1]) : undefined;
    // \Recent is per-session state (RFC 3501 §2.3.2), not something the store keeps.
    const flags = flagsMatch
      ? flagsMatch[1]!
          .split(' ')
          .filter((f) => f !== '' && f.toLowerCase() !== '\\recent')
          .sort()
      : undefined;
    const header = /BODY\[HEADER\.FIELDS \(X-CHAOS-ID\)\] (?:\{(\d+)\+?\}|"((?:[^"\\]|\\.)*)"|NIL)/i.exec(
      items,
    );
    let id: string | undefined;
    if (header?.[1] !== undefined) id = chaosIdOf(literals[0] ?? Buffer.alloc(0));
    else if (header?.[2] !== undefined) id = chaosIdOf(header[2].replace(/\\(.)/g, '$1'));
    const slot = this.slots[seq - 1];
    if (!slot) {
      this.oddities.push(`${this.mailbox}: FETCH for ${seq} of ${this.slots.length}`);
    } else {
      if (uid !== undefined) {
        if (slot.uid !== undefined && slot.uid !== uid) {
          this.oddities.push(`${this.mailbox}: FETCH says ${seq} is UID ${uid}, it was ${slot.uid}`);
        }
        slot.uid = uid;
        if (id !== undefined) this.ids.set(uid, id);
      }
      if (flags !== undefined) slot.flags = flags;
    }
    return { seq, uid, flags, id, headerFetched: header !== null };
  }

  /** The sequence range [lo, hi] holding every message whose UID or flags are not known yet. */
  unknownRange(): [number, number] | undefined {
    let lo = 0;
    let hi = 0;
    this.slots.forEach((slot, i) => {
      if (slot.uid === undefined || slot.flags === undefined) {
        if (lo === 0) lo = i + 1;
        hi = i + 1;
      }
    });
    return lo === 0 ? undefined : [lo, hi];
  }

  /** Known UIDs in sequence order. */
  uids(): number[] {
    return this.slots.flatMap((slot) => (slot.uid === undefined ? [] : [slot.uid]));
  }

  flagsOf(uid: number): readonly string[] | undefined {
    return this.slots.find((slot) => slot.uid === uid)?.flags;
  }

  idOf(uid: number): string | undefined {
    return this.ids.get(uid);
  }

  snapshot(user: string, at: number): ImapSessionView {
    const flags = new Map<number, readonly string[]>();
    for (const slot of this.slots) if (slot.uid !== undefined) flags.set(slot.uid, slot.flags ?? []);
    return {
      user,
      mailbox: this.mailbox,
      uidValidity: this.uidValidity,
      uids: this.slots.map((slot) => slot.uid ?? 0),
      flags,
      at,
    };
  }
}
