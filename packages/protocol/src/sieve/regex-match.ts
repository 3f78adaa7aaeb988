// :regex keys (draft-ietf-sieve-regex-01 §3): POSIX extended regular expressions, as
// Pigeonhole hands them to glibc's regcomp(REG_EXTENDED), translated to RE2 syntax and
// matched by re2js, an RE2 port: an automaton, not a backtracker, so the time a match takes
// grows linearly with the value whatever the key (`(a+)+b`, `.*.*.*x` included) and a
// user's script cannot stall the delivery worker.
//
// What the translation has to change: inside brackets `\` is literal and `[:alpha:]`
// classes exist; a lone `)` is literal; `.` matches a newline and `^`/`$` anchor only the
// whole value (no REG_NEWLINE); a repeated repetition (`a**`, `a+?`: never lazy in POSIX)
// needs a group around its operand in RE2; glibc's `\<` `\>` become a boundary plus a
// one-character lookbehind. Where glibc refuses a key (a quantifier with nothing before it,
// a `{` that starts no interval), it is refused here too, as Pigeonhole refuses the script.
// Back-references have no linear-time matcher and are refused.

import { RE2JS } from 're2js';
import { SieveError } from './types.js';

export const MAX_REGEX_KEY = 2048;
export const MAX_REGEX_VALUE = 65_536;
/**
 * RE2 instructions a key may compile to. Matching with groups walks every instruction once
 * per character in the worst case, so this and MAX_REGEX_VALUE bound the work of one match;
 * only counted repetitions (`[a-z]{1000}`) come near it.
 */
export const MAX_REGEX_PROGRAM = 10_000;
/** RE2's own bound on a counted repetition (glibc's is RE_DUP_MAX, 32767). */
const MAX_INTERVAL = 1000;

const classes: Record<string, string> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: '0-9a-zA-Z',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\v\\f\\r',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  print: ' -~',
  graph: '!-~',
  cntrl: '\\x00-\\x1f\\x7f',
  xdigit: '0-9A-Fa-f',
};

/** A class no character belongs to. */
const NOTHING = '[^\\x00-\\x{10FFFF}]';

const reSyntax = new Set(['\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}']);

/** `c` as a literal character in RE2 source (`\-` only matters in a class). */
function literal(c: string, inClass = false): string {
  return reSyntax.has(c) || (inClass && c === '-') ? `\\${c}` : c;
}

/** One key in RE2 syntax, with what compiling it needs to know. */
export interface TranslatedRegex {
  readonly source: string;
  /** It uses `\<` or `\>`, which need re2js's (linear-time, captureless) lookbehinds. */
  readonly lookbehinds: boolean;
}

class Translation {
  private out = '';
  private i = 0;
  /** Where in `out` each open group starts. */
  private readonly open: number[] = [];
  /** Where in `out` the last item that can take a quantifier starts, or -1. */
  private atom = -1;
  /** That item already carries a quantifier. */
  private quantified = false;
  private lookbehinds = false;

  constructor(
    private readonly source: string,
    private readonly caseless: boolean,
  ) {}

  run(): TranslatedRegex {
    const s = this.source;
    while (this.i < s.length) {
      const c = String.fromCodePoint(s.codePointAt(this.i)!);
      this.i += c.length;
      switch (c) {
        case '\\':
          this.escape();
          break;
        case '[':
          this.item(this.bracket());
          break;
        case '(':
          this.open.push(this.out.length);
          this.out += '(';
          this.atom = -1;
          break;
        case ')':
          // glibc reads a `)` that closes nothing as a literal character.
          if (this.open.length === 0) this.item('\\)');
          else {
            const start = this.open.pop()!;
            this.out += ')';
            this.atom = start;
            this.quantified = false;
          }
          break;
        case '|':
          this.out += '|';
          this.atom = -1;
          break;
        case '*':
        case '+':
        case '?':
          this.quantifier(c);
          break;
        case '{':
          this.interval();
          break;
        case '^':
        case '$':
          this.assertion(c);
          break;
        default:
          this.item(c === '.' ? '.' : literal(c));
      }
    }
    if (this.open.length > 0) throw this.error('unmatched (');
    return { source: this.out, lookbehinds: this.lookbehinds };
  }

  /** Appends an item a quantifier may follow. */
  private item(text: string): void {
    this.atom = this.out.length;
    this.quantified = false;
    this.out += text;
  }

  /** Appends an assertion: a quantifier may not follow it (glibc: REG_BADRPT). */
  private assertion(text: string): void {
    this.out += text;
    this.atom = -1;
  }

  private quantifier(text: string): void {
    // POSIX leaves a quantifier with nothing before it undefined; glibc refuses it.
    if (this.atom < 0) throw this.error('invalid preceding regular expression');
    if (this.quantified) {
      // POSIX `a**` is (a*)*, and `a*?` is (a*)?, never lazy; RE2 refuses the first and
      // reads the second as lazy, so the repeated operand gets a group of its own.
      this.out = `${this.out.slice(0, this.atom)}(?:${this.out.slice(this.atom)})`;
    }
    this.out += text;
    this.quantified = true;
  }

  /** `{m}`, `{m,}`, `{m,n}`, `{,n}` from just after the `{` (glibc: REG_EBRACE, REG_BADBR). */
  private interval(): void {
    if (this.atom < 0) throw this.error('invalid preceding regular expression');
    const found = /^([0-9]*)(,([0-9]*))?\}/.exec(this.source.slice(this.i));
    if (found === null) {
      throw this.error(/^[0-9,]*$/.test(this.source.slice(this.i)) ? 'unmatched {' : 'invalid interval');
    }
    const [text, low, comma, high] = found;
    if (low === '' && comma === undefined) throw this.error('invalid interval');
    const min = low === '' ? 0 : Number(low);
    const max = comma === undefined ? min : high === '' ? Number.POSITIVE_INFINITY : Number(high);
    if (max < min) throw this.error('invalid interval');
    if (min > MAX_INTERVAL || (Number.isFinite(max) && max > MAX_INTERVAL))
      throw this.error(`interval counts above ${MAX_INTERVAL} are not supported`);
    this.i += text.length;
    this.quantifier(`{${min}${comma === undefined ? '' : `,${Number.isFinite(max) ? max : ''}`}}`);
  }

  private escape(): void {
    const s = this.source;
    if (this.i >= s.length) throw this.error('trailing backslash');
    const c = String.fromCodePoint(s.codePointAt(this.i)!);
    this.i += c.length;
    switch (c) {
      case 'w':
      case 'W':
        this.item(`\\${c}`);
        break;
      // glibc's \s is [[:space:]], which has the vertical tab RE2's \s lacks.
      case 's':
        this.item('[\\t\\n\\v\\f\\r ]');
        break;
      case 'S':
        this.item('[^\\t\\n\\v\\f\\r ]');
        break;
      case 'b':
      case 'B':
        this.assertion(`\\${c}`);
        break;
      // A word boundary with no word character before it starts a word, one with a word
      // character before it ends one: the exact meaning of glibc's \< and \>.
      case '<':
        this.lookbehinds = true;
        this.assertion('\\b(?<!\\w)');
        break;
      case '>':
        this.lookbehinds = true;
        this.assertion('\\b(?<=\\w)');
        break;
      case '`':
        this.assertion('\\A');
        break;
      case "'":
        this.assertion('\\z');
        break;
      default:
        if (c >= '1' && c <= '9') throw this.error('back-references are not supported');
        // Under REG_ICASE glibc compares the upper-cased value with an escaped letter as
        // written, so `\d` (no digit class in POSIX) or `\c` matches nothing at all, as in
        // Pigeonhole with its default comparator, i;ascii-casemap.
        if (this.caseless && c >= 'a' && c <= 'z') this.item(NOTHING);
        // Any other escaped character stands for itself (`\n` is an n, as in glibc).
        else this.item(literal(c));
    }
  }

  /** A POSIX bracket expression from just after its `[` (POSIX.2 §9.3.5). */
  private bracket(): string {
    const s = this.source;
    let out = '[';
    if (s[this.i] === '^') {
      out += '^';
      this.i++;
    }
    let first = true;
    for (;;) {
      if (this.i >= s.length) throw this.error('unmatched [');
      if (s[this.i] === ']' && !first) {
        this.i++;
        return `${out}]`;
      }
      first = false;
      const start = this.bracketElement();
      if (start.kind === 'class') {
        if (s[this.i] === '-' && s[this.i + 1] !== ']' && this.i + 1 < s.length)
          throw this.error('invalid range end');
        out += start.text;
        continue;
      }
      if (s[this.i] === '-' && this.i + 1 < s.length && s[this.i + 1] !== ']') {
        this.i++;
        const end = this.bracketElement();
        if (end.kind === 'class') throw this.error('invalid range end');
        // Under REG_ICASE glibc upper-cases a range's ends: `[a-z]` is `[A-Z]`, `[B-a]` is
        // refused and `[0-z]` leaves out `[\]^_\``.
        const low = this.upper(start.text);
        const high = this.upper(end.text);
        if (high.codePointAt(0)! < low.codePointAt(0)!) throw this.error('invalid range end');
        // glibc refuses a range that ends where another begins (`[a-c-e]`).
        if (s[this.i] === '-' && this.i + 1 < s.length && s[this.i + 1] !== ']')
          throw this.error('invalid range end');
        out += `${literal(low, true)}-${literal(high, true)}`;
      } else {
        out += literal(start.text, true);
      }
    }
  }

  /** One character, `[.c.]`, `[=c=]` or `[:name:]` inside brackets. */
  private bracketElement(): { kind: 'char' | 'class'; text: string } {
    const s = this.source;
    const kind = s[this.i] === '[' ? s[this.i + 1] : undefined;
    if (kind === ':' || kind === '.' || kind === '=') {
      const end = s.indexOf(`${kind}]`, this.i + 2);
      if (end < 0) throw this.error('unmatched [');
      const name = s.slice(this.i + 2, end);
      this.i = end + 2;
      if (kind === ':') {
        const range = classes[name];
        if (range === undefined) throw this.error(`unknown character class [:${name}:]`);
        return { kind: 'class', text: range };
      }
      // The C locale has no multi-character collating elements and each character is
      // its own equivalence class.
      if (Array.from(name).length !== 1) throw this.error('unsupported collating element');
      return { kind: 'char', text: name };
    }
    const c = String.fromCodePoint(s.codePointAt(this.i)!);
    this.i += c.length;
    return { kind: 'char', text: c };
  }

  /** `c` as glibc's REG_ICASE sees it in a range: upper-cased, ASCII only (the C locale). */
  private upper(c: string): string {
    return this.caseless && c >= 'a' && c <= 'z' ? c.toUpperCase() : c;
  }

  private error(reason: string): Error {
    return new Error(`invalid regular expression '${this.source}': ${reason}`);
  }
}

/**
 * Translates a POSIX extended regular expression to RE2 source, or throws; `caseless` as
 * for REG_ICASE (the source is then compiled caseless too).
 */
export function translatePosixRegex(source: string, caseless = false): TranslatedRegex {
  if (source.length > MAX_REGEX_KEY)
    throw new Error(`regular expression longer than ${MAX_REGEX_KEY} characters`);
  return new Translation(source, caseless).run();
}

/** A compiled :regex key. */
export interface SieveRegex {
  /**
   * The interpreter steps a match on `value` costs. An automaton does at most one step per
   * instruction of the key for each character (NFA; a DFA that keeps building new states
   * does as much), so the charge is the product: 64 of those per step keeps what a whole
   * script can spend on :regex under DEFAULT_MAX_STEPS to about 64 million (a second or
   * two), and refuses one match that would cost more than the script has left.
   */
  steps(value: string): number;
  /**
   * ${0}…${n} of the leftmost-longest match in the value, a group that took no part in it
   * as '', or null when the key matches nowhere. Looks at MAX_REGEX_VALUE characters at most.
   */
  match(value: string): string[] | null;
}

/** DFA memory a cached key may keep between matches (re2js lets each grow to 8 MB). */
const MAX_KEPT_DFA = 1 << 20;

class Re2SieveRegex implements SieveRegex {
  private readonly size: number;

  constructor(private readonly compiled: RE2JS) {
    this.size = compiled.programSize();
  }

  steps(value: string): number {
    return Math.ceil((Math.min(value.length, MAX_REGEX_VALUE) * this.size) / 64);
  }

  match(value: string): string[] | null {
    const subject = value.length > MAX_REGEX_VALUE ? value.slice(0, MAX_REGEX_VALUE) : value;
    try {
      // The boolean test runs on RE2's DFA; finding the groups needs the slower NFA, which
      // only a value that matches pays for.
      if (!this.compiled.test(subject)) return null;
      const found = this.compiled.exec(subject);
      return found === null ? null : Array.from(found, (group: string | undefined) => group ?? '');
    } finally {
      // A hostile key can fill its DFA's 8 MB on one long value; 256 cached keys holding
      // that much would be 2 GB. (The field and method are re2js 2.10's declared API.)
      const dfa = this.compiled.re2().lazyDFA ?? null;
      if (dfa !== null && dfa.stateBudget - dfa.memBudget > MAX_KEPT_DFA) dfa.clearCache();
    }
  }
}

function compile(key: string, caseless: boolean): SieveRegex {
  const translated = translatePosixRegex(key, caseless);
  // LONGEST_MATCH: POSIX picks the longest of the leftmost matches, where Perl syntax picks
  // the first alternative that matches (`a|ab` on "ab" is "a"). Among matches of that
  // length RE2 then takes the first by priority, which agrees with glibc's choice of
  // groups but in corner cases (see regex-match.test.ts).
  let flags = RE2JS.DOTALL | RE2JS.LONGEST_MATCH;
  if (caseless) flags |= RE2JS.CASE_INSENSITIVE;
  if (translated.lookbehinds) flags |= RE2JS.LOOKBEHINDS;
  const compiled = RE2JS.compile(translated.source, flags);
  if (compiled.programSize() > MAX_REGEX_PROGRAM) throw new Error('expression too large');
  return new Re2SieveRegex(compiled);
}

const cache = new Map<string, SieveRegex>();
const MAX_CACHED = 256;

/**
 * The compiled form of a :regex key; `caseless` for i;ascii-casemap (REG_ICASE). Throws a
 * SieveError without a position when the key is not a valid or not an accepted expression;
 * the caller adds where it was.
 */
export function compileSieveRegex(key: string, caseless: boolean): SieveRegex {
  const id = `${caseless ? 'i' : 'o'}${key}`;
  const cached = cache.get(id);
  if (cached !== undefined) return cached;
  let regex: SieveRegex;
  try {
    regex = compile(key, caseless);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    // The translation names the key itself; re2js words its refusals "error parsing regexp: …".
    throw new SieveError(
      reason.startsWith('invalid regular') ? reason : `invalid regular expression '${key}': ${reason}`,
      null,
    );
  }
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(id, regex);
  return regex;
}
