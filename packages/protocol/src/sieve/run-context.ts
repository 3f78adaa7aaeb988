// The state of one run and of each script in it (the main one, and those it includes):
// the step budget, the message, the actions, variables (RFC 5229 local, RFC 6609 §3.4
// global), match variables, the imap4flags internal variable (RFC 5232 §3), and the
// helpers every command and test uses to read its arguments.

import type { ActionList } from './actions.js';
import { type BoundArguments, bindArguments, type ValueArgument } from './bind-arguments.js';
import { findCommand, findTest } from './command-table.js';
import { type Comparator, DEFAULT_COMPARATOR, findComparator } from './comparators.js';
import { DEFAULT_MATCH_TYPE, type MatchType, matchValues, type Relation } from './match-types.js';
import type { MessageView } from './message-view.js';
import type { CompiledSieve, DuplicateMark, SieveCommand, SieveInput, SieveTest } from './types.js';
import { SieveError } from './types.js';
import { expandVariables, limitVariableValue } from './variables.js';

export const DEFAULT_MAX_STEPS = 1_000_000;
export const DEFAULT_MAX_REDIRECTS = 4;
export const DEFAULT_MAX_ACTIONS = 32;

/** What is shared by every script of one run. */
export interface RunState {
  readonly input: SieveInput;
  readonly root: CompiledSieve;
  readonly message: MessageView;
  readonly actions: ActionList;
  readonly maxSteps: number;
  steps: number;
  /** RFC 6609 §3.4: variables declared `global`, shared by all scripts. */
  readonly globals: Map<string, string>;
  /** RFC 5232 §3: the internal flag variable keep/fileinto use without :flags. */
  flags: string[];
  /** Include :once (RFC 6609 §3.2): scripts already run. */
  readonly includedOnce: Set<string>;
  includeDepth: number;
  readonly duplicateChecks: string[];
  readonly duplicateMarks: DuplicateMark[];
}

const bound = new WeakMap<SieveCommand | SieveTest, BoundArguments>();

/** One script being run: its own requires and variables. */
export class ScriptContext {
  private readonly locals = new Map<string, string>();
  private readonly globalNames = new Set<string>();
  /** ${0}…${9} (RFC 5229 §3.2). */
  private matches: readonly string[] = [];

  constructor(
    readonly state: RunState,
    readonly requires: ReadonlySet<string>,
    /** Null for the main script, `personal:name` for an included one. */
    readonly script: string | null,
  ) {}

  has(extension: string): boolean {
    return this.requires.has(extension);
  }

  /** Counts work; throws when the run's budget is spent. */
  tick(steps = 1): void {
    this.state.steps += steps;
    if (this.state.steps > this.state.maxSteps) {
      throw new SieveError(`script took more than ${this.state.maxSteps} steps`, null, this.script);
    }
  }

  readonly ticker = (steps?: number): void => this.tick(steps);

  /** The arguments of a validated node, read once per node. */
  args(node: SieveCommand | SieveTest, test: boolean): BoundArguments {
    let args = bound.get(node);
    if (args === undefined) {
      const spec = test ? findTest(node.name) : findCommand(node.name);
      if (spec === undefined)
        throw new SieveError(`unknown ${test ? 'test' : 'command'} '${node.name}'`, node.position);
      args = bindArguments(node, spec, this.requires);
      bound.set(node, args);
    }
    return args;
  }

  // ---- variables

  declareGlobal(name: string): void {
    this.globalNames.add(name.toLowerCase());
  }

  getVariable(name: string): string | null {
    const key = name.toLowerCase();
    if (key.startsWith('global.')) return this.state.globals.get(key.slice(7)) ?? null;
    if (this.globalNames.has(key)) return this.state.globals.get(key) ?? '';
    return this.locals.get(key) ?? null;
  }

  setVariable(name: string, value: string): void {
    const key = name.toLowerCase();
    const limited = limitVariableValue(value);
    if (key.startsWith('global.')) this.state.globals.set(key.slice(7), limited);
    else if (this.globalNames.has(key)) this.state.globals.set(key, limited);
    else this.locals.set(key, limited);
  }

  setMatches(captures: readonly string[]): void {
    this.matches = captures.slice(0, 10);
  }

  /** `${…}` substitution, only in scripts that require "variables" (RFC 5229 §3). */
  expand(text: string): string {
    if (!this.has('variables')) return text;
    return expandVariables(text, {
      lookup: (name) => this.getVariable(name),
      matchVariable: (index) => this.matches[index] ?? '',
    });
  }

  // ---- argument values

  strings(argument: ValueArgument | null | undefined, literal = false): string[] {
    if (argument?.kind !== 'strings') return [];
    return literal ? [...argument.values] : argument.values.map((value) => this.expand(value));
  }

  string(argument: ValueArgument | null | undefined, literal = false): string {
    return this.strings(argument, literal)[0] ?? '';
  }

  number(argument: ValueArgument | null | undefined): number {
    return argument?.kind === 'number' ? argument.value : 0;
  }

  tagString(args: BoundArguments, tag: string): string | null {
    const value = args.tags.get(tag)?.value;
    return value === undefined || value === null ? null : this.string(value);
  }

  tagNumber(args: BoundArguments, tag: string): number | null {
    const value = args.tags.get(tag)?.value;
    return value?.kind === 'number' ? value.value : null;
  }

  // ---- matching

  comparator(args: BoundArguments, fallback: Comparator = DEFAULT_COMPARATOR): Comparator {
    const name = args.tags.get('comparator')?.value;
    if (name?.kind !== 'strings') return fallback;
    return findComparator(name.values[0]!) ?? fallback;
  }

  matchType(args: BoundArguments): MatchType {
    for (const kind of ['is', 'contains', 'matches', 'regex'] as const) {
      if (args.tags.has(kind)) return { kind };
    }
    for (const kind of ['value', 'count'] as const) {
      const relation = args.tags.get(kind)?.value;
      if (relation?.kind === 'strings') {
        return { kind, relation: relation.values[0]!.toLowerCase() as Relation };
      }
    }
    return DEFAULT_MATCH_TYPE;
  }

  /**
   * Matches values against keys with the node's comparator and match type; a successful
   * :matches/:regex sets the match variables (RFC 5229 §3.2). A bad :regex key built from
   * variables is a run-time error at the node.
   */
  match(
    node: SieveCommand | SieveTest,
    args: BoundArguments,
    values: readonly string[],
    keys: readonly string[],
    fallback?: Comparator,
    capture = true,
  ): boolean {
    const matchType = this.matchType(args);
    let outcome: ReturnType<typeof matchValues>;
    try {
      outcome = matchValues(matchType, this.comparator(args, fallback), values, keys, this.ticker);
    } catch (error) {
      if (error instanceof SieveError && error.position === null && error.script === null) {
        throw new SieveError(error.reason, node.position, this.script);
      }
      throw error;
    }
    if (capture && outcome.matched && outcome.captures !== null && this.has('variables')) {
      this.setMatches(outcome.captures);
    }
    return outcome.matched;
  }
}

/**
 * RFC 5260 §6 :index/:last: only the n-th field of each name (counted from the end with
 * :last); fields beyond the count select nothing.
 */
export function indexed<T>(ctx: ScriptContext, args: BoundArguments, items: readonly T[]): readonly T[] {
  const index = ctx.tagNumber(args, 'index');
  if (index === null) return items;
  const at = args.tags.has('last') ? items.length - index : index - 1;
  const item = items[at];
  return item === undefined ? [] : [item];
}
