// Match types (RFC 5228 §2.7.1 :is :contains :matches, RFC 5231 :value :count, the regex
// draft's :regex): whether a test's values match its keys, and the match variables
// (RFC 5229 §3.2) a successful :matches or :regex leaves behind.

import type { Comparator } from './comparators.js';
import { compileSieveRegex } from './regex-match.js';

export type Relation = 'gt' | 'ge' | 'lt' | 'le' | 'eq' | 'ne';

export const RELATIONS: readonly Relation[] = ['gt', 'ge', 'lt', 'le', 'eq', 'ne'];

export type MatchType =
  | { readonly kind: 'is' | 'contains' | 'matches' | 'regex' }
  | { readonly kind: 'value' | 'count'; readonly relation: Relation };

export const DEFAULT_MATCH_TYPE: MatchType = { kind: 'is' };

/** A run's bound on work: called once per comparison step, throws when the budget is spent. */
export type StepCounter = (steps?: number) => void;

const noSteps: StepCounter = () => {};

export interface MatchOutcome {
  readonly matched: boolean;
  /** ${0}…: the whole matched text, then one entry per wildcard or group; null: none set. */
  readonly captures: readonly string[] | null;
}

const NO_MATCH: MatchOutcome = { matched: false, captures: null };

/**
 * Tests `values` against `keys` (RFC 5228 §2.7: true when any value matches any key). Values
 * are tried in order, each against every key, so the first match sets the match variables.
 * :count compares the number of values (RFC 5231 §4.1), not the values themselves.
 */
export function matchValues(
  matchType: MatchType,
  comparator: Comparator,
  values: readonly string[],
  keys: readonly string[],
  tick: StepCounter = noSteps,
): MatchOutcome {
  if (matchType.kind === 'count') {
    const count = String(values.length);
    for (const key of keys) {
      tick();
      if (holds(matchType.relation, comparator.order(count, key))) return { matched: true, captures: null };
    }
    return NO_MATCH;
  }
  for (const value of values) {
    for (const key of keys) {
      tick();
      const outcome = matchOne(matchType, comparator, value, key, tick);
      if (outcome.matched) return outcome;
    }
  }
  return NO_MATCH;
}

/** One value against one key. */
export function matchOne(
  matchType: MatchType,
  comparator: Comparator,
  value: string,
  key: string,
  tick: StepCounter = noSteps,
): MatchOutcome {
  switch (matchType.kind) {
    case 'is':
      return { matched: comparator.normalise(value) === comparator.normalise(key), captures: null };
    case 'contains':
      tick(Math.ceil(value.length / 64));
      return { matched: comparator.normalise(value).includes(comparator.normalise(key)), captures: null };
    case 'matches': {
      const spans = globMatch(comparator.normalise(value), comparator.normalise(key), tick);
      if (spans === null) return NO_MATCH;
      return { matched: true, captures: [value, ...spans.map(([start, end]) => value.slice(start, end))] };
    }
    case 'regex': {
      const regex = compileSieveRegex(key, comparator.name !== 'i;octet');
      tick(regex.steps(value));
      const captures = regex.match(value);
      return captures === null ? NO_MATCH : { matched: true, captures };
    }
    case 'value':
      return { matched: holds(matchType.relation, comparator.order(value, key)), captures: null };
    case 'count':
      return matchValues(matchType, comparator, [value], [key], tick);
  }
}

function holds(relation: Relation, order: number): boolean {
  switch (relation) {
    case 'gt':
      return order > 0;
    case 'ge':
      return order >= 0;
    case 'lt':
      return order < 0;
    case 'le':
      return order <= 0;
    case 'eq':
      return order === 0;
    case 'ne':
      return order !== 0;
  }
}

type GlobToken = { readonly kind: 'char'; readonly text: string } | { readonly kind: 'one' | 'any' };

/** A :matches key as tokens: `*` and `?` are wildcards, `\` makes the next character literal. */
function globTokens(pattern: string): GlobToken[] {
  const tokens: GlobToken[] = [];
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\\') {
      // A trailing lone backslash stands for itself.
      tokens.push({ kind: 'char', text: chars[i + 1] ?? '\\' });
      i++;
    } else if (c === '*') {
      tokens.push({ kind: 'any' });
    } else if (c === '?') {
      tokens.push({ kind: 'one' });
    } else {
      tokens.push({ kind: 'char', text: c });
    }
  }
  return tokens;
}

/**
 * :matches with match variables. `?` is exactly one character, `*` any run. When more than
 * one split is possible each `*` takes the shortest run that lets the rest match, left to
 * right (RFC 5229 §3.2's "[*] *" example; Pigeonhole answers the same). Only the last `*`
 * ever backtracks, so the work is bounded by value length times key length.
 * Answers the [start, end) code unit span of each wildcard, or null when it does not match.
 */
export function globMatch(
  text: string,
  pattern: string,
  tick: StepCounter = noSteps,
): [number, number][] | null {
  const tokens = globTokens(pattern);
  // Work in code points so `?` takes a whole character; spans go back to code units.
  const chars = Array.from(text);
  const offsets: number[] = [0];
  for (const c of chars) offsets.push(offsets[offsets.length - 1]! + c.length);
  const wildcard: number[] = [];
  let wildcards = 0;
  for (const token of tokens) wildcard.push(token.kind === 'char' ? -1 : wildcards++);
  const spans: [number, number][] = Array.from({ length: wildcards }, () => [0, 0]);
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  let budget = 0;
  while (t < chars.length) {
    if (++budget === 256) {
      tick();
      budget = 0;
    }
    const token = tokens[p];
    if (token?.kind === 'char' && token.text === chars[t]) {
      p++;
      t++;
    } else if (token?.kind === 'one') {
      spans[wildcard[p]!] = [t, t + 1];
      p++;
      t++;
    } else if (token?.kind === 'any') {
      starP = p;
      starT = t;
      spans[wildcard[p]!] = [t, t];
      p++;
    } else if (starP >= 0) {
      starT++;
      spans[wildcard[starP]!] = [spans[wildcard[starP]!]![0], starT];
      p = starP + 1;
      t = starT;
    } else {
      return null;
    }
  }
  while (tokens[p]?.kind === 'any') {
    spans[wildcard[p]!] = [t, t];
    p++;
  }
  if (p !== tokens.length) return null;
  return spans.map(([start, end]) => [offsets[start]!, offsets[end]!]);
}
