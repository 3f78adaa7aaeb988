import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImapTestClient } from './support/imap-client.js';
import { type ImapGatewayUnderTest, startImapGatewayUnderTest } from './support/imap-gateway-under-test.js';

// OBJECTID (RFC 8474) over the real gateway and Postgres, following the RFC's own examples
// (§4.1 CREATE, §4.2 RENAME and STATUS, §5 FETCH after COPY, §6 SEARCH). Dovecot does not
// implement OBJECTID, so there is nothing to compare with: the RFC's exchanges are the
// reference, with this server's identifiers in place of the example's (THREADID: named by
// the thread's root Message-ID, packages/protocol thread-ids.ts).

const OBJECT_ID = '[A-Za-z0-9_-]{1,255}';

/** The 733-octet message of the RFC's APPEND example, in spirit: any message will do. */
const MESSAGE = Buffer.from(
  'From: "Some Example Sender" <example@example.com>\r\nTo: baseball@example.com\r\n' +
    'Subject: test message\r\nDate: Mon, 19 Mar 2018 00:15:49 -0400\r\n' +
    'Message-ID: <Ab1Cd2Ef3Gh4@example.com>\r\n\r\nThis is a test message.\r\n',
);

/** The untagged responses, one a line (the client hands them over without their CRLF). */
function untaggedText(untagged: readonly Buffer[]): string {
  return untagged.map((b) => b.toString('utf8')).join('\n');
}

describe('OBJECTID over the gateway (RFC 8474 examples)', () => {
  let tegami: ImapGatewayUnderTest;
  let t: ImapTestClient;

  beforeAll(async () => {
    tegami = await startImapGatewayUnderTest('imap-objectid');
    t = await ImapTestClient.connect(tegami.port);
    await t.login(tegami.user, tegami.password);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await tegami?.stop();
  });

  it('advertises OBJECTID after login', async () => {
    expect(untaggedText((await t.command('CAPABILITY')).untagged)).toMatch(/ OBJECTID[ \r]/);
  });

  // §4.1: CREATE answers the new mailbox's MAILBOXID; a second CREATE of the name is NO.
  // §4.2: RENAME keeps it; STATUS (MAILBOXID) and SELECT say it.
  it('CREATE, RENAME, STATUS and SELECT with MAILBOXID; DELETE + CREATE gives a new one', async () => {
    const foo = (await t.command('CREATE foo')).tagged;
    const bar = (await t.command('CREATE bar')).tagged;
    const fooId = new RegExp(`^\\S+ OK \\[MAILBOXID \\((${OBJECT_ID})\\)\\] `).exec(foo)?.[1];
    const barId = new RegExp(`^\\S+ OK \\[MAILBOXID \\((${OBJECT_ID})\\)\\] `).exec(bar)?.[1];
    expect(fooId, foo).toBeDefined();
    expect(barId, bar).toBeDefined();
    expect(fooId).not.toBe(barId);
    expect((await t.command('CREATE foo')).tagged).toMatch(/^\S+ NO \[ALREADYEXISTS\]/);

    expect((await t.command('RENAME foo renamed')).tagged).toMatch(/^\S+ OK/);
    const renamed = await t.command('STATUS renamed (MAILBOXID)');
    expect(untaggedText(renamed.untagged)).toBe(`* STATUS "renamed" (MAILBOXID (${fooId}))`);
    const status = await t.command('STATUS bar (MAILBOXID MESSAGES)');
    expect(untaggedText(status.untagged)).toBe(`* STATUS "bar" (MAILBOXID (${barId}) MESSAGES 0)`);
    const selected = await t.command('SELECT renamed');
    expect(untaggedText(selected.untagged)).toContain(`* OK [MAILBOXID (${fooId})] Ok`);
    const examined = await t.command('EXAMINE bar');
    expect(untaggedText(examined.untagged)).toContain(`* OK [MAILBOXID (${barId})] Ok`);
    await t.command('UNSELECT');

    // §4.1: never the MAILBOXID of another mailbox, even one that had the name.
    expect((await t.command('DELETE bar')).tagged).toMatch(/^\S+ OK/);
    const again = (await t.command('CREATE bar')).tagged;
    const againId = new RegExp(`^\\S+ OK \\[MAILBOXID \\((${OBJECT_ID})\\)\\] `).exec(again)?.[1];
    expect(againId, again).toBeDefined();
    expect([fooId, barId]).not.toContain(againId);
    // LIST-STATUS (RFC 5819) takes MAILBOXID too.
    const listed = await t.command('LIST "" "ba%" RETURN (STATUS (MAILBOXID))');
    expect(untaggedText(listed.untagged)).toContain(`* STATUS "bar" (MAILBOXID (${againId}))`);
  });

  // §5.1: the EMAILID stays with the message through COPY and MOVE; §5.2: so does THREADID.
  it('FETCH EMAILID and THREADID, the same after COPY and MOVE', async () => {
    await t.command('CREATE kept');
    const appended = await t.append('INBOX', MESSAGE, [], '20-Mar-2018 03:07:37 +1100');
    expect(appended.tagged).toMatch(/^\S+ OK \[APPENDUID \d+ 1\]/);
    await t.append('INBOX', Buffer.from(`${MESSAGE.toString()}another line\r\n`));
    await t.command('SELECT INBOX');
    const fetched = untaggedText((await t.command('FETCH 1 (EMAILID THREADID)')).untagged);
    const ids = new RegExp(
      `^\\* 1 FETCH \\(EMAILID \\((${OBJECT_ID})\\) THREADID \\((${OBJECT_ID})\\)\\)$`,
    ).exec(fetched);
    expect(ids, fetched).not.toBeNull();
    const [, emailId, threadId] = ids!;
    const other = untaggedText((await t.command('FETCH 2 EMAILID')).untagged);
    expect(other).not.toContain(emailId);

    expect((await t.command('COPY 1 kept')).tagged).toMatch(/^\S+ OK \[COPYUID \d+ 1 1\]/);
    expect((await t.command('MOVE 1 renamed')).tagged).toMatch(/^\S+ OK/);
    for (const mailbox of ['kept', 'renamed']) {
      await t.command(`SELECT ${mailbox}`);
      expect(untaggedText((await t.command('FETCH 1 (EMAILID THREADID)')).untagged)).toBe(
        `* 1 FETCH (EMAILID (${emailId}) THREADID (${threadId}))`,
      );
      // §6: SEARCH EMAILID and THREADID find it; a THREADID of no message finds nothing.
      expect(untaggedText((await t.command(`SEARCH EMAILID ${emailId}`)).untagged)).toBe('* SEARCH 1');
      expect(untaggedText((await t.command(`SEARCH THREADID ${threadId}`)).untagged)).toBe('* SEARCH 1');
      expect(untaggedText((await t.command('SEARCH THREADID T64b478a75b7ea9')).untagged)).toBe('* SEARCH');
    }
    // UID FETCH with other items, through the gateway's FETCH path for dates and sizes.
    const mixed = untaggedText((await t.command('UID FETCH 1 (RFC822.SIZE EMAILID SAVEDATE)')).untagged);
    expect(mixed).toMatch(
      new RegExp(
        `^\\* 1 FETCH \\(UID 1 RFC822\\.SIZE ${MESSAGE.length} EMAILID \\(${emailId}\\) SAVEDATE "[^"]+"\\)$`,
      ),
    );
  });

  it('answers an EMAILID that is not an objectid with BAD, and goes on', async () => {
    expect((await t.command('SEARCH EMAILID "not one"')).tagged).toMatch(/^\S+ BAD/);
    expect((await t.command('SEARCH EMAILID M6d99ac3275bb4e')).tagged).toMatch(/^\S+ OK/);
    expect((await t.command('NOOP')).tagged).toMatch(/^\S+ OK/);
  });
});
