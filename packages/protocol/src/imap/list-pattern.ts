// LIST and LSUB name matching (RFC 3501 §6.3.8, RFC 9051 §6.3.9) and the hierarchy
// walks that \HasChildren, \Noselect and CREATE's superiors need.
//
// Patterns run as a small NFA over the name, one code unit at a time, rather than as a
// RegExp: a backtracking engine takes exponential time on patterns such as `%*%*%*x`,
// and patterns come from clients. The simulation costs O(pattern × name) whatever the input.

const INBOX = 'INBOX';

/** One pattern character: `*` matches anything, `%` anything but the delimiter. */
type PatternStep = { kind: 'any' } | { kind: 'segment' } | { kind: 'literal'; unit: number };

/**
 * The reference and pattern as one pattern, the way Dovecot joins them: the reference is
 * a prefix (its wildcards stay wildcards), and a delimiter at the end of the reference and
 * the start of the pattern is written once, so `LIST "a/" "/b"` means `a/b`.
 */
function joinReference(reference: string, pattern: string, delimiter: string): string {
  if (reference.endsWith(delimiter) && pattern.startsWith(delimiter)) {
    return reference + pattern.slice(delimiter.length);
  }
  return reference + pattern;
}

function compileSteps(pattern: string): PatternStep[] {
  const steps: PatternStep[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const unit = pattern.charCodeAt(i);
    if (unit === 0x2a) {
      // `**` is `*`, and `%*` or `*%` is `*`: dropping the redundant one keeps the
      // state set small without changing what matches.
      const last = steps.at(-1);
      if (last?.kind === 'any') continue;
      if (last?.kind === 'segment') steps.pop();
      steps.push({ kind: 'any' });
    } else if (unit === 0x25) {
      const last = steps.at(-1);
      if (last?.kind === 'any' || last?.kind === 'segment') continue;
      steps.push({ kind: 'segment' });
    } else {
      steps.push({ kind: 'literal', unit });
    }
  }
  return steps;
}

/** "INBOX", or "INBOX" then the delimiter: the part of the name that ignores case. */
function inboxPrefixLength(name: string, delimiter: string): number {
  if (!name.startsWith(INBOX)) return 0;
  if (name.length === INBOX.length || name.startsWith(delimiter, INBOX.length)) return INBOX.length;
  return 0;
}

/** ASCII upper case of one code unit, for comparing against the stored "INBOX". */
function upperAscii(unit: number): number {
  return unit >= 0x61 && unit <= 0x7a ? unit - 0x20 : unit;
}

/**
 * A matcher for LIST's reference and mailbox pattern. `*` matches any run of characters,
 * delimiters included, and `%` any run without the delimiter (RFC 3501 §6.3.8).
 *
 * Names are stored with INBOX spelled "INBOX" (RFC 3501 §5.1: the name is case-insensitive),
 * so a pattern matches "INBOX" and "INBOX/…" whatever the case of the letters it holds for
 * those five characters: `inbox`, `InBoX/%` and `in%` all find INBOX. Only the INBOX part
 * ignores case; `inbox/Sent` does not match "INBOX/sent".
 *
 * `delimiter` must be one UTF-16 code unit.
 */
export function compileListPattern(
  reference: string,
  pattern: string,
  delimiter = '/',
): (name: string) => boolean {
  if (delimiter.length !== 1) throw new RangeError('the hierarchy delimiter must be one character');
  const delimiterUnit = delimiter.charCodeAt(0);
  const steps = compileSteps(joinReference(reference, pattern, delimiter));
  const accepting = steps.length;

  return (name: string): boolean => {
    const caseless = inboxPrefixLength(name, delimiter);
    // active[s]: the pattern has been matched up to step s against the name read so far.
    let active = new Uint8Array(accepting + 1);
    let next = new Uint8Array(accepting + 1);
    active[0] = 1;
    closeOverWildcards(active, steps);

    for (let at = 0; at < name.length; at++) {
      const unit = name.charCodeAt(at);
      const folded = at < caseless;
      next.fill(0);
      let any = false;
      for (let s = 0; s < accepting; s++) {
        if (!active[s]) continue;
        const step = steps[s]!;
        if (step.kind === 'any' || (step.kind === 'segment' && unit !== delimiterUnit)) {
          next[s] = 1;
          any = true;
        } else if (step.kind === 'literal' && (folded ? upperAscii(step.unit) : step.unit) === unit) {
          next[s + 1] = 1;
          any = true;
        }
      }
      if (!any) return false;
      closeOverWildcards(next, steps);
      [active, next] = [next, active];
    }
    return active[accepting] === 1;
  };
}

/** A wildcard may match nothing, so being at a wildcard step also means being past it. */
function closeOverWildcards(active: Uint8Array, steps: readonly PatternStep[]): void {
  for (let s = 0; s < steps.length; s++) {
    if (active[s] && steps[s]!.kind !== 'literal') active[s + 1] = 1;
  }
}

/**
 * The superiors of a hierarchical name, outermost first: "a/b/c" gives ["a", "a/b"].
 * CREATE makes them (RFC 3501 §6.3.3) and LIST shows the missing ones as \Noselect.
 * An empty superior (from a leading or doubled delimiter) is not a mailbox and is skipped.
 */
export function listParents(name: string, delimiter = '/'): string[] {
  const parents: string[] = [];
  for (let at = name.indexOf(delimiter); at >= 0; at = name.indexOf(delimiter, at + delimiter.length)) {
    if (at > 0 && !name.startsWith(delimiter, at - delimiter.length)) parents.push(name.slice(0, at));
  }
  return parents;
}

/** Whether any of `names` is inferior to `name` (RFC 3501 §7.2.2 \HasChildren, RFC 3348). */
export function hasChildIn(name: string, names: Iterable<string>, delimiter = '/'): boolean {
  const prefix = name + delimiter;
  for (const candidate of names) {
    if (candidate.length > prefix.length && candidate.startsWith(prefix)) return true;
  }
  return false;
}
