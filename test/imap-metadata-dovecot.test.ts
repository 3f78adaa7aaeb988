import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DovecotImap, startDovecotImap } from './support/dovecot-imap.js';
import { type ImapResponse, ImapTestClient, type ImapValue, parseImapValues } from './support/imap-client.js';
import { type ImapGatewayUnderTest, startImapGatewayUnderTest } from './support/imap-gateway-under-test.js';

// METADATA (RFC 5464), Tegami against Dovecot 2.3 (mail_attribute_dict in a file,
// imap_metadata = yes): the same GETMETADATA and SETMETADATA commands, one after another,
// to both, and each answer compared: the tagged status and its response code, and the
// METADATA response's mailbox and entries with their values. Values are compared as
// octets, not as written: Dovecot writes every value as a literal, Tegami a short printable
// one as a quoted string. Entries are compared sorted: Dovecot lists the entries below a
// name in its dict's order, Tegami by name (its order is checked in the engine's tests).
//
// Dovecot's test instance has "." between levels, Tegami "/": SEP in a command is each
// server's. Both say the server's /shared/admin is mailto:postmaster@example.test (Dovecot
// from mail_server_admin, Tegami from the user's domain, whose postmaster every local
// domain has).
//
// Where the two answer differently, DIFFERENT below gives both answers and why. Left out
// because Dovecot breaks on them (its dict answers NO [SERVERBUG] to every later write):
// SETMETADATA of the bare `/private` or `/shared` (Dovecot takes it, Tegami answers BAD:
// §3.2 entries are below them) and of an atom as the value (Tegami: BAD, §5 value =
// nstring / literal8). Tegami's answers to those are in the engine's tests
// (packages/protocol/src/imap/commands/metadata.test.ts).

interface Answer {
  /** The tagged status and its response code, e.g. "OK [METADATA LONGENTRIES 12]" or "BAD". */
  readonly status: string;
  /** Each METADATA response: its mailbox, then entry=value pairs (NIL for none). */
  readonly metadata: readonly string[];
}

/** Each server's hierarchy separator goes where a command has this. */
const SEP = '<sep>';

/** A command, or a command and the name DIFFERENT knows it by where it is repeated. */
const COMMANDS: readonly (string | readonly [command: string, key: string])[] = [
  'GETMETADATA "" /shared/admin',
  'GETMETADATA "" (/shared/comment /private/comment /shared/vendor/x/y)',
  'SETMETADATA "" (/private/comment "server private" /shared/vendor/tegami-test/motd "hello")',
  'GETMETADATA "" (/private/comment /shared/vendor/tegami-test/motd /private/nothing)',
  'SETMETADATA "" (/shared/comment "my server")',
  'SETMETADATA "" (/shared/admin "mailto:me@example.test")',
  'GETMETADATA "" /shared/admin',
  // Mailbox entries: private and shared, any case, literals, empty values.
  'SETMETADATA INBOX (/private/comment "My inbox" /Shared/Comment "Shared inbox")',
  'GETMETADATA INBOX (/private/comment /shared/comment /private/nothing)',
  'GETMETADATA inbox /PRIVATE/Comment',
  'SETMETADATA INBOX (/private/comment {10+}\r\ntwo\r\nlines)',
  'GETMETADATA INBOX /private/comment',
  'SETMETADATA INBOX (/private/comment ~{5+}\r\nbytes)',
  'GETMETADATA INBOX /private/comment',
  'SETMETADATA INBOX (/private/comment "")',
  'GETMETADATA INBOX /private/comment',
  'SETMETADATA INBOX (/private/comment "Grüße")',
  'GETMETADATA INBOX /private/comment',
  'SETMETADATA INBOX (/private/comment ~{3+}\r\na\u0000b)',
  ['GETMETADATA INBOX /private/comment', 'GETMETADATA INBOX /private/comment#after-nul'],
  'SETMETADATA INBOX (/shared/comment NIL)',
  'GETMETADATA INBOX /shared/comment',
  'SETMETADATA INBOX (/shared/comment NIL /private/never-set NIL)',
  // DEPTH (§4.2.2) and MAXSIZE (§4.2.1).
  'SETMETADATA INBOX (/private/vendor/x/a "1" /private/vendor/x/a/b "22" /private/vendor/x/a/b/c "333")',
  'GETMETADATA (DEPTH 0) INBOX /private/vendor/x/a',
  'GETMETADATA (DEPTH 1) INBOX /private/vendor/x/a',
  'GETMETADATA (DEPTH infinity) INBOX /private/vendor/x/a',
  'GETMETADATA (DEPTH infinity) INBOX /private/vendor',
  'GETMETADATA (DEPTH 1) INBOX /private/vendor/x',
  'GETMETADATA (DEPTH 0) INBOX /private/vendor/x',
  'GETMETADATA (MAXSIZE 2) INBOX (/private/vendor/x/a /private/vendor/x/a/b /private/vendor/x/a/b/c)',
  'GETMETADATA (MAXSIZE 2 DEPTH infinity) INBOX /private/vendor',
  'GETMETADATA (depth 1 maxsize 0) INBOX /private/vendor/x/a',
  'GETMETADATA (MAXSIZE 1000) INBOX /private/vendor/x/a/b/c',
  'GETMETADATA (DEPTH infinity) "" /private',
  'GETMETADATA (DEPTH INFINITY) INBOX /private/vendor/x/a',
  'GETMETADATA INBOX (/private/vendor/x/a /private/vendor/x/a)',
  'GETMETADATA INBOX ()',
  'GETMETADATA () INBOX /private/vendor/x/a',
  'GETMETADATA INBOX /private',
  // Bad arguments (§3.2, §5): BAD on both.
  'GETMETADATA (DEPTH 2) INBOX /private',
  'GETMETADATA (MAXSIZE -1) INBOX /private',
  'GETMETADATA (MAXSIZE 4294967296) INBOX /private',
  'GETMETADATA (MAXSIZE) INBOX /private',
  'GETMETADATA (BOGUS 1) INBOX /private',
  'GETMETADATA INBOX /private/*',
  'GETMETADATA INBOX /shared/%',
  'GETMETADATA INBOX /private//x',
  'GETMETADATA INBOX /private/x/',
  'GETMETADATA INBOX /other/x',
  'GETMETADATA INBOX private/x',
  'GETMETADATA INBOX /private/comment /shared/comment',
  'GETMETADATA INBOX (/shared/comment',
  'SETMETADATA INBOX (/private/comment)',
  'SETMETADATA INBOX /private/comment "x"',
  'SETMETADATA INBOX (/private/a*b "x")',
  // Mailboxes that do not exist, and entries living with their mailbox (§4.1).
  'GETMETADATA Nowhere /private/comment',
  'SETMETADATA Nowhere (/private/comment "x")',
  'CREATE Work',
  `CREATE Work${SEP}Old`,
  'SETMETADATA Work (/private/comment "work")',
  `SETMETADATA Work${SEP}Old (/shared/comment "old")`,
  'RENAME Work Job',
  'GETMETADATA Job /private/comment',
  `GETMETADATA Job${SEP}Old /shared/comment`,
  ['GETMETADATA Work /private/comment', 'GETMETADATA Work /private/comment#after-rename'],
  'CREATE Work',
  'GETMETADATA Work /private/comment',
  `DELETE Job${SEP}Old`,
  `CREATE Job${SEP}Old`,
  `GETMETADATA Job${SEP}Old /shared/comment`,
  'DELETE Job',
  ['GETMETADATA Job /private/comment', 'GETMETADATA Job /private/comment#after-delete'],
  'SELECT INBOX',
  'GETMETADATA INBOX /private/vendor/x/a',
  'SETMETADATA INBOX (/private/vendor/x/a "selected")',
  'GETMETADATA INBOX /private/vendor/x/a',
];

/** Commands answered differently, each with both answers and the reason. */
const DIFFERENT: Record<string, { readonly dovecot: Answer; readonly tegami: Answer; readonly why: string }> =
  {
    'GETMETADATA Nowhere /private/comment': {
      dovecot: { status: 'NO', metadata: [] },
      tegami: { status: 'NO [NONEXISTENT]', metadata: [] },
      why: 'Both refuse a mailbox that does not exist; Tegami adds the RFC 5530 code, as its STATUS and SELECT do.',
    },
    'SETMETADATA Nowhere (/private/comment "x")': {
      dovecot: { status: 'NO', metadata: [] },
      tegami: { status: 'NO [NONEXISTENT]', metadata: [] },
      why: 'As for GETMETADATA of it.',
    },
    'GETMETADATA Work /private/comment#after-rename': {
      dovecot: { status: 'NO', metadata: [] },
      tegami: { status: 'NO [NONEXISTENT]', metadata: [] },
      why: 'Work was renamed and is no more: as for Nowhere.',
    },
    'SETMETADATA "" (/shared/comment "my server")': {
      dovecot: { status: 'NO [CANNOT]', metadata: [] },
      tegami: { status: 'NO [NOPERM]', metadata: [] },
      why: "Both keep the server's /shared/comment for the operator; Tegami says so with NOPERM (RFC 5530: not permitted to this user), as it does for SETQUOTA.",
    },
    'SETMETADATA "" (/shared/admin "mailto:me@example.test")': {
      dovecot: { status: 'NO [CANNOT]', metadata: [] },
      tegami: { status: 'NO [NOPERM]', metadata: [] },
      why: '/shared/admin is read-only (§3.2.1.1) on both; the response code differs as above.',
    },
    'SETMETADATA INBOX (/private/comment ~{3+}\r\na\u0000b)': {
      dovecot: { status: 'NO [CANNOT]', metadata: [] },
      tegami: { status: 'OK', metadata: [] },
      why: 'RFC 5464 §5 allows literal8 values, NUL included; Dovecot stores only strings without NUL, Tegami stores octets.',
    },
    'GETMETADATA INBOX /private/comment#after-nul': {
      dovecot: { status: 'OK', metadata: ['INBOX /private/comment="Grüße"'] },
      tegami: { status: 'OK', metadata: ['INBOX /private/comment="a\\x00b"'] },
      why: 'The value with NUL that Dovecot refused, answered by Tegami as a literal8 (~{3}).',
    },
    'GETMETADATA (DEPTH infinity) "" /private': {
      dovecot: { status: 'OK', metadata: [] },
      tegami: { status: 'OK', metadata: ['"" /private/comment="server private"'] },
      why: "Dovecot 2.3 lists no server entries below a name (it reads them one by one only); Tegami lists the server's as a mailbox's.",
    },
    'GETMETADATA (DEPTH INFINITY) INBOX /private/vendor/x/a': {
      dovecot: { status: 'BAD', metadata: [] },
      tegami: {
        status: 'OK',
        metadata: ['INBOX /private/vendor/x/a="1" /private/vendor/x/a/b="22" /private/vendor/x/a/b/c="333"'],
      },
      why: 'RFC 5464 §5: the grammar\'s strings, "infinity" among them, are case-insensitive; Dovecot takes only lower case.',
    },
    'GETMETADATA INBOX (/private/vendor/x/a /private/vendor/x/a)': {
      dovecot: { status: 'OK', metadata: ['INBOX /private/vendor/x/a="1" /private/vendor/x/a="1"'] },
      tegami: { status: 'OK', metadata: ['INBOX /private/vendor/x/a="1"'] },
      why: 'An entry named twice: Dovecot answers it twice, Tegami once (a METADATA response is a set of entries).',
    },
    'GETMETADATA Job /private/comment#after-delete': {
      dovecot: { status: 'OK', metadata: ['Job /private/comment=NIL'] },
      tegami: { status: 'NO [NONEXISTENT]', metadata: [] },
      why: "DELETE of a mailbox with children: Dovecot's maildir keeps the name as a mailbox (without the entries), Tegami keeps it \\Noselect, which has no entries to read.",
    },
  };

function show(value: ImapValue): string {
  if (value === null) return 'NIL';
  if (Array.isArray(value)) return `(${value.map(show).join(' ')})`;
  if ('atom' in value) return value.atom;
  return JSON.stringify(value.string.toString('utf8')).replace(/\\u0000/g, '\\x00');
}

/** The mailbox as each server names it, with "/" between levels. */
function mailboxOf(value: ImapValue, separator: string): string {
  const name =
    value !== null && !Array.isArray(value) ? ('atom' in value ? value.atom : value.string.toString()) : '?';
  return name === '' ? '""' : name.split(separator).join('/');
}

function answerOf(response: ImapResponse, separator: string, sort: boolean): Answer {
  const tagged = /^\S+ (OK|NO|BAD)(?: \[([^\]]*)\])?/.exec(response.tagged);
  if (!tagged) throw new Error(`no tagged status: ${response.tagged}`);
  const code = tagged[2]?.split(' ') ?? [];
  // The code's name, and for METADATA its kind and number; other codes' texts differ.
  const shown = code[0] === 'METADATA' ? code.join(' ') : code[0];
  const metadata: string[] = [];
  for (const line of response.untagged) {
    if (!/^\* METADATA /i.test(line.toString('latin1'))) continue;
    const [, , mailbox, entries] = parseImapValues(line);
    if (!Array.isArray(entries)) throw new Error(`METADATA without entries: ${line.toString('latin1')}`);
    const pairs: [entry: string, value: string][] = [];
    for (let i = 0; i < entries.length; i += 2) pairs.push([show(entries[i]!), show(entries[i + 1]!)]);
    if (sort) pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    metadata.push(
      [mailboxOf(mailbox!, separator), ...pairs.map(([entry, value]) => `${entry}=${value}`)].join(' '),
    );
  }
  return { status: shown ? `${tagged[1]} [${shown}]` : tagged[1]!, metadata };
}

describe('METADATA against Dovecot', () => {
  let dovecot: DovecotImap;
  let tegami: ImapGatewayUnderTest;
  let d: ImapTestClient;
  let t: ImapTestClient;

  beforeAll(async () => {
    [dovecot, tegami] = await Promise.all([
      startDovecotImap({ metadata: { serverAdmin: 'mailto:postmaster@example.test' } }),
      startImapGatewayUnderTest('imap-metadata'),
    ]);
    [d, t] = await Promise.all([ImapTestClient.connect(dovecot.port), ImapTestClient.connect(tegami.port)]);
    await Promise.all([d.login(dovecot.user, dovecot.password), t.login(tegami.user, tegami.password)]);
  }, 60_000);

  afterAll(async () => {
    await d?.close();
    await t?.close();
    await tegami?.stop();
    await dovecot?.stop();
  });

  it('both advertise METADATA; Tegami METADATA-SERVER too', async () => {
    const [dc, tc] = await Promise.all([d.command('CAPABILITY'), t.command('CAPABILITY')]);
    expect(dc.untagged.join(' ')).toMatch(/ METADATA\b/);
    expect(tc.untagged.join(' ')).toMatch(/ METADATA METADATA-SERVER /);
  });

  it('answers every GETMETADATA and SETMETADATA as Dovecot does, but for the differences listed', async () => {
    const differences: string[] = [];
    const explained = new Set<string>();
    for (const step of COMMANDS) {
      const [command, key] = typeof step === 'string' ? [step, step] : step;
      const [dr, tr] = await Promise.all([
        d.command(command.replaceAll(SEP, '.')),
        t.command(command.replaceAll(SEP, '/')),
      ]);
      if (!/^(GET|SET)METADATA /.test(command)) {
        // CREATE, RENAME, DELETE, SELECT set the scene: they must work on both; their
        // response codes (MAILBOXID, READ-WRITE) are not what this test compares.
        expect(
          [dr.tagged, tr.tagged].map((tagged) => tagged.split(' ')[1]),
          command,
        ).toEqual(['OK', 'OK']);
        continue;
      }
      // Entries sorted on both sides: Dovecot lists those below a name in its dict's order.
      const ours = answerOf(tr, '/', true);
      const theirs = answerOf(dr, '.', true);
      const known = DIFFERENT[key];
      if (known) {
        explained.add(key);
        expect({ dovecot: theirs, tegami: ours }, `${key}: ${known.why}`).toEqual({
          dovecot: known.dovecot,
          tegami: known.tegami,
        });
        continue;
      }
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
        differences.push(
          `${command}\n  dovecot ${JSON.stringify(theirs)}\n  tegami  ${JSON.stringify(ours)}`,
        );
      }
    }
    expect(differences).toEqual([]);
    // Every difference listed was met: none is stale.
    expect([...explained].sort()).toEqual(Object.keys(DIFFERENT).sort());
  }, 60_000);
});
