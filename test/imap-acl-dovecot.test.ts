import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DovecotImap, startDovecotImap } from './support/dovecot-imap.js';
import { type ImapResponse, ImapTestClient } from './support/imap-client.js';
import { type ImapGatewayUnderTest, startImapGatewayUnderTest } from './support/imap-gateway-under-test.js';

// ACL (RFC 4314) and the "Other Users" namespace, Tegami against Dovecot's acl and
// imap_acl plugins (vfile ACLs, a shared namespace "Other Users.<user>."): the owner shares
// "Projects" with bob (lr, then lrswi, then not at all), and bob's commands must succeed or
// fail alike on both. Names differ only as the servers spell them: Dovecot's users are
// "tester" and "bob" with "." between levels, Tegami's are addresses with "/".
//
// Dovecot's sessions load the ACLs and the list of shared mailboxes once: bob logs in
// anew after each change, as he would after Dovecot's session picked it up.
//
// Where the two answer differently on purpose, the test says so (DIFFERENCES below) and
// checks each side's own answer.

interface Side {
  readonly name: 'dovecot' | 'tegami';
  readonly port: number;
  readonly owner: string;
  readonly bob: string;
  readonly password: string;
  /** bob's name for the owner's mailbox. */
  shared(mailbox: string): string;
  owners: ImapTestClient;
}

function message(n: number): Buffer {
  return Buffer.from(
    `From: owner@example.test\r\nTo: team@example.test\r\nSubject: plan ${n}\r\n` +
      `Date: Mon, 1 Jun 2026 10:00:00 +0000\r\nMessage-ID: <plan-${n}@example.test>\r\n\r\nstep ${n}\r\n`,
  );
}

/** "OK", "NO", "BAD", with the response code when there is one ("NO [NOPERM]"). */
function status(response: ImapResponse): string {
  const match = /^\S+ (OK|NO|BAD)(?: (\[[A-Z-]+)[^\]]*\])?/.exec(response.tagged);
  return match ? `${match[1]}${match[2] ? ` ${match[2]}]` : ''}` : response.tagged;
}

/** The rights letters as a set, RFC 2086's obsolete c and d left out (Dovecot lists them too). */
const rightsSet = (rights: string) =>
  [...rights]
    .filter((r) => r !== 'c' && r !== 'd')
    .sort()
    .join('');

const untagged = (response: ImapResponse) => response.untagged.map((b) => b.toString('utf8'));

describe('ACL against Dovecot', () => {
  let dovecot: DovecotImap;
  let tegami: ImapGatewayUnderTest;
  let sides: Side[];
  const clients: ImapTestClient[] = [];

  const connect = async (side: Side, user: string) => {
    const client = await ImapTestClient.connect(side.port);
    clients.push(client);
    await client.login(user, side.password);
    return client;
  };
  /** bob, logged in now, on each side. */
  const bobs = () => Promise.all(sides.map((side) => connect(side, side.bob)));
  /** The same command on both sides; their answers, Dovecot's first. */
  const both = (clients: readonly ImapTestClient[], command: (side: Side) => string) =>
    Promise.all(sides.map((side, i) => clients[i]!.command(command(side))));
  const owners = (command: (side: Side) => string) =>
    both(
      sides.map((s) => s.owners),
      command,
    );

  beforeAll(async () => {
    [dovecot, tegami] = await Promise.all([
      startDovecotImap({ acl: true }),
      startImapGatewayUnderTest('imap-acl-dovecot', { otherUsers: ['bob@example.test'] }),
    ]);
    sides = [
      {
        name: 'dovecot',
        port: dovecot.port,
        owner: dovecot.user,
        bob: 'bob',
        password: dovecot.password,
        shared: (mailbox) => `"Other Users.${dovecot.user}.${mailbox}"`,
        owners: undefined as unknown as ImapTestClient,
      },
      {
        name: 'tegami',
        port: tegami.port,
        owner: tegami.user,
        bob: 'bob@example.test',
        password: tegami.password,
        shared: (mailbox) => `"Other Users/${tegami.user}/${mailbox}"`,
        owners: undefined as unknown as ImapTestClient,
      },
    ];
    for (const side of sides) {
      side.owners = await connect(side, side.owner);
      expect((await side.owners.command('CREATE Projects')).tagged).toMatch(/^\S+ OK /);
      for (const n of [1, 2])
        expect((await side.owners.append('Projects', message(n))).tagged).toMatch(/^\S+ OK /);
    }
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.close();
    await Promise.all([dovecot?.stop(), tegami?.stop()]);
  });

  it('advertise ACL RIGHTS=texk and an Other Users namespace', async () => {
    const clients = await bobs();
    for (const response of await both(clients, () => 'CAPABILITY'))
      expect(untagged(response)[0]).toMatch(/ ACL RIGHTS=texk( |$)/);
    const [d, t] = await both(clients, () => 'NAMESPACE');
    expect(untagged(d!)).toEqual(['* NAMESPACE (("" ".")) (("Other Users." ".")) NIL']);
    expect(untagged(t!)).toEqual(['* NAMESPACE (("" "/")) (("Other Users/" "/")) NIL']);
  });

  it('refuse a mailbox nobody shared with bob', async () => {
    const clients = await bobs();
    for (const command of [
      (s: Side) => `SELECT ${s.shared('Projects')}`,
      (s: Side) => `STATUS ${s.shared('Projects')} (MESSAGES)`,
      (s: Side) => `MYRIGHTS ${s.shared('Projects')}`,
      (s: Side) => `GETACL ${s.shared('Projects')}`,
    ]) {
      const [d, t] = await both(clients, command);
      expect(status(d!).slice(0, 2), command(sides[0]!)).toBe('NO');
      expect(status(t!), command(sides[1]!)).toBe('NO [NONEXISTENT]');
    }
  });

  it('answer SETACL, GETACL and their errors alike', async () => {
    let [d, t] = await owners((s) => `SETACL Projects ${s.bob} lr`);
    expect([status(d!), status(t!)]).toEqual(['OK', 'OK']);
    [d, t] = await owners(() => 'GETACL Projects');
    for (const [side, response] of [
      [sides[0]!, d!],
      [sides[1]!, t!],
    ] as const) {
      const words = untagged(response)[0]!.split(' ').slice(3);
      const acl = new Map<string, string>();
      for (let i = 0; i < words.length; i += 2) acl.set(words[i]!, rightsSet(words[i + 1]!));
      expect(acl).toEqual(
        new Map([
          [side.owner, rightsSet('lrswipkxtea')],
          [side.bob, 'lr'],
        ]),
      );
    }
    [d, t] = await owners((s) => `SETACL Projects ${s.bob} lrz`);
    expect([status(d!), status(t!)]).toEqual(['BAD', 'BAD']);
    [d, t] = await owners((s) => `SETACL Nothing ${s.bob} lr`);
    expect([status(d!), status(t!)]).toEqual(['NO [NONEXISTENT]', 'NO [NONEXISTENT]']);
    // DIFFERENCE: "anyone" is refused by both; Dovecot says BAD (imap_acl_allow_anyone = no),
    // Tegami NO [CANNOT] (the identifier is well formed, the server will not grant it).
    [d, t] = await owners(() => 'SETACL Projects anyone lr');
    expect([status(d!), status(t!)]).toEqual(['BAD', 'NO [CANNOT]']);
  });

  it('with lr: bob lists, selects read-only and reads the same bytes; GETACL and APPEND are NOPERM', async () => {
    const clients = await bobs();
    const [dl, tl] = await both(clients, () => 'LIST "" "Other Users*"');
    expect(untagged(dl!)).toContain(`* LIST (\\HasNoChildren) "." "Other Users.${dovecot.user}.Projects"`);
    expect(untagged(tl!)).toContain(`* LIST (\\HasNoChildren) "/" "Other Users/${tegami.user}/Projects"`);
    let [d, t] = await both(clients, (s) => `MYRIGHTS ${s.shared('Projects')}`);
    expect([untagged(d!)[0]!.split(' ').at(-1), untagged(t!)[0]!.split(' ').at(-1)]).toEqual(['lr', 'lr']);
    [d, t] = await both(clients, (s) => `SELECT ${s.shared('Projects')}`);
    expect([status(d!), status(t!)]).toEqual(['OK [READ-ONLY]', 'OK [READ-ONLY]']);
    [d, t] = await both(clients, () => 'FETCH 1:2 (BODY.PEEK[])');
    expect(untagged(t!)).toEqual(untagged(d!));
    [d, t] = await both(clients, (s) => `GETACL ${s.shared('Projects')}`);
    expect([status(d!), status(t!)]).toEqual(['NO [NOPERM]', 'NO [NOPERM]']);
    const appended = await Promise.all(
      sides.map((side, i) => clients[i]!.append(side.shared('Projects').slice(1, -1), message(3))),
    );
    expect(appended.map(status)).toEqual(['NO [NOPERM]', 'NO [NOPERM]']);
    // DIFFERENCE: STORE in a read-only mailbox: Dovecot answers OK and changes nothing,
    // Tegami NO [READ-ONLY], as it does for every EXAMINEd mailbox.
    [d, t] = await both(clients, () => 'STORE 1 +FLAGS (\\Deleted)');
    expect([status(d!), status(t!)]).toEqual(['OK', 'NO [READ-ONLY]']);
    [d, t] = await both(clients, () => 'FETCH 1 FLAGS');
    expect(untagged(d!)).toEqual(['* 1 FETCH (FLAGS (\\Recent))']);
    expect(untagged(t!)).toEqual(['* 1 FETCH (FLAGS (\\Recent))']);
  });

  it('with lrswi: \\Seen and APPEND work alike; \\Deleted and EXPUNGE change nothing on either', async () => {
    let [d, t] = await owners((s) => `SETACL Projects ${s.bob} +swi`);
    expect([status(d!), status(t!)]).toEqual(['OK', 'OK']);
    const clients = await bobs();
    [d, t] = await both(clients, (s) => `SELECT ${s.shared('Projects')}`);
    expect([status(d!), status(t!)]).toEqual(['OK [READ-WRITE]', 'OK [READ-WRITE]']);
    [d, t] = await both(clients, () => 'STORE 1 +FLAGS.SILENT (\\Seen)');
    expect([status(d!), status(t!)]).toEqual(['OK', 'OK']);
    // DIFFERENCE: a STORE of only flags bob may not change: Dovecot answers OK and changes
    // nothing; Tegami NO [NOPERM] (RFC 4314 §4 asks not to fail only when some flag may change).
    [d, t] = await both(clients, () => 'STORE 1 +FLAGS.SILENT (\\Deleted)');
    expect([status(d!), status(t!)]).toEqual(['OK', 'NO [NOPERM]']);
    // With one flag bob may change, both store it and leave the other.
    [d, t] = await both(clients, () => 'STORE 2 +FLAGS.SILENT (\\Flagged \\Deleted)');
    expect([status(d!), status(t!)]).toEqual(['OK', 'OK']);
    // DIFFERENCE: EXPUNGE without `e`: Dovecot OK (nothing expunged), Tegami NO [NOPERM].
    [d, t] = await both(clients, () => 'EXPUNGE');
    expect([status(d!), status(t!)]).toEqual(['OK', 'NO [NOPERM]']);
    const appended = await Promise.all(
      sides.map((side, i) =>
        clients[i]!.append(side.shared('Projects').slice(1, -1), message(3), ['\\Deleted', '\\Answered']),
      ),
    );
    expect(appended.map(status)).toEqual(['OK [APPENDUID]', 'OK [APPENDUID]']);
    [d, t] = await owners(() => 'EXAMINE Projects');
    [d, t] = await owners(() => 'FETCH 1:* (FLAGS)');
    const flags = (response: ImapResponse) =>
      untagged(response).map((line) => line.replace(/ ?\\Recent/, '').replace('( ', '('));
    expect(flags(t!)).toEqual(flags(d!));
    expect(flags(t!)).toEqual([
      '* 1 FETCH (FLAGS (\\Seen))',
      '* 2 FETCH (FLAGS (\\Flagged))',
      '* 3 FETCH (FLAGS (\\Answered))',
    ]);
    await owners(() => 'UNSELECT');
  });

  it('after DELETEACL: bob sees nothing and opens nothing', async () => {
    let [d, t] = await owners((s) => `DELETEACL Projects ${s.bob}`);
    expect([status(d!), status(t!)]).toEqual(['OK', 'OK']);
    const clients = await bobs();
    [d, t] = await both(clients, () => 'LIST "" "Other Users*"');
    expect([untagged(d!), untagged(t!)]).toEqual([[], []]);
    [d, t] = await both(clients, (s) => `MYRIGHTS ${s.shared('Projects')}`);
    expect([status(d!), status(t!)]).toEqual(['NO [NONEXISTENT]', 'NO [NONEXISTENT]']);
    [d, t] = await both(clients, (s) => `SELECT ${s.shared('Projects')}`);
    expect([status(d!).slice(0, 2), status(t!)]).toEqual(['NO', 'NO [NONEXISTENT]']);
  });
});
