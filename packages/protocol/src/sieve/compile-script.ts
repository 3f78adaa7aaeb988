// compileSieve: a script's text to a CompiledSieve, or a SieveError with the line and
// column of the first problem. Size limit, UTF-8, parse, `require`, validation, then the
// scripts it includes (RFC 6609), compiled the same way, to a bounded depth, without
// cycles, and present unless :optional.

import { SIEVE_EXTENSIONS } from './command-table.js';
import { decodeSieveSource } from './decode-script.js';
import { decodeScriptEncodedCharacters } from './encoded-character.js';
import { parseSieveScript } from './parse-script.js';
import {
  type CompiledSieve,
  type SieveCommand,
  type SieveCompileOptions,
  SieveError,
  type SieveScriptAst,
} from './types.js';
import { readRequires, validateScript } from './validate-script.js';

export const DEFAULT_MAX_SCRIPT_BYTES = 1024 * 1024;
export const DEFAULT_MAX_INCLUDE_DEPTH = 10;

/** What a script may require unless the caller narrows it; the hidden unicode comparator too. */
const ALL_EXTENSIONS: ReadonlySet<string> = new Set([...SIEVE_EXTENSIONS, 'comparator-i;unicode-casemap']);

export interface IncludeReference {
  readonly location: 'personal' | 'global';
  readonly name: string;
  readonly once: boolean;
  readonly optional: boolean;
}

/** The key of an included script in CompiledSieve.includes. */
export function includeKey(location: 'personal' | 'global', name: string): string {
  return `${location}:${name}`;
}

/** Reads an include command's arguments (already validated). */
export function readInclude(command: SieveCommand): IncludeReference {
  let location: 'personal' | 'global' = 'personal';
  let once = false;
  let optional = false;
  let name = '';
  for (const argument of command.arguments) {
    if (argument.kind === 'tag') {
      if (argument.name === 'global') location = 'global';
      else if (argument.name === 'once') once = true;
      else if (argument.name === 'optional') optional = true;
    } else if (argument.kind === 'strings') {
      name = argument.values[0] ?? '';
    }
  }
  return { location, name, once, optional };
}

function* includeCommands(commands: readonly SieveCommand[]): Generator<SieveCommand> {
  for (const command of commands) {
    if (command.name === 'include') yield command;
    if (command.block !== null) yield* includeCommands(command.block);
  }
}

interface Compilation {
  readonly options: SieveCompileOptions;
  readonly available: ReadonlySet<string>;
  readonly maxDepth: number;
  /** Every included script, compiled once, shared by all scripts of the compilation. */
  readonly includes: Map<string, CompiledSieve>;
  /** Keys being compiled, outermost first: an include of one of them is a cycle. */
  readonly stack: string[];
}

function compileOne(
  source: string | Uint8Array,
  compilation: Compilation,
  script: string | null,
): { ast: SieveScriptAst; requires: Set<string> } {
  const bytes = typeof source === 'string' ? Buffer.byteLength(source, 'utf8') : source.length;
  const max = compilation.options.maxScriptBytes ?? DEFAULT_MAX_SCRIPT_BYTES;
  if (bytes > max) throw new SieveError(`script is too large (${bytes} bytes, at most ${max})`, null, script);
  try {
    let text = typeof source === 'string' ? source : decodeSieveSource(source);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    let ast = parseSieveScript(text);
    const requires = readRequires(ast, compilation.available);
    if (requires.has('encoded-character')) ast = decodeScriptEncodedCharacters(ast);
    validateScript(ast, requires);
    return { ast, requires };
  } catch (error) {
    if (error instanceof SieveError && script !== null && error.script === null) {
      throw new SieveError(error.reason, error.position, script);
    }
    throw error;
  }
}

/** Compiles one included script (unless compiled already) and answers what it requires. */
function compileInclude(
  command: SieveCommand,
  compilation: Compilation,
  lookup: NonNullable<SieveCompileOptions['include']>,
  script: string | null,
): ReadonlySet<string> {
  const reference = readInclude(command);
  const key = includeKey(reference.location, reference.name);
  if (compilation.stack.includes(key)) {
    throw new SieveError(
      `circular include of ${reference.location} script '${reference.name}'`,
      command.position,
      script,
    );
  }
  const done = compilation.includes.get(key);
  if (done !== undefined) return done.requires;
  if (compilation.stack.length >= compilation.maxDepth) {
    throw new SieveError(
      `include nesting deeper than ${compilation.maxDepth} at ${reference.location} script '${reference.name}'`,
      command.position,
      script,
    );
  }
  const source = lookup(reference.location, reference.name);
  if (source === null) {
    // RFC 6609 §3.2: a missing script is an error unless :optional. With the scripts at hand
    // it is found when compiling, as Pigeonhole finds it; without them (ManageSieve's check)
    // the run finds it.
    if (reference.optional) return new Set();
    throw new SieveError(
      `included ${reference.location} script '${reference.name}' does not exist`,
      command.position,
      script,
    );
  }
  compilation.stack.push(key);
  try {
    const compiled = compileScript(source, compilation, key);
    compilation.includes.set(key, compiled);
    return compiled.requires;
  } finally {
    compilation.stack.pop();
  }
}

function compileIncludes(ast: SieveScriptAst, compilation: Compilation, script: string | null): Set<string> {
  const requires = new Set<string>();
  const lookup = compilation.options.include;
  if (lookup === undefined) return requires;
  let firstError: SieveError | null = null;
  for (const command of includeCommands(ast.commands)) {
    try {
      for (const extension of compileInclude(command, compilation, lookup, script)) requires.add(extension);
    } catch (error) {
      if (!(error instanceof SieveError)) throw error;
      // The first error is the one reported, but the includes after it are still looked up:
      // a caller that loads scripts on demand (the delivery worker) learns in one round
      // every name a level asks for, not one missing script per round.
      firstError ??= error;
    }
  }
  if (firstError !== null) throw firstError;
  return requires;
}

function compileScript(
  source: string | Uint8Array,
  compilation: Compilation,
  script: string | null,
): CompiledSieve {
  const { ast, requires } = compileOne(source, compilation, script);
  const included = compileIncludes(ast, compilation, script);
  const all = new Set([...requires, ...included]);
  return { ast, requires: all, includes: compilation.includes };
}

/**
 * Compiles a script (its text, or its bytes, which must be UTF-8). Throws SieveError with
 * the place of the first error; an error in an included script names that script.
 */
export function compileSieve(source: string | Uint8Array, options: SieveCompileOptions = {}): CompiledSieve {
  const compilation: Compilation = {
    options,
    available: options.extensions ?? ALL_EXTENSIONS,
    maxDepth: options.maxIncludeDepth ?? DEFAULT_MAX_INCLUDE_DEPTH,
    includes: new Map(),
    stack: [],
  };
  return compileScript(source, compilation, null);
}

/** The extensions a compiled script's own text requires (not those of its includes). */
export function ownRequires(ast: SieveScriptAst): Set<string> {
  return readRequires(ast, ALL_EXTENSIONS);
}
