// CONDSTORE and QRESYNC (RFC 7162) pieces several commands share: MODSEQ arguments, the
// rule that a CONDSTORE-enabling command turns CONDSTORE on, and the UIDs a resync reports
// as VANISHED (EARLIER).

import type { SelectedMailbox } from '../selected-mailbox.js';
import { type NumberRange, parseSequenceSet, resolveSequenceSet } from '../sequence-set.js';
import type { ModseqHistory } from '../session-types.js';
import { parseNumber64 } from '../wire-values.js';
import type { ImapContext } from './command-spec.js';

/**
 * RFC 7162 §7 `mod-sequence-value` (1 to 2^63 - 1), or with `zero` `mod-sequence-valzer`
 * (UNCHANGEDSINCE 0 is allowed: it fails for every message). Undefined when it is neither.
 */
export function parseModseq(text: string | undefined, zero = false): bigint | undefined {
  if (text === undefined) return undefined;
  const value = parseNumber64(text);
  if (value === undefined || (value === 0n && !zero)) return undefined;
  return value;
}

/**
 * A CONDSTORE-enabling command ran (RFC 7162 §3.1: SELECT/EXAMINE (CONDSTORE), FETCH MODSEQ
 * or CHANGEDSINCE, STORE UNCHANGEDSINCE, SEARCH MODSEQ, STATUS HIGHESTMODSEQ, ENABLE). The
 * first one with a mailbox selected tells the client the mailbox's HIGHESTMODSEQ (§3.1.2.1),
 * which it had not been given at SELECT.
 */
export async function enableCondstore(context: ImapContext): Promise<void> {
  if (!context.enable('CONDSTORE') || !context.selected) return;
  await context.write(`* OK [HIGHESTMODSEQ ${context.selected.highestModseq}] Highest\r\n`);
}

/**
 * The UIDs of `ranges` (sorted, disjoint) to report as VANISHED (EARLIER): those the history
 * says were expunged, when it reaches back far enough; otherwise every UID of the ranges
 * below UIDNEXT that the mailbox no longer holds (RFC 7162 §3.2.5.2 lets the server report
 * UIDs the client never knew). A UID the view still holds is left out: it is expunged
 * since the view's last sync and is told as a plain VANISHED when that sync comes.
 * As ranges, never one number per UID: `1:4294967295` is a valid request.
 */
export function vanishedEarlier(
  selected: SelectedMailbox,
  history: ModseqHistory,
  ranges: readonly NumberRange[],
): NumberRange[] {
  if (history.complete) {
    const out: NumberRange[] = [];
    let r = 0;
    for (const uid of history.vanished) {
      while (r < ranges.length && ranges[r]!.to < uid) r++;
      if (r >= ranges.length) break;
      if (uid < ranges[r]!.from || selected.seqOf(uid) > 0) continue;
      const last = out.at(-1);
      if (last && last.to === uid - 1) last.to = uid;
      else out.push({ from: uid, to: uid });
    }
    return out;
  }
  const below = selected.uidNext - 1;
  const present = selected.allUids();
  const out: NumberRange[] = [];
  let i = 0;
  for (const range of ranges) {
    const to = Math.min(range.to, below);
    let from = range.from;
    while (i < present.length && present[i]! < from) i++;
    while (from <= to) {
      const next = i < present.length ? present[i]! : Number.POSITIVE_INFINITY;
      if (next > to) {
        out.push({ from, to });
        break;
      }
      if (next > from) out.push({ from, to: next - 1 });
      from = next + 1;
      i++;
    }
  }
  return out;
}

/** `1:3,7` from ranges; '' for none. */
export function formatRanges(ranges: readonly NumberRange[]): string {
  return ranges.map(({ from, to }) => (from === to ? `${from}` : `${from}:${to}`)).join(',');
}

/**
 * A UID set as sorted ranges for VANISHED (EARLIER): `*` reaches every UID there may have
 * been, not just the largest one left (`1:*` after the last message went still covers it,
 * as Dovecot answers). Undefined when it is not a UID set.
 */
export function vanishedRanges(text: string): NumberRange[] | undefined {
  const set = parseSequenceSet(text);
  if (!set || set.savedResult) return undefined;
  return resolveSequenceSet(set, 4_294_967_295);
}
