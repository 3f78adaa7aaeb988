// Every Sieve command and test Tegami knows, as data: the extension it belongs to, its
// tagged arguments (and what follows each tag), its positional arguments, and whether it
// takes tests or a block. The validator checks scripts against this table, the interpreter
// reads arguments through it, and SIEVE_EXTENSIONS lists what it names.

export type ValueKind = 'string' | 'string-list' | 'number';

export interface TagSpec {
  /** Without the colon, lower case. */
  readonly name: string;
  /** The argument that must follow the tag; absent: a plain flag. */
  readonly value?: ValueKind;
  /** The extension that must be required before the tag is known. */
  readonly extension?: string;
  /** Tags of one group exclude each other (one match type, one address part…). */
  readonly group?: string;
}

export interface PositionalSpec {
  readonly name: string;
  readonly kind: ValueKind;
  /** May be left out (setflag's variable name first, deleteheader's value patterns last). */
  readonly optional?: boolean;
  /** Taken as written: no `${…}` substitution (variable names, include names). */
  readonly literal?: boolean;
}

export interface CommandSpec {
  readonly name: string;
  readonly test: boolean;
  /** Any one of these must be required; empty: RFC 5228 core. */
  readonly extensions: readonly string[];
  readonly tags: readonly TagSpec[];
  readonly positional: readonly PositionalSpec[];
  /** How many tests it takes: none, exactly one (`if`, `not`), or a list (`allof`). */
  readonly tests: 'none' | 'one' | 'list';
  /** Only the control commands `if`/`elsif`/`else` take a block. */
  readonly block: boolean;
}

const COMPARATOR: readonly TagSpec[] = [{ name: 'comparator', value: 'string', group: 'comparator' }];

const MATCH_TYPE: readonly TagSpec[] = [
  { name: 'is', group: 'match-type' },
  { name: 'contains', group: 'match-type' },
  { name: 'matches', group: 'match-type' },
  { name: 'regex', group: 'match-type', extension: 'regex' },
  { name: 'value', value: 'string', group: 'match-type', extension: 'relational' },
  { name: 'count', value: 'string', group: 'match-type', extension: 'relational' },
];

const ADDRESS_PART: readonly TagSpec[] = [
  { name: 'all', group: 'address-part' },
  { name: 'localpart', group: 'address-part' },
  { name: 'domain', group: 'address-part' },
  { name: 'user', group: 'address-part', extension: 'subaddress' },
  { name: 'detail', group: 'address-part', extension: 'subaddress' },
];

/** RFC 5260 §6. */
const INDEX: readonly TagSpec[] = [
  { name: 'index', value: 'number', extension: 'index' },
  { name: 'last', extension: 'index' },
];

const MATCHING = [...COMPARATOR, ...MATCH_TYPE];

const string = (name: string, extra: Partial<PositionalSpec> = {}): PositionalSpec => ({
  name,
  kind: 'string',
  ...extra,
});
const list = (name: string, extra: Partial<PositionalSpec> = {}): PositionalSpec => ({
  name,
  kind: 'string-list',
  ...extra,
});

function command(
  name: string,
  extensions: readonly string[],
  tags: readonly TagSpec[],
  positional: readonly PositionalSpec[],
): CommandSpec {
  return { name, test: false, extensions, tags, positional, tests: 'none', block: false };
}

function test(
  name: string,
  extensions: readonly string[],
  tags: readonly TagSpec[],
  positional: readonly PositionalSpec[],
): CommandSpec {
  return { name, test: true, extensions, tags, positional, tests: 'none', block: false };
}

const FLAGS_TAG: TagSpec = { name: 'flags', value: 'string-list', extension: 'imap4flags' };
const COPY_TAG: TagSpec = { name: 'copy', extension: 'copy' };
const SET_MODIFIERS: readonly TagSpec[] = [
  { name: 'lower' },
  { name: 'upper' },
  { name: 'lowerfirst' },
  { name: 'upperfirst' },
  { name: 'quotewildcard' },
  { name: 'quoteregex', extension: 'regex' },
  { name: 'encodeurl', extension: 'enotify' },
  { name: 'length' },
];

const COMMANDS: readonly CommandSpec[] = [
  // RFC 5228 §3 control commands.
  command('require', [], [], [list('capabilities', { literal: true })]),
  { name: 'if', test: false, extensions: [], tags: [], positional: [], tests: 'one', block: true },
  { name: 'elsif', test: false, extensions: [], tags: [], positional: [], tests: 'one', block: true },
  { name: 'else', test: false, extensions: [], tags: [], positional: [], tests: 'none', block: true },
  command('stop', [], [], []),
  // RFC 5228 §4 actions and their extensions.
  command('keep', [], [FLAGS_TAG], []),
  command('discard', [], [], []),
  command('redirect', [], [COPY_TAG], [string('address')]),
  command(
    'fileinto',
    ['fileinto'],
    [COPY_TAG, FLAGS_TAG, { name: 'create', extension: 'mailbox' }],
    [string('folder')],
  ),
  command('reject', ['reject'], [], [string('reason')]),
  command('ereject', ['ereject'], [], [string('reason')]),
  command(
    'vacation',
    ['vacation'],
    [
      { name: 'days', value: 'number', group: 'period' },
      { name: 'seconds', value: 'number', group: 'period', extension: 'vacation-seconds' },
      { name: 'subject', value: 'string' },
      { name: 'from', value: 'string' },
      { name: 'addresses', value: 'string-list' },
      { name: 'mime' },
      { name: 'handle', value: 'string' },
    ],
    [string('reason')],
  ),
  command(
    'setflag',
    ['imap4flags'],
    [],
    [string('variable name', { optional: true, literal: true }), list('flags')],
  ),
  command(
    'addflag',
    ['imap4flags'],
    [],
    [string('variable name', { optional: true, literal: true }), list('flags')],
  ),
  command(
    'removeflag',
    ['imap4flags'],
    [],
    [string('variable name', { optional: true, literal: true }), list('flags')],
  ),
  command('set', ['variables'], SET_MODIFIERS, [string('name', { literal: true }), string('value')]),
  command(
    'include',
    ['include'],
    [
      { name: 'personal', group: 'location' },
      { name: 'global', group: 'location' },
      { name: 'once' },
      { name: 'optional' },
    ],
    [string('script name', { literal: true })],
  ),
  command('return', ['include'], [], []),
  command('global', ['include'], [], [list('variable names', { literal: true })]),
  command('addheader', ['editheader'], [{ name: 'last' }], [string('field name'), string('value')]),
  command(
    'deleteheader',
    ['editheader'],
    [...INDEX.map((tag) => ({ ...tag, extension: 'editheader' })), ...MATCHING],
    [string('field name'), list('value patterns', { optional: true })],
  ),
  command(
    'notify',
    ['enotify'],
    [
      { name: 'from', value: 'string' },
      { name: 'importance', value: 'string' },
      { name: 'options', value: 'string-list' },
      { name: 'message', value: 'string' },
    ],
    [string('method')],
  ),
  // RFC 5228 §5 tests and their extensions.
  test('address', [], [...MATCHING, ...ADDRESS_PART, ...INDEX], [list('header list'), list('key list')]),
  test('envelope', ['envelope'], [...MATCHING, ...ADDRESS_PART], [list('envelope part'), list('key list')]),
  test('header', [], [...MATCHING, ...INDEX], [list('header names'), list('key list')]),
  test('exists', [], [], [list('header names')]),
  test(
    'size',
    [],
    [
      { name: 'over', value: 'number', group: 'size' },
      { name: 'under', value: 'number', group: 'size' },
    ],
    [],
  ),
  { name: 'allof', test: true, extensions: [], tags: [], positional: [], tests: 'list', block: false },
  { name: 'anyof', test: true, extensions: [], tags: [], positional: [], tests: 'list', block: false },
  { name: 'not', test: true, extensions: [], tags: [], positional: [], tests: 'one', block: false },
  test('true', [], [], []),
  test('false', [], [], []),
  test(
    'body',
    ['body'],
    [
      ...MATCHING,
      { name: 'raw', group: 'transform' },
      { name: 'content', value: 'string-list', group: 'transform' },
      { name: 'text', group: 'transform' },
    ],
    [list('key list')],
  ),
  test('string', ['variables'], MATCHING, [list('source'), list('key list')]),
  test('hasflag', ['imap4flags'], MATCHING, [
    list('variable list', { optional: true, literal: true }),
    list('flags'),
  ]),
  test(
    'date',
    ['date'],
    [
      ...MATCHING,
      ...INDEX,
      { name: 'zone', value: 'string', group: 'zone' },
      { name: 'originalzone', group: 'zone' },
    ],
    [string('header name'), string('date part'), list('key list')],
  ),
  test(
    'currentdate',
    ['date'],
    [...MATCHING, { name: 'zone', value: 'string', group: 'zone' }],
    [string('date part'), list('key list')],
  ),
  test('environment', ['environment'], MATCHING, [string('name'), list('key list')]),
  test(
    'spamtest',
    ['spamtest', 'spamtestplus'],
    [...MATCHING, { name: 'percent', extension: 'spamtestplus' }],
    [string('value')],
  ),
  test('virustest', ['virustest'], MATCHING, [string('value')]),
  test(
    'duplicate',
    ['duplicate'],
    [
      { name: 'handle', value: 'string' },
      { name: 'header', value: 'string', group: 'id' },
      { name: 'uniqueid', value: 'string', group: 'id' },
      { name: 'seconds', value: 'number', group: 'period' },
      { name: 'days', value: 'number', group: 'period' },
      { name: 'last' },
    ],
    [],
  ),
  test('mailboxexists', ['mailbox'], [], [list('mailbox names')]),
  test('valid_notify_method', ['enotify'], [], [list('notification uris')]),
  test('notify_method_capability', ['enotify'], MATCHING, [
    string('notification uri'),
    string('notification capability'),
    list('key list'),
  ]),
];

const commands = new Map(COMMANDS.filter((spec) => !spec.test).map((spec) => [spec.name, spec]));
const tests = new Map(COMMANDS.filter((spec) => spec.test).map((spec) => [spec.name, spec]));

export function findCommand(name: string): CommandSpec | undefined {
  return commands.get(name);
}

export function findTest(name: string): CommandSpec | undefined {
  return tests.get(name);
}

/**
 * The SIEVE capability list (RFC 5804 §1.7) in Pigeonhole's names: every extension a script
 * may require. `comparator-i;unicode-casemap` works too but is not advertised.
 */
export const SIEVE_EXTENSIONS: readonly string[] = [
  'fileinto',
  'reject',
  'envelope',
  'encoded-character',
  'vacation',
  'subaddress',
  'comparator-i;ascii-numeric',
  'relational',
  'regex',
  'body',
  'copy',
  'include',
  'variables',
  'enotify',
  'environment',
  'mailbox',
  'date',
  'index',
  'duplicate',
  'ereject',
  'imap4flags',
  'editheader',
  'vacation-seconds',
  'spamtest',
  'spamtestplus',
  'virustest',
];
