// What PUTSCRIPT and CHECKSCRIPT (RFC 5804 §2.6, §2.12) do with a script before they answer:
// it must be UTF-8 and compile (RFC 5228, with the extensions Tegami implements), and the
// error the client shows its user says where the problem is ("line 3, column 5: …"). A
// script that compiles may still draw warnings: an `include` (RFC 6609) of a script that
// does not exist (yet) is no error (scripts may be uploaded in any order), but until it
// exists a delivery that reaches it ends in the implicit keep.

import { compileSieve, SIEVE_EXTENSIONS } from '../sieve/index.js';
import { type SieveCommand, SieveError, type SieveScriptAst } from '../sieve/types.js';
import type { ManageSieveScripts } from './commands/context.js';
import { decodeUtf8 } from './script-names.js';

export type SieveScriptCheck =
  | { readonly ok: true; readonly source: string; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly problem: string };

export interface SieveScriptCheckOptions {
  /** What a script may require; every extension Tegami implements when absent. */
  readonly extensions?: readonly string[];
  /** Longest script, in octets; the compiler's default (1 MiB) when absent. */
  readonly maxScriptBytes?: number;
  /** For the include warnings; none looked for when absent. */
  readonly scripts?: ManageSieveScripts;
  /** The name the script is put under: an include of that name is no missing script. */
  readonly name?: string;
}

export async function checkSieveScript(
  octets: Uint8Array,
  options: SieveScriptCheckOptions = {},
): Promise<SieveScriptCheck> {
  const source = decodeUtf8(octets);
  if (source === undefined) return { ok: false, problem: 'the script is not UTF-8' };
  let ast: SieveScriptAst;
  try {
    ast = compileSieve(source, {
      // The compiler's own default also holds what works without being advertised.
      ...(options.extensions !== undefined &&
        options.extensions !== SIEVE_EXTENSIONS && { extensions: new Set(options.extensions) }),
      ...(options.maxScriptBytes !== undefined && { maxScriptBytes: options.maxScriptBytes }),
    }).ast;
  } catch (err) {
    if (err instanceof SieveError) return { ok: false, problem: err.message };
    throw err;
  }
  const warnings = options.scripts ? await missingIncludes(ast, options.scripts, options.name) : [];
  return { ok: true, source, warnings };
}

interface Include {
  readonly location: 'personal' | 'global';
  readonly name: string;
  readonly line: number;
}

async function missingIncludes(
  ast: SieveScriptAst,
  scripts: ManageSieveScripts,
  self: string | undefined,
): Promise<string[]> {
  const includes = includesOf(ast.commands);
  if (includes.length === 0) return [];
  const personal = new Set((await scripts.list()).map((s) => s.name));
  if (self !== undefined) personal.add(self);
  const warnings: string[] = [];
  for (const include of includes) {
    const exists =
      include.location === 'personal'
        ? personal.has(include.name)
        : ((await scripts.globalExists?.(include.name)) ?? true);
    if (!exists)
      warnings.push(
        `line ${include.line}: include: there is no ${include.location} script named "${include.name}" (yet)`,
      );
  }
  return warnings;
}

/** Every `include` that is not `:optional`, wherever it is in the script. */
function includesOf(commands: readonly SieveCommand[]): Include[] {
  return commands.flatMap((command): Include[] => {
    const nested = command.block ? includesOf(command.block) : [];
    if (command.name !== 'include') return nested;
    const tags = new Set(command.arguments.flatMap((a) => (a.kind === 'tag' ? [a.name] : [])));
    const name = command.arguments.find((a) => a.kind === 'strings')?.values[0];
    if (tags.has('optional') || name === undefined) return nested;
    const location = tags.has('global') ? 'global' : 'personal';
    return [{ location, name, line: command.position.line }, ...nested];
  });
}
