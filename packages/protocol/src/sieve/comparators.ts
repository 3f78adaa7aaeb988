// Sieve comparators (RFC 5228 §2.7.3, RFC 4790 §9): how a value and a key are compared.
// Each one says what it supports: every comparator answers equality, the casemap and octet
// ones also substrings (:contains, :matches, :regex), and all of them an ordering for the
// relational match types (RFC 5231).

export type ComparatorName = 'i;octet' | 'i;ascii-casemap' | 'i;ascii-numeric' | 'i;unicode-casemap';

export interface Comparator {
  readonly name: ComparatorName;
  /** The extension a script must require to use it; null: always available. */
  readonly extension: string | null;
  /** Supports :contains / :matches / :regex (RFC 4790 §4.2.2 "substring"). */
  readonly substring: boolean;
  /**
   * The form both sides are compared in: equal strings compare equal, and for substring
   * comparators a character of the key matches a character of the value when their
   * normal forms are equal. Must keep one code unit per code unit (match variables are cut
   * from the original text by index) for the substring comparators.
   */
  normalise(text: string): string;
  /** Negative, zero or positive as value sorts before, with or after key. */
  order(value: string, key: string): number;
}

/** Upper-case ASCII letters folded to lower case, nothing else touched (RFC 4790 §9.2). */
export function asciiLowerCase(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/** Code point order, which is the order of the UTF-8 octets (RFC 4790 §9.1). */
function octetOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/**
 * i;ascii-numeric (RFC 4790 §9.1.1): the decimal number the string starts with; a string
 * that does not start with a digit is positive infinity (equal to every other such string).
 * Compared as digit strings, so numbers of any length stay exact.
 */
export function numericOrder(a: string, b: string): number {
  const x = leadingDigits(a);
  const y = leadingDigits(b);
  if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

function leadingDigits(text: string): string | null {
  const digits = /^[0-9]+/.exec(text)?.[0];
  if (digits === undefined) return null;
  return digits.replace(/^0+(?=.)/, '');
}

const octet: Comparator = {
  name: 'i;octet',
  extension: null,
  substring: true,
  normalise: (text) => text,
  order: octetOrder,
};

const asciiCasemap: Comparator = {
  name: 'i;ascii-casemap',
  extension: null,
  substring: true,
  normalise: asciiLowerCase,
  order: (a, b) => octetOrder(asciiLowerCase(a), asciiLowerCase(b)),
};

const asciiNumeric: Comparator = {
  name: 'i;ascii-numeric',
  extension: 'comparator-i;ascii-numeric',
  substring: false,
  normalise: (text) => leadingDigits(text) ?? '\u{10ffff}infinity',
  order: numericOrder,
};

/**
 * i;unicode-casemap (RFC 5051) approximated by full case folding per character: each
 * character is folded on its own (so indices still line up), which is exact for the
 * characters whose fold is one code unit and close enough for the rest. Not advertised
 * in SIEVE_EXTENSIONS (Pigeonhole does not have it either); available when required.
 */
function unicodeFold(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const folded = c.toLowerCase();
    out += folded.length === 1 ? folded : c;
  }
  return out;
}

const unicodeCasemap: Comparator = {
  name: 'i;unicode-casemap',
  extension: 'comparator-i;unicode-casemap',
  substring: true,
  normalise: unicodeFold,
  order: (a, b) => octetOrder(a.normalize('NFKD').toLowerCase(), b.normalize('NFKD').toLowerCase()),
};

const comparators: ReadonlyMap<string, Comparator> = new Map(
  [octet, asciiCasemap, asciiNumeric, unicodeCasemap].map((c) => [c.name, c]),
);

/** The comparator by its RFC 4790 name (case-insensitive), or null when unknown. */
export function findComparator(name: string): Comparator | null {
  return comparators.get(asciiLowerCase(name)) ?? null;
}

/** RFC 5228 §2.7.3: the default for every test that takes a comparator. */
export const DEFAULT_COMPARATOR = asciiCasemap;
export const OCTET_COMPARATOR = octet;
