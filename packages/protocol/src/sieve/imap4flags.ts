// imap4flags (RFC 5232): setflag/addflag/removeflag on the internal variable or a named
// one, the hasflag test, and the flags keep/fileinto store with (`:flags`, else the
// internal variable, §5). Flags are space-separated, compared case-insensitively (IMAP
// flags are, RFC 3501 §2.3.2), duplicates dropped.

import type { BoundArguments } from './bind-arguments.js';
import type { ScriptContext } from './run-context.js';
import type { SieveCommand, SieveFlags, SieveTest } from './types.js';

const SYSTEM_FLAGS = ['\\seen', '\\answered', '\\flagged', '\\deleted', '\\draft'];

/** The flags of a list of strings, each of which may hold several (RFC 5232 §3). */
export function flagList(strings: readonly string[]): string[] {
  const out: string[] = [];
  for (const text of strings) {
    for (const flag of text.split(/[ \t\r\n]+/)) {
      if (flag === '') continue;
      if (!out.some((have) => have.toLowerCase() === flag.toLowerCase())) out.push(flag);
    }
  }
  return out;
}

/**
 * Whether IMAP can store it: one of the system flags (\Recent is the server's), or a
 * keyword atom (RFC 3501 §9 flag-keyword). Others are dropped when the message is stored,
 * as Pigeonhole does.
 */
export function storableFlag(flag: string): boolean {
  if (flag.startsWith('\\')) return SYSTEM_FLAGS.includes(flag.toLowerCase());
  return /^[\x21-\x7e]+$/.test(flag) && !/[(){%*"\\\]]/.test(flag);
}

/** The flags of a keep/fileinto: `:flags`, else the internal variable (RFC 5232 §5). */
export function storeFlags(ctx: ScriptContext, args: BoundArguments): SieveFlags {
  if (!ctx.has('imap4flags')) return null;
  const given = args.tags.get('flags')?.value;
  const flags = (
    given === undefined || given === null ? ctx.state.flags : flagList(ctx.strings(given))
  ).filter(storableFlag);
  return flags.length > 0 ? flags : null;
}

function readFlags(ctx: ScriptContext, variable: string | null): string[] {
  if (variable === null) return ctx.state.flags;
  return flagList([ctx.getVariable(variable) ?? '']);
}

function writeFlags(ctx: ScriptContext, variable: string | null, flags: string[]): void {
  if (variable === null) ctx.state.flags = flags;
  else ctx.setVariable(variable, flags.join(' '));
}

export function runFlagCommand(ctx: ScriptContext, command: SieveCommand, args: BoundArguments): void {
  const variableArgument = args.positional[0];
  const variable =
    variableArgument === null || variableArgument === undefined ? null : ctx.string(variableArgument, true);
  const given = flagList(ctx.strings(args.positional[1]));
  const current = readFlags(ctx, variable);
  ctx.tick(given.length);
  switch (command.name) {
    case 'setflag':
      writeFlags(ctx, variable, given);
      return;
    case 'addflag':
      writeFlags(ctx, variable, flagList([...current, ...given]));
      return;
    case 'removeflag': {
      const removed = new Set(given.map((flag) => flag.toLowerCase()));
      writeFlags(
        ctx,
        variable,
        current.filter((flag) => !removed.has(flag.toLowerCase())),
      );
      return;
    }
  }
}

/** hasflag (RFC 5232 §4): the flags of the variables (or the internal one) against the keys. */
export function testHasFlag(ctx: ScriptContext, test: SieveTest, args: BoundArguments): boolean {
  const variables = args.positional[0];
  const flags =
    variables === null || variables === undefined
      ? ctx.state.flags
      : ctx.strings(variables, true).flatMap((name) => readFlags(ctx, name));
  // The keys are flag lists too: "a b" is two keys (as Pigeonhole reads them).
  return ctx.match(test, args, flags, flagList(ctx.strings(args.positional[1])));
}
