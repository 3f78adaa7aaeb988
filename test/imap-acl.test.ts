import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImapTestClient } from './support/imap-client.js';
import { type ImapGatewayUnderTest, startImapGatewayUnderTest } from './support/imap-gateway-under-test.js';
import { ImapLineClient } from './support/imap-line-client.js';

// IMAP ACL (RFC 4314) and the "Other Users" namespace (RFC 2342) over the real gateway
// (Postgres, NATS, sockets): alice shares "Projects" with bob, first lr, then lrswi, and
// takes it all back. Sharing is the only way one account reaches another's mail.

const BOB = 'bob@example.test';
const CAROL = 'carol@example.test';

function message(n: number): Buffer {
  return Buffer.from(
    `From: alice@example.test\r\nTo: team@example.test\r\nSubject: plan ${n}\r\n` +
      `Date: Mon, 1 Jun 2026 10:00:00 +0000\r\nMessage-ID: <plan-${n}@example.test>\r\n\r\nstep ${n}\r\n`,
  );
}

const text = (lines: readonly Buffer[]) => lines.map((l) => l.toString('utf8'));

describe('sharing a mailbox between two accounts (ACL)', () => {
  let gateway: ImapGatewayUnderTest;
  let alice: ImapTestClient;
  let bob: ImapTestClient;
  let projects: string;
  const clients: { close(): Promise<void> | void }[] = [];

  const login = async (user: string) => {
    const client = await ImapTestClient.connect(gateway.port);
    clients.push(client);
    await client.login(user, gateway.password);
    return client;
  };

  beforeAll(async () => {
    gateway = await startImapGatewayUnderTest('imap-acl', { otherUsers: [BOB, CAROL] });
    projects = `"Other Users/${gateway.user}/Projects"`;
    alice = await login(gateway.user);
    bob = await login(BOB);
    expect((await alice.command('CREATE Projects')).tagged).toMatch(/^\S+ OK /);
    for (const n of [1, 2]) expect((await alice.append('Projects', message(n))).tagged).toMatch(/^\S+ OK /);
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.close();
    await gateway?.stop();
  });

  it('advertises ACL and the Other Users namespace', async () => {
    const capability = await bob.command('CAPABILITY');
    expect(text(capability.untagged)[0]).toMatch(/ ACL RIGHTS=texk /);
    const namespace = await bob.command('NAMESPACE');
    expect(text(namespace.untagged)).toEqual(['* NAMESPACE (("" "/")) (("Other Users/" "/")) NIL']);
  });

  it('shows bob nothing of alice before she shares, exactly as if nothing were there', async () => {
    expect((await bob.command(`SELECT ${projects}`)).tagged).toMatch(/^\S+ NO \[NONEXISTENT\] /);
    expect((await bob.command(`STATUS ${projects} (MESSAGES)`)).tagged).toMatch(/^\S+ NO \[NONEXISTENT\] /);
    expect((await bob.command(`GETACL ${projects}`)).tagged).toMatch(/^\S+ NO \[NONEXISTENT\] /);
    const unknown = await bob.command(`SELECT "Other Users/${gateway.user}/NoSuchBox"`);
    expect(unknown.tagged.replace(/^\S+ /, '')).toBe(
      (await bob.command(`SELECT ${projects}`)).tagged.replace(/^\S+ /, ''),
    );
    expect(text((await bob.command('LIST "" "Other Users/*"')).untagged)).toEqual([]);
  });

  it('with lr: bob lists, selects read-only and fetches; STORE and APPEND are refused', async () => {
    expect((await alice.command(`SETACL Projects ${BOB} lr`)).tagged).toMatch(/^\S+ OK /);
    expect(text((await alice.command('GETACL Projects')).untagged)).toEqual([
      `* ACL "Projects" ${gateway.user} lrswipkxtea ${BOB} lr`,
    ]);
    expect(text((await bob.command('LIST "" "Other Users/*"')).untagged)).toEqual([
      `* LIST (\\Noselect \\HasChildren) "/" "Other Users/${gateway.user}"`,
      `* LIST (\\HasNoChildren) "/" ${projects}`,
    ]);
    expect(text((await bob.command(`MYRIGHTS ${projects}`)).untagged)).toEqual([`* MYRIGHTS ${projects} lr`]);
    const selected = await bob.command(`SELECT ${projects}`);
    expect(selected.tagged).toMatch(/^\S+ OK \[READ-ONLY\] /);
    expect(text(selected.untagged)).toContain('* 2 EXISTS');
    const fetched = await bob.command('FETCH 1:* (UID BODY[HEADER.FIELDS (SUBJECT)])');
    expect(fetched.tagged).toMatch(/^\S+ OK /);
    expect(text(fetched.untagged).join('\n')).toMatch(/plan 1[\s\S]*plan 2/);
    // BODY[] (not PEEK) of a read-only mailbox leaves \Seen unset for alice too.
    const aliceStatus = await alice.command('STATUS Projects (UNSEEN)');
    expect(text(aliceStatus.untagged)).toEqual(['* STATUS "Projects" (UNSEEN 2)']);
    expect((await bob.command('STORE 1 +FLAGS (\\Deleted)')).tagged).toMatch(/^\S+ NO \[READ-ONLY\] /);
    expect((await bob.command('EXPUNGE')).tagged).toMatch(/^\S+ NO \[READ-ONLY\] /);
    expect((await bob.append(`Other Users/${gateway.user}/Projects`, message(3))).tagged).toMatch(
      /^\S+ NO \[NOPERM\] /,
    );
    expect((await bob.command(`SETACL ${projects} ${CAROL} lr`)).tagged).toMatch(/^\S+ NO \[NOPERM\] /);
    expect((await bob.command(`DELETE ${projects}`)).tagged).toMatch(/^\S+ NO \[NOPERM\] /);
    await bob.command('UNSELECT');
  });

  it('with lrswi: bob sets \\Seen, is refused \\Deleted and EXPUNGE, appends, and alice sees it at once', async () => {
    expect((await alice.command(`SETACL Projects ${BOB} +swi`)).tagged).toMatch(/^\S+ OK /);
    expect(text((await bob.command(`MYRIGHTS ${projects}`)).untagged)).toEqual([
      `* MYRIGHTS ${projects} lrswi`,
    ]);
    expect((await bob.command(`SELECT ${projects}`)).tagged).toMatch(/^\S+ OK \[READ-WRITE\] /);
    // bob's is the first read-write SELECT since the messages came: they are \Recent to him.
    expect(text((await bob.command('STORE 1 +FLAGS (\\Seen)')).untagged)).toEqual([
      '* 1 FETCH (FLAGS (\\Seen \\Recent))',
    ]);
    expect((await bob.command('STORE 1 +FLAGS (\\Deleted)')).tagged).toMatch(/^\S+ NO \[NOPERM\] /);
    expect((await bob.command('EXPUNGE')).tagged).toMatch(/^\S+ NO \[NOPERM\] /);

    // alice waits in IDLE on Projects: bob's APPEND reaches her over NATS, on her account's subject.
    const watcher = await ImapLineClient.connect(gateway.port);
    clients.push({ close: () => watcher.close() });
    await watcher.command(`LOGIN ${gateway.user} ${gateway.password}`);
    await watcher.command('SELECT Projects');
    watcher.send('IDLE');
    await watcher.waitFor((line) => line.startsWith('+'), 5_000);
    const appended = await bob.append(`Other Users/${gateway.user}/Projects`, message(3), ['\\Flagged']);
    expect(appended.tagged).toMatch(/^\S+ OK \[APPENDUID \d+ 3\] /);
    await watcher.waitFor((line) => line === '* 3 EXISTS', 5_000);
    watcher.send('DONE', false);
    await watcher.waitFor((line) => / OK /.test(line) && line.startsWith('t'), 5_000);

    // And alice's change reaches bob.
    expect((await alice.append('Projects', message(4))).tagged).toMatch(/^\S+ OK /);
    expect(text((await bob.command('NOOP')).untagged)).toContain('* 4 EXISTS');
    await alice.command('EXAMINE Projects');
    const flags = await alice.command('FETCH 1:* (FLAGS)');
    await alice.command('UNSELECT');
    expect(text(flags.untagged).filter((l) => l.startsWith('* 1 ') || l.startsWith('* 3 '))).toEqual([
      '* 1 FETCH (FLAGS (\\Seen))',
      '* 3 FETCH (FLAGS (\\Flagged))',
    ]);
    await bob.command('UNSELECT');
  });

  it('takes everything away with DELETEACL, from a session that has the mailbox selected too', async () => {
    expect((await bob.command(`EXAMINE ${projects}`)).tagged).toMatch(/^\S+ OK /);
    expect((await alice.command(`DELETEACL Projects ${BOB}`)).tagged).toMatch(/^\S+ OK /);
    expect(text((await alice.command('GETACL Projects')).untagged)).toEqual([
      `* ACL "Projects" ${gateway.user} lrswipkxtea`,
    ]);
    expect((await bob.command('FETCH 1 BODY.PEEK[]')).tagged).toMatch(/^\S+ NO \[NOPERM\] /);
    expect((await bob.command(`SELECT ${projects}`)).tagged).toMatch(/^\S+ NO \[NONEXISTENT\] /);
    expect((await bob.command(`MYRIGHTS ${projects}`)).tagged).toMatch(/^\S+ NO \[NONEXISTENT\] /);
    // As APPEND to any mailbox that does not exist (RFC 3501 §6.3.11).
    expect((await bob.append(`Other Users/${gateway.user}/Projects`, message(5))).tagged).toMatch(
      /^\S+ NO \[TRYCREATE\] /,
    );
    expect(text((await bob.command('LIST "" "Other Users/*"')).untagged)).toEqual([]);
    expect(text((await alice.command('STATUS Projects (MESSAGES)')).untagged)).toEqual([
      '* STATUS "Projects" (MESSAGES 4)',
    ]);
  });
});
