import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CommandReaderLimits,
  ImapCommandReader,
  type ImapToken,
  type ReaderEvent,
} from './command-reader.js';

/** Feeds the chunks in order, accepting every literal unless `refuse` says otherwise. */
function read(
  chunks: readonly (string | Buffer)[],
  options: { refuse?: (size: number) => boolean; limits?: Partial<CommandReaderLimits> } = {},
): { events: ReaderEvent[]; continuations: number } {
  const reader = new ImapCommandReader({
    maxCommandBytes: 1000,
    maxDepth: 8,
    maxTokens: 1000,
    ...options.limits,
  });
  const events: ReaderEvent[] = [];
  let continuations = 0;
  for (const chunk of chunks) {
    reader.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
    for (let event = reader.next(); event; event = reader.next()) {
      if (event.kind === 'literal') {
        if (event.over || options.refuse?.(event.size)) reader.rejectLiteral();
        else {
          reader.acceptLiteral();
          if (event.synchronising) continuations++;
        }
      }
      events.push(event);
    }
  }
  return { events, continuations };
}

const atom = (value: string): ImapToken => ({ type: 'atom', value });
const str = (value: string, literal = false): ImapToken => ({
  type: 'string',
  value: Buffer.from(value, 'latin1'),
  literal,
});
const list = (...items: ImapToken[]): ImapToken => ({ type: 'list', items });
const commands = (events: ReaderEvent[]) => events.filter((e) => e.kind === 'command').map((e) => e.command);

describe('ImapCommandReader', () => {
  it('reads tag, upper-cased name and atoms, strings and lists', () => {
    const { events } = read([
      'a1 login "alice" "p\\"w\\\\d"\r\n',
      'A2 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)\r\n',
    ]);
    expect(commands(events)).toEqual([
      { tag: 'a1', name: 'LOGIN', args: [str('alice'), str('p"w\\d')] },
      {
        tag: 'A2',
        name: 'FETCH',
        args: [atom('1:*'), list(atom('FLAGS'), atom('BODY.PEEK[HEADER.FIELDS (From To)]<0.100>'))],
      },
    ]);
  });

  it('reads a command without arguments, with or without CR, and empty and nested lists', () => {
    const { events } = read(['A1 NOOP\r\nA2 CAPABILITY\nA3 X () ((a) b)\r\n']);
    expect(commands(events)).toEqual([
      { tag: 'A1', name: 'NOOP', args: [] },
      { tag: 'A2', name: 'CAPABILITY', args: [] },
      { tag: 'A3', name: 'X', args: [list(), list(list(atom('a')), atom('b'))] },
    ]);
  });

  it('asks before a synchronising literal, not before a LITERAL+ one, and keeps literal bytes exact', () => {
    const body = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x2e, 0x0d, 0x0a]);
    const { events, continuations } = read([
      'A1 APPEND INBOX (\\Seen) {7}\r\n',
      body,
      '\r\nA2 LOGIN {5+}\r\nalice {3}\r\nxyz\r\n',
    ]);
    expect(continuations).toBe(2);
    const [append, login] = commands(events);
    expect(append).toEqual({
      tag: 'A1',
      name: 'APPEND',
      args: [atom('INBOX'), list(atom('\\Seen')), { type: 'string', value: body, literal: true }],
    });
    expect(login!.args).toEqual([str('alice', true), str('xyz', true)]);
    expect(
      events.filter((e) => e.kind === 'literal').map((e) => e.kind === 'literal' && e.synchronising),
    ).toEqual([true, false, true]);
  });

  it('numbers the literals of one command (MULTIAPPEND) and marks literal8', () => {
    const { events } = read(['A1 APPEND INBOX ~{2}\r\nab {1+}\r\nc\r\n']);
    expect(events.filter((e) => e.kind === 'literal').map((e) => e.kind === 'literal' && e.index)).toEqual([
      0, 1,
    ]);
    expect(commands(events)[0]!.args[1]).toEqual({
      type: 'string',
      value: Buffer.from('ab'),
      literal: true,
      binary: true,
    });
  });

  it('ends a command whose synchronising literal is refused, and reads the next', () => {
    const { events } = read(['A1 APPEND INBOX {999999}\r\nA2 NOOP\r\n'], { refuse: (n) => n > 1000 });
    expect(events.map((e) => e.kind)).toEqual(['literal', 'rejected', 'command']);
    expect(events[1]).toEqual({ kind: 'rejected', tag: 'A1' });
    expect(commands(events)[0]!.tag).toBe('A2');
  });

  it('throws away a refused non-synchronising literal and the rest of its command', () => {
    const big = 'x'.repeat(2000);
    const { events } = read(
      [`A1 APPEND INBOX {2000+}\r\n${big.slice(0, 700)}`, `${big.slice(700)} {2+}\r\nyy (a\r\nA2 NOOP\r\n`],
      {
        refuse: (n) => n > 1000,
      },
    );
    expect(events.map((e) => e.kind)).toEqual(['literal', 'rejected', 'command']);
    expect(commands(events)[0]).toEqual({ tag: 'A2', name: 'NOOP', args: [] });
  });

  it('answers syntax errors with the tag when it can, and goes on', () => {
    const { events } = read([
      'A1 LOGIN "unterminated\r\n',
      '\r\n',
      '+tag NOOP\r\n',
      'A2\r\n',
      'A3 LOGIN (a b\r\n',
      'A4 LOGIN a)\r\n',
      'A5 LOGIN  a\r\n',
      'A6 LOGIN "bad \\q escape"\r\n',
      'A7 NOOP\r\n',
    ]);
    expect(events.map((e) => (e.kind === 'bad' ? `${e.tag} ${e.text}` : e.kind))).toEqual([
      'A1 invalid quoted string',
      'undefined empty command line',
      'undefined invalid tag',
      'A2 command name missing',
      'A3 unbalanced parentheses',
      'A4 unexpected )',
      'A5 invalid characters in an argument',
      'A6 invalid quoted string',
      'command',
    ]);
  });

  it('refuses a line over the limit at once, skips the rest of it, and goes on', () => {
    const reader = new ImapCommandReader({ maxCommandBytes: 100, maxDepth: 8, maxTokens: 100 });
    reader.push(Buffer.from(`A1 LOGIN ${'x'.repeat(150)}`));
    expect(reader.next()).toEqual({ kind: 'too-long', tag: 'A1', limit: 100 });
    expect(reader.buffered).toBe(0);
    reader.push(Buffer.from(`${'y'.repeat(5000)}\r\nA2 NOOP\r\n`));
    expect(reader.next()).toEqual({ kind: 'command', command: { tag: 'A2', name: 'NOOP', args: [] } });
    expect(reader.buffered).toBe(0);
  });

  it('enforces the nesting depth and the token count', () => {
    const deep = read([`A1 X ${'('.repeat(10)}${')'.repeat(10)}\r\nA2 NOOP\r\n`]);
    expect(deep.events[0]).toEqual({ kind: 'bad', tag: 'A1', text: 'lists nested too deep' });
    expect(deep.events[1]!.kind).toBe('command');
    const many = read([`A1 X ${'a '.repeat(20)}a\r\n`], { limits: { maxTokens: 10 } });
    expect(many.events[0]).toEqual({ kind: 'bad', tag: 'A1', text: 'too many arguments' });
  });

  it('gives raw lines in line mode (IDLE DONE, SASL responses)', () => {
    const reader = new ImapCommandReader();
    reader.push(Buffer.from('A1 IDLE\r\nDONE\r\nA2 NOOP\r\n'));
    expect(reader.next()).toMatchObject({ kind: 'command', command: { name: 'IDLE' } });
    reader.setMode('line');
    expect(reader.next()).toEqual({ kind: 'line', text: 'DONE' });
    reader.setMode('command');
    expect(reader.next()).toMatchObject({ kind: 'command', command: { tag: 'A2' } });
  });

  it('reads the same commands however the bytes are split (every boundary, random commands)', () => {
    const atomArb = fc
      .stringMatching(/^[A-Za-z0-9\\.:*%[\]<>-]{1,8}$/)
      .filter((s) => !s.includes('[') && !s.includes(']'));
    const valueArb: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        atomArb,
        fc.string({ maxLength: 10 }).map((s) => `"${s.replace(/[\r\n\0]/g, '').replace(/["\\]/g, '\\$&')}"`),
        fc.uint8Array({ maxLength: 12 }).map((b) => `{${b.length}}\r\n${Buffer.from(b).toString('latin1')}`),
        fc.array(tie('value'), { maxLength: 3 }).map((items) => `(${items.join(' ')})`),
      ),
    })).value;
    const commandArb = fc
      .tuple(
        fc.stringMatching(/^[A-Za-z0-9]{1,5}$/),
        fc.constantFrom('NOOP', 'LOGIN', 'FETCH', 'X'),
        fc.array(valueArb, { maxLength: 4 }),
      )
      .map(([tag, name, args]) => `${tag} ${name}${args.map((a) => ` ${a}`).join('')}\r\n`);
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 4 }), fc.nat(), (cmds, seed) => {
        const bytes = Buffer.from(cmds.join(''), 'latin1');
        const whole = read([bytes]).events;
        expect(whole.filter((e) => e.kind === 'command')).toHaveLength(cmds.length);
        // Every single split point, plus one random many-way split.
        for (let cut = 1; cut < bytes.length; cut++) {
          expect(read([bytes.subarray(0, cut), bytes.subarray(cut)]).events).toEqual(whole);
        }
        const pieces: Buffer[] = [];
        let at = 0;
        let s = seed;
        while (at < bytes.length) {
          s = (s * 1103515245 + 12345) % 2147483648;
          const n = 1 + (s % 7);
          pieces.push(bytes.subarray(at, at + n));
          at += n;
        }
        expect(read(pieces).events).toEqual(whole);
      }),
      { numRuns: 150 },
    );
  });

  it('never throws and always ends in a known state on mutated input', () => {
    const seedCommands = [
      'A1 LOGIN alice {5}\r\nhello\r\n',
      'A2 FETCH 1:3 (BODY[1.HEADER.FIELDS (A)]<0.5> FLAGS)\r\n',
      'A3 APPEND "x" (\\Seen) "01-Jan-2020 00:00:00 +0000" {3+}\r\nabc\r\n',
      'A4 SEARCH OR (FROM "a") TEXT {2}\r\nxy\r\n',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...seedCommands),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        (command, mutations) => {
          const bytes = Buffer.from(command, 'latin1');
          for (const [at, value] of mutations) bytes[at % bytes.length] = value;
          const { events } = read([bytes, 'Z9 NOOP\r\n']);
          // Whatever happened to the first command, the reader is back in step by the next
          // line, unless the mutation opened a literal that swallows it.
          for (const e of events) expect(['command', 'bad', 'literal', 'rejected']).toContain(e.kind);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('ImapCommandReader: the size of one command', () => {
  const LIMITS: CommandReaderLimits = { maxCommandBytes: 100, maxDepth: 8, maxTokens: 1000 };
  /** `A1 LOGIN {a}` + a octets + ` {b+}` + b octets + the final line of `rest` octets and CRLF. */
  const login = (a: number, b: number, rest = 0) =>
    `A1 LOGIN {${a}}\r\n${'x'.repeat(a)} {${b}+}\r\n${'y'.repeat(b)}${' z'.repeat(rest / 2)}\r\n`;

  it('takes a command line of exactly the limit, line end included, and refuses one octet more', () => {
    const line = (octets: number) => `A1 X ${'a'.repeat(octets - 7)}\r\n`;
    expect(line(100)).toHaveLength(100);
    expect(read([line(100)], { limits: LIMITS }).events.map((e) => e.kind)).toEqual(['command']);
    expect(read([line(101), 'A2 NOOP\r\n'], { limits: LIMITS }).events).toEqual([
      { kind: 'too-long', tag: 'A1', limit: 100 },
      { kind: 'command', command: { tag: 'A2', name: 'NOOP', args: [] } },
    ]);
    // A bare LF counts as the one octet it is.
    expect(read([`A1 X ${'a'.repeat(94)}\n`], { limits: LIMITS }).events.map((e) => e.kind)).toEqual([
      'command',
    ]);
  });

  it('counts every line part and every literal: exactly the limit passes, one octet more is refused', () => {
    expect(login(21, 40, 14)).toHaveLength(100);
    const fits = read([login(21, 40, 14)], { limits: LIMITS }).events;
    expect(fits.map((e) => e.kind)).toEqual(['literal', 'literal', 'command']);
    expect(fits.every((e) => e.kind !== 'literal' || e.over === undefined)).toBe(true);

    // One octet more in the last line part: that line is answered, the next command read.
    const longTail = read([login(21, 40, 14).replace(/\r\n$/, ' \r\n'), 'A2 NOOP\r\n'], { limits: LIMITS });
    expect(longTail.events.map((e) => e.kind)).toEqual(['literal', 'literal', 'too-long', 'command']);
    expect(longTail.events[2]).toEqual({ kind: 'too-long', tag: 'A1', limit: 100 });

    // A last literal that leaves just room for the final CRLF fits; one octet more is
    // refused when announced, before its octets come.
    expect(login(21, 54)).toHaveLength(100);
    expect(read([login(21, 54)], { limits: LIMITS }).events.map((e) => e.kind)).toEqual([
      'literal',
      'literal',
      'command',
    ]);
    const bigLiteral = read([login(21, 55), 'A2 NOOP\r\n'], { limits: LIMITS }).events;
    expect(bigLiteral.map((e) => e.kind)).toEqual(['literal', 'literal', 'rejected', 'command']);
    expect(bigLiteral[1]).toMatchObject({ size: 55, over: { limit: 100, rule: 'command-size' } });
  });

  it('reads the same events however the bytes are split, under, at and over the limit', () => {
    for (const command of [
      login(21, 40, 12),
      login(21, 40, 14),
      login(21, 40, 16),
      login(21, 54),
      login(21, 55),
    ]) {
      const bytes = Buffer.from(`${command}A2 NOOP\r\n`, 'latin1');
      const whole = read([bytes], { limits: LIMITS }).events;
      for (let cut = 1; cut < bytes.length; cut++) {
        expect(read([bytes.subarray(0, cut), bytes.subarray(cut)], { limits: LIMITS }).events).toEqual(whole);
      }
      expect(
        read(
          [...bytes].map((b) => Buffer.from([b])),
          { limits: LIMITS },
        ).events,
      ).toEqual(whole);
    }
  });

  it('keeps nothing of an over-limit non-synchronising literal, however much comes', () => {
    // The attack of issue 13: LOGIN followed by literal after 64 KiB literal, no final CRLF.
    const reader = new ImapCommandReader({ ...LIMITS, maxCommandBytes: 8192 });
    reader.push(Buffer.from('bomb LOGIN {65536+}\r\n'));
    expect(reader.next()).toMatchObject({ kind: 'literal', size: 65_536, over: { rule: 'command-size' } });
    reader.rejectLiteral();
    const chunk = Buffer.concat([Buffer.alloc(65_536, 0x61), Buffer.from(' {65536+}\r\n')]);
    for (let i = 0; i < 200; i++) {
      reader.push(chunk);
      expect(reader.next()).toBeUndefined();
      expect(reader.buffered).toBe(0);
    }
    reader.push(Buffer.alloc(65_536, 0x61));
    reader.push(Buffer.from('\r\nA2 NOOP\r\n'));
    expect(reader.next()).toEqual({ kind: 'rejected', tag: 'bomb' });
    expect(reader.next()).toMatchObject({ kind: 'command', command: { tag: 'A2' } });
  });

  it('never takes the octets of a literal announced at the end of a too-long line for commands', () => {
    const smuggled = 'A9 LOGOUT\r\n';
    const bytes = `A1 NOOP ${'x'.repeat(200)} {${smuggled.length}+}\r\n${smuggled}\r\nA2 NOOP\r\n`;
    const whole = read([bytes], { limits: LIMITS }).events;
    expect(whole).toEqual([
      { kind: 'too-long', tag: 'A1', limit: 100 },
      { kind: 'command', command: { tag: 'A2', name: 'NOOP', args: [] } },
    ]);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(read([bytes.slice(0, cut), bytes.slice(cut)], { limits: LIMITS }).events).toEqual(whole);
    }
  });

  it('before login (LITERAL-): a non-synchronising literal over 4096 octets is over, a synchronising one is not', () => {
    const limits = { ...LIMITS, maxCommandBytes: 8192, maxNonSyncLiteral: 4096 };
    const events = (line: string) => read([line], { limits, refuse: () => true }).events[0];
    expect(events('A1 LOGIN {4096+}\r\n')).toMatchObject({ kind: 'literal', size: 4096 });
    expect(events('A1 LOGIN {4096+}\r\n')).not.toHaveProperty('over');
    expect(events('A1 LOGIN {4097+}\r\n')).toMatchObject({ over: { limit: 4096, rule: 'literal-minus' } });
    expect(events('A1 LOGIN {4097}\r\n')).not.toHaveProperty('over');
    expect(events('A1 LOGIN {8180}\r\n')).toMatchObject({ over: { limit: 8192, rule: 'command-size' } });
  });

  it('lets APPEND carry its message up to its own total, its lines still within the command limit', () => {
    const limits = { ...LIMITS, maxCommandBytes: 200, maxAppendBytes: 1100 };
    const message = 'm'.repeat(1000);
    const append = (extra: string) => `A1 APPEND INBOX {${message.length}}\r\n${message}${extra}\r\n`;
    // 24 + 1000 + 2 octets, then as much line as the total allows: 74 more.
    expect(read([append(' x'.repeat(37))], { limits }).events.map((e) => e.kind)).toEqual([
      'literal',
      'command',
    ]);
    expect(read([append(' x'.repeat(38))], { limits }).events.at(-1)).toEqual({
      kind: 'too-long',
      tag: 'A1',
      limit: 1100,
    });
    expect(read(['A1 APPEND INBOX {1074}\r\n'], { limits }).events[0]).not.toHaveProperty('over');
    expect(read(['A1 APPEND INBOX {1075}\r\n'], { limits }).events[0]).toMatchObject({
      over: { limit: 1100 },
    });
    // Its lines together keep to maxCommandBytes whatever room the total leaves.
    expect(read([`A1 APPEND INBOX (${'\\Seen '.repeat(40)}) {1}\r\n`], { limits }).events[0]).toEqual({
      kind: 'too-long',
      tag: 'A1',
      limit: 200,
    });
  });

  it('says what is unfinished: part of a line, a literal and how much of it came, or nothing', () => {
    const reader = new ImapCommandReader(LIMITS);
    expect(reader.progress).toBeUndefined();
    reader.push(Buffer.from('A1 LOG'));
    expect(reader.next()).toBeUndefined();
    const line = reader.progress;
    expect(line).toMatchObject({ kind: 'line' });
    reader.push(Buffer.from('IN {5}\r\n'));
    expect(reader.next()).toMatchObject({ kind: 'literal' });
    expect(reader.progress).toBeUndefined();
    reader.acceptLiteral();
    reader.push(Buffer.from('ab'));
    expect(reader.next()).toBeUndefined();
    expect(reader.progress).toMatchObject({ kind: 'literal', received: 2 });
    reader.push(Buffer.from('cde x'));
    expect(reader.next()).toBeUndefined();
    const after = reader.progress;
    expect(after).toMatchObject({ kind: 'line' });
    expect(after!.unit).not.toBe(line!.unit);
    reader.push(Buffer.from('\r\n'));
    expect(reader.next()).toMatchObject({ kind: 'command' });
    expect(reader.next()).toBeUndefined();
    expect(reader.progress).toBeUndefined();
  });
});
