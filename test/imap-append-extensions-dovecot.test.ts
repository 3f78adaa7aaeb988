import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DovecotImap, startDovecotImap } from './support/dovecot-imap.js';
import { type ImapResponse, ImapTestClient } from './support/imap-client.js';
import { type ImapGatewayUnderTest, startImapGatewayUnderTest } from './support/imap-gateway-under-test.js';

// MULTIAPPEND (RFC 3502) and CATENATE (RFC 4469), Tegami against Dovecot: the same
// commands to both, and the same messages must come out, byte for byte, with the same
// flags and dates; the same refusals must be refused. UIDVALIDITY differs between the two
// servers, so each URL names the server's own. Dovecot has no REPLACE (RFC 8508): that is
// tested against the RFC's examples in packages/protocol (commands/append-extensions.test.ts).
//
// Literals are synchronising and sent stepwise: Dovecot answers a bad message of a
// MULTIAPPEND before its literal, and a LITERAL+ sent regardless would be read as commands.

interface Literal {
  readonly literal: string;
}
const lit = (text: string): Literal => ({ literal: text });

/** A command's pieces for commandWithLiterals: line parts with `{n}` markers, and the literals. */
function cmd(...parts: (string | Literal)[]): (string | Buffer)[] {
  const pieces: (string | Buffer)[] = [];
  let line = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      line += part;
      continue;
    }
    const data = Buffer.from(part.literal);
    pieces.push(`${line}{${data.length}}`, data);
    line = '';
  }
  pieces.push(line);
  return pieces;
}

const PLAIN = (n: number) =>
  `From: Bob <bob@example.net>\r\nTo: tester@example.test\r\nSubject: plain ${n}\r\n` +
  `Date: Mon, 1 Jun 2026 10:00:00 +0000\r\nMessage-ID: <plain${n}@example.net>\r\n\r\nbody of ${n}\r\n`;

const MULTIPART =
  'From: Carol <carol@example.net>\r\nTo: tester@example.test\r\nSubject: with an attachment\r\n' +
  'Date: Tue, 2 Jun 2026 11:00:00 +0000\r\nMIME-Version: 1.0\r\n' +
  'Content-Type: multipart/mixed; boundary="outer"\r\n\r\npreamble\r\n' +
  '--outer\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThe text part.\r\n' +
  '--outer\r\nContent-Type: application/octet-stream; name="a.bin"\r\nContent-Transfer-Encoding: base64\r\n' +
  'Content-Disposition: attachment; filename="a.bin"\r\n\r\nAAECAwQFBgcICQ==\r\n' +
  '--outer\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: d@example.net\r\n\r\ninner body\r\n' +
  '--outer--\r\nepilogue\r\n';

interface Server {
  readonly name: string;
  readonly client: ImapTestClient;
  uidValidity: number;
}

const status = (r: ImapResponse) => /^\S+ (OK|NO|BAD)/.exec(r.tagged)?.[1];
const code = (r: ImapResponse) => /^\S+ (?:OK|NO|BAD) \[([A-Z-]+)/.exec(r.tagged)?.[1];
const appendUids = (r: ImapResponse) => /\[APPENDUID \d+ ([\d:,]+)\]/.exec(r.tagged)?.[1];

/** What a mailbox holds, as both servers must agree on it: flags, date, size and bytes. */
async function contents(client: ImapTestClient, mailbox: string): Promise<string[]> {
  const selected = await client.command(`EXAMINE ${mailbox}`);
  if (status(selected) !== 'OK') throw new Error(`EXAMINE ${mailbox}: ${selected.tagged}`);
  if (selected.untagged.some((line) => /^\* 0 EXISTS/.test(line.toString()))) return [];
  const { untagged } = await client.command('FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])');
  return (
    untagged
      .map((line) => line.toString('latin1'))
      .filter((line) => / FETCH /.test(line))
      .map((line) => line.replace(/\\Recent ?/, '').replace(/ \)/, ')'))
      // Flags are a set: Tegami keeps them sorted, Dovecot in the order given.
      .map((line) =>
        line.replace(
          /FLAGS \(([^)]*)\)/,
          (_, flags: string) => `FLAGS (${flags.split(' ').sort().join(' ')})`,
        ),
      )
  );
}

/**
 * Logs in on a connection of its own, sends a MULTIAPPEND (LITERAL+) whose 3rd message is
 * cut short, and drops the connection: the server must store none of the three.
 */
async function dropMidMultiAppend(port: number, user: string, password: string): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  const waitFor = async (pattern: RegExp) => {
    for (let waited = 0; !pattern.test(received); waited += 10) {
      if (waited > 10_000) throw new Error(`no ${pattern} in ${received}`);
      await sleep(10);
    }
  };
  await waitFor(/^\* OK.*\r\n/m);
  socket.write(`a LOGIN "${user}" "${password}"\r\n`);
  await waitFor(/^a OK/m);
  const [one, two, three] = [PLAIN(21), PLAIN(22), PLAIN(23)];
  socket.write(`b APPEND Multi {${one.length}+}\r\n${one} {${two.length}+}\r\n${two} {${three.length}+}\r\n`);
  socket.write(three.slice(0, 20));
  // Both servers have read the first two messages by now.
  await sleep(300);
  socket.destroy();
  await sleep(300);
}

describe('MULTIAPPEND and CATENATE against Dovecot', () => {
  let dovecot: DovecotImap;
  let tegami: ImapGatewayUnderTest;
  let servers: Server[];

  /** Runs the command (built per server) on both; their answers, Dovecot's first. */
  async function both(
    command: (s: Server) => string | (string | Buffer)[],
  ): Promise<[ImapResponse, ImapResponse]> {
    const [d, t] = await Promise.all(
      servers.map((s) => {
        const built = command(s);
        return typeof built === 'string' ? s.client.command(built) : s.client.commandWithLiterals(built);
      }),
    );
    return [d!, t!];
  }

  /** Both mailboxes alike, dates aside: a message appended without one is dated on arrival. */
  async function sameContents(mailbox: string): Promise<string[]> {
    const undated = async (s: Server) =>
      (await contents(s.client, mailbox)).map((line) => line.replace(/INTERNALDATE "[^"]*" /, ''));
    const [d, t] = await Promise.all(servers.map(undated));
    expect(t, `${mailbox} on Tegami`).toEqual(d);
    return t!;
  }

  beforeAll(async () => {
    [dovecot, tegami] = await Promise.all([
      startDovecotImap(),
      startImapGatewayUnderTest('imap-append-extensions'),
    ]);
    const [d, t] = await Promise.all([
      ImapTestClient.connect(dovecot.port),
      ImapTestClient.connect(tegami.port),
    ]);
    await Promise.all([d.login(dovecot.user, dovecot.password), t.login(tegami.user, tegami.password)]);
    servers = [
      { name: 'dovecot', client: d, uidValidity: 0 },
      { name: 'tegami', client: t, uidValidity: 0 },
    ];
    for (const server of servers) {
      for (const name of ['Catenated', 'Multi']) {
        const created = await server.client.command(`CREATE ${name}`);
        if (status(created) !== 'OK') throw new Error(`${server.name} CREATE ${name}: ${created.tagged}`);
      }
      for (const raw of [PLAIN(1), MULTIPART]) {
        const appended = await server.client.append('INBOX', Buffer.from(raw));
        if (status(appended) !== 'OK') throw new Error(`${server.name} APPEND: ${appended.tagged}`);
      }
      const { untagged } = await server.client.command('STATUS INBOX (UIDVALIDITY)');
      server.uidValidity = Number(/UIDVALIDITY (\d+)/.exec(untagged.map(String).join(''))?.[1]);
    }
  }, 120_000);

  afterAll(async () => {
    for (const server of servers ?? []) await server.client.close();
    await tegami?.stop();
    await dovecot?.stop();
  });

  it('both advertise MULTIAPPEND and CATENATE', async () => {
    const [d, t] = await both(() => 'CAPABILITY');
    for (const answer of [d, t]) {
      const caps = answer.untagged.map(String).join(' ');
      expect(caps).toMatch(/ MULTIAPPEND[ \r]/);
      expect(caps).toMatch(/ CATENATE[ \r]/);
    }
  });

  it('MULTIAPPEND stores the messages in order, each with its flags and date, under one APPENDUID', async () => {
    const [d, t] = await both(() =>
      cmd(
        'APPEND Multi (\\Seen) "05-Jun-2026 08:00:00 +0200" ',
        lit(PLAIN(2)),
        ' (\\Draft $Work) ',
        lit(PLAIN(3)),
        ' "06-Jun-2026 09:30:00 -0500" ',
        lit(PLAIN(4)),
      ),
    );
    expect([status(d), status(t)]).toEqual(['OK', 'OK']);
    expect(appendUids(t)).toBe(appendUids(d));
    expect(appendUids(t)).toBe('1:3');
    // Dates of the messages without one are the time of the APPEND: compared apart.
    const stored = await Promise.all(servers.map((s) => contents(s.client, 'Multi')));
    const withoutDate = (lines: string[]) =>
      lines.map((line, i) => (i === 1 ? line.replace(/INTERNALDATE "[^"]*"/, 'INTERNALDATE "now"') : line));
    expect(withoutDate(stored[1]!)).toEqual(withoutDate(stored[0]!));
    expect(stored[1]).toHaveLength(3);
  });

  it('a MULTIAPPEND with a bad 3rd message stores none of them', async () => {
    const [d, t] = await both(() =>
      cmd('APPEND Multi ', lit(PLAIN(5)), ' ', lit(PLAIN(6)), ' (\\Bogus) ', lit(PLAIN(7))),
    );
    expect([status(d), status(t)]).toEqual(['BAD', 'BAD']);
    const [e, u] = await both(() =>
      cmd('APPEND Multi ', lit(PLAIN(5)), ' ', lit(PLAIN(6)), ' "bad date" ', lit(PLAIN(7))),
    );
    expect([status(e), status(u)]).toEqual(['BAD', 'BAD']);
    expect(await sameContents('Multi')).toHaveLength(3);
  });

  it('a MULTIAPPEND whose connection drops in the 3rd message stores none of them', async () => {
    const before = await sameContents('Multi');
    await dropMidMultiAppend(dovecot.port, dovecot.user, dovecot.password);
    await dropMidMultiAppend(tegami.port, tegami.user, tegami.password);
    expect(await sameContents('Multi')).toEqual(before);
    expect(before).toHaveLength(3);
  });

  it('a MULTIAPPEND to a missing mailbox is NO [TRYCREATE]', async () => {
    const [d, t] = await both(() => cmd('APPEND Nowhere ', lit(PLAIN(8)), ' ', lit(PLAIN(9))));
    expect([status(d), code(d)]).toEqual(['NO', 'TRYCREATE']);
    expect([status(t), code(t)]).toEqual(['NO', 'TRYCREATE']);
  });

  const CATENATES: readonly [string, (s: Server) => (string | Literal)[]][] = [
    ['a whole stored message', (s) => [`CATENATE (URL "/INBOX;UIDVALIDITY=${s.uidValidity}/;UID=1")`]],
    [
      'text around parts of a multipart (SECTION=n.MIME, n)',
      (s) => [
        'CATENATE (TEXT ',
        lit('Subject: forwarded\r\nContent-Type: multipart/mixed; boundary="fw"\r\n\r\n--fw\r\n'),
        ` URL "/INBOX;UIDVALIDITY=${s.uidValidity}/;UID=2/;SECTION=2.MIME"` +
          ` URL "/INBOX;UIDVALIDITY=${s.uidValidity}/;UID=2/;SECTION=2" TEXT `,
        lit('\r\n--fw--\r\n'),
        ')',
      ],
    ],
    [
      'HEADER and TEXT of the message, and of the encapsulated one',
      (s) => [
        `CATENATE (URL "/INBOX;UIDVALIDITY=${s.uidValidity}/;UID=1/;SECTION=HEADER"` +
          ` URL "/INBOX;UIDVALIDITY=${s.uidValidity}/;UID=2/;SECTION=3.TEXT"` +
          ` URL "/INBOX;UIDVALIDITY=${s.uidValidity}/;UID=2/;SECTION=TEXT")`,
      ],
    ],
    [
      'a partial range',
      (s) => [
        `CATENATE (URL "/INBOX;UIDVALIDITY=${s.uidValidity}/;UID=1/;SECTION=HEADER"` +
          ` URL "/INBOX;UIDVALIDITY=${s.uidValidity}/;UID=2/;SECTION=1/;PARTIAL=4.4")`,
      ],
    ],
    ['a URL without UIDVALIDITY', () => ['CATENATE (URL "/INBOX/;UID=1")']],
  ];

  it.each(CATENATES)('CATENATE builds the same message from %s', async (_what, data) => {
    const [d, t] = await both((s) => cmd('APPEND Catenated (\\Draft) ', ...data(s)));
    expect(status(d), d.tagged).toBe('OK');
    expect(status(t), t.tagged).toBe('OK');
    await sameContents('Catenated');
  });

  it('CATENATEs in a MULTIAPPEND, mixed with plain messages', async () => {
    const [d, t] = await both((s) =>
      cmd(
        'APPEND Catenated ',
        lit(PLAIN(10)),
        ` CATENATE (URL "/INBOX;UIDVALIDITY=${s.uidValidity}/;UID=1/;SECTION=TEXT") (\\Flagged) CATENATE (TEXT `,
        lit('Subject: x\r\n\r\n'),
        ` URL "/INBOX;UIDVALIDITY=${s.uidValidity}/;UID=2/;SECTION=1")`,
      ),
    );
    expect([status(d), status(t)]).toEqual(['OK', 'OK']);
    expect(appendUids(t)?.split(':').length).toBe(appendUids(d)?.split(':').length);
    await sameContents('Catenated');
  });

  const BAD_URLS: readonly [string, (s: Server) => string][] = [
    ['a wrong UIDVALIDITY', (s) => `/INBOX;UIDVALIDITY=${s.uidValidity + 1}/;UID=1`],
    ['a missing UID', (s) => `/INBOX;UIDVALIDITY=${s.uidValidity}/;UID=99`],
    ['a missing mailbox', () => '/Nowhere;UIDVALIDITY=1/;UID=1'],
    ['another server', () => 'imap://bob@elsewhere.example/INBOX;UIDVALIDITY=1/;UID=1'],
  ];

  it.each(BAD_URLS)('refuses %s with NO [BADURL], storing nothing', async (_what, url) => {
    const before = await sameContents('Catenated');
    const [d, t] = await both((s) =>
      cmd('APPEND Catenated ', lit(PLAIN(11)), ' CATENATE (TEXT ', lit('x\r\n'), ` URL "${url(s)}")`),
    );
    expect([status(d), code(d)]).toEqual(['NO', 'BADURL']);
    expect([status(t), code(t)]).toEqual(['NO', 'BADURL']);
    expect(await sameContents('Catenated')).toEqual(before);
  });

  it('CATENATE takes a URL relative to the selected mailbox', async () => {
    await both(() => 'SELECT INBOX');
    const [d, t] = await both(() =>
      cmd('APPEND Catenated CATENATE (URL ";UID=1/;SECTION=HEADER" URL ";UID=2/;SECTION=3")'),
    );
    await both(() => 'UNSELECT');
    expect([status(d), status(t)]).toEqual(['OK', 'OK']);
    await sameContents('Catenated');
  });

  // A difference kept on purpose: Dovecot catenates a section that does not exist as
  // nothing; RFC 4469 §5 says a URL naming no data is a BADURL, and Tegami says so.
  it('a section that does not exist: Dovecot takes it as empty, Tegami NO [BADURL]', async () => {
    const [d, t] = await both(() =>
      cmd('APPEND Catenated CATENATE (TEXT ', lit('Subject: s\r\n\r\n'), ' URL "/INBOX/;UID=1/;SECTION=9")'),
    );
    expect(status(d)).toBe('OK');
    expect([status(t), code(t)]).toEqual(['NO', 'BADURL']);
    // Level the two again: Tegami's copy of what Dovecot stored.
    const raw = Buffer.from('Subject: s\r\n\r\n');
    expect(status(await servers[1]!.client.append('Catenated', raw))).toBe('OK');
    await sameContents('Catenated');
  });

  it('refuses a CATENATE with no parts or an unknown part as BAD', async () => {
    for (const data of ['CATENATE ()', 'CATENATE (FILE "/etc/passwd")']) {
      const [d, t] = await both(() => `APPEND Catenated ${data}`);
      expect([status(d), status(t)], data).toEqual(['BAD', 'BAD']);
    }
  });
});
