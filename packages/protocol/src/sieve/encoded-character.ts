// RFC 5228 §2.4.2.4 "encoded-character": `${hex:…}` and `${unicode:…}` in any string of a
// script that requires it, replaced once when the script is compiled. Sequences that do not
// match the grammar stay as written; well-formed ones that decode to something invalid
// (a surrogate, past U+10FFFF, octets that are not UTF-8) are errors.

import {
  type SieveArgument,
  type SieveCommand,
  SieveError,
  type SieveScriptAst,
  type SieveTest,
  type SourcePosition,
} from './types.js';

const blank = '(?:[ \\t]|\\r\\n)';
const encoded = new RegExp(
  `\\$\\{(hex|unicode):(${blank}*[0-9A-Fa-f]+(?:${blank}+[0-9A-Fa-f]+)*${blank}*)\\}`,
  'gi',
);

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes the encoded characters in one string; SieveError (at `position`) when invalid. */
export function decodeEncodedCharacters(text: string, position: SourcePosition): string {
  if (!text.includes('${')) return text;
  return text.replace(encoded, (whole, kind: string, body: string) => {
    const items = body.trim().split(/(?:[ \t]|\r\n)+/);
    if (kind.toLowerCase() === 'hex') {
      // hex-pair = 1*2HEXDIG
      if (items.some((item) => item.length > 2)) return whole;
      try {
        return strictUtf8.decode(Uint8Array.from(items, (item) => Number.parseInt(item, 16)));
      } catch {
        throw new SieveError(`invalid UTF-8 in encoded character '${whole}'`, position);
      }
    }
    let out = '';
    for (const item of items) {
      const code = Number.parseInt(item.replace(/^0+(?=.)/, '').slice(0, 8), 16);
      if (item.replace(/^0+/, '').length > 6 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
        throw new SieveError(`invalid Unicode character in '${whole}'`, position);
      }
      out += String.fromCodePoint(code);
    }
    return out;
  });
}

function decodeArgument(argument: SieveArgument): SieveArgument {
  if (argument.kind !== 'strings') return argument;
  return {
    ...argument,
    values: argument.values.map((value) => decodeEncodedCharacters(value, argument.position)),
  };
}

function decodeTest(test: SieveTest): SieveTest {
  return { ...test, arguments: test.arguments.map(decodeArgument), tests: test.tests.map(decodeTest) };
}

function decodeCommand(command: SieveCommand): SieveCommand {
  return {
    ...command,
    arguments: command.arguments.map(decodeArgument),
    tests: command.tests.map(decodeTest),
    block: command.block === null ? null : command.block.map(decodeCommand),
  };
}

/** The script with every string's encoded characters decoded. */
export function decodeScriptEncodedCharacters(ast: SieveScriptAst): SieveScriptAst {
  return { commands: ast.commands.map(decodeCommand) };
}
