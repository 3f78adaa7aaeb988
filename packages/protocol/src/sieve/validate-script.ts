// Script validation (RFC 5228 §2.10.5: a script with errors is refused as a whole before it
// runs): `require` first, every command and test known and its extension required, the
// argument shapes of the command table, then the checks each command makes of constant
// arguments (comparator names, relations, regex syntax, addresses, date parts…), with
// Pigeonhole's choices of what is an error and what is left for run time.

import { type BoundArguments, bindArguments } from './bind-arguments.js';
import { type CommandSpec, findCommand, findTest } from './command-table.js';
import { findComparator } from './comparators.js';
import { RELATIONS } from './match-types.js';
import { validNotifyMethod } from './notify-action.js';
import { compileSieveRegex } from './regex-match.js';
import { ADDRESS_HEADERS, ENVELOPE_PARTS, isValidHeaderName, isValidSieveAddress } from './sieve-syntax.js';
import {
  type SieveArgument,
  type SieveCommand,
  SieveError,
  type SieveScriptAst,
  type SieveTest,
} from './types.js';
import {
  hasVariableReference,
  isVariableName,
  MODIFIER_EXTENSION,
  MODIFIER_PRECEDENCE,
  type SetModifier,
} from './variables.js';

/** The `require` arguments of a script, checked against what is available. */
export function readRequires(ast: SieveScriptAst, available: ReadonlySet<string>): Set<string> {
  const requires = new Set<string>();
  let leading = true;
  for (const command of ast.commands) {
    if (command.name !== 'require') {
      leading = false;
      continue;
    }
    if (!leading) {
      throw new SieveError(
        'require commands can only be placed at top level at the beginning of the script',
        command.position,
      );
    }
    for (const argument of command.arguments) {
      if (argument.kind !== 'strings') continue;
      for (const capability of argument.values) {
        const name = capability.toLowerCase();
        if (!available.has(name)) {
          throw new SieveError(`require: unknown Sieve capability '${capability}'`, argument.position);
        }
        requires.add(name);
      }
    }
  }
  // RFC 5235 §3.2: spamtestplus includes spamtest.
  if (requires.has('spamtestplus')) requires.add('spamtest');
  // RFC 6131 §2: vacation-seconds extends (and so implies) vacation, as in Pigeonhole.
  if (requires.has('vacation-seconds')) requires.add('vacation');
  return requires;
}

/** Throws the first error found in the script, with its position. */
export function validateScript(ast: SieveScriptAst, requires: ReadonlySet<string>): void {
  new Validator(requires).block(ast.commands, true);
}

function constant(argument: SieveArgument | null | undefined): readonly string[] | null {
  if (argument?.kind !== 'strings') return null;
  return argument.values.some(hasVariableReference) ? null : argument.values;
}

class Validator {
  constructor(private readonly requires: ReadonlySet<string>) {}

  block(commands: readonly SieveCommand[], topLevel: boolean): void {
    let previous: string | null = null;
    for (const command of commands) {
      this.command(command, topLevel, previous);
      previous = command.name;
    }
  }

  private has(extension: string): boolean {
    return this.requires.has(extension);
  }

  private spec(node: SieveCommand | SieveTest, test: boolean): CommandSpec {
    const spec = test ? findTest(node.name) : findCommand(node.name);
    const known =
      spec !== undefined && (spec.extensions.length === 0 || spec.extensions.some((e) => this.has(e)));
    if (!known) throw new SieveError(`unknown ${test ? 'test' : 'command'} '${node.name}'`, node.position);
    return spec;
  }

  private command(command: SieveCommand, topLevel: boolean, previous: string | null): void {
    const spec = this.spec(command, false);
    if (command.name === 'require' && !topLevel) {
      throw new SieveError(
        'require commands can only be placed at top level at the beginning of the script',
        command.position,
      );
    }
    if ((command.name === 'elsif' || command.name === 'else') && previous !== 'if' && previous !== 'elsif') {
      throw new SieveError(
        `the ${command.name} command must follow an if or elsif command`,
        command.position,
      );
    }
    if (spec.block && command.block === null) {
      throw new SieveError(
        `the ${command.name} command requires a command block, but it is missing`,
        command.position,
      );
    }
    if (!spec.block && command.block !== null) {
      throw new SieveError(`the ${command.name} command does not accept a command block`, command.position);
    }
    this.testCount(command, spec);
    const bound = bindArguments(command, spec, this.requires);
    this.checkCommand(command, bound);
    for (const test of command.tests) this.test(test);
    if (command.block !== null) this.block(command.block, false);
  }

  private testCount(node: SieveCommand | SieveTest, spec: CommandSpec): void {
    const kind = spec.test ? 'test' : 'command';
    if (spec.tests === 'none' && node.tests.length > 0) {
      throw new SieveError(`the ${node.name} ${kind} accepts no tests`, node.tests[0]!.position);
    }
    if (spec.tests === 'one' && node.tests.length !== 1) {
      throw new SieveError(`the ${node.name} ${kind} requires exactly one test`, node.position);
    }
    if (spec.tests === 'list' && node.tests.length === 0) {
      throw new SieveError(`the ${node.name} ${kind} requires a list of tests`, node.position);
    }
  }

  private test(test: SieveTest): void {
    const spec = this.spec(test, true);
    this.testCount(test, spec);
    const bound = bindArguments(test, spec, this.requires);
    this.matching(test, bound);
    this.checkTest(test, bound);
    for (const inner of test.tests) this.test(inner);
  }

  /** Comparator, match type and their combination (RFC 5228 §2.7, RFC 5231 §4, regex draft §3). */
  private matching(node: SieveCommand | SieveTest, bound: BoundArguments): void {
    const comparatorArgument = bound.tags.get('comparator');
    let comparatorName = 'i;ascii-casemap';
    if (comparatorArgument?.value?.kind === 'strings') {
      const name = comparatorArgument.value.values[0]!;
      const comparator = findComparator(name);
      if (comparator === null || (comparator.extension !== null && !this.has(comparator.extension))) {
        throw new SieveError(`unknown comparator '${name}'`, comparatorArgument.value.position);
      }
      comparatorName = comparator.name;
      const substring = ['contains', 'matches', 'regex'].find((m) => bound.tags.has(m));
      if (substring === 'regex' && comparator.name !== 'i;octet' && comparator.name !== 'i;ascii-casemap') {
        throw new SieveError(
          'regex match type only supports i;octet and i;ascii-casemap comparators',
          comparatorArgument.value.position,
        );
      }
      if (substring !== undefined && !comparator.substring) {
        throw new SieveError(
          `the ${comparator.name} comparator does not support sub-string matching as required by the :${substring} match type`,
          comparatorArgument.value.position,
        );
      }
    }
    for (const relational of ['value', 'count']) {
      const value = bound.tags.get(relational)?.value;
      if (value?.kind !== 'strings') continue;
      const relation = constant(value);
      if (relation === null || !RELATIONS.includes(relation[0]!.toLowerCase() as never)) {
        throw new SieveError(
          `the :${relational} match type requires a constant string argument being one of "gt", "ge", "lt", "le", "eq" or "ne"`,
          value.position,
        );
      }
    }
    if (bound.tags.has('regex')) {
      if (comparatorName !== 'i;octet' && comparatorName !== 'i;ascii-casemap') {
        throw new SieveError(
          'regex match type only supports i;octet and i;ascii-casemap comparators',
          node.position,
        );
      }
      const keys = bound.positional[bound.positional.length - 1];
      if (keys?.kind === 'strings') {
        for (const key of keys.values) {
          if (hasVariableReference(key)) continue;
          try {
            // As it will run: glibc refuses some keys under REG_ICASE only (`[B-a]`).
            compileSieveRegex(key, comparatorName === 'i;ascii-casemap');
          } catch (error) {
            throw new SieveError(error instanceof SieveError ? error.reason : String(error), keys.position);
          }
        }
      }
    }
  }

  private checkCommand(command: SieveCommand, bound: BoundArguments): void {
    const first = bound.positional[0];
    switch (command.name) {
      case 'redirect': {
        const address = constant(first)?.[0];
        if (address !== undefined && !isValidSieveAddress(address)) {
          throw new SieveError(`specified redirect address '${address}' is invalid`, first!.position);
        }
        break;
      }
      case 'set':
        this.setCommand(bound);
        break;
      case 'setflag':
      case 'addflag':
      case 'removeflag':
        this.variableNames(command, 'command', first ?? null);
        break;
      case 'vacation':
        this.vacation(bound);
        break;
      case 'include': {
        const name = first?.kind === 'strings' ? first.values[0]! : '';
        if (name === '' || name.includes('/') || name.length > 255 || hasVariableReference(name)) {
          throw new SieveError(`include: invalid script name '${name}'`, first?.position ?? command.position);
        }
        break;
      }
      case 'global':
        if (first?.kind === 'strings') {
          for (const name of first.values) {
            if (!isVariableName(name))
              throw new SieveError(`invalid variable name '${name}'`, first.position);
          }
        }
        break;
      case 'addheader':
      case 'deleteheader': {
        const name = constant(first)?.[0];
        if (name !== undefined && !isValidHeaderName(name)) {
          throw new SieveError(
            `${command.name} command: specified field name '${name}' is invalid`,
            first!.position,
          );
        }
        if (command.name === 'deleteheader') {
          this.index(command, bound);
          this.matching(command, bound);
        }
        break;
      }
      case 'notify':
        this.notify(bound, first ?? null);
        break;
    }
  }

  private setCommand(bound: BoundArguments): void {
    const name = bound.positional[0];
    if (name?.kind === 'strings') {
      // RFC 6609 §3.5: with include, "global.name" sets a global variable.
      const written = name.values[0]!;
      const global = this.has('include') && /^global\./i.test(written);
      if (!isVariableName(global ? written.slice(7) : written)) {
        throw new SieveError(`invalid variable name '${written}'`, name.position);
      }
    }
    const seen = new Map<number, string>();
    for (const [modifier, { tag }] of bound.tags) {
      const extension = MODIFIER_EXTENSION[modifier as SetModifier];
      if (extension !== undefined && !this.has(extension)) {
        throw new SieveError(`unknown tagged argument ':${modifier}' for the set command`, tag.position);
      }
      const precedence = MODIFIER_PRECEDENCE[modifier as SetModifier];
      const other = seen.get(precedence);
      if (other !== undefined) {
        throw new SieveError(
          `modifiers :${other} and :${modifier} specified for the set command conflict having equal precedence`,
          tag.position,
        );
      }
      seen.set(precedence, modifier);
    }
  }

  private variableNames(node: SieveCommand | SieveTest, kind: string, names: SieveArgument | null): void {
    if (names === null || names.kind !== 'strings') return;
    if (!this.has('variables')) {
      throw new SieveError(
        `the ${node.name} ${kind} only allows a variable name when the variables extension is active`,
        names.position,
      );
    }
    for (const name of names.values) {
      if (!isVariableName(name)) throw new SieveError(`invalid variable name '${name}'`, names.position);
    }
  }

  private vacation(bound: BoundArguments): void {
    const from = bound.tags.get('from')?.value;
    const address = constant(from)?.[0];
    if (address !== undefined && !isValidSieveAddress(address)) {
      throw new SieveError(
        `specified :from address '${address}' is invalid for vacation action`,
        from!.position,
      );
    }
    const addresses = bound.tags.get('addresses')?.value;
    for (const each of constant(addresses) ?? []) {
      if (!isValidSieveAddress(each)) {
        throw new SieveError(
          `specified :addresses item '${each}' is invalid for vacation action`,
          addresses!.position,
        );
      }
    }
  }

  private notify(bound: BoundArguments, method: SieveArgument | null): void {
    const uri = constant(method)?.[0];
    if (uri !== undefined && !validNotifyMethod(uri)) {
      const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1] ?? uri;
      throw new SieveError(`notify command: invalid method '${scheme}'`, method!.position);
    }
    const importance = bound.tags.get('importance')?.value;
    const level = constant(importance)?.[0];
    if (level !== undefined && !['1', '2', '3'].includes(level)) {
      throw new SieveError(`invalid :importance value for notify command: ${level}`, importance!.position);
    }
    const from = bound.tags.get('from')?.value;
    const address = constant(from)?.[0];
    if (address !== undefined && !isValidSieveAddress(address)) {
      throw new SieveError(
        `specified :from address '${address}' is invalid for the notify command`,
        from!.position,
      );
    }
  }

  private index(node: SieveCommand | SieveTest, bound: BoundArguments): void {
    const index = bound.tags.get('index');
    if (bound.tags.has('last') && index === undefined) {
      throw new SieveError(
        `the :last tag for the ${node.name} ${findTest(node.name) ? 'test' : 'command'} cannot be specified without the :index tag`,
        bound.tags.get('last')!.tag.position,
      );
    }
    if (index?.value?.kind === 'number' && index.value.value === 0) {
      throw new SieveError(`the :index tag for the ${node.name} test cannot be zero`, index.value.position);
    }
  }

  private checkTest(test: SieveTest, bound: BoundArguments): void {
    const first = bound.positional[0];
    switch (test.name) {
      case 'address':
      case 'header':
      case 'date':
        this.index(test, bound);
        if (test.name === 'address') {
          for (const name of constant(first) ?? []) {
            if (!ADDRESS_HEADERS.has(name.toLowerCase())) {
              throw new SieveError(
                `specified header '${name}' is not allowed for the address test`,
                first!.position,
              );
            }
          }
        }
        break;
      case 'envelope':
        for (const part of constant(first) ?? []) {
          if (!ENVELOPE_PARTS.has(part.toLowerCase())) {
            throw new SieveError(
              `specified envelope part '${part}' is not supported by the envelope test`,
              first!.position,
            );
          }
        }
        break;
      case 'size':
        if (!bound.tags.has('over') && !bound.tags.has('under')) {
          throw new SieveError('the size test requires either the :under or the :over tag', test.position);
        }
        break;
      case 'hasflag':
        this.variableNames(test, 'test', first ?? null);
        break;
      case 'duplicate':
        break;
    }
  }
}
