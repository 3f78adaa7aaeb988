// Sequence sets and UID sets of the selected mailbox (RFC 3501 §9 sequence-set, RFC 5182 $).

import type { SelectedMailbox } from '../selected-mailbox.js';
import { parseSequenceSet, resolveSequenceSet } from '../sequence-set.js';

/**
 * The UIDs a sequence set (or UID set) names now, in ascending order: 'invalid' when the
 * text is not a set, 'out-of-range' for sequence numbers past the end (RFC 3501 §9
 * seq-number); UIDs that do not exist are skipped. The ranges are merged first, so
 * `1:*,1:*,…` repeated to the line limit costs one walk of the mailbox, not one per range.
 * With `pastEnd` 'match-nothing' (SEARCH) numbers past the end name no message instead: a
 * search key is a criterion, and `SEARCH 1000` in a smaller mailbox matches nothing, as
 * Dovecot and RFC 9051's ESEARCH examples answer, where FETCH 1000 is an error.
 */
export function resolveMessageSet(
  selected: SelectedMailbox,
  savedResult: readonly number[],
  text: string,
  uid: boolean,
  pastEnd: 'out-of-range' | 'match-nothing' = 'out-of-range',
): number[] | 'invalid' | 'out-of-range' {
  const set = parseSequenceSet(text);
  if (!set) return 'invalid';
  if (set.savedResult) {
    const saved = new Set(savedResult);
    return [...selected.allUids()].filter((u) => saved.has(u));
  }
  const all = selected.allUids();
  // Index ranges [first, end) of the view, in order and disjoint.
  const slices: [number, number][] = [];
  if (uid) {
    for (const { from, to } of resolveSequenceSet(set, selected.largestUid())) {
      slices.push([lowerBound(all, from), lowerBound(all, to + 1)]);
    }
  } else if (pastEnd === 'match-nothing') {
    // `*` is the last message; a range reaching past the end is cut there.
    for (const { from, to } of resolveSequenceSet(set, all.length)) {
      if (from <= all.length) slices.push([from - 1, Math.min(to, all.length)]);
    }
  } else {
    const exists = all.length;
    for (const range of set.ranges) {
      if ((range.from !== '*' && range.from > exists) || (range.to !== '*' && range.to > exists)) {
        return 'out-of-range';
      }
    }
    // RFC 9051 §9 seq-number: "*" in an empty mailbox is past the end too.
    if (exists === 0) return 'out-of-range';
    for (const { from, to } of resolveSequenceSet(set, exists)) slices.push([from - 1, to]);
  }
  if (slices.length === 0) return [];
  // The common case, one range (1:*, 5:9, UID 100:*): a copy of a slice.
  if (slices.length === 1) return Array.from(all.subarray(slices[0]![0], slices[0]![1]));
  const out: number[] = [];
  for (const [first, end] of slices) for (let i = first; i < end; i++) out.push(all[i]!);
  return out;
}

export const OUT_OF_RANGE = 'message sequence number out of range';

function lowerBound(sorted: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
