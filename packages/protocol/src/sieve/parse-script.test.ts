import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSieveSource, MAX_SIEVE_NESTING, parseSieveScript } from './parse-script.js';
import { type SieveCommand, SieveError, type SourcePosition } from './types.js';

/** The error a script fails with: its message and where it points. */
function errorOf(source: string): { message: string; position: SourcePosition | null } {
  try {
    parseSieveScript(source);
  } catch (error) {
    if (error instanceof SieveError) return { message: error.message, position: error.position };
    throw error;
  }
  throw new Error('the script parsed');
}

function only(source: string): SieveCommand {
  const ast = parseSieveScript(source);
  expect(ast.commands).toHaveLength(1);
  return ast.commands[0]!;
}

function stringsOf(command: SieveCommand): readonly string[] {
  const argument = command.arguments[0]!;
  if (argument.kind !== 'strings') throw new Error(`not strings: ${argument.kind}`);
  return argument.values;
}

// RFC 5228 §9.
const rfcExample = `#
# Example Sieve Filter
# Declare any optional features or extension used by the script
#
require ["fileinto"];

#
# Handle messages from known mailing lists
# Move messages from IETF filter discussion list to filter mailbox
#
if header :is "Sender" "owner-ietf-mta-filters@imc.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
#
# Keep all messages to or from people in my company
#
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }

#
# Try and catch unsolicited email.  If a message is not to me,
# or it contains a subject known to be spam, file it away.
#
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        # Move all other (non-company) mail to "personal"
        # mailbox.
        fileinto "personal";
        }
`;

describe('parseSieveScript', () => {
  it('parses the RFC 5228 §9 example script', () => {
    const ast = parseSieveScript(rfcExample);
    expect(ast.commands.map((command) => command.name)).toEqual(['require', 'if', 'elsif', 'elsif', 'else']);
    const [require, ifCommand, elsif1, elsif2, elseCommand] = ast.commands as SieveCommand[];
    expect(require!.arguments).toEqual([
      { kind: 'strings', values: ['fileinto'], single: false, position: { line: 5, column: 9 } },
    ]);
    expect(require!.block).toBeNull();
    expect(ifCommand!.position).toEqual({ line: 11, column: 1 });
    expect(ifCommand!.tests).toEqual([
      {
        name: 'header',
        arguments: [
          { kind: 'tag', name: 'is', position: { line: 11, column: 11 } },
          { kind: 'strings', values: ['Sender'], single: true, position: { line: 11, column: 15 } },
          {
            kind: 'strings',
            values: ['owner-ietf-mta-filters@imc.org'],
            single: true,
            position: { line: 11, column: 24 },
          },
        ],
        tests: [],
        position: { line: 11, column: 4 },
      },
    ]);
    expect(ifCommand!.block).toEqual([
      {
        name: 'fileinto',
        arguments: [
          { kind: 'strings', values: ['filter'], single: true, position: { line: 13, column: 18 } },
        ],
        tests: [],
        block: null,
        position: { line: 13, column: 9 },
      },
    ]);
    // Tags and identifiers are lower-cased: ":DOMAIN" is "domain", "NOT" is "not".
    expect(elsif1!.tests[0]!.arguments[0]).toEqual({
      kind: 'tag',
      name: 'domain',
      position: { line: 18, column: 15 },
    });
    const anyof = elsif2!.tests[0]!;
    expect(anyof.name).toBe('anyof');
    expect(anyof.tests.map((test) => test.name)).toEqual(['not', 'header']);
    const not = anyof.tests[0]!;
    expect(not.arguments).toEqual([]);
    expect(not.tests[0]!.name).toBe('address');
    expect(not.tests[0]!.arguments.map((argument) => argument.kind)).toEqual([
      'tag',
      'tag',
      'strings',
      'strings',
    ]);
    expect(anyof.tests[1]!.arguments[2]).toMatchObject({
      kind: 'strings',
      values: ['*make*money*fast*', '*university*dipl*mas*'],
      single: false,
    });
    expect(elseCommand!.tests).toEqual([]);
    expect(elseCommand!.block!.map((command) => command.name)).toEqual(['fileinto']);
  });

  it('parses the same script with CRLF line ends to the same tree', () => {
    expect(parseSieveScript(rfcExample.replaceAll('\n', '\r\n'))).toEqual(parseSieveScript(rfcExample));
  });

  it('parses an empty script and one of only comments', () => {
    expect(parseSieveScript('')).toEqual({ commands: [] });
    expect(parseSieveScript('# nothing\r\n/* at\r\nall */  \t\r\n')).toEqual({ commands: [] });
  });

  it('accepts a hash comment at the end of the script without a line end', () => {
    expect(parseSieveScript('keep; # done').commands).toHaveLength(1);
  });

  it('treats a bracket comment as white space between tokens', () => {
    const command = only('fileinto/* a * / comment **/"x"/**/;');
    expect(stringsOf(command)).toEqual(['x']);
  });

  it('reads numbers with K, M and G quantifiers (RFC 5228 §2.4.1)', () => {
    const command = only('size 0 100 1K 2k 3M 4G 9007199254740991;');
    expect(command.arguments.map((argument) => (argument.kind === 'number' ? argument.value : null))).toEqual(
      [0, 100, 1024, 2048, 3 * 1024 * 1024, 4 * 1024 * 1024 * 1024, Number.MAX_SAFE_INTEGER],
    );
  });

  it('resolves escapes in quoted strings: \\\\, \\" and any other \\x as x (RFC 5228 §2.4.2)', () => {
    expect(stringsOf(only('s "a\\\\b\\"c\\d\\ne\\\\\\"";'))).toEqual(['a\\b"cdne\\"']);
    expect(stringsOf(only('s "";'))).toEqual(['']);
  });

  it('keeps Unicode in strings', () => {
    expect(stringsOf(only('fileinto "Boîte/日本語/😀";'))).toEqual(['Boîte/日本語/😀']);
  });

  it('turns line ends inside a quoted string into CRLF', () => {
    expect(stringsOf(only('s "a\nb\r\nc\\\nd";'))).toEqual(['a\r\nb\r\nc\r\nd']);
  });

  it('reads a multi-line string with dot-stuffing removed and CRLF line ends kept', () => {
    const script = 'reject text:\r\nline 1\r\n..line 2\r\n.line 3\r\n..\r\n\r\n.\r\n;';
    expect(stringsOf(only(script))).toEqual(['line 1\r\n.line 2\r\n.line 3\r\n.\r\n\r\n']);
  });

  it('normalises LF line ends in a multi-line string to CRLF', () => {
    expect(stringsOf(only('reject text:\nline 1\nline 2\n.\n;'))).toEqual(['line 1\r\nline 2\r\n']);
  });

  it('allows blanks and a hash comment after "text:", and an empty multi-line string', () => {
    expect(stringsOf(only('reject text: \t# why\r\nno\r\n.\r\n;'))).toEqual(['no\r\n']);
    expect(stringsOf(only('reject text:\n.\n;'))).toEqual(['']);
    expect(stringsOf(only('reject TEXT:\n#not a comment\n.\n;'))).toEqual(['#not a comment\r\n']);
  });

  it('reads "text" not followed by a colon as an identifier', () => {
    const command = only('text :text "x";');
    expect(command.name).toBe('text');
    expect(command.arguments[0]).toMatchObject({ kind: 'tag', name: 'text' });
  });

  it('marks a lone string as single and a bracketed list as not', () => {
    const command = only('x "a" ["a"] [ "a" , "b" ];');
    expect(command.arguments).toEqual([
      { kind: 'strings', values: ['a'], single: true, position: { line: 1, column: 3 } },
      { kind: 'strings', values: ['a'], single: false, position: { line: 1, column: 7 } },
      { kind: 'strings', values: ['a', 'b'], single: false, position: { line: 1, column: 13 } },
    ]);
  });

  it('accepts multi-line strings inside string lists', () => {
    expect(stringsOf(only('x [text:\na\n.\n, "b"];'))).toEqual(['a\r\n', 'b']);
  });

  it('nests tests: not, test lists, tests inside test lists', () => {
    const command = only('if allof(not exists "a", anyof(true, not not false), size :over 1K) { stop; }');
    const allof = command.tests[0]!;
    expect(allof.name).toBe('allof');
    expect(allof.tests.map((test) => test.name)).toEqual(['not', 'anyof', 'size']);
    expect(allof.tests[0]!.tests[0]).toMatchObject({ name: 'exists', arguments: [{ values: ['a'] }] });
    const anyof = allof.tests[1]!;
    expect(anyof.tests.map((test) => test.name)).toEqual(['true', 'not']);
    expect(anyof.tests[1]!.tests[0]!.tests[0]!.name).toBe('false');
    expect(allof.tests[2]!.arguments.map((argument) => argument.kind)).toEqual(['tag', 'number']);
    expect(command.block).toHaveLength(1);
  });

  it('keeps a test after arguments and a test list after a test', () => {
    // Generic shapes the parser need not understand: `arguments = *argument [test / test-list]`.
    const command = only('cmd :a 1 "s" t1 :b (t2 "x", t3);');
    expect(command.arguments).toHaveLength(3);
    const t1 = command.tests[0]!;
    expect(t1.name).toBe('t1');
    expect(t1.tests.map((test) => test.name)).toEqual(['t2', 't3']);
  });

  it('nests blocks and gives each command its position', () => {
    const ast = parseSieveScript('if true {\n  if false {\n    keep;\n  }\n  discard;\n}\nstop;\n');
    expect(ast.commands.map((command) => [command.name, command.position])).toEqual([
      ['if', { line: 1, column: 1 }],
      ['stop', { line: 7, column: 1 }],
    ]);
    const inner = ast.commands[0]!.block!;
    expect(inner.map((command) => [command.name, command.position])).toEqual([
      ['if', { line: 2, column: 3 }],
      ['discard', { line: 5, column: 3 }],
    ]);
    expect(inner[0]!.block!.map((command) => [command.name, command.position])).toEqual([
      ['keep', { line: 3, column: 5 }],
    ]);
    expect(parseSieveScript('if true {}').commands[0]!.block).toEqual([]);
  });

  it('counts columns in characters, not UTF-16 units', () => {
    const command = only('x "😀😀" :tag;');
    expect(command.arguments[1]!.position).toEqual({ line: 1, column: 8 });
  });

  it('parses deep nesting up to the limit without recursion', () => {
    const depth = MAX_SIEVE_NESTING - 1;
    const blocks = `${'if true {'.repeat(depth)}keep;${'}'.repeat(depth)}`;
    expect(parseSieveScript(blocks).commands).toHaveLength(1);
    const tests = `if ${'not '.repeat(depth - 1)}true;`;
    expect(parseSieveScript(tests).commands[0]!.tests).toHaveLength(1);
  });
});

describe('parseSieveScript errors', () => {
  it.each([
    // `fileinto "x" keep;` would parse: "keep" is then a test, which the validator refuses.
    ['fileinto "x"\n]', 2, 1, `expected ';' after command "fileinto", found ']'`],
    ['if true "x" }', 1, 13, `expected '{' or ';' after the test of command "if", found '}'`],
    ['keep', 1, 5, `expected ';' after command "keep", found the end of the script`],
    ['if true {\n keep;\n', 3, 1, `expected '}' to close the block of "if" opened at line 1, column 9`],
    ['keep; }', 1, 7, `unexpected '}' with no block open`],
    ['"x";', 1, 1, 'expected a command, found string "x"'],
    ['if true { 5; }', 1, 11, `expected a command or '}', found number 5`],
    ['x [];', 1, 4, `expected a string in the string list of command "x", found ']'`],
    ['x ["a" "b"];', 1, 8, `expected ',' or ']' in the string list opened at line 1, column 3`],
    ['x ["a",];', 1, 8, `expected a string after ',' in the string list of command "x"`],
    ['x ["a", 1];', 1, 9, `expected a string after ',' in the string list of command "x"`],
    ['if allof() {}', 1, 10, `expected a test after '(' in the test list of "allof"`],
    ['if allof(true,) {}', 1, 15, `expected a test after ',' in the test list of "allof"`],
    [
      'if allof(true "x" 1 ] {}',
      1,
      21,
      `expected ',' or ')' in the test list of "allof" opened at line 1, column 9`,
    ],
    [
      'if allof(true; {}',
      1,
      14,
      `expected ',' or ')' in the test list of "allof" opened at line 1, column 9`,
    ],
    [
      'if header :is ["a" "b" {}',
      1,
      20,
      `expected ',' or ']' in the string list opened at line 1, column 15`,
    ],
  ])('%j fails at %i:%i', (script, line, column, reason) => {
    const { message, position } = errorOf(script);
    expect(position).toEqual({ line, column });
    expect(message.startsWith(`line ${line}, column ${column}: ${reason}`)).toBe(true);
  });

  it.each([
    ['x "abc', 1, 3, 'unterminated quoted string'],
    ['x "a\\', 1, 3, 'unterminated quoted string'],
    ['keep;\n/* open', 2, 1, 'unterminated bracket comment'],
    ['reject text:\nabc\n', 1, 8, 'unterminated multi-line string'],
    ['reject text:\nabc\n.', 1, 8, 'unterminated multi-line string'],
    ['reject text:', 1, 8, 'unterminated multi-line string'],
    ['reject text: "x";', 1, 14, `unexpected character '"' after "text:"`],
    ['reject text:\nab\rc\n.\n;', 2, 3, 'stray CR'],
    ['x "a\rb";', 1, 5, 'stray CR'],
    ['x 99999999999999999;', 1, 3, 'number 99999999999999999 is too large (at most 9007199254740991)'],
    ['x 9999999999G;', 1, 3, 'number 9999999999G is too large'],
    ['size :over 10KB;', 1, 12, 'invalid number "10KB"'],
    ['x : a;', 1, 3, `expected a tag name after ':'`],
    ['x :1;', 1, 3, `expected a tag name after ':'`],
    ['x / 2;', 1, 3, `unexpected character '/'`],
    ['x = 2;', 1, 3, `unexpected character '='`],
    ['x;\n  é;', 2, 3, `unexpected character U+00E9`],
    ['x "\0";', 1, 4, 'NUL character in the script'],
  ])('%j fails at %i:%i: %s', (script, line, column, reason) => {
    const { message, position } = errorOf(script);
    expect(position).toEqual({ line, column });
    expect(message).toContain(reason);
  });

  it('refuses blocks nested deeper than the limit', () => {
    const depth = MAX_SIEVE_NESTING + 1;
    const { message, position } = errorOf(`${'if true {'.repeat(depth)}keep;${'}'.repeat(depth)}`);
    expect(message).toContain(`nested more than ${MAX_SIEVE_NESTING} deep`);
    // The test of the innermost `if` is one level too deep.
    expect(position).toEqual({ line: 1, column: MAX_SIEVE_NESTING * 9 + 4 });
  });

  it('refuses tests nested deeper than the limit, without overflowing the stack', () => {
    const { message } = errorOf(`if ${'not '.repeat(100_000)}true;`);
    expect(message).toContain(`nested more than ${MAX_SIEVE_NESTING} deep`);
    expect(errorOf(`if ${'allof('.repeat(100_000)}true;`).message).toContain('nested more than');
  });

  it('reports errors after CRLF lines on the right line', () => {
    expect(errorOf('keep;\r\n# c\r\n  stop\r\n').position).toEqual({ line: 4, column: 1 });
  });
});

describe('parseSieveScript on arbitrary input', () => {
  it('either parses or throws a SieveError with a position, never anything else', () => {
    const pieces = fc.constantFrom(
      'if',
      'header',
      ':is',
      ':COMPARATOR',
      '"a\\"b"',
      '"x',
      '[',
      ']',
      '(',
      ')',
      '{',
      '}',
      ';',
      ',',
      '10K',
      '99999999999999999',
      'text:\n',
      'text:',
      '.\n',
      '..x\n',
      '#c\n',
      '/*',
      '*/',
      ' ',
      '\n',
      '\r\n',
      '\r',
      'é',
      '😀',
      ':',
      '/',
      '\\',
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 40 }), (parts) => {
        try {
          parseSieveScript(parts.join(''));
        } catch (error) {
          expect(error).toBeInstanceOf(SieveError);
          const { position } = error as SieveError;
          expect(position!.line).toBeGreaterThanOrEqual(1);
          expect(position!.column).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('decodeSieveSource', () => {
  it('decodes UTF-8 and drops a byte order mark', () => {
    expect(decodeSieveSource(Buffer.from('fileinto "Boîte";'))).toBe('fileinto "Boîte";');
    expect(decodeSieveSource(Buffer.from('\uFEFFkeep;'))).toBe('keep;');
  });

  it('refuses invalid UTF-8 with its position', () => {
    const bytes = Buffer.concat([
      Buffer.from('keep;\nfileinto "é'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('";'),
    ]);
    expect(() => decodeSieveSource(bytes)).toThrow('line 2, column 12: invalid UTF-8 in the script');
    expect(() => decodeSieveSource(Buffer.from([0xed, 0xa0, 0x80]))).toThrow(
      'line 1, column 1: invalid UTF-8',
    );
    expect(() => decodeSieveSource(Buffer.from([0xc0, 0xaf]))).toThrow('invalid UTF-8');
    expect(() => decodeSieveSource(Buffer.from([0x61, 0xe2, 0x82]))).toThrow(
      'line 1, column 2: invalid UTF-8',
    );
  });

  it('refuses NUL with its position', () => {
    expect(() => decodeSieveSource(Buffer.from('keep;\n "a\0";'))).toThrow(
      'line 2, column 4: NUL character in the script',
    );
  });
});
