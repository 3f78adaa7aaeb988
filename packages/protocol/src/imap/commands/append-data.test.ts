import { describe, expect, it } from 'vitest';
import { ImapCommandReader } from '../command-reader.js';
import type { ImapToken } from '../command-tokens.js';
import { parseAppendMessages } from './append-data.js';
import { ImapReply } from './command-spec.js';

/** The arguments of a whole command as the reader gives them (literals accepted as they come). */
function argsOf(wire: string): readonly ImapToken[] {
  const reader = new ImapCommandReader();
  reader.push(Buffer.from(wire, 'latin1'));
  for (;;) {
    const event = reader.next();
    if (!event) throw new Error('incomplete command');
    if (event.kind === 'literal') reader.acceptLiteral();
    else if (event.kind === 'command') return event.command.args.slice(1);
    else throw new Error(`not a command: ${event.kind}`);
  }
}

const parse = (wire: string, utf8 = false, one = false) => parseAppendMessages(argsOf(wire), utf8, one);

describe('APPEND message arguments (RFC 3502, RFC 4469)', () => {
  it('reads several messages, each with its own flags and date (MULTIAPPEND)', () => {
    const parsed = parse(
      'A003 APPEND Drafts (\\Seen) "21-Jun-2025 10:00:00 +0000" {3+}\r\none (\\Draft $Work) {3+}\r\ntwo {5+}\r\nthree\r\n',
    );
    expect(parsed).toEqual([
      {
        flags: ['\\Seen'],
        internalDate: new Date('2025-06-21T10:00:00Z'),
        data: { kind: 'literal', raw: Buffer.from('one') },
      },
      {
        flags: ['\\Draft', '$Work'],
        internalDate: undefined,
        data: { kind: 'literal', raw: Buffer.from('two') },
      },
      { flags: [], internalDate: undefined, data: { kind: 'literal', raw: Buffer.from('three') } },
    ]);
  });

  it('reads CATENATE parts: TEXT literals and URLs, in order', () => {
    const parsed = parse(
      'A1 APPEND Drafts (\\Draft) CATENATE (TEXT {4+}\r\nhead URL "/INBOX;UIDVALIDITY=385759045/;UID=20/;SECTION=1.MIME" URL /Sent/;UID=2 TEXT {2+}\r\n--)\r\n',
    );
    expect(parsed).toEqual([
      {
        flags: ['\\Draft'],
        internalDate: undefined,
        data: {
          kind: 'catenate',
          parts: [
            { kind: 'text', data: Buffer.from('head') },
            { kind: 'url', url: '/INBOX;UIDVALIDITY=385759045/;UID=20/;SECTION=1.MIME' },
            { kind: 'url', url: '/Sent/;UID=2' },
            { kind: 'text', data: Buffer.from('--') },
          ],
        },
      },
    ]);
  });

  it('mixes plain messages and CATENATEs in one MULTIAPPEND', () => {
    const parsed = parse('A1 APPEND INBOX {1+}\r\nx CATENATE (URL "/INBOX/;UID=1")\r\n');
    expect(parsed).not.toBeInstanceOf(ImapReply);
    expect((parsed as { data: { kind: string } }[]).map((m) => m.data.kind)).toEqual(['literal', 'catenate']);
  });

  it('drops \\Recent, which a client cannot set', () => {
    expect(parse('A1 APPEND INBOX (\\Recent \\Seen) {1+}\r\nx\r\n')).toMatchObject([{ flags: ['\\Seen'] }]);
  });

  it.each([
    ['A1 APPEND INBOX (\\Bogus) {1+}\r\nx\r\n', 'invalid flag'],
    ['A1 APPEND INBOX "31-Foo-2025 10:00:00 +0000" {1+}\r\nx\r\n', 'invalid date-time'],
    ['A1 APPEND INBOX {1+}\r\nx (\\Seen)\r\n', 'APPEND needs a message literal'],
    ['A1 APPEND INBOX CATENATE ()\r\n', 'CATENATE needs at least one part'],
    ['A1 APPEND INBOX CATENATE (TEXT)\r\n', 'CATENATE parts are TEXT literals and URLs'],
    ['A1 APPEND INBOX CATENATE (FILE "/etc/passwd")\r\n', 'CATENATE parts are TEXT literals and URLs'],
    ['A1 APPEND INBOX CATENATE (URL)\r\n', 'URL expected'],
    ['A1 APPEND INBOX CATENATE (URL ("x"))\r\n', 'URL expected'],
    ['A1 APPEND INBOX UTF8 (~{1+}\r\nx)\r\n', 'UTF8 needs ENABLE UTF8=ACCEPT'],
  ])('%j is BAD: %s', (wire, text) => {
    expect(parse(wire)).toEqual(new ImapReply('BAD', text));
  });

  it('takes UTF8 (literal8) once enabled, also as a CATENATE part (RFC 6855 §4)', () => {
    expect(parse('A1 APPEND INBOX UTF8 (~{2+}\r\nhi) CATENATE (UTF8 (~{2+}\r\nyo))\r\n', true)).toMatchObject(
      [
        { data: { kind: 'literal', raw: Buffer.from('hi') } },
        { data: { kind: 'catenate', parts: [{ kind: 'text', data: Buffer.from('yo') }] } },
      ],
    );
  });

  it('REPLACE takes exactly one message (RFC 8508)', () => {
    expect(parse('A1 REPLACE Drafts {1+}\r\nx {1+}\r\ny\r\n', false, true)).toEqual(
      new ImapReply('BAD', 'REPLACE takes one message'),
    );
    expect(parse('A1 REPLACE Drafts {1+}\r\nx\r\n', false, true)).toHaveLength(1);
  });
});
