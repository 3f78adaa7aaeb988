import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDomain } from '../address/mailbox-address.js';
import { encodeXtext, type MailParams, type ParseResult, parseCommand, type RcptParams } from './command.js';

const syntax = (text: string) => ({ ok: false, reply: { code: 501, enhanced: '5.5.4', lines: [text] } });
const unrecognized = {
  ok: false,
  reply: { code: 500, enhanced: '5.5.2', lines: ['Command not recognized'] },
};

describe('verbs (RFC 5321 §4.1.1)', () => {
  it('reads verbs in any case', () => {
    expect(parseCommand('quit')).toEqual({ ok: true, command: { verb: 'QUIT' } });
    expect(parseCommand('QuIt')).toEqual({ ok: true, command: { verb: 'QUIT' } });
    expect(parseCommand('StartTLS')).toEqual({ ok: true, command: { verb: 'STARTTLS' } });
  });

  it('answers 500 5.5.2 to unknown verbs, empty lines and verbs glued to their argument', () => {
    for (const line of [
      'FROB',
      'FROB x',
      '',
      ' ',
      ' QUIT',
      'MAIL:FROM:<>',
      'QUIT\u0000',
      'QUITTING',
      'HELOx',
      'rſet',
      '\u0000',
    ]) {
      expect(parseCommand(line), JSON.stringify(line)).toEqual(unrecognized);
    }
  });

  it('takes DATA, RSET, QUIT and STARTTLS with no argument, trailing blanks tolerated', () => {
    expect(parseCommand('DATA')).toEqual({ ok: true, command: { verb: 'DATA' } });
    expect(parseCommand('RSET \t ')).toEqual({ ok: true, command: { verb: 'RSET' } });
    expect(parseCommand('DATA x')).toEqual(syntax('Syntax: DATA (no parameters allowed)'));
    expect(parseCommand('RSET now')).toEqual(syntax('Syntax: RSET (no parameters allowed)'));
    expect(parseCommand('QUIT please')).toEqual(syntax('Syntax: QUIT (no parameters allowed)'));
    expect(parseCommand('STARTTLS x')).toEqual(syntax('Syntax: STARTTLS (no parameters allowed)'));
  });

  it('ignores the argument of NOOP (§4.1.1.9)', () => {
    expect(parseCommand('NOOP')).toEqual({ ok: true, command: { verb: 'NOOP' } });
    expect(parseCommand('NOOP anything at all')).toEqual({ ok: true, command: { verb: 'NOOP' } });
  });

  it('reads HELP with or without a topic', () => {
    expect(parseCommand('HELP')).toEqual({ ok: true, command: { verb: 'HELP' } });
    expect(parseCommand('HELP MAIL')).toEqual({ ok: true, command: { verb: 'HELP', topic: 'MAIL' } });
  });

  it('needs an argument for VRFY and EXPN (§4.1.1.6, §4.1.1.7)', () => {
    expect(parseCommand('VRFY Smith')).toEqual({ ok: true, command: { verb: 'VRFY', argument: 'Smith' } });
    expect(parseCommand('VRFY <smith@example.org>')).toEqual({
      ok: true,
      command: { verb: 'VRFY', argument: '<smith@example.org>' },
    });
    expect(parseCommand('EXPN Example-People')).toEqual({
      ok: true,
      command: { verb: 'EXPN', argument: 'Example-People' },
    });
    expect(parseCommand('VRFY')).toEqual(syntax('Syntax: VRFY address'));
    expect(parseCommand('EXPN  ')).toEqual(syntax('Syntax: EXPN mailing-list'));
  });
});

describe('HELO and EHLO (§4.1.1.1)', () => {
  it('reads EHLO with a domain or an address literal, kept as given', () => {
    expect(parseCommand('EHLO Mail.Example.ORG')).toEqual({
      ok: true,
      command: { verb: 'EHLO', domain: 'Mail.Example.ORG' },
    });
    expect(parseCommand('EHLO [127.0.0.1]')).toEqual({
      ok: true,
      command: { verb: 'EHLO', domain: '[127.0.0.1]' },
    });
    expect(parseCommand('EHLO [IPv6:::1]')).toEqual({
      ok: true,
      command: { verb: 'EHLO', domain: '[IPv6:::1]' },
    });
    expect(parseCommand('ehlo localhost')).toEqual({
      ok: true,
      command: { verb: 'EHLO', domain: 'localhost' },
    });
  });

  it('refuses EHLO without an argument or with something that is not a domain', () => {
    expect(parseCommand('EHLO')).toEqual(syntax('Syntax: EHLO hostname'));
    expect(parseCommand('EHLO ')).toEqual(syntax('Syntax: EHLO hostname'));
    const notDomain = syntax('EHLO needs a domain name or an address literal');
    for (const argument of [
      '192.0.2.1',
      'my_pc',
      'a b',
      'host.',
      '[300.0.0.1]',
      '[IPv6:zz::1]',
      'exa\u0000mple.org',
    ]) {
      expect(parseCommand(`EHLO ${argument}`), argument).toEqual(notDomain);
    }
  });

  it('reads HELO liberally: whatever the client calls itself, bare IPs and spaces included', () => {
    expect(parseCommand('HELO relay.example.org')).toEqual({
      ok: true,
      command: { verb: 'HELO', domain: 'relay.example.org' },
    });
    expect(parseCommand('HELO 192.0.2.1')).toEqual({
      ok: true,
      command: { verb: 'HELO', domain: '192.0.2.1' },
    });
    expect(parseCommand('HELO MY_PC')).toEqual({ ok: true, command: { verb: 'HELO', domain: 'MY_PC' } });
    expect(parseCommand('HELO my pc')).toEqual({ ok: true, command: { verb: 'HELO', domain: 'my pc' } });
  });

  it('refuses HELO without an argument or with control characters', () => {
    expect(parseCommand('HELO')).toEqual(syntax('Syntax: HELO hostname'));
    expect(parseCommand('HELO a\rb')).toEqual(syntax('Syntax: HELO hostname'));
    expect(parseCommand('HELO a\u0000')).toEqual(syntax('Syntax: HELO hostname'));
    expect(parseCommand('HELO a\uD800')).toEqual(syntax('Syntax: HELO hostname'));
  });
});

describe('MAIL and RCPT (§4.1.1.2, §4.1.1.3)', () => {
  const a = {
    kind: 'mailbox',
    mailbox: { localPart: 'a', domain: 'b.example', text: 'a@b.example', utf8: false },
  };

  it('reads MAIL FROM with parameters', () => {
    expect(parseCommand('MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME')).toEqual({
      ok: true,
      command: { verb: 'MAIL', from: a, params: { size: 1000, body: '8BITMIME', smtputf8: false } },
    });
  });

  it('tolerates spaces after the colon and any case in FROM:/TO:', () => {
    const expected = { ok: true, command: { verb: 'MAIL', from: a, params: { smtputf8: false } } };
    expect(parseCommand('MAIL FROM: <a@b.example>')).toEqual(expected);
    expect(parseCommand('mail from:  <a@b.example>')).toEqual(expected);
    expect(parseCommand('RCPT to: <a@b.example>')).toEqual({
      ok: true,
      command: { verb: 'RCPT', to: a, params: {} },
    });
  });

  it('needs FROM:/TO: and a path in angle brackets', () => {
    const mailUsage = syntax('Syntax: MAIL FROM:<address>');
    for (const line of [
      'MAIL',
      'MAIL FROM:',
      'MAIL FROM:a@b.example',
      'MAIL FROM <a@b.example>',
      'MAIL TO:<a@b.example>',
      'MAIL FROM :<a@b.example>',
    ]) {
      expect(parseCommand(line), line).toEqual(mailUsage);
    }
    const rcptUsage = syntax('Syntax: RCPT TO:<address>');
    for (const line of ['RCPT', 'RCPT TO:', 'RCPT TO:a@b.example', 'RCPT FROM:<a@b.example>']) {
      expect(parseCommand(line), line).toEqual(rcptUsage);
    }
  });

  it('refuses text glued to the closing bracket', () => {
    expect(parseCommand('MAIL FROM:<a@b.example>SIZE=1')).toEqual(
      syntax('Syntax: MAIL FROM:<address> [parameters]'),
    );
    expect(parseCommand('RCPT TO:<a@b.example>>')).toEqual(syntax('Syntax: RCPT TO:<address> [parameters]'));
  });

  it('answers 501 5.1.7 / 5.1.3 for a bad path', () => {
    expect(parseCommand('MAIL FROM:<a@>')).toEqual({
      ok: false,
      reply: { code: 501, enhanced: '5.1.7', lines: ['Bad sender address syntax'] },
    });
    expect(parseCommand('RCPT TO:<a b@c.example>')).toEqual({
      ok: false,
      reply: { code: 501, enhanced: '5.1.3', lines: ['Bad recipient address syntax'] },
    });
  });

  it('reports a bad path before bad parameters', () => {
    expect(parseCommand('MAIL FROM:<a@> FROB=1')).toEqual({
      ok: false,
      reply: { code: 501, enhanced: '5.1.7', lines: ['Bad sender address syntax'] },
    });
  });

  it('reads parameters left to right and answers the first bad one', () => {
    expect(parseCommand('MAIL FROM:<a@b.example> SIZE=x FROB')).toEqual(
      syntax('SIZE must be a number of octets'),
    );
    expect(parseCommand('MAIL FROM:<a@b.example> FROB SIZE=x')).toEqual({
      ok: false,
      reply: { code: 555, enhanced: '5.5.4', lines: ['Unsupported parameter FROB'] },
    });
  });
});

describe('BDAT (RFC 3030)', () => {
  it('reads a chunk size and the LAST marker', () => {
    expect(parseCommand('BDAT 86')).toEqual({ ok: true, command: { verb: 'BDAT', size: 86, last: false } });
    expect(parseCommand('BDAT 0 LAST')).toEqual({ ok: true, command: { verb: 'BDAT', size: 0, last: true } });
    expect(parseCommand('bdat 007 last')).toEqual({
      ok: true,
      command: { verb: 'BDAT', size: 7, last: true },
    });
  });

  it('caps an enormous size rather than refusing it: the chunk follows either way', () => {
    expect(parseCommand(`BDAT ${'9'.repeat(400)}`)).toEqual({
      ok: true,
      command: { verb: 'BDAT', size: Number.MAX_SAFE_INTEGER, last: false },
    });
  });

  it('refuses a missing or malformed size and anything but LAST after it', () => {
    for (const line of [
      'BDAT',
      'BDAT -1',
      'BDAT +1',
      'BDAT 1.0',
      'BDAT x',
      'BDAT 1 FIRST',
      'BDAT 1 LAST x',
      'BDAT LAST',
    ]) {
      expect(parseCommand(line), line).toEqual(syntax('Syntax: BDAT size [LAST]'));
    }
  });
});

describe('AUTH (RFC 4954 §4)', () => {
  it('reads the mechanism upper-cased and the initial response as sent', () => {
    expect(parseCommand('AUTH plain')).toEqual({ ok: true, command: { verb: 'AUTH', mechanism: 'PLAIN' } });
    expect(parseCommand('AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=')).toEqual({
      ok: true,
      command: { verb: 'AUTH', mechanism: 'PLAIN', initialResponse: 'dGVzdAB0ZXN0ADEyMzQ=' },
    });
    expect(parseCommand('AUTH EXTERNAL =')).toEqual({
      ok: true,
      command: { verb: 'AUTH', mechanism: 'EXTERNAL', initialResponse: '=' },
    });
    expect(parseCommand('AUTH scram-sha-256')).toEqual({
      ok: true,
      command: { verb: 'AUTH', mechanism: 'SCRAM-SHA-256' },
    });
  });

  it('refuses a missing or malformed mechanism and extra arguments', () => {
    const usage = syntax('Syntax: AUTH mechanism [initial-response]');
    for (const line of [
      'AUTH',
      'AUTH PL@IN',
      `AUTH ${'X'.repeat(21)}`,
      'AUTH PLAIN a b',
      'AUTH PLAIN d\u00e9',
      'AUTH PLAIN a\u0000',
    ]) {
      expect(parseCommand(line), line).toEqual(usage);
    }
  });
});

// ---------------------------------------------------------------------------------------
// Properties

/** Every result is a command, or a 5xx reply of printable ASCII lines: safe to send back. */
function expectWellFormed(result: ParseResult): void {
  if (result.ok) {
    expect(typeof result.command.verb).toBe('string');
    const path =
      result.command.verb === 'MAIL'
        ? result.command.from
        : result.command.verb === 'RCPT'
          ? result.command.to
          : undefined;
    if (path?.kind === 'mailbox') {
      // Nothing from an accepted address can start a line or a field of its own.
      for (const field of [path.mailbox.localPart, path.mailbox.domain, path.mailbox.text]) {
        expect(field).not.toMatch(/[\p{Cc}\uFFFD]/u);
      }
    }
    return;
  }
  expect(result.reply.code).toBeGreaterThanOrEqual(500);
  expect(result.reply.code).toBeLessThan(600);
  expect(result.reply.enhanced).toMatch(/^5\.\d\.\d$/);
  expect(result.reply.lines.length).toBeGreaterThan(0);
  for (const line of result.reply.lines) expect(line).toMatch(/^[\x20-\x7e]+$/);
}

const VALID_LINES = [
  'HELO relay.example.org',
  'EHLO [192.0.2.1]',
  'EHLO [IPv6:2001:db8::1]',
  'MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME',
  'MAIL FROM:<> RET=HDRS ENVID=QQ+2B1 AUTH=<>',
  'MAIL FROM:<@a.example,@b.example:"x y"@c.example> SMTPUTF8',
  'MAIL FROM:<用户@例子.广告> SMTPUTF8',
  'RCPT TO:<Postmaster>',
  'RCPT TO:<bob@[IPv6:::ffff:192.0.2.1]> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;bob+2Bx@example.net',
  'RCPT TO:<x@y.example> ORCPT=utf-8;\\x{7528}@y.example',
  'DATA',
  'BDAT 100 LAST',
  'AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=',
  'VRFY smith',
  'HELP',
  'STARTTLS',
];

const nasty = fc.oneof(
  fc.constantFrom(
    '\u0000',
    '\r',
    '\n',
    '\t',
    ' ',
    '<',
    '>',
    '"',
    '\\',
    '@',
    ':',
    ',',
    '.',
    '=',
    '+',
    '[',
    ']',
    ';',
    '{',
    '}',
    '\uD800',
    '\uDFFF',
    '\uFFFD',
    '\u0085',
    '\u00AD',
    'é',
    '用',
    '😀',
    'ſ',
    'x',
    '0',
  ),
  fc.string({ unit: 'binary', maxLength: 3 }),
  fc.string({ maxLength: 3 }),
);

type Mutation =
  | { kind: 'insert' | 'replace'; at: number; text: string }
  | { kind: 'delete'; at: number; count: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('insert' as const, 'replace' as const), at: fc.nat(), text: nasty }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
);

function mutate(line: string, mutations: readonly Mutation[]): string {
  let out = line;
  for (const m of mutations) {
    const at = m.at % (out.length + 1);
    if (m.kind === 'delete') out = out.slice(0, at) + out.slice(at + m.count);
    else out = out.slice(0, at) + m.text + out.slice(m.kind === 'insert' ? at : at + 1);
  }
  return out;
}

// Generators for the round trip: valid mailboxes and parameters, and how they go on the wire.

const NON_ASCII = ['é', 'ü', '用', 'δ', 'я', '😀'];
const atext = fc.constantFrom(..."abcxyzABCXYZ0189!#$%&'*+/=?^_`{|}~-".split(''), ...NON_ASCII);
const dotString = fc
  .array(fc.string({ unit: atext, minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 })
  .map((atoms) => atoms.join('.'));
const qtext = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  fc.constantFrom(...NON_ASCII),
);
const DOT_STRING =
  /^(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[\u0080-\u{10FFFF}])+(?:\.(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[\u0080-\u{10FFFF}])+)*$/u;

/** A local part as (canonical value, wire form): a dot-string, or quoted with random extra quoted-pairs. */
const localPart = fc.oneof(
  dotString.map((content) => ({ content, wire: content })),
  fc
    .tuple(
      fc.oneof(fc.string({ unit: qtext, maxLength: 12 }), dotString),
      fc.array(fc.boolean(), { maxLength: 12 }),
    )
    .map(([content, escapes]) => ({
      content,
      wire: `"${[...content]
        .map((c, i) => (c === '"' || c === '\\' || (escapes[i] && c < '\u007f') ? `\\${c}` : c))
        .join('')}"`,
    })),
);

const hex = fc.stringMatching(/^[0-9a-fA-F]{1,4}$/);
const ipv6 = fc.oneof(
  fc.array(hex, { minLength: 8, maxLength: 8 }).map((g) => g.join(':')),
  fc
    .tuple(fc.array(hex, { maxLength: 3 }), fc.array(hex, { maxLength: 3 }))
    .map(([left, right]) => `${left.join(':')}::${right.join(':')}`),
);
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?$/).filter((l) => !l.startsWith('xn'));
const domainName = fc
  .tuple(
    fc.array(fc.oneof(label, fc.constantFrom('bücher', '例子', 'пример', 'δοκιμή')), {
      minLength: 1,
      maxLength: 3,
    }),
    fc.stringMatching(/^[a-z]{2,6}$/),
    fc.boolean(),
  )
  .map(([labels, tld, upper]) => {
    const name = [...labels, tld].join('.');
    return upper ? name.toUpperCase() : name;
  });
/** A domain as (stored value, wire form). */
const domain = fc.oneof(
  { weight: 4, arbitrary: domainName.map((wire) => ({ value: expectDomain(wire), wire })) },
  { weight: 1, arbitrary: fc.ipV4().map((ip) => ({ value: `[${ip}]`, wire: `[${ip}]` })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(ipv6, fc.constantFrom('IPv6:', 'ipv6:', 'IPV6:'))
      .map(([ip, tag]) => ({ value: `[IPv6:${ip.toLowerCase()}]`, wire: `[${tag}${ip}]` })),
  },
);

function expectDomain(wire: string): string {
  const parsed = parseDomain(wire);
  if (!parsed.ok) throw new Error(`generator made a bad domain ${wire}`);
  return parsed.domain;
}

const sourceRoute = fc.constantFrom('', '@relay.example:', '@A.example,@b.example:');

const mailboxCase = fc
  .record({ local: localPart, domain, route: sourceRoute })
  .map(({ local, domain, route }) => ({
    wire: `<${route}${local.wire}@${domain.wire}>`,
    expected: {
      localPart: DOT_STRING.test(local.content)
        ? local.content
        : `"${local.content.replace(/["\\]/g, '\\$&')}"`,
      domain: domain.value,
      text: `${local.wire}@${domain.wire}`,
      utf8: /[\u0080-\u{10FFFF}]/u.test(`${local.wire}@${domain.wire}`),
    },
  }))
  .filter(
    ({ wire, expected }) =>
      Buffer.byteLength(wire) <= 256 &&
      Buffer.byteLength(expected.text.slice(0, expected.text.lastIndexOf('@'))) <= 64,
  );

const printableAscii = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  minLength: 1,
  maxLength: 100,
});
const unicodeText = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 30 })
  .filter((text) => !/[\p{Cc}\p{Cs}]/u.test(text));

/** RFC 6533 utf-8-addr-xtext, with xtext's +XX for the ASCII specials. */
function encodeUtf8AddrXtext(text: string): string {
  return [...text]
    .map((c) => {
      const code = c.codePointAt(0)!;
      if (code > 0x7f) return `\\x{${code.toString(16).toUpperCase()}}`;
      return c === '+' || c === '=' || c === '\\' || c === ' ' ? encodeXtext(c) : c;
    })
    .join('');
}

const randomCase = (word: string, lower: boolean) => (lower ? word.toLowerCase() : word);

const mailParamsCase = fc
  .record({
    size: fc.option(fc.maxSafeNat(), { nil: undefined }),
    body: fc.option(fc.constantFrom('7BIT' as const, '8BITMIME' as const, 'BINARYMIME' as const), {
      nil: undefined,
    }),
    smtputf8: fc.boolean(),
    ret: fc.option(fc.constantFrom('FULL' as const, 'HDRS' as const), { nil: undefined }),
    envid: fc.option(printableAscii, { nil: undefined }),
    auth: fc.option(fc.oneof(fc.constant('<>'), unicodeText), { nil: undefined }),
    lower: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
  })
  .chain((p) => {
    const tokens = [
      p.size === undefined ? undefined : `${randomCase('SIZE', p.lower[0]!)}=${p.size}`,
      p.body === undefined
        ? undefined
        : `${randomCase('BODY', p.lower[1]!)}=${randomCase(p.body, p.lower[2]!)}`,
      p.smtputf8 ? randomCase('SMTPUTF8', p.lower[3]!) : undefined,
      p.ret === undefined ? undefined : `RET=${p.ret}`,
      p.envid === undefined ? undefined : `${randomCase('ENVID', p.lower[4]!)}=${encodeXtext(p.envid)}`,
      p.auth === undefined ? undefined : `${randomCase('AUTH', p.lower[5]!)}=${encodeXtext(p.auth)}`,
    ].filter((t): t is string => t !== undefined);
    const expected: MailParams = {
      smtputf8: p.smtputf8,
      ...(p.size === undefined ? {} : { size: p.size }),
      ...(p.body === undefined ? {} : { body: p.body }),
      ...(p.ret === undefined ? {} : { ret: p.ret }),
      ...(p.envid === undefined ? {} : { envid: p.envid }),
      ...(p.auth === undefined ? {} : { auth: p.auth }),
    };
    return fc
      .shuffledSubarray(tokens, { minLength: tokens.length, maxLength: tokens.length })
      .map((shuffled) => ({ tokens: shuffled, expected }));
  });

const orcptCase = fc.oneof(
  fc
    .record({ type: fc.constantFrom('rfc822', 'RFC822', 'x400'), address: printableAscii })
    .map(({ type, address }) => ({
      wire: `${type};${encodeXtext(address)}`,
      expected: { addressType: type.toLowerCase(), address },
    })),
  fc.record({ type: fc.constantFrom('utf-8', 'UTF-8'), address: unicodeText }).map(({ type, address }) => ({
    wire: `${type};${encodeUtf8AddrXtext(address)}`,
    expected: { addressType: 'utf-8', address },
  })),
);

const rcptParamsCase = fc
  .record({
    notify: fc.option(
      fc.oneof(
        fc.constant('NEVER' as const),
        fc.uniqueArray(fc.constantFrom('SUCCESS' as const, 'FAILURE' as const, 'DELAY' as const), {
          minLength: 1,
        }),
      ),
      { nil: undefined },
    ),
    orcpt: fc.option(orcptCase, { nil: undefined }),
    orcptFirst: fc.boolean(),
  })
  .map((p) => {
    const notify =
      p.notify === undefined ? [] : [`NOTIFY=${p.notify === 'NEVER' ? 'NEVER' : p.notify.join(',')}`];
    const orcpt = p.orcpt === undefined ? [] : [`ORCPT=${p.orcpt.wire}`];
    const expected: RcptParams = {
      ...(p.notify === undefined ? {} : { notify: p.notify }),
      ...(p.orcpt === undefined ? {} : { orcpt: p.orcpt.expected }),
    };
    return { tokens: p.orcptFirst ? [...orcpt, ...notify] : [...notify, ...orcpt], expected };
  });

describe('properties', () => {
  it('never throws, and answers anything it refuses with a printable 5xx reply', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })),
        (line) => {
          expectWellFormed(parseCommand(line));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never throws on mutations of valid command lines', () => {
    const validLine = fc.oneof(
      fc.constantFrom(...VALID_LINES),
      mailboxCase.map((m) => `MAIL FROM:${m.wire}`),
      fc.tuple(mailboxCase, rcptParamsCase).map(([m, p]) => `RCPT TO:${m.wire} ${p.tokens.join(' ')}`),
    );
    fc.assert(
      fc.property(validLine, fc.array(mutation, { minLength: 1, maxLength: 5 }), (line, mutations) => {
        expectWellFormed(parseCommand(mutate(line, mutations)));
      }),
      { numRuns: 3000 },
    );
  });

  it('survives huge lines quickly', () => {
    const huge = [
      'x'.repeat(1_000_000),
      `MAIL FROM:<${'a'.repeat(1_000_000)}@b.example>`,
      `MAIL FROM:<"${'\\"'.repeat(500_000)}@b.example>`,
      `MAIL FROM:<@${'a.'.repeat(500_000)}:a@b>`,
      `RCPT TO:<a@b.example> ${'NOTIFY=SUCCESS '.repeat(100_000)}`,
      `MAIL FROM:<a@b.example> ENVID=${'+41'.repeat(300_000)}`,
      `EHLO ${'a.'.repeat(500_000)}example`,
      `EHLO [IPv6:${'1:'.repeat(500_000)}]`,
      `NOOP ${' '.repeat(1_000_000)}x`,
      `HELO ${'\u00e9'.repeat(1_000_000)}`,
      ' '.repeat(1_000_000),
      `DATA${' '.repeat(1_000_000)}x`,
    ];
    const started = Date.now();
    for (const line of huge) expectWellFormed(parseCommand(line));
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reads back generated MAIL lines: mailbox and parameters', () => {
    fc.assert(
      fc.property(
        fc.option(mailboxCase, { nil: undefined }),
        mailParamsCase,
        fc.boolean(),
        (from, params, spaced) => {
          const line = `MAIL FROM:${spaced ? ' ' : ''}${from?.wire ?? '<>'}${params.tokens.map((t) => ` ${t}`).join('')}`;
          expect(parseCommand(line)).toEqual({
            ok: true,
            command: {
              verb: 'MAIL',
              from: from ? { kind: 'mailbox', mailbox: from.expected } : { kind: 'null' },
              params: params.expected,
            },
          });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('reads back generated RCPT lines: mailbox or postmaster, and parameters', () => {
    const to = fc.oneof(
      {
        weight: 5,
        arbitrary: mailboxCase.map((m) => ({ wire: m.wire, path: { kind: 'mailbox', mailbox: m.expected } })),
      },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom('Postmaster', 'postmaster', 'POSTMASTER', '"postmaster"')
          .map((p) => ({ wire: `<${p}>`, path: { kind: 'postmaster' } })),
      },
    );
    fc.assert(
      fc.property(to, rcptParamsCase, (rcpt, params) => {
        const line = `RCPT TO:${rcpt.wire}${params.tokens.map((t) => ` ${t}`).join('')}`;
        expect(parseCommand(line)).toEqual({
          ok: true,
          command: { verb: 'RCPT', to: rcpt.path, params: params.expected },
        });
      }),
      { numRuns: 1000 },
    );
  });
});
