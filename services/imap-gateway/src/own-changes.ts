import type { MailboxChanged } from '@tegami/bus';

// The flag changes one session made in the mailbox it has open (a STORE, or the \Seen a
// FETCH of a body sets) and its EXPUNGEs (after which it syncs at once), by the MODSEQ the
// store gave each. The change is announced on the
// bus for every other session, and comes back to this one too: that echo is not news, the
// session told its client already (RFC 3501 §6.4.6 STORE answers, FETCH FLAGS), so it must
// not make the session read the store again. Only the echo is skipped: changes of others
// carry other MODSEQs (one per change of a mailbox), and whatever the session skipped is
// still read by the next sync that something else causes, since the session's own MODSEQ
// (where its syncs start) does not move past what it has not read.

/** How many MODSEQs one open mailbox remembers: events are at most once, so some never come back. */
const REMEMBERED = 64;

export class OwnChanges {
  private readonly modseqs = new Set<string>();

  /** A change this session made; returns the MODSEQ to announce it with. */
  note(modseq: bigint): string {
    const text = modseq.toString();
    this.modseqs.add(text);
    if (this.modseqs.size > REMEMBERED) {
      const oldest = this.modseqs.values().next().value;
      if (oldest !== undefined) this.modseqs.delete(oldest);
    }
    return text;
  }

  /** Whether the event is the echo of a change this session made (and forgets it: it comes once). */
  isOwn(event: MailboxChanged): boolean {
    if ((event.kind !== 'flags' && event.kind !== 'expunge') || event.modseq === undefined) return false;
    return this.modseqs.delete(event.modseq);
  }
}
