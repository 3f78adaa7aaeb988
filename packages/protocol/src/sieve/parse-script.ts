// The Sieve parser (RFC 5228 §8.2/§8.3): tokens → the generic syntax tree. It knows no
// command or test by name (the validator does), so an extension needs no change here.
//
//   commands  = *command
//   command   = identifier arguments (";" / block)
//   block     = "{" commands "}"
//   arguments = *argument [ test / test-list ]
//   argument  = string-list / number / tag
//   test      = identifier arguments
//   test-list = "(" test *("," test) ")"
//
// Blocks and tests nest without recursion, on explicit stacks, so a hostile script cannot
// overflow the JavaScript stack; nesting is still capped, because whatever walks the tree
// afterwards may recurse.

import { describeCharacter, SieveLexer, type SieveToken } from './lex-script.js';
import {
  type SieveArgument,
  type SieveCommand,
  SieveError,
  type SieveScriptAst,
  type SieveTest,
  type SourcePosition,
} from './types.js';

export { decodeSieveSource } from './decode-script.js';

/** Blocks and tests nested deeper than this (counted together) are refused. */
export const MAX_SIEVE_NESTING = 256;

/** A command or test being read: its children arrive before it is complete. */
interface OpenNode {
  readonly name: string;
  readonly position: SourcePosition;
  readonly arguments: SieveArgument[];
  readonly tests: SieveTest[];
  /** Where the test list `(` of this node opened, while it is being read. */
  listOpen: SourcePosition | null;
}

/** A `{ … }` being read, with the command it belongs to (null: the script itself). */
interface OpenBlock {
  readonly owner: OpenNode | null;
  readonly commands: SieveCommand[];
  readonly opened: SourcePosition | null;
}

function describeToken(token: SieveToken): string {
  switch (token.type) {
    case 'end':
      return 'the end of the script';
    case 'identifier':
      return `identifier "${token.text}"`;
    case 'tag':
      return `tag ":${token.text}"`;
    case 'number':
      return `number ${token.text}`;
    case 'string': {
      const shown = token.text.length > 40 ? `${token.text.slice(0, 40)}…` : token.text;
      return `string ${JSON.stringify(shown)}`;
    }
    default:
      return describeCharacter(token.type);
  }
}

function fail(reason: string, token: SieveToken): never {
  throw new SieveError(`${reason}, found ${describeToken(token)}`, token.position);
}

function newNode(token: SieveToken): OpenNode {
  return { name: token.text, position: token.position, arguments: [], tests: [], listOpen: null };
}

function readArguments(lexer: SieveLexer, node: OpenNode, what: string): void {
  for (;;) {
    const token = lexer.peek();
    if (token.type === 'string') {
      lexer.next();
      node.arguments.push({ kind: 'strings', values: [token.text], single: true, position: token.position });
    } else if (token.type === 'number') {
      lexer.next();
      node.arguments.push({ kind: 'number', value: token.value, position: token.position });
    } else if (token.type === 'tag') {
      lexer.next();
      node.arguments.push({ kind: 'tag', name: token.text, position: token.position });
    } else if (token.type === '[') {
      lexer.next();
      node.arguments.push(readStringList(lexer, token.position, `${what} "${node.name}"`));
    } else {
      return;
    }
  }
}

// string-list = "[" string *("," string) "]" (RFC 5228 §2.4.2.1): at least one string.
function readStringList(lexer: SieveLexer, opened: SourcePosition, owner: string): SieveArgument {
  const values: string[] = [];
  for (;;) {
    const item = lexer.next();
    if (item.type !== 'string') {
      fail(
        values.length === 0
          ? `expected a string in the string list of ${owner}`
          : `expected a string after ',' in the string list of ${owner}`,
        item,
      );
    }
    values.push(item.text);
    const separator = lexer.next();
    if (separator.type === ']') return { kind: 'strings', values, single: false, position: opened };
    if (separator.type !== ',') {
      fail(
        `expected ',' or ']' in the string list opened at line ${opened.line}, column ${opened.column}`,
        separator,
      );
    }
  }
}

function closeNode(node: OpenNode): SieveTest {
  return { name: node.name, arguments: node.arguments, tests: node.tests, position: node.position };
}

/**
 * Reads the test or test list that may follow a command's arguments, with every test
 * nested in it. Returns when the command's tests are complete.
 */
function readTests(lexer: SieveLexer, command: OpenNode, depth: number): void {
  // stack[0] is the command; each later entry is a test inside the one before it.
  const stack: OpenNode[] = [command];
  let node = command;
  for (;;) {
    const token = lexer.peek();
    let child: SieveToken | null = null;
    if (token.type === 'identifier') {
      child = lexer.next();
    } else if (token.type === '(') {
      lexer.next();
      node.listOpen = token.position;
      child = lexer.next();
      if (child.type !== 'identifier')
        fail(`expected a test after '(' in the test list of "${node.name}"`, child);
    }
    if (child !== null) {
      if (depth + stack.length > MAX_SIEVE_NESTING) {
        throw new SieveError(`tests and blocks nested more than ${MAX_SIEVE_NESTING} deep`, child.position);
      }
      node = newNode(child);
      stack.push(node);
      readArguments(lexer, node, 'test');
      continue;
    }
    // `node` is complete: hand it to its parent, and close every parent it completes.
    for (;;) {
      if (stack.length === 1) return;
      const done = stack.pop()!;
      const parent = stack[stack.length - 1]!;
      parent.tests.push(closeNode(done));
      if (parent.listOpen === null) continue;
      const separator = lexer.next();
      if (separator.type === ',') {
        const next = lexer.next();
        if (next.type !== 'identifier')
          fail(`expected a test after ',' in the test list of "${parent.name}"`, next);
        node = newNode(next);
        stack.push(node);
        readArguments(lexer, node, 'test');
        break;
      }
      if (separator.type !== ')') {
        const opened = parent.listOpen;
        fail(
          `expected ',' or ')' in the test list of "${parent.name}" opened at line ${opened.line}, column ${opened.column}`,
          separator,
        );
      }
      parent.listOpen = null;
    }
  }
}

/**
 * Parses a Sieve script into its syntax tree. Throws SieveError, with the line and column
 * of the offending token, on the first syntax error.
 */
export function parseSieveScript(source: string): SieveScriptAst {
  const lexer = new SieveLexer(source);
  const blocks: OpenBlock[] = [{ owner: null, commands: [], opened: null }];
  for (;;) {
    const block = blocks[blocks.length - 1]!;
    const token = lexer.next();
    if (token.type === 'end') {
      if (block.opened !== null) {
        fail(
          `expected '}' to close the block of "${block.owner!.name}" opened at line ${block.opened.line}, column ${block.opened.column}`,
          token,
        );
      }
      return { commands: block.commands };
    }
    if (token.type === '}') {
      if (block.owner === null) fail(`unexpected '}' with no block open`, token);
      blocks.pop();
      const owner = block.owner;
      blocks[blocks.length - 1]!.commands.push({
        name: owner.name,
        arguments: owner.arguments,
        tests: owner.tests,
        block: block.commands,
        position: owner.position,
      });
      continue;
    }
    if (token.type !== 'identifier') {
      fail(blocks.length === 1 ? 'expected a command' : `expected a command or '}'`, token);
    }
    const command = newNode(token);
    readArguments(lexer, command, 'command');
    readTests(lexer, command, blocks.length - 1);
    const end = lexer.next();
    if (end.type === ';') {
      block.commands.push({
        name: command.name,
        arguments: command.arguments,
        tests: command.tests,
        block: null,
        position: command.position,
      });
    } else if (end.type === '{') {
      if (blocks.length > MAX_SIEVE_NESTING) {
        throw new SieveError(`tests and blocks nested more than ${MAX_SIEVE_NESTING} deep`, end.position);
      }
      blocks.push({ owner: command, commands: [], opened: end.position });
    } else {
      fail(
        command.tests.length === 0
          ? `expected ';' after command "${command.name}"`
          : `expected '{' or ';' after the test of command "${command.name}"`,
        end,
      );
    }
  }
}
