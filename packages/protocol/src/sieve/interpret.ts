// runSieve: one compiled script run over one message. Control (RFC 5228 §3: if/elsif/else,
// stop; RFC 6609: include, return, global), the actions, and the result: the actions in
// order with the implicit keep last, or, after a run-time error, the implicit keep alone
// (RFC 5228 §2.10.6) with the error.

import { ActionList } from './actions.js';
import { DEFAULT_MAX_INCLUDE_DEPTH, includeKey, ownRequires, readInclude } from './compile-script.js';
import { runEditHeader } from './editheader.js';
import { runFlagCommand, storeFlags } from './imap4flags.js';
import { MessageView } from './message-view.js';
import { runNotify } from './notify-action.js';
import {
  DEFAULT_MAX_ACTIONS,
  DEFAULT_MAX_REDIRECTS,
  DEFAULT_MAX_STEPS,
  type RunState,
  ScriptContext,
} from './run-context.js';
import { extractSieveAddress } from './sieve-syntax.js';
import { evaluateTest } from './tests.js';
import {
  type CompiledSieve,
  type SieveCommand,
  SieveError,
  type SieveInput,
  type SieveResult,
  type SieveScriptAst,
} from './types.js';
import { runVacation } from './vacation-action.js';
import { applyModifiers, type SetModifier } from './variables.js';

/** `stop` (RFC 5228 §3.3): ends the whole run. */
class Stop {}
/** `return` (RFC 6609 §3.3): ends the current script; in the main one, like stop. */
class Return {}

const requiresOf = new WeakMap<SieveScriptAst, ReadonlySet<string>>();

function scriptRequires(ast: SieveScriptAst): ReadonlySet<string> {
  let requires = requiresOf.get(ast);
  if (requires === undefined) {
    requires = ownRequires(ast);
    requiresOf.set(ast, requires);
  }
  return requires;
}

function runBlock(ctx: ScriptContext, commands: readonly SieveCommand[]): void {
  // Whether the current if/elsif chain has already run a branch.
  let taken = true;
  for (const command of commands) {
    ctx.tick();
    switch (command.name) {
      case 'require':
        break;
      case 'if':
        taken = evaluateTest(ctx, command.tests[0]!);
        if (taken) runBlock(ctx, command.block ?? []);
        break;
      case 'elsif':
        if (!taken) {
          taken = evaluateTest(ctx, command.tests[0]!);
          if (taken) runBlock(ctx, command.block ?? []);
        }
        break;
      case 'else':
        if (!taken) runBlock(ctx, command.block ?? []);
        taken = true;
        break;
      default:
        runCommand(ctx, command);
    }
  }
}

function runtimeError(ctx: ScriptContext, command: SieveCommand, reason: string): SieveError {
  return new SieveError(reason, command.position, ctx.script);
}

function runCommand(ctx: ScriptContext, command: SieveCommand): void {
  const state = ctx.state;
  const args = ctx.args(command, false);
  const first = args.positional[0];
  switch (command.name) {
    case 'stop':
      throw new Stop();
    case 'return':
      throw new Return();
    case 'keep':
      state.actions.store(null, storeFlags(ctx, args), { copy: false, create: false }, command.position);
      return;
    case 'discard':
      state.actions.discard(command.position);
      return;
    case 'fileinto': {
      const mailbox = ctx.string(first);
      // RFC 3501 §5.1 names: not empty, no control characters (a CR/LF would corrupt the store).
      // biome-ignore lint/suspicious/noControlCharactersInRegex: exactly the control characters
      if (mailbox === '' || /[\x00-\x1f\x7f]/.test(mailbox)) {
        throw runtimeError(ctx, command, `invalid folder name '${mailbox}' specified for fileinto`);
      }
      state.actions.store(
        mailbox,
        storeFlags(ctx, args),
        { copy: args.tags.has('copy'), create: args.tags.has('create') },
        command.position,
      );
      return;
    }
    case 'redirect': {
      const written = ctx.string(first);
      const address = extractSieveAddress(written);
      if (address === null)
        throw runtimeError(ctx, command, `specified redirect address '${written}' is invalid`);
      state.actions.redirect(address, args.tags.has('copy'), command.position);
      return;
    }
    case 'reject':
    case 'ereject':
      state.actions.reject(ctx.string(first), command.name === 'ereject', command.position);
      return;
    case 'vacation':
      runVacation(ctx, command, args);
      return;
    case 'setflag':
    case 'addflag':
    case 'removeflag':
      runFlagCommand(ctx, command, args);
      return;
    case 'set': {
      const modifiers = [...args.tags.keys()] as SetModifier[];
      const value = applyModifiers(modifiers, ctx.string(args.positional[1]));
      ctx.setVariable(ctx.string(first, true), value);
      return;
    }
    case 'global':
      for (const name of ctx.strings(first, true)) ctx.declareGlobal(name);
      return;
    case 'include':
      runInclude(ctx, command);
      return;
    case 'addheader':
    case 'deleteheader':
      runEditHeader(ctx, command, args);
      return;
    case 'notify':
      runNotify(ctx, command, args);
      return;
    default:
      throw runtimeError(ctx, command, `unknown command '${command.name}'`);
  }
}

function runInclude(ctx: ScriptContext, command: SieveCommand): void {
  const state = ctx.state;
  const reference = readInclude(command);
  const key = includeKey(reference.location, reference.name);
  if (reference.once && state.includedOnce.has(key)) return;
  const included = state.root.includes.get(key);
  if (included === undefined) {
    if (reference.optional) return;
    throw runtimeError(
      ctx,
      command,
      `included ${reference.location} script '${reference.name}' does not exist`,
    );
  }
  if (state.includeDepth >= DEFAULT_MAX_INCLUDE_DEPTH) {
    throw runtimeError(ctx, command, `include nesting deeper than ${DEFAULT_MAX_INCLUDE_DEPTH}`);
  }
  state.includedOnce.add(key);
  state.includeDepth++;
  try {
    runBlock(new ScriptContext(state, scriptRequires(included.ast), key), included.ast.commands);
  } catch (signal) {
    if (!(signal instanceof Return)) throw signal;
  } finally {
    state.includeDepth--;
  }
}

function errorResult(error: SieveError, state: RunState | null): SieveResult {
  return {
    actions: [{ type: 'keep', flags: null, implicit: true }],
    editedMessage: null,
    duplicateChecks: state === null ? [] : [...state.duplicateChecks],
    duplicateMarks: [],
    error,
  };
}

/** Runs a compiled script over one message. Never throws: errors come back in the result. */
export function runSieve(compiled: CompiledSieve, input: SieveInput): SieveResult {
  const limits = input.limits ?? {};
  const state: RunState = {
    input,
    root: compiled,
    message: new MessageView(input.message),
    actions: new ActionList(
      limits.maxActions ?? DEFAULT_MAX_ACTIONS,
      limits.maxRedirects ?? DEFAULT_MAX_REDIRECTS,
    ),
    maxSteps: limits.maxSteps ?? DEFAULT_MAX_STEPS,
    steps: 0,
    globals: new Map(),
    flags: [],
    includedOnce: new Set(),
    includeDepth: 0,
    duplicateChecks: [],
    duplicateMarks: [],
  };
  const main = new ScriptContext(state, scriptRequires(compiled.ast), null);
  // `return` in the main script is a `stop` (RFC 6609 §3.3): a before-script's stop ends it all.
  let stopped = false;
  try {
    runBlock(main, compiled.ast.commands);
  } catch (signal) {
    if (signal instanceof SieveError) return errorResult(signal, state);
    stopped = signal instanceof Stop || signal instanceof Return;
    if (!(signal instanceof Stop) && !(signal instanceof Return)) {
      // A bug, not the script's fault: the message is still kept.
      const reason = signal instanceof Error ? signal.message : String(signal);
      return errorResult(new SieveError(`internal error: ${reason}`, null), state);
    }
  }
  try {
    const implicitFlags =
      compiled.requires.has('imap4flags') && state.flags.length > 0 ? [...state.flags] : null;
    return {
      actions: state.actions.finish(implicitFlags),
      editedMessage: state.message.edited(),
      duplicateChecks: [...state.duplicateChecks],
      duplicateMarks: [...state.duplicateMarks],
      error: null,
      stopped,
    };
  } catch (error) {
    if (error instanceof SieveError) return errorResult(error, state);
    throw error;
  }
}
