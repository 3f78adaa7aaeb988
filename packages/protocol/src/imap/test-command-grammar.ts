/**
 * Arbitrary IMAP commands for property tests, built from the command grammar (RFC 9051 §9
 * and the extensions the engine speaks): every command the engine knows once logged in,
 * with arguments drawn from valid values, boundary values and hostile ones: numbers past
 * 2^32 and 2^63, empty strings, invalid UTF-8, NUL, control characters, very long and
 * very deep names, dates that name no day, deep OR/NOT/parenthesis nesting, many ranges,
 * many flags, many keys, and every string form (atom, quoted, literal, LITERAL+, literal8).
 *
 * Used by the engine's robustness property (session.test.ts, over the in-memory store) and
 * by the imap-gateway's over Postgres (services/imap-gateway/test/bad-input.test.ts).
 *
 * Each command is one complete command: no CR or LF outside literals, literals small
 * enough that the server takes them, so that it gets exactly one tagged answer. LOGOUT is
 * left out (the properties check the session stays usable after every command).
 */
import fc from 'fast-check';

/**
 * A command without its tag, CRLF included, as a binary string: one character per octet
 * (`Buffer.from(command, 'latin1')` is what the client sends), so that fast-check prints
 * a counterexample as readable text.
 */
export type GrammarCommand = string;

const bytes = (text: string) => Buffer.from(text, 'latin1');
const utf8 = (text: string) => Buffer.from(text, 'utf8');
const join = (parts: readonly Buffer[], separator = ' ') =>
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

const flag = fc.oneof(
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

// ---------------------------------------------------------------------------
// SEARCH

const SIMPLE_KEYS = [
  'ALL',
  'ANSWERED',
  'DELETED',
  'DRAFT',
  'FLAGGED',
  'NEW',
  'OLD',
  'RECENT',
  'SEEN',
  'UNANSWERED',
  'UNDELETED',
  'UNDRAFT',
  'UNFLAGGED',
  'UNSEEN',
  'BOGUS',
];

const searchKey: fc.Arbitrary<Buffer> = fc.letrec<{ key: Buffer }>((tie) => ({
  key: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: fc.constantFrom(...SIMPLE_KEYS).map(bytes) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom('BCC', 'CC', 'FROM', 'SUBJECT', 'TO', 'BODY', 'TEXT'), stringArgument)
        .map(([k, v]) => join([bytes(k), v])),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(stringArgument, stringArgument).map(([n, v]) => join([bytes('HEADER'), n, v])),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('KEYWORD', 'UNKEYWORD'), flag).map(([k, f]) => join([bytes(k), f])),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom('LARGER', 'SMALLER'), numberText)
        .map(([k, n]) => bytes(`${k} ${n}`)),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom('BEFORE', 'ON', 'SINCE', 'SENTBEFORE', 'SENTON', 'SENTSINCE'), dateText)
        .map(([k, d]) => bytes(`${k} ${d}`)),
    },
    { weight: 2, arbitrary: sequenceSet.map((s) => bytes(`UID ${s}`)) },
    { weight: 1, arbitrary: sequenceSet.map(bytes) },
    { weight: 2, arbitrary: numberText.map((n) => bytes(`MODSEQ ${n}`)) },
    { weight: 1, arbitrary: numberText.map((n) => bytes(`MODSEQ "/flags/\\\\seen" all ${n}`)) },
    { weight: 2, arbitrary: tie('key').map((k) => join([bytes('NOT'), k])) },
    { weight: 2, arbitrary: fc.tuple(tie('key'), tie('key')).map(([a, b]) => join([bytes('OR'), a, b])) },
    {
      weight: 1,
      arbitrary: fc
        .array(tie('key'), { minLength: 1, maxLength: 3 })
        .map((keys) => Buffer.concat([bytes('('), join(keys), bytes(')')])),
    },
  ),
})).key;

/** Nesting and width past every limit the engine has. */
const extremeKeys = fc.oneof(
  fc.integer({ min: 1, max: 120 }).map((n) => bytes(`${'NOT '.repeat(n)}ALL`)),
  fc.integer({ min: 1, max: 40 }).map((n) => bytes(`${'('.repeat(n)}ALL${')'.repeat(n)}`)),
  fc.integer({ min: 1, max: 80 }).map((n) => bytes(`${'OR ALL '.repeat(n)}ALL`)),
  fc.integer({ min: 900, max: 11_000 }).map((n) => bytes(`${'SEEN '.repeat(n)}ALL`)),
);

const searchCommand = fc
  .tuple(
    fc.constantFrom('SEARCH', 'UID SEARCH'),
    fc.option(
      fc.constantFrom(
        'RETURN ()',
        'RETURN (MIN MAX COUNT)',
        'RETURN (SAVE)',
        'RETURN (ALL SAVE)',
        'RETURN (BOGUS)',
      ),
    ),
    fc.option(fc.oneof(fc.constantFrom('UTF-8', 'US-ASCII', 'KOI8-R').map(bytes), stringArgument)),
    fc.oneof(
      { weight: 8, arbitrary: fc.array(searchKey, { minLength: 1, maxLength: 4 }).map((keys) => join(keys)) },
      { weight: 1, arbitrary: extremeKeys },
    ),
  )
  .map(([name, returns, charset, keys]) =>
    join([
      bytes(name),
      ...(returns ? [bytes(returns)] : []),
      ...(charset ? [bytes('CHARSET'), charset] : []),
      keys,
    ]),
  );

// ---------------------------------------------------------------------------
// FETCH

const SECTION_SPECS = [
  '',
  'HEADER',
  'TEXT',
  '1',
  '1.MIME',
  '2',
  '2.HEADER',
  '1.1',
  'HEADER.FIELDS (SUBJECT FROM)',
  'HEADER.FIELDS.NOT (X "Y")',
  'HEADER.FIELDS ()',
  'MIME',
  '0',
  'FROB',
];

const section = fc
  .tuple(
    fc.constantFrom('BODY', 'BODY.PEEK', 'BINARY', 'BINARY.PEEK', 'BINARY.SIZE'),
    fc.oneof(
      fc.constantFrom(...SECTION_SPECS),
      fc.array(numberText, { minLength: 1, maxLength: 3 }).map((ns) => ns.join('.')),
    ),
    fc.option(
      fc.oneof(
        numberText.map((n) => `<${n}>`),
        fc.tuple(numberText, numberText).map(([a, b]) => `<${a}.${b}>`),
      ),
    ),
  )
  .map(([name, spec, partial]) => `${name}[${spec}]${partial ?? ''}`);

const fetchItem = fc.oneof(
  fc.constantFrom(
    'FLAGS',
    'UID',
    'INTERNALDATE',
    'RFC822.SIZE',
    'ENVELOPE',
    'BODY',
    'BODYSTRUCTURE',
    'MODSEQ',
    'RFC822',
    'RFC822.HEADER',
    'RFC822.TEXT',
    'BOGUS',
  ),
  section,
);

const fetchItems = fc.oneof(
  fc.constantFrom('ALL', 'FAST', 'FULL'),
  fetchItem,
  fc.array(fetchItem, { minLength: 0, maxLength: 5 }).map((items) => `(${items.join(' ')})`),
);

// ---------------------------------------------------------------------------
// Commands

/** A small message, or hostile octets, as APPEND's data in one of its literal forms. */
const appendData = fc
  .tuple(
    fc.oneof(
      fc.constant(bytes('Subject: hello\r\nFrom: a@example.org\r\n\r\nbody\r\n')),
      fc.constant(bytes('Subject: a\u0000b\r\n\r\nNUL \u0000 and \u00ff\r\n')),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    ),
    fc.constantFrom('{n+}', '{n}', '~{n+}', 'UTF8 (~{n+})'),
  )
  .map(([data, form]) => {
    const marker = form.replace('n', String(data.length)).replace(/\)$/, '');
    const literal = Buffer.concat([bytes(`${marker}\r\n`), data]);
    return form.startsWith('UTF8') ? Buffer.concat([literal, bytes(')')]) : literal;
  });

const mailbox = stringArgument;

export const grammarCommand: fc.Arbitrary<GrammarCommand> = fc
  .oneof(
    fc
      .constantFrom(
        'CAPABILITY',
        'NOOP',
        'NAMESPACE',
        'CHECK',
        'EXPUNGE',
        'CLOSE',
        'UNSELECT',
        'STARTTLS',
        'AUTHENTICATE PLAIN',
        'LOGIN a b',
        'UID BOGUS 1',
        'BOGUS',
        'IDLE\r\nDONE',
        'SELECT INBOX',
        'EXAMINE INBOX',
      )
      .map(bytes),
    fc
      .array(
        fc.oneof(
          fc.constantFrom('IMAP4rev2', 'UTF8=ACCEPT', 'CONDSTORE', 'X-UNKNOWN').map(bytes),
          stringArgument,
        ),
        { maxLength: 3 },
      )
      .map((names) => join([bytes('ENABLE'), ...names])),
    fc
      .oneof(
        fc.constant(bytes('NIL')),
        fc
          .array(stringArgument, { maxLength: 8 })
          .map((items) => Buffer.concat([bytes('('), join(items), bytes(')')])),
        fc.integer({ min: 30, max: 300 }).map((n) => bytes(`(${'"k" "v" '.repeat(n).trimEnd()})`)),
      )
      .map((args) => join([bytes('ID'), args])),
    fc
      .tuple(fc.constantFrom('SELECT', 'EXAMINE', 'CREATE', 'DELETE', 'SUBSCRIBE', 'UNSUBSCRIBE'), mailbox)
      .map(([name, m]) => join([bytes(name), m])),
    fc.tuple(mailbox, mailbox).map(([a, b]) => join([bytes('RENAME'), a, b])),
    fc
      .tuple(
        fc.constantFrom('LIST', 'LSUB', 'LIST (SUBSCRIBED)', 'LIST (SPECIAL-USE RECURSIVEMATCH)'),
        stringArgument,
        stringArgument,
        fc.option(
          fc.constantFrom('RETURN (CHILDREN)', 'RETURN (STATUS (MESSAGES UIDNEXT))', 'RETURN (BOGUS)'),
        ),
      )
      .map(([name, ref, pattern, ret]) => join([bytes(name), ref, pattern, ...(ret ? [bytes(ret)] : [])])),
    fc
      .tuple(
        mailbox,
        fc.constantFrom(
          '(MESSAGES)',
          '(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN SIZE HIGHESTMODSEQ)',
          '()',
          '(BOGUS)',
          'MESSAGES',
        ),
      )
      .map(([m, items]) => join([bytes('STATUS'), m, bytes(items)])),
    fc
      .tuple(mailbox, fc.option(flagList), fc.option(dateTimeText), appendData)
      .map(([m, flags, date, data]) =>
        join([bytes('APPEND'), m, ...(flags ? [flags] : []), ...(date ? [bytes(date)] : []), data]),
      ),
    fc
      .tuple(fc.constantFrom('FETCH', 'UID FETCH'), sequenceSet, fetchItems)
      .map(([name, set, items]) => bytes(`${name} ${set} ${items}`)),
    fc
      .tuple(
        fc.constantFrom('STORE', 'UID STORE'),
        sequenceSet,
        fc.constantFrom('FLAGS', '+FLAGS', '-FLAGS.SILENT', 'BOGUS'),
        flagList,
      )
      .map(([name, set, item, flags]) => join([bytes(`${name} ${set} ${item}`), flags])),
    searchCommand,
    fc
      .tuple(fc.constantFrom('COPY', 'MOVE', 'UID COPY', 'UID MOVE'), sequenceSet, mailbox)
      .map(([name, set, m]) => join([bytes(`${name} ${set}`), m])),
    sequenceSet.map((set) => bytes(`UID EXPUNGE ${set}`)),
  )
  .map((command) => `${command.toString('latin1')}\r\n`);
