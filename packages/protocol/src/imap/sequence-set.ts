// Sequence sets and UID sets (RFC 3501 §9 / RFC 9051 §9 `sequence-set`), with RFC 5182's
// `$` for the result SEARCH saved. Parsing is separate from resolving because `*` means
// "the largest number in use", which only the selected mailbox knows.

/** Largest nz-number: RFC 9051 §9 `number` is an unsigned 32-bit integer. */
const MAX_NUMBER = 4_294_967_295;

/** One `seq-number` or `seq-range` as written; `*` is still unresolved. */
export interface SequenceRange {
  from: number | '*';
  to: number | '*';
}

/**
 * A parsed sequence set. `savedResult` is RFC 5182's `$`, which stands alone (its grammar
 * adds `seq-last-command` as a whole `sequence-set`, not as an item); `ranges` is then empty
 * and the caller substitutes the saved SEARCH result.
 */
export interface SequenceSet {
  ranges: readonly SequenceRange[];
  savedResult: boolean;
}

/** A resolved range, `from` ≤ `to`, both ≥ 1. */
export interface NumberRange {
  from: number;
  to: number;
}

/** RFC 3501 §9 `seq-number = nz-number / "*"`, with `nz-number = digit-nz *DIGIT`. */
function parseSeqNumber(text: string): number | '*' | undefined {
  if (text === '*') return '*';
  // No leading zero (digit-nz first), no sign, no spaces; ten digits bounds the value check.
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  const value = Number(text);
  return value <= MAX_NUMBER ? value : undefined;
}

/**
 * A sequence set as written: `1`, `1:5`, `5:1`, `*`, `3:*`, `*:3`, comma lists of these,
 * or `$` alone. Undefined for anything else, including 0, leading zeros, numbers above
 * 4294967295, empty items and spaces.
 */
export function parseSequenceSet(text: string): SequenceSet | undefined {
  if (text === '$') return { ranges: [], savedResult: true };
  const ranges: SequenceRange[] = [];
  for (const item of text.split(',')) {
    const colon = item.indexOf(':');
    const from = parseSeqNumber(colon < 0 ? item : item.slice(0, colon));
    const to = colon < 0 ? from : parseSeqNumber(item.slice(colon + 1));
    if (from === undefined || to === undefined) return undefined;
    ranges.push({ from, to });
  }
  return { ranges, savedResult: false };
}

/**
 * The set as sorted, disjoint, non-adjacent ranges, with `*` as `largest` (the highest
 * sequence number or UID in the mailbox). `5:1` is `1:5` (RFC 9051 §9 seq-range: "all
 * values between these two regardless of order"), so `3:*` with `largest` 2 is `2:3`, as
 * RFC 9051 §6.4.8 wants for UID ranges ("559:*" always includes the last message).
 *
 * Numbers above `largest` are kept: whether they are an error (sequence numbers, RFC 9051
 * §9 seq-number) or simply absent (UIDs) is the caller's call. When `largest` is 0 (an empty
 * mailbox) `*` names nothing, so ranges with `*` are left out; `*` alone, `1:*` and the like
 * resolve to an empty list, and the caller decides whether that is an error (it is for
 * sequence numbers) or an empty answer (UID FETCH 1:*). `$` resolves to an empty list too:
 * the saved result is the caller's.
 */
export function resolveSequenceSet(set: SequenceSet, largest: number): NumberRange[] {
  const ranges: NumberRange[] = [];
  for (const range of set.ranges) {
    if ((range.from === '*' || range.to === '*') && largest < 1) continue;
    const a = range.from === '*' ? largest : range.from;
    const b = range.to === '*' ? largest : range.to;
    ranges.push({ from: Math.min(a, b), to: Math.max(a, b) });
  }
  return mergeRanges(ranges);
}

function mergeRanges(ranges: NumberRange[]): NumberRange[] {
  ranges.sort((x, y) => x.from - y.from);
  const merged: NumberRange[] = [];
  for (const range of ranges) {
    const last = merged.at(-1);
    // Adjacent ranges merge too (1:3 and 4:6 are 1:6), so the result is canonical.
    if (last && range.from <= last.to + 1) last.to = Math.max(last.to, range.to);
    else merged.push({ ...range });
  }
  return merged;
}

/** Whether the integer `n` is in ranges from `resolveSequenceSet` (sorted and disjoint), by binary search. */
export function sequenceSetContains(resolved: readonly NumberRange[], n: number): boolean {
  if (!Number.isInteger(n)) return false;
  let low = 0;
  let high = resolved.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const range = resolved[middle]!;
    if (n < range.from) high = middle - 1;
    else if (n > range.to) low = middle + 1;
    else return true;
  }
  return false;
}

/**
 * Numbers as a compact sequence set for COPYUID, APPENDUID (RFC 4315 §3) and ESEARCH ALL
 * (RFC 4731 §3.1): ascending runs become `from:to`, so [1, 2, 3, 5, 7, 8, 9] is
 * `1:3,5,7:9`. Order is kept rather than sorted, because COPYUID pairs the source and
 * target sets number by number; for sorted input the output is as short as it can be.
 * An empty list gives '' (not a valid set: the caller should not send one). Numbers must be
 * nz-numbers; anything else throws, since it would put invalid syntax on the wire.
 */
export function formatSequenceSet(numbers: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < numbers.length) {
    const from = checkedNumber(numbers[i]!);
    let to = from;
    while (i + 1 < numbers.length && numbers[i + 1] === to + 1) {
      to = checkedNumber(numbers[i + 1]!);
      i++;
    }
    parts.push(from === to ? `${from}` : `${from}:${to}`);
    i++;
  }
  return parts.join(',');
}

function checkedNumber(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_NUMBER) throw new RangeError(`${n} is not an nz-number`);
  return n;
}
