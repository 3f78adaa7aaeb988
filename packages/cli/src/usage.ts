/**
 * The grammar of a command's synopsis, which is both what its help prints and what its
 * arguments are parsed with, so the two cannot drift apart (`queue retry --all` was in the
 * help and unknown to the parser). A synopsis is a list of words:
 *
 *   <name>        an operand           [<name>]       an optional one (last only)
 *   <name>...     one or more (last)   [<name>...]    any number (last)
 *   --flag        a flag it requires   [--flag]       a flag it accepts
 *   --flag=<v>    one with a value     [--flag=<v>]   (typed `--flag v` or `--flag=v`)
 *   word          that very word, as an operand (`user quota <address> none`)
 *
 * A command with several synopses (`queue retry <queue-id>`, `queue retry --all`) takes
 * the first that the arguments fit.
 */

export interface Operand {
  readonly name: string;
  /** Set for a literal word: the operand must be exactly this. */
  readonly literal?: string;
  readonly optional: boolean;
  readonly repeated: boolean;
}

export interface Synopsis {
  readonly text: string;
  readonly operands: readonly Operand[];
  readonly requiredFlags: readonly string[];
  readonly optionalFlags: readonly string[];
  /** The flags of the two lists above that take a value, and the value's name. */
  readonly valueFlags: readonly ValueFlag[];
}

export interface ValueFlag {
  readonly flag: string;
  readonly value: string;
}

const OPERAND = /^(\[)?<([a-z][a-z0-9|-]*)>(\.\.\.)?(\])?$/;
const FLAG = /^(\[)?(--[a-z][a-z0-9-]*)(?:=<([a-z][a-z0-9|-]*)>)?(\])?$/;
const LITERAL = /^[a-z][a-z0-9-]*$/;

/** Parses one synopsis; a malformed one is a bug in a command's definition, so it throws. */
export function parseSynopsis(text: string): Synopsis {
  const operands: Operand[] = [];
  const requiredFlags: string[] = [];
  const optionalFlags: string[] = [];
  const valueFlags: ValueFlag[] = [];
  for (const word of text.split(' ').filter((w) => w !== '')) {
    const operand = OPERAND.exec(word);
    const flag = FLAG.exec(word);
    if (operand) {
      const [, open, name, dots, close] = operand;
      if (Boolean(open) !== Boolean(close)) throw new Error(`unbalanced brackets in synopsis: ${text}`);
      const last = operands.at(-1);
      if (last && (last.optional || last.repeated))
        throw new Error(`an optional or repeated operand must come last: ${text}`);
      operands.push({ name: name!, optional: Boolean(open), repeated: Boolean(dots) });
    } else if (flag) {
      const [, open, name, value, close] = flag;
      if (Boolean(open) !== Boolean(close)) throw new Error(`unbalanced brackets in synopsis: ${text}`);
      (open ? optionalFlags : requiredFlags).push(name!);
      if (value !== undefined) valueFlags.push({ flag: name!, value });
    } else if (LITERAL.test(word)) {
      if (operands.some((o) => o.optional || o.repeated))
        throw new Error(`an optional or repeated operand must come last: ${text}`);
      operands.push({ name: word, literal: word, optional: false, repeated: false });
    } else {
      throw new Error(`cannot parse "${word}" in synopsis: ${text}`);
    }
  }
  return { text, operands, requiredFlags, optionalFlags, valueFlags };
}

/** The arguments of one call, bound to the names of the synopsis they fit. */
export class Arguments {
  constructor(
    readonly synopsis: Synopsis,
    private readonly values: ReadonlyMap<string, readonly string[]>,
    private readonly flags: ReadonlySet<string>,
    private readonly flagValues: ReadonlyMap<string, string> = new Map(),
  ) {}

  /** A required operand (the synopsis guarantees it). */
  one(name: string): string {
    const value = this.values.get(name)?.[0];
    if (value === undefined) throw new Error(`bug: no operand <${name}> in "${this.synopsis.text}"`);
    return value;
  }

  optional(name: string): string | undefined {
    return this.values.get(name)?.[0];
  }

  all(name: string): readonly string[] {
    return this.values.get(name) ?? [];
  }

  has(flagOrLiteral: string): boolean {
    return this.flags.has(flagOrLiteral) || this.values.has(flagOrLiteral);
  }

  /** The value of a flag that takes one (`--selector s1`, `--selector=s1`), when given. */
  value(flag: string): string | undefined {
    return this.flagValues.get(flag);
  }
}

export interface SplitArguments {
  readonly flags: string[];
  readonly operands: string[];
  /** The values of the flags that take one. */
  readonly values: Map<string, string>;
  /** A flag that takes a value came last, without it. */
  readonly problem?: string;
}

/**
 * Splits argv into flags and operands: `--` ends the flags, a lone `-` is an operand. A flag
 * of `valueFlags` takes the next argument as its value, or what follows its `=`.
 */
export function splitArguments(
  argv: readonly string[],
  valueFlags: ReadonlySet<string> = new Set(),
): SplitArguments {
  const flags: string[] = [];
  const operands: string[] = [];
  const values = new Map<string, string>();
  let onlyOperands = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (onlyOperands || arg === '-' || !arg.startsWith('-')) operands.push(arg);
    else if (arg === '--') onlyOperands = true;
    else {
      const equals = arg.indexOf('=');
      const name = equals > 0 ? arg.slice(0, equals) : arg;
      if (!valueFlags.has(name)) {
        flags.push(arg);
        continue;
      }
      flags.push(name);
      if (equals > 0) values.set(name, arg.slice(equals + 1));
      else if (i + 1 < argv.length) values.set(name, argv[++i]!);
      else return { flags, operands, values, problem: `${name} needs a value` };
    }
  }
  return { flags, operands, values };
}

/** Binds the arguments to the first synopsis they fit; otherwise says what is wrong. */
export function matchArguments(
  synopses: readonly Synopsis[],
  argv: readonly string[],
): { ok: true; args: Arguments } | { ok: false; problem: string } {
  const valueFlags = new Set(synopses.flatMap((s) => s.valueFlags.map((v) => v.flag)));
  const { flags, operands, values, problem } = splitArguments(argv, valueFlags);
  if (problem !== undefined) return { ok: false, problem };
  // A literal word is more specific than an operand in its place: `none` is not a <size>.
  const literals = (s: Synopsis) => s.operands.filter((o) => o.literal !== undefined).length;
  for (const synopsis of [...synopses].sort((a, b) => literals(b) - literals(a))) {
    const args = bind(synopsis, flags, operands, values);
    if (args) return { ok: true, args };
  }
  return { ok: false, problem: diagnose(synopses, flags, operands) };
}

function bind(
  synopsis: Synopsis,
  flags: readonly string[],
  operands: readonly string[],
  flagValues: ReadonlyMap<string, string>,
): Arguments | undefined {
  const accepted = new Set([...synopsis.requiredFlags, ...synopsis.optionalFlags]);
  if (!flags.every((flag, i) => accepted.has(flag) && flags.indexOf(flag) === i)) return undefined;
  if (!synopsis.requiredFlags.every((flag) => flags.includes(flag))) return undefined;
  const values = new Map<string, string[]>();
  let next = 0;
  for (const operand of synopsis.operands) {
    if (operand.repeated) {
      const rest = operands.slice(next);
      if (rest.length === 0 && !operand.optional) return undefined;
      if (rest.length > 0) values.set(operand.name, rest);
      next = operands.length;
    } else if (next < operands.length) {
      const value = operands[next++]!;
      if (operand.literal !== undefined && value !== operand.literal) return undefined;
      values.set(operand.name, [value]);
    } else if (!operand.optional) {
      return undefined;
    }
  }
  if (next < operands.length) return undefined;
  return new Arguments(synopsis, values, new Set(flags), flagValues);
}

/** One line for the first thing wrong, judged against the synopsis the flags point to. */
function diagnose(
  synopses: readonly Synopsis[],
  flags: readonly string[],
  operands: readonly string[],
): string {
  const known = new Set(synopses.flatMap((s) => [...s.requiredFlags, ...s.optionalFlags]));
  const unknown = flags.find((flag) => !known.has(flag));
  if (unknown !== undefined) return `unknown option ${unknown}`;
  const repeated = flags.find((flag, i) => flags.indexOf(flag) !== i);
  if (repeated !== undefined) return `${repeated} given twice`;
  const fitting = synopses.filter(
    (s) =>
      flags.every((f) => s.requiredFlags.includes(f) || s.optionalFlags.includes(f)) &&
      s.requiredFlags.every((f) => flags.includes(f)),
  );
  const synopsis = fitting[0];
  if (!synopsis) return `${flags.join(' ')} do not go together`;
  // What would make it fit, by each synopsis: `missing <queue-id> or --all`.
  const wanted = synopses.flatMap((s) => {
    const required = s.operands.filter((o) => !o.optional);
    if (operands.length < required.length) {
      const next = required[operands.length]!;
      return [next.literal ?? `<${next.name}>`];
    }
    return s.operands.length >= operands.length ? s.requiredFlags.filter((f) => !flags.includes(f)) : [];
  });
  const required = synopsis.operands.filter((o) => !o.optional);
  if (operands.length < required.length) return `missing ${[...new Set(wanted)].join(' or ')}`;
  const extra = operands[synopsis.operands.length];
  if (extra !== undefined && !synopsis.operands.some((o) => o.repeated))
    return `unexpected argument "${extra}"`;
  const literal = synopsis.operands.find((o, i) => o.literal !== undefined && operands[i] !== o.literal);
  return literal ? `expected ${literal.literal}` : 'these arguments do not fit';
}

/** Sample arguments that fit a synopsis, as a reader of the help would type them. */
export function exampleArguments(synopsis: Synopsis): string[] {
  const argv: string[] = [];
  for (const operand of synopsis.operands) {
    const value = operand.literal ?? `${operand.name.split('|')[0]}-1`;
    argv.push(value);
    if (operand.repeated) argv.push(`${operand.name}-2`);
  }
  const flags = [...synopsis.requiredFlags, ...synopsis.optionalFlags].flatMap((flag) => {
    const value = synopsis.valueFlags.find((v) => v.flag === flag);
    return value ? [flag, `${value.value.split('|')[0]}-1`] : [flag];
  });
  return [...argv, ...flags];
}
