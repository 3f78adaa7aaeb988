// Reads a command's or test's arguments against its CommandSpec (RFC 5228 §2.6): tagged
// arguments with the value that follows them, then the positional ones in order. The
// validator calls it to check a script; the interpreter calls it again (memoised per node)
// to read the arguments it already knows are well-formed.

import type { CommandSpec, PositionalSpec, TagSpec, ValueKind } from './command-table.js';
import { type SieveArgument, type SieveCommand, SieveError, type SieveTest } from './types.js';

export type ValueArgument = Exclude<SieveArgument, { kind: 'tag' }>;

export interface BoundArguments {
  /** Each tag present, with the argument that followed it (null for a plain tag). */
  readonly tags: ReadonlyMap<string, { readonly tag: SieveArgument; readonly value: ValueArgument | null }>;
  /** One entry per PositionalSpec, null where an optional one was left out. */
  readonly positional: readonly (ValueArgument | null)[];
}

function describeKind(kind: ValueKind): string {
  return kind === 'string' ? 'a string' : kind === 'number' ? 'a number' : 'a string list';
}

function describeArgument(argument: SieveArgument): string {
  if (argument.kind === 'number') return 'a number';
  if (argument.kind === 'tag') return `tag ':${argument.name}'`;
  return argument.single ? 'a string' : 'a string list';
}

export function fits(argument: SieveArgument, kind: ValueKind): boolean {
  if (kind === 'number') return argument.kind === 'number';
  if (argument.kind !== 'strings') return false;
  // A string list is accepted where a list is expected; a single string in either place.
  return kind === 'string-list' || argument.single;
}

function whatItIs(node: SieveCommand | SieveTest, spec: CommandSpec): string {
  return `the ${node.name} ${spec.test ? 'test' : 'command'}`;
}

/** Checks and binds the arguments; throws SieveError at the offending argument. */
export function bindArguments(
  node: SieveCommand | SieveTest,
  spec: CommandSpec,
  requires: ReadonlySet<string>,
): BoundArguments {
  const tags = new Map<string, { tag: SieveArgument; value: ValueArgument | null }>();
  const groups = new Map<string, string>();
  const values: ValueArgument[] = [];
  const args = node.arguments;
  for (let i = 0; i < args.length; i++) {
    const argument = args[i]!;
    if (argument.kind !== 'tag') {
      values.push(argument);
      continue;
    }
    if (values.length > 0) {
      throw new SieveError(
        `tagged argument ':${argument.name}' of ${whatItIs(node, spec)} must come before its positional arguments`,
        argument.position,
      );
    }
    const tagSpec: TagSpec | undefined = spec.tags.find(
      (candidate) =>
        candidate.name === argument.name &&
        (candidate.extension === undefined || requires.has(candidate.extension)),
    );
    if (tagSpec === undefined) {
      throw new SieveError(
        `unknown tagged argument ':${argument.name}' for ${whatItIs(node, spec)}`,
        argument.position,
      );
    }
    if (tags.has(tagSpec.name)) {
      throw new SieveError(
        `tag ':${argument.name}' given twice to ${whatItIs(node, spec)}`,
        argument.position,
      );
    }
    if (tagSpec.group !== undefined) {
      const other = groups.get(tagSpec.group);
      if (other !== undefined) {
        throw new SieveError(
          `tags ':${other}' and ':${argument.name}' of ${whatItIs(node, spec)} exclude each other`,
          argument.position,
        );
      }
      groups.set(tagSpec.group, tagSpec.name);
    }
    let value: ValueArgument | null = null;
    if (tagSpec.value !== undefined) {
      const next = args[i + 1];
      if (next === undefined || !fits(next, tagSpec.value)) {
        throw new SieveError(
          `tag ':${argument.name}' of ${whatItIs(node, spec)} expects ${describeKind(tagSpec.value)}${next === undefined ? '' : `, but ${describeArgument(next)} was found`}`,
          (next ?? argument).position,
        );
      }
      value = next as ValueArgument;
      i++;
    }
    tags.set(tagSpec.name, { tag: argument, value });
  }
  return { tags, positional: bindPositional(node, spec, values) };
}

function bindPositional(
  node: SieveCommand | SieveTest,
  spec: CommandSpec,
  values: readonly ValueArgument[],
): (ValueArgument | null)[] {
  const all = spec.positional;
  const required = all.filter((p) => !p.optional).length;
  if (values.length < required || values.length > all.length) {
    const at = values[all.length]?.position ?? node.position;
    const count = required === all.length ? `${all.length}` : `${required} or ${all.length}`;
    throw new SieveError(
      `${whatItIs(node, spec)} expects ${count} positional argument${all.length === 1 ? '' : 's'}, but ${values.length} ${values.length === 1 ? 'was' : 'were'} found`,
      at,
    );
  }
  // At most one optional positional (the table has none with two): leave it out when short.
  const used: readonly PositionalSpec[] = values.length === all.length ? all : all.filter((p) => !p.optional);
  const bound: (ValueArgument | null)[] = [];
  let v = 0;
  for (const p of all) {
    if (!used.includes(p)) {
      bound.push(null);
      continue;
    }
    const value = values[v++]!;
    if (!fits(value, p.kind)) {
      throw new SieveError(
        `${whatItIs(node, spec)} expects ${describeKind(p.kind)} as argument ${v} (${p.name}), but ${describeArgument(value)} was found`,
        value.position,
      );
    }
    bound.push(value);
  }
  return bound;
}
