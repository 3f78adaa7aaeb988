import { parseMessageNumber } from './command.js';

// The maildrop a POP3 session works on (RFC 1939 §4-§6): the snapshot taken at login, and
// the messages marked deleted, which only QUIT in the UPDATE state removes.

export interface Pop3MaildropEntry {
  /** The UIDL string: unique and stable for the message, never reused. */
  readonly uid: string;
  /** Octets as RETR sends them before byte-stuffing (pop3WireSize). */
  readonly size: number;
}

/** A message number argument as parsed: 'malformed' is answered like a number out of range. */
export type MessageNumber = number | 'malformed';

export function messageNumber(text: string | undefined): MessageNumber {
  return parseMessageNumber(text) ?? 'malformed';
}

/** A message number argument resolved: its 0-based index, or the -ERR text why not. */
export type MessageLookup = { readonly index: number } | { readonly error: string };

export class Pop3Maildrop {
  private readonly deleted = new Set<number>();

  constructor(readonly entries: readonly Pop3MaildropEntry[] = []) {}

  /** 0-based indexes of the messages not marked deleted. */
  live(): number[] {
    return this.entries.map((_, i) => i).filter((i) => !this.deleted.has(i));
  }

  /** Octets of the messages not marked deleted (STAT). */
  liveOctets(): number {
    return this.live().reduce((sum, i) => sum + this.entries[i]!.size, 0);
  }

  /** A message number argument (RFC 1939 §5: 1-based, never a deleted one). */
  find(n: MessageNumber): MessageLookup {
    if (n === 'malformed' || n > this.entries.length) return { error: 'no such message' };
    if (this.deleted.has(n - 1)) return { error: `message ${n} already deleted` };
    return { index: n - 1 };
  }

  markDeleted(index: number): void {
    this.deleted.add(index);
  }

  /** RSET (RFC 1939 §5): every mark is taken back. */
  unmarkAll(): void {
    this.deleted.clear();
  }

  /** What the UPDATE state removes, in ascending order. */
  deletedIndexes(): number[] {
    return [...this.deleted].sort((a, b) => a - b);
  }

  /** Messages that stay after the UPDATE state. */
  get left(): number {
    return this.entries.length - this.deleted.size;
  }
}
