/**
 * Argument values for the command grammar of test-command-grammar.ts: numbers, sequence
 * sets, strings in every form, dates, date-times and flags, each drawn from valid values,
 * boundary values and hostile ones (RFC 9051 §9 and where the store's limits are).
 */
import fc from 'fast-check';

export const bytes = (text: string) => Buffer.from(text, 'latin1');
const utf8 = (text: string) => Buffer.from(text, 'utf8');
export const join = (parts: readonly Buffer[], separator = ' ') =>
  Buffer.concat(parts.flatMap((part, i) => (i === 0 ? [part] : [bytes(separator), part])));

// ---------------------------------------------------------------------------
// Values

const NUMBERS = [
  '0',
  '1',
  '2',
  '3',
  '01',
  '4294967295',
  '4294967296',
  '9007199254740993',
  '9223372036854775807',
  '9223372036854775808',
  '18446744073709551615',
  '99999999999999999999',
  '-1',
  '1e3',
];

/** A number as written: boundaries, small ones and any size up to 2^80. */
export const numberText = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NUMBERS) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 80n }).map(String) },
);

/** A sequence set: `$`, `*`, ranges, lists, and lists of thousands of ranges. */
export const sequenceSet = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom('1', '1:*', '*', '$', '2:1', '*:1', '1,3', '3:*', '0', '1:0', ',', ''),
  },
  {
    weight: 3,
    arbitrary: fc
      .array(
        fc.tuple(fc.oneof(numberText, fc.constant('*')), fc.option(fc.oneof(numberText, fc.constant('*')))),
        {
          minLength: 1,
          maxLength: 6,
        },
      )
      .map((ranges) => ranges.map(([a, b]) => (b === null ? a : `${a}:${b}`)).join(',')),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 8_000 }).map((n) => Array(n).fill('1:*').join(',')) },
);

/** Octets for strings: mailbox names that exist, names none can have, and hostile bytes. */
export const octets = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .constantFrom(
        '',
        'INBOX',
        'inbox',
        'Sent',
        'Trash',
        'Archive',
        'Drafts',
        'Nowhere',
        'INBOX/child',
        'a/b',
        '/',
        '/bob/INBOX',
        'a//b',
        'a/',
        '&Jjo!',
        '&ZeVnLIqe-',
        '&AGE-',
        '&-',
        '*',
        '%',
        'a*b',
        'x'.repeat(1_001),
        `${'a/'.repeat(40)}b`,
        'UTF-8',
        'body',
        'message',
      )
      .map(bytes),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        'Été',
        '日本語',
        '\u65e5'.repeat(400),
        '\ud83d\udce7',
        'a\u0000b',
        'a\r\nb',
        'a\u0001b',
        'a\u007fb',
        '\ufffd',
      )
      .map(utf8),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom([0xff, 0xfe], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0x00])
      .map((b) => Buffer.from(b)),
  },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }).map(utf8) },
);

const ATOM_SAFE = /^[!#$&'+,\-./0-9:;<=>?@A-Z^_`a-z|~\x80-\xff]+$/;

/** Octets in one of the forms a string argument can take. */
function stringForm(value: Buffer): fc.Arbitrary<Buffer> {
  const forms: fc.Arbitrary<Buffer>[] = [
    fc.constant(Buffer.concat([bytes(`{${value.length}+}\r\n`), value])),
    fc.constant(Buffer.concat([bytes(`{${value.length}}\r\n`), value])),
    fc.constant(Buffer.concat([bytes(`~{${value.length}+}\r\n`), value])),
  ];
  // A quoted string ends at CR or LF: those octets go in literals only.
  if (!value.includes(0x0d) && !value.includes(0x0a)) {
    const escaped = value.toString('latin1').replace(/["\\]/g, '\\$&');
    forms.push(fc.constant(bytes(`"${escaped}"`)), fc.constant(bytes(`"${escaped}"`)));
  }
  if (ATOM_SAFE.test(value.toString('latin1'))) forms.push(fc.constant(value), fc.constant(value));
  return fc.oneof(...forms);
}

/** An astring, or now and then NIL or a list where one is expected. */
export const stringArgument = fc.oneof(
  { weight: 12, arbitrary: octets.chain(stringForm) },
  { weight: 1, arbitrary: fc.constantFrom('NIL', '()', '(INBOX)').map(bytes) },
);

const MONTHS = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
  'jan',
  'Foo',
];

/** SEARCH's date: real days, 31-Feb, day 0, year 0000, five-digit years. */
export const dateText = fc.oneof(
  fc.constantFrom(
    '1-Jan-2026',
    '31-Feb-2026',
    '29-Feb-2024',
    '29-Feb-2100',
    '0-Jan-2026',
    '1-Jan-0000',
    '01-Jan-0001',
    '001-Jan-2026',
    '1-Jan-10000',
  ),
  fc
    .tuple(fc.integer({ min: 0, max: 40 }), fc.constantFrom(...MONTHS), fc.integer({ min: 0, max: 9_999 }))
    .map(([d, m, y]) => `${d}-${m}-${String(y).padStart(4, '0')}`),
);

/** APPEND's date-time, quoted. */
export const dateTimeText = fc
  .tuple(
    dateText,
    fc.integer({ min: 0, max: 25 }),
    fc.integer({ min: 0, max: 61 }),
    fc.constantFrom('+', '-'),
    fc.constantFrom('0000', '2359', '2400', '9999', '0160', '0130'),
  )
  .map(([date, h, s, sign, zone]) => {
    const two = (n: number) => String(n).padStart(2, '0');
    const day = /^\d-/.test(date) ? ` ${date}` : date;
    return `"${day} ${two(h)}:${two(s)}:${two(s)} ${sign}${zone}"`;
  });

const FLAGS = [
  '\\Seen',
  '\\Answered',
  '\\Flagged',
  '\\Deleted',
  '\\Draft',
  '\\Recent',
  '\\Bogus',
  '$Junk',
  '$Forwarded',
  'a]b',
  'a%b',
  'x'.repeat(300),
];

export const flag = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...FLAGS).map(bytes) },
  { weight: 1, arbitrary: octets.filter((b) => ATOM_SAFE.test(b.toString('latin1'))) },
  { weight: 1, arbitrary: fc.constant(bytes('"quoted"')) },
);

/** A flag list: none, a few, or thousands. */
export const flagList = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .array(flag, { maxLength: 6 })
      .map((flags) => Buffer.concat([bytes('('), join(flags), bytes(')')])),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 100, max: 5_000 })
      .map((n) => bytes(`(${Array.from({ length: n }, (_, i) => `k${i}`).join(' ')})`)),
  },
);
