import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSieve, runSieve, SieveError, type SieveInput } from '../packages/protocol/src/sieve/index.js';
import { mapLimited, Pigeonhole, type PigeonholeOutcome, sieveTestInstalled } from './support/pigeonhole.js';
import {
  forgetDerivedHandles,
  type NormalOutcome,
  normaliseCompileError,
  normaliseTegami,
} from './support/sieve-actions.js';
import { corpusMessages, generatedMessages, type SieveTestMessage } from './support/sieve-messages.js';

// Issue 19: Tegami's Sieve interpreter against Dovecot Pigeonhole's sieve-test, the
// reference implementation. Every script of test/sieve-scripts/ (the examples of the RFCs,
// one file each, and scripts for each extension both implement) and the generated matrices
// below run on every message (the shared corpus and test/support/sieve-messages.ts); the
// actions both decide, in the normal form of test/support/sieve-actions.ts, must be equal.
//
// Where they differ on purpose, the difference is listed in KNOWN_DIFFERENCES with its
// reason and both outcomes, so the test fails when it goes away as well as when a new one
// appears. How each side is set up and what sieve-test cannot be asked is in
// test/support/pigeonhole.ts.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPTS_DIR = join(ROOT, 'test', 'sieve-scripts');
const CORPUS_DIR = resolve(ROOT, '..', 'shared', 'corpus');

interface TestScript {
  readonly name: string;
  readonly text: string;
  /** `# @mailboxes: A, B/C`: mailboxes that exist (mailboxexists, RFC 5490). */
  readonly mailboxes: readonly string[];
}

function directive(text: string, name: string): string[] {
  const m = new RegExp(`^# @${name}: (.*)$`, 'm').exec(text);
  return m ? m[1]!.split(',').map((s) => s.trim()) : [];
}

function readScripts(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith('.sieve'))
      .map((f) => [f.replace(/\.sieve$/, ''), readFileSync(join(dir, f), 'utf8')]),
  );
}

const fileScripts: TestScript[] = readdirSync(SCRIPTS_DIR)
  .filter((f) => f.endsWith('.sieve'))
  .sort()
  .map((f) => {
    const text = readFileSync(join(SCRIPTS_DIR, f), 'utf8');
    return { name: f, text, mailboxes: directive(text, 'mailboxes') };
  });

// ---- Generated matrices: each test of a long list sets its own flag, so the implicit keep's
// flags tell which tests were true (RFC 5232 §3: addflag on the internal variable).

const MATCH_TYPES = [':is', ':contains', ':matches'];
const STRING_COMPARATORS = ['i;octet', 'i;ascii-casemap'];
const ADDRESS_PARTS = [':all', ':localpart', ':domain', ':user', ':detail'];
const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

function matrix(name: string, requires: readonly string[], tests: readonly string[]): TestScript {
  const lines = [`require ${JSON.stringify(['imap4flags', ...requires])};`];
  for (const [i, test] of tests.entries()) lines.push(`if ${test} { addflag "t${i + 1}"; }  # t${i + 1}`);
  return { name, text: `${lines.join('\n')}\n`, mailboxes: [] };
}

const HEADER_KEYS = [
  '',
  'hello',
  'HELLO WORLD',
  'example',
  '*',
  '?*',
  '*example.*',
  'MAKE*',
  '*[*]*',
  '\\*',
  '?',
  'coyote@desert.example.org',
  '1 (Highest)',
  '*<*.*>',
  'テスト',
  '会議*',
];
const HEADERS = [
  'subject',
  'from',
  'to',
  'cc',
  'x-priority',
  'list-id',
  'received',
  'date',
  'x-caffeine',
  'message-id',
];

const ADDRESS_KEYS = [
  'me@example.net',
  'ME@EXAMPLE.NET',
  'example.net',
  '*.org',
  'me',
  '*+*',
  '',
  'coyote',
  '*@*',
  'foo',
  'ken',
];

const matrixScripts: TestScript[] = [
  ...HEADERS.map((header) =>
    matrix(
      `matrix-header-${header}`,
      [],
      MATCH_TYPES.flatMap((match) =>
        STRING_COMPARATORS.flatMap((comparator) =>
          HEADER_KEYS.map(
            (key) => `header ${match} :comparator ${quote(comparator)} ${quote(header)} ${quote(key)}`,
          ),
        ),
      ),
    ),
  ),
  ...['from', 'to', 'cc', 'sender'].map((header) =>
    matrix(
      `matrix-address-${header}`,
      ['subaddress'],
      ADDRESS_PARTS.flatMap((part) =>
        MATCH_TYPES.flatMap((match) =>
          STRING_COMPARATORS.flatMap((comparator) =>
            ADDRESS_KEYS.map(
              (key) =>
                `address ${part} ${match} :comparator ${quote(comparator)} ${quote(header)} ${quote(key)}`,
            ),
          ),
        ),
      ),
    ),
  ),
  matrix(
    'matrix-envelope',
    ['envelope', 'subaddress'],
    ['from', 'to'].flatMap((part) =>
      ADDRESS_PARTS.flatMap((addressPart) =>
        MATCH_TYPES.flatMap((match) =>
          ADDRESS_KEYS.map((key) => `envelope ${addressPart} ${match} ${quote(part)} ${quote(key)}`),
        ),
      ),
    ),
  ),
  matrix(
    'matrix-relational',
    ['relational', 'comparator-i;ascii-numeric', 'envelope'],
    ['x-priority', 'received', 'to', 'subject', 'x-none'].flatMap((header) =>
      ['gt', 'ge', 'lt', 'le', 'eq', 'ne'].flatMap((op) =>
        ['0', '1', '2', '3', '10', 'x'].flatMap((key) => [
          `header :count ${quote(op)} :comparator "i;ascii-numeric" ${quote(header)} ${quote(key)}`,
          `header :value ${quote(op)} :comparator "i;ascii-numeric" ${quote(header)} ${quote(key)}`,
          `header :value ${quote(op)} :comparator "i;ascii-casemap" ${quote(header)} ${quote(key)}`,
        ]),
      ),
    ),
  ),
  matrix(
    'matrix-numeric-is',
    ['comparator-i;ascii-numeric'],
    ['x-priority', 'subject', 'x-none'].flatMap((header) =>
      ['0', '1', '01', '3', '', 'x'].flatMap((key) => [
        `header :is :comparator "i;ascii-numeric" ${quote(header)} ${quote(key)}`,
        `not header :is :comparator "i;ascii-numeric" ${quote(header)} ${quote(key)}`,
      ]),
    ),
  ),
  matrix(
    'matrix-size-exists',
    [],
    [
      ...['1', '100', '500', '1K', '10K', '100K', '1M'].flatMap((n) => [
        `size :over ${n}`,
        `size :under ${n}`,
      ]),
      ...HEADERS.map((h) => `exists ${quote(h)}`),
      'exists ["from", "x-none"]',
      'allof (exists "from", not exists "x-none")',
      'anyof (false, true)',
      'allof (true, true)',
    ],
  ),
  matrix(
    'matrix-body',
    ['body'],
    ['text', 'raw', 'content "text"', 'content "text/html"', 'content ""', 'content "multipart"'].flatMap(
      (transform) =>
        MATCH_TYPES.flatMap((match) =>
          [
            '',
            'hello',
            'HELLO',
            'missile',
            '*coordinates*',
            'Content-Type',
            'テスト',
            'Inner body',
            '<b>',
          ].map((key) => `body :${transform} ${match} ${quote(key)}`),
        ),
    ),
  ),
];

const SCRIPTS: readonly TestScript[] = [...fileScripts, ...matrixScripts];

/** Pigeonhole has no ereject (RFC 5429 §2.1): it runs the script with reject in its place. */
function pigeonholeSource(script: TestScript): string {
  return /\bereject\b/.test(script.text) ? script.text.replace(/\bereject\b/g, 'reject') : script.text;
}

// ---- The differences on purpose, by script, each with both outcomes.

interface KnownDifference {
  /** A message's name, or '*' for every message. */
  readonly message: string;
  readonly reason: string;
  readonly tegami: NormalOutcome;
  readonly pigeonhole: NormalOutcome;
}

const KNOWN_DIFFERENCES: Readonly<Record<string, readonly KnownDifference[]>> = {
  'error-unterminated-string.sieve': [
    {
      message: '*',
      reason:
        'An unterminated quoted string (RFC 5228 §2.4.2): Pigeonhole reports the end of the script ' +
        '(line 6), where it ran out of text; Tegami reports the line the string opens on (3), ' +
        'which is where the mistake is.',
      tegami: { actions: [{ type: 'error', phase: 'compile', line: 3 }] },
      pigeonhole: { actions: [{ type: 'error', phase: 'compile', line: 6 }] },
    },
  ],
  'matrix-body': [
    {
      message: 'quoted-subject',
      reason:
        'On an empty body `body :raw :is/:contains/:matches ""` (t28, t37, t46) is true in Tegami and ' +
        'false in Pigeonhole, which gives :raw no value at all when the body is empty, yet answers ' +
        '`:text ""` true on the same message (t1, t10, t19). The empty body is one value, and the ' +
        'empty string is contained in every string (RFC 5228 §2.7.1): Tegami answers :raw as :text.',
      tegami: {
        actions: [
          {
            type: 'implicit-keep',
            flags: ['t1', 't10', 't109', 't118', 't127', 't19', 't28', 't37', 't46', 't55', 't64', 't73'],
          },
        ],
      },
      pigeonhole: {
        actions: [
          {
            type: 'implicit-keep',
            flags: ['t1', 't10', 't109', 't118', 't127', 't19', 't55', 't64', 't73'],
          },
        ],
      },
    },
  ],
  'rfc5260-index.sieve': [
    {
      message: 'plain-to-me',
      reason:
        'Pigeonhole 0.5.19 forgets `:index 2` when `:zone` follows it in a date test (with the tags ' +
        'in another order it honours it) and compares the first Received date; RFC 5260 §4/§6 make ' +
        "the tags' order irrelevant, so Tegami compares the second one (09:30 > 09:00): the redirect.",
      tegami: {
        actions: [
          { type: 'redirect', address: 'aftercutoff@example.org', copy: false },
          { type: 'store', mailbox: 'first-received-by', flags: [], create: false, copy: false },
          { type: 'store', mailbox: 'last-received-from', flags: [], create: false, copy: false },
          { type: 'store', mailbox: 'has-third-received', flags: [], create: false, copy: false },
        ],
      },
      pigeonhole: {
        actions: [
          { type: 'store', mailbox: 'first-received-by', flags: [], create: false, copy: false },
          { type: 'store', mailbox: 'last-received-from', flags: [], create: false, copy: false },
          { type: 'store', mailbox: 'has-third-received', flags: [], create: false, copy: false },
        ],
      },
    },
  ],
  'rfc5436-mailto-comma.sieve': [
    {
      message: '*',
      reason:
        "Pigeonhole refuses a comma in a mailto URI's path (\"invalid character ',' in 'to' part\"); " +
        'RFC 6068 §2 separates several addresses there with commas, and Tegami takes them.',
      tegami: {
        actions: [
          {
            type: 'notify',
            method: 'mailto',
            importance: 2,
            subject: null,
            from: null,
            recipients: ['To: alm@example.com', 'To: bob@example.com'],
            headers: [],
            body: null,
          },
          { type: 'implicit-keep', flags: [] },
        ],
      },
      pigeonhole: { actions: [{ type: 'error', phase: 'compile', line: 3 }] },
    },
  ],
};

// ---- The run.

const installed = sieveTestInstalled();
if (!installed) {
  console.warn('sieve-pigeonhole: skipped, sieve-test is not installed (Debian package dovecot-sieve)');
}

describe.skipIf(!installed)('Sieve: Tegami against Pigeonhole sieve-test', () => {
  const messages: SieveTestMessage[] = [...corpusMessages(CORPUS_DIR), ...generatedMessages()];
  const personal = readScripts(join(SCRIPTS_DIR, 'include', 'personal'));
  const global = readScripts(join(SCRIPTS_DIR, 'include', 'global'));
  const reference = new Map<string, PigeonholeOutcome>();
  let pigeonhole: Pigeonhole;
  let environment: Record<string, string>;
  let now: Date;

  const key = (script: TestScript, message: SieveTestMessage) => `${script.name} × ${message.name}`;

  beforeAll(async () => {
    pigeonhole = Pigeonhole.create({ personal, global });
    environment = await pigeonhole.environmentItems();
    now = new Date();
    const cases = SCRIPTS.flatMap((script) => messages.map((message) => ({ script, message })));
    const outcomes = await mapLimited(cases, 8, ({ script, message }) =>
      pigeonhole.run({
        script: pigeonholeSource(script),
        message: message.bytes,
        from: message.from,
        to: message.to,
        recipient: message.recipient,
        mailboxes: script.mailboxes,
      }),
    );
    for (const [i, c] of cases.entries()) reference.set(key(c.script, c.message), outcomes[i]!);
  }, 600_000);

  afterAll(() => pigeonhole?.close());

  function runTegami(script: TestScript, message: SieveTestMessage): NormalOutcome {
    let compiled: ReturnType<typeof compileSieve>;
    try {
      compiled = compileSieve(script.text, {
        include: (location, name) => (location === 'personal' ? personal : global)[name] ?? null,
      });
    } catch (error) {
      if (error instanceof SieveError) return normaliseCompileError(error);
      throw error;
    }
    const input: SieveInput = {
      message: message.bytes,
      envelope: { from: message.from, to: message.to },
      environment,
      now,
      zone: '+0000',
      ownAddresses: [message.recipient],
      spam: message.spam ?? null,
      virus: message.virus ?? null,
      seenBefore: () => false,
      mailboxExists: (name) => name.toUpperCase() === 'INBOX' || script.mailboxes.includes(name),
    };
    const result = runSieve(compiled, input);
    const outcome = normaliseTegami(result, {
      message: message.bytes,
      editheader: /\beditheader\b/.test(script.text),
      duplicate: /\bduplicate\b/.test(script.text),
    });
    return forgetDerivedHandles(outcome, script.text);
  }

  function pigeonholeOutcome(script: TestScript, message: SieveTestMessage): NormalOutcome {
    const { transcript: _, ...outcome } = reference.get(key(script, message))!;
    return forgetDerivedHandles(outcome, script.text);
  }

  it.each(SCRIPTS.map((s) => [s.name, s] as const))('%s: the same actions on every message', (_, script) => {
    const differences = messages.flatMap((message) => {
      const tegami = runTegami(script, message);
      const pigeonhole = pigeonholeOutcome(script, message);
      return isDeepStrictEqual(tegami, pigeonhole) ? [] : [{ message: message.name, tegami, pigeonhole }];
    });
    // SIEVE_DIFF_REPORT=file: every difference as a JSON line, for reading many at once.
    const report = process.env.SIEVE_DIFF_REPORT;
    if (report)
      for (const d of differences)
        appendFileSync(report, `${JSON.stringify({ script: script.name, ...d })}\n`);
    const expected = (KNOWN_DIFFERENCES[script.name] ?? []).flatMap(({ reason: _, message, ...d }) =>
      message === '*' ? messages.map((m) => ({ message: m.name, ...d })) : [{ message, ...d }],
    );
    expect(differences).toEqual(expected);
  });

  it('understands every line sieve-test printed', () => {
    const unparsed = [...reference.entries()].flatMap(([k, o]) =>
      o.actions.filter((a) => a.type === 'unparsed').map((a) => `${k}: ${JSON.stringify(a)}`),
    );
    expect(unparsed).toEqual([]);
  });

  it('runs the generated matrices without errors, some of their tests true', () => {
    for (const script of matrixScripts) {
      const flags = new Set<string>();
      for (const message of messages) {
        const outcome = pigeonholeOutcome(script, message);
        expect(
          outcome.actions.filter((a) => a.type === 'error'),
          `${script.name} × ${message.name}`,
        ).toEqual([]);
        for (const a of outcome.actions)
          if (a.type === 'implicit-keep') for (const f of a.flags) flags.add(f);
      }
      expect(flags.size, script.name).toBeGreaterThan(0);
    }
  });

  it('asks sieve-test what its environment items are, and gets the fixed ones', () => {
    expect(environment).toMatchObject({ location: 'MS', name: 'Pigeonhole Sieve', phase: 'post' });
  });

  // What sieve-test cannot be asked, checked on Tegami alone.

  it('sends no vacation reply to the null sender <> (RFC 5230 §4.5; sieve-test refuses -f "")', () => {
    const vacationScripts = fileScripts.filter((s) => /require[^;]*"vacation"/.test(s.text));
    const plain = messages.find((m) => m.name === 'plain-to-me')!;
    expect(vacationScripts.length).toBeGreaterThan(5);
    for (const script of vacationScripts) {
      const withSender = runTegami(script, plain);
      const nullSender = runTegami(script, { ...plain, from: '' });
      expect(withSender.actions.some((a) => a.type === 'vacation')).toBe(true);
      expect(nullSender.actions.filter((a) => a.type === 'vacation')).toEqual([]);
    }
  });

  it('makes ereject a reject marked as extended (RFC 5429 §2.1; Pigeonhole has no ereject)', () => {
    const script = fileScripts.find((s) => s.name === 'rfc5429-ereject.sieve')!;
    const coyote = messages.find((m) => m.name === 'many-recipients')!;
    const result = runSieve(compileSieve(script.text), {
      message: coyote.bytes,
      envelope: { from: coyote.from, to: coyote.to },
      environment,
      now,
      ownAddresses: [coyote.recipient],
    });
    expect(result.actions).toEqual([expect.objectContaining({ type: 'reject', extended: true })]);
  });
});
