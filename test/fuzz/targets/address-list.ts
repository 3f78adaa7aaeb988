import fc from 'fast-check';
import {
  collapseWhitespace,
  type EnvelopeAddress,
  parseAddressList,
} from '../../../packages/protocol/src/mime/address-list.js';
import { decodeEncodedWords } from '../../../packages/protocol/src/mime/encoded-words.js';
import { normaliseForSearch, searchHeadersIn } from '../../../packages/protocol/src/mime/search-text.js';
import { formatMailbox } from '../../../packages/protocol/src/sieve/outgoing-message.js';
import type { FuzzTarget } from '../fuzz-target.js';
import { address as headerAddress } from '../mail-grammar.js';
import { ensure, mutatedText } from '../mail-seeds.js';

// Address lists (RFC 5322 §3.4) as IMAP ENVELOPE and SEARCH FROM/TO read them, and the
// mailboxes Tegami writes itself (Sieve notify and vacation: formatMailbox): what is written
// reads back as the same names and addresses.

interface Mailbox {
  readonly name: string;
  readonly local: string;
  readonly domain: string;
}

interface Entry {
  readonly group: string | null;
  readonly members: readonly Mailbox[];
}

export type AddressListInput =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'list'; readonly entries: readonly Entry[] }
  | { readonly kind: 'mailbox'; readonly mailbox: Mailbox };

const SEEDS = [
  '"Joe Q. Public" <john.q.public@example.com>',
  'Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>',
  '<boss@nil.test>, "Giant; \\"Big\\" Box" <sysservices@example.net>',
  'A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;',
  'Undisclosed recipients:;',
  'Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>',
  '<@route1,@route2:user@host>',
  'user @ example . org (Comment)',
  '=?utf-8?q?J=C3=B6rg?= <J@X.ORG>',
  '"folded\r\n name" <a@[127.0.0.1]>, :;, <>, @, ;;, >',
];

const atom = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~"),
  minLength: 1,
  maxLength: 10,
});
const local = fc.array(atom, { minLength: 1, maxLength: 3 }).map((atoms) => atoms.join('.'));
const domain = fc
  .array(
    fc.string({
      unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'),
      minLength: 1,
      maxLength: 10,
    }),
    { minLength: 1, maxLength: 3 },
  )
  .map((labels) => labels.join('.'));
const displayName = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom(
    'Joe Q. Public',
    'Giant; "Big" Box',
    'Jörg',
    '山田 太郎',
    '=?utf-8?q?x?=',
    '  spaced   out  ',
    'a\\b',
    '"quoted"',
  ),
);
const mailbox: fc.Arbitrary<Mailbox> = fc.record({ name: displayName, local, domain });
const entry: fc.Arbitrary<Entry> = fc.oneof(
  mailbox.map((m) => ({ group: null, members: [m] })),
  fc.record({
    group: fc
      .string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz '), minLength: 1, maxLength: 12 })
      .filter((g) => g.trim() !== ''),
    members: fc.array(mailbox, { maxLength: 3 }),
  }),
);

const input: fc.Arbitrary<AddressListInput> = fc.oneof(
  mutatedText(SEEDS, { base: fc.array(headerAddress, { maxLength: 4 }).map((a) => a.join(', ')) }).map(
    (text) => ({ kind: 'text' as const, text }),
  ),
  fc.array(entry, { minLength: 1, maxLength: 4 }).map((entries) => ({ kind: 'list' as const, entries })),
  mailbox.map((m) => ({ kind: 'mailbox' as const, mailbox: m })),
);

function isWellFormed(text: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

/** The display name formatMailbox keeps: one line, trimmed, outer quotes taken off. */
function keptName(name: string): string {
  let text = name.replace(/[\r\n]+[\t ]*/g, ' ').trim();
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2)
    text = text.slice(1, -1).replace(/\\(.)/g, '$1');
  return collapseWhitespace(text);
}

function checkText(text: string): EnvelopeAddress[] {
  const list = parseAddressList(text);
  ensure(list.length <= text.length + 1, `${list.length} addresses from ${text.length} characters`);
  let open = false;
  for (const a of list) {
    if (a.host === null) {
      // Group markers: (NIL NIL "name" NIL) opens, (NIL NIL NIL NIL) closes (RFC 3501 §7.4.2).
      ensure(a.name === null && a.adl === null, 'a group marker has no name or route');
      if (a.mailbox !== null) {
        ensure(!open, 'groups do not nest');
        open = true;
      } else {
        ensure(open, 'a group end closes an open group');
        open = false;
      }
    } else {
      // A mailbox never looks like a group marker: its parts are filled in when missing.
      ensure(
        a.mailbox !== null && a.mailbox !== '' && a.host !== '',
        'a mailbox has a local part and a host',
      );
    }
  }
  ensure(!open, 'every group is closed');
  for (const header of ['From', 'To']) {
    const field = `${header}: ${text}\r\n\r\n`;
    const bytes = Buffer.from(field, 'utf8');
    searchHeadersIn(bytes, 0, bytes.length);
  }
  return list;
}

function writeMailbox(m: Mailbox): string {
  return formatMailbox(
    m.name.trim() === '' ? `<${m.local}@${m.domain}>` : `${m.name} <${m.local}@${m.domain}>`,
  );
}

function checkMailbox(m: Mailbox, parsed: EnvelopeAddress | undefined, what: string): void {
  ensure(parsed !== undefined, `${what}: read back`);
  ensure(
    parsed.mailbox === m.local && parsed.host === m.domain,
    `${what}: ${JSON.stringify(parsed)} is not ${m.local}@${m.domain}`,
  );
  // A name already written as encoded words is passed on as such (a script may mean it so),
  // and reads back decoded.
  const expected = collapseWhitespace(decodeEncodedWords(keptName(m.name)));
  const got = parsed.name === null ? '' : collapseWhitespace(decodeEncodedWords(parsed.name));
  ensure(got === expected, `${what}: name ${JSON.stringify(got)}, written ${JSON.stringify(expected)}`);
}

function check(input: AddressListInput): void {
  if (input.kind === 'text') {
    checkText(input.text);
    return;
  }
  if (input.kind === 'mailbox') {
    if (!isWellFormed(input.mailbox.name)) return;
    const written = writeMailbox(input.mailbox);
    ensure(
      /^[\x20-\x7e]*$/.test(written),
      `the mailbox is written in 7-bit printable text: ${JSON.stringify(written)}`,
    );
    const list = checkText(written);
    ensure(list.length === 1, `one mailbox written, ${list.length} read: ${JSON.stringify(written)}`);
    checkMailbox(input.mailbox, list[0], JSON.stringify(written));
    return;
  }
  if (input.entries.some((e) => e.members.some((m) => !isWellFormed(m.name)))) return;
  const text = input.entries
    .map((e) =>
      e.group === null
        ? writeMailbox(e.members[0]!)
        : `${e.group}: ${e.members.map(writeMailbox).join(', ')};`,
    )
    .join(', ');
  const list = checkText(text);
  const expected = input.entries.flatMap((e) =>
    e.group === null ? [e.members[0]!] : ['start' as const, ...e.members, 'end' as const],
  );
  ensure(
    list.length === expected.length,
    `${expected.length} entries written, ${list.length} read: ${JSON.stringify(text)}`,
  );
  expected.forEach((want, i) => {
    const got = list[i]!;
    if (want === 'start') ensure(got.host === null && got.mailbox !== null, `entry ${i}: a group start`);
    else if (want === 'end') ensure(got.host === null && got.mailbox === null, `entry ${i}: a group end`);
    else checkMailbox(want, got, `entry ${i} of ${JSON.stringify(text)}`);
  });
  // SEARCH FROM finds each address as `<local@domain>`, as Dovecot matches it.
  const bytes = Buffer.from(`From: ${text}\r\n\r\n`, 'utf8');
  const from = searchHeadersIn(bytes, 0, bytes.length)[0]!.value;
  for (const m of input.entries.flatMap((e) => e.members)) {
    const spec = normaliseForSearch(`<${m.local}@${m.domain}>`);
    ensure(from.includes(spec), `SEARCH FROM text ${JSON.stringify(from)} lacks ${spec}`);
  }
}

export const target: FuzzTarget<AddressListInput> = {
  name: 'address-list',
  covers: 'RFC 5322 address lists (ENVELOPE, SEARCH FROM/TO) and the mailboxes Sieve writes, read back',
  input,
  check,
  regressions: [],
};
