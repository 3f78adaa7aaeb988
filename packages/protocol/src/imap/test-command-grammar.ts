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
import {
  bytes,
  dateText,
  dateTimeText,
  flag,
  flagList,
  join,
  numberText,
  sequenceSet,
  stringArgument,
} from './test-grammar-values.js';

/**
 * A command without its tag, CRLF included, as a binary string: one character per octet
 * (`Buffer.from(command, 'latin1')` is what the client sends), so that fast-check prints
 * a counterexample as readable text.
 */
export type GrammarCommand = string;

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

export const searchKey: fc.Arbitrary<Buffer> = fc.letrec<{ key: Buffer }>((tie) => ({
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

// SORT and THREAD (RFC 5256, RFC 5267, RFC 5957): a charset is mandatory, then the same keys.
const sortCommand = fc
  .tuple(
    fc.constantFrom('SORT', 'UID SORT'),
    fc.option(fc.constantFrom('RETURN ()', 'RETURN (MIN MAX COUNT ALL)', 'RETURN (SAVE)', 'RETURN (BOGUS)')),
    fc.constantFrom(
      '(SUBJECT)',
      '(REVERSE DATE ARRIVAL)',
      '(DISPLAYFROM DISPLAYTO CC TO FROM SIZE)',
      '()',
      '(REVERSE)',
      '(BOGUS)',
      'SUBJECT',
    ),
    fc.oneof(
      fc.constantFrom('UTF-8', 'US-ASCII', 'ISO-2022-JP', 'KOI8-R', 'X-BOGUS').map(bytes),
      stringArgument,
    ),
    fc.array(searchKey, { minLength: 0, maxLength: 3 }).map((keys) => join(keys)),
  )
  .map(([name, returns, criteria, charset, keys]) =>
    join([bytes(name), ...(returns ? [bytes(returns)] : []), bytes(criteria), charset, keys]),
  );

const threadCommand = fc
  .tuple(
    fc.constantFrom('THREAD', 'UID THREAD'),
    fc.constantFrom('REFERENCES', 'ORDEREDSUBJECT', 'REFS', '(REFERENCES)'),
    fc.oneof(fc.constantFrom('UTF-8', 'X-BOGUS').map(bytes), stringArgument),
    fc.array(searchKey, { minLength: 0, maxLength: 3 }).map((keys) => join(keys)),
  )
  .map(([name, algorithm, charset, keys]) => join([bytes(`${name} ${algorithm}`), charset, keys]));

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

/** METADATA entry names (RFC 5464 §3.2): valid ones, ones the rules refuse, and any string. */
const metadataEntry = fc.oneof(
  fc
    .constantFrom(
      '/private/comment',
      '/SHARED/Comment',
      '/shared/admin',
      '/private',
      '/private/vendor/x/a_b',
      '/private/*',
      '/private//x',
      '/shared/x/',
      '/other',
    )
    .map(bytes),
  stringArgument,
);

const metadataEntries = fc.oneof(
  metadataEntry,
  fc
    .array(metadataEntry, { maxLength: 4 })
    .map((entries) => Buffer.concat([bytes('('), join(entries), bytes(')')])),
);

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
        // COMPRESS DEFLATE itself is left out: what follows it must be compressed.
        'COMPRESS X-UNKNOWN',
        'COMPRESS',
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
    sortCommand,
    threadCommand,
    fc
      .tuple(fc.constantFrom('COPY', 'MOVE', 'UID COPY', 'UID MOVE'), sequenceSet, mailbox)
      .map(([name, set, m]) => join([bytes(`${name} ${set}`), m])),
    sequenceSet.map((set) => bytes(`UID EXPUNGE ${set}`)),
    fc
      .tuple(
        fc.option(
          fc.constantFrom(
            '(DEPTH infinity)',
            '(MAXSIZE 10 DEPTH 1)',
            '(MAXSIZE 4294967296)',
            '(DEPTH 2)',
            '()',
          ),
        ),
        mailbox,
        metadataEntries,
      )
      .map(([options, m, entries]) =>
        join([bytes('GETMETADATA'), ...(options ? [bytes(options)] : []), m, entries]),
      ),
    fc
      .tuple(
        mailbox,
        fc.array(
          fc.tuple(
            metadataEntry,
            fc.oneof(fc.constant(bytes('NIL')), fc.constant(bytes('atom')), stringArgument),
          ),
          {
            maxLength: 4,
          },
        ),
      )
      .map(([m, pairs]) =>
        join([bytes('SETMETADATA'), m, Buffer.concat([bytes('('), join(pairs.flat()), bytes(')')])]),
      ),
  )
  .map((command) => `${command.toString('latin1')}\r\n`);
