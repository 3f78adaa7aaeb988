import { MemoryDirectory } from '@tegami/testing/memory-mail-store';
import { describe, expect, it } from 'vitest';
import { accountAcl, withSharedMailboxes } from '../shared-mailboxes.js';
import { loggedIn, MemoryMailStore, messageOf, USER } from '../test-account.js';

// ACL (RFC 4314) and the "Other Users" namespace (RFC 2342) as a client sees them: alice
// (the harness's user) on her own mailboxes, and as the grantee of carol's "Projects".

const CAROL = 'carol@example.org';
const BOB = 'bob@example.org';

/** alice's store and carol's in one directory; carol has "Projects" with two messages. */
function twoStores() {
  const directory = new MemoryDirectory();
  const alice = MemoryMailStore.withMessages();
  const carol = new MemoryMailStore(['INBOX', 'Projects', 'Secret']);
  for (const store of [alice, carol]) directory.join(store);
  directory.register(USER, alice);
  const carolAccount = withSharedMailboxes(carol.account(CAROL));
  carol.deliver('Projects', messageOf(1));
  carol.deliver('Projects', messageOf(2));
  const grant = async (rights: string) => {
    expect(await accountAcl(carolAccount)!.change('Projects', USER, () => rights)).toBe('ok');
  };
  return { alice, carol, directory, grant };
}

describe("ACL on the user's own mailboxes", () => {
  it('lists the owner with every right, then what SETACL grants, and takes it away with DELETEACL', async () => {
    const { alice, directory } = twoStores();
    directory.register(BOB, new MemoryMailStore());
    const h = await loggedIn({}, alice);
    expect(await h.say('a1 GETACL INBOX')).toBe(
      `* ACL "INBOX" ${USER} lrswipkxtea\r\na1 OK GETACL completed\r\n`,
    );
    expect(await h.say(`a2 SETACL INBOX ${BOB} lr`)).toBe('a2 OK SETACL completed\r\n');
    expect(await h.say(`a3 SETACL INBOX ${BOB} +wd`)).toBe('a3 OK SETACL completed\r\n');
    expect(await h.say(`a4 SETACL INBOX ${BOB} -l`)).toBe('a4 OK SETACL completed\r\n');
    expect(await h.say('a5 GETACL inbox')).toBe(
      `* ACL "INBOX" ${USER} lrswipkxtea ${BOB} rwxte\r\na5 OK GETACL completed\r\n`,
    );
    expect(await h.say(`a6 DELETEACL INBOX ${BOB}`)).toBe('a6 OK DELETEACL completed\r\n');
    expect(await h.say('a7 GETACL INBOX')).toBe(
      `* ACL "INBOX" ${USER} lrswipkxtea\r\na7 OK GETACL completed\r\n`,
    );
  });

  it('answers MYRIGHTS and LISTRIGHTS (RFC 4314 §3.4, §3.5)', async () => {
    const h = await loggedIn({}, twoStores().alice);
    expect(await h.say('a1 MYRIGHTS Sent')).toBe(
      '* MYRIGHTS "Sent" lrswipkxtea\r\na1 OK MYRIGHTS completed\r\n',
    );
    expect(await h.say(`a2 LISTRIGHTS Sent ${BOB}`)).toBe(
      `* LISTRIGHTS "Sent" ${BOB} "" l r s w i p k x t e a\r\na2 OK LISTRIGHTS completed\r\n`,
    );
    expect(await h.say(`a3 LISTRIGHTS Sent ${USER}`)).toBe(
      `* LISTRIGHTS "Sent" ${USER} lrswipkxtea\r\na3 OK LISTRIGHTS completed\r\n`,
    );
    expect(await h.say('a4 MYRIGHTS Nothing')).toBe('a4 NO [NONEXISTENT] no such mailbox\r\n');
  });

  it('refuses anyone, negative rights, unknown accounts and the owner; BAD for rights that are none', async () => {
    const h = await loggedIn({}, twoStores().alice);
    expect(await h.say('a1 SETACL INBOX anyone lr')).toBe(
      'a1 NO [CANNOT] rights are granted to one account at a time, not to "anyone"\r\n',
    );
    expect(await h.say(`a2 SETACL INBOX -${BOB} lr`)).toBe(
      'a2 NO [CANNOT] negative rights are not supported\r\n',
    );
    expect(await h.say(`a3 SETACL INBOX ${BOB} lr`)).toBe('a3 NO [CANNOT] no account has that address\r\n');
    expect(await h.say(`a4 SETACL INBOX ${USER} lr`)).toBe(
      "a4 NO [CANNOT] the owner's rights are all rights, always\r\n",
    );
    expect(await h.say(`a5 SETACL INBOX ${BOB} lrz`)).toBe('a5 BAD invalid rights\r\n');
    expect(await h.say('a6 SETACL INBOX')).toBe(
      'a6 BAD SETACL needs a mailbox, an identifier and rights\r\n',
    );
    expect(await h.say(`a7 SETACL Nothing ${BOB} lr`)).toBe('a7 NO [NONEXISTENT] no such mailbox\r\n');
    expect(await h.say('a8 GETACL')).toBe('a8 BAD GETACL needs a mailbox\r\n');
  });

  it('advertises ACL RIGHTS=texk and the Other Users namespace', async () => {
    const h = await loggedIn({}, twoStores().alice);
    expect(await h.say('a1 CAPABILITY')).toMatch(/ ACL RIGHTS=texk /);
    expect(await h.say('a2 NAMESPACE')).toBe(
      '* NAMESPACE (("" "/")) (("Other Users/" "/")) NIL\r\na2 OK NAMESPACE completed\r\n',
    );
  });
});

describe('a mailbox another user shares', () => {
  const PROJECTS = `"Other Users/${CAROL}/Projects"`;

  it('lists it under Other Users/<owner>/ and selects it read-only with lr', async () => {
    const { alice, carol, grant } = twoStores();
    await grant('lr');
    const h = await loggedIn({}, alice);
    expect(await h.say('a1 LIST "" "Other Users/*"')).toBe(
      `* LIST (\\Noselect \\HasChildren) "/" "Other Users/${CAROL}"\r\n` +
        `* LIST (\\HasNoChildren) "/" ${PROJECTS}\r\n` +
        'a1 OK LIST completed\r\n',
    );
    expect(await h.say(`a2 MYRIGHTS ${PROJECTS}`)).toBe(
      `* MYRIGHTS ${PROJECTS} lr\r\na2 OK MYRIGHTS completed\r\n`,
    );
    expect(await h.say(`a3 SELECT ${PROJECTS}`)).toMatch(/^\* 2 EXISTS\r\n[\s\S]*a3 OK \[READ-ONLY\] /m);
    expect(await h.say('a4 FETCH 1 (BODY[HEADER.FIELDS (SUBJECT)])')).toContain('Subject: message 1');
    expect(await h.say('a5 FETCH 1 BODY[TEXT]')).not.toContain('\\Seen');
    expect(carol.mailbox('Projects')!.messages[0]!.flags).toEqual([]);
    expect(await h.say('a6 STORE 1 +FLAGS (\\Seen)')).toBe('a6 NO [READ-ONLY] the mailbox is read-only\r\n');
    expect(await h.say(`a7 GETACL ${PROJECTS}`)).toBe(
      'a7 NO [NOPERM] permission denied: needs the a right\r\n',
    );
    expect(await h.say(`a8 APPEND ${PROJECTS} {5}`, 'hello')).toMatch(/^a8 NO \[NOPERM\] /m);
  });

  it('writes the flags lrswi allows, refusing \\Deleted and EXPUNGE with NOPERM', async () => {
    const { alice, carol, grant } = twoStores();
    await grant('lrswi');
    const h = await loggedIn({}, alice);
    expect(await h.say(`a1 SELECT ${PROJECTS}`)).toMatch(/^a1 OK \[READ-WRITE\] /m);
    expect(await h.say('a2 STORE 1 +FLAGS (\\Seen \\Flagged)')).toBe(
      '* 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent))\r\na2 OK STORE completed\r\n',
    );
    expect(await h.say('a3 STORE 1 +FLAGS (\\Deleted)')).toBe(
      'a3 NO [NOPERM] permission denied: needs the t right\r\n',
    );
    expect(await h.say('a4 EXPUNGE')).toBe('a4 NO [NOPERM] permission denied: needs the e right\r\n');
    expect(
      await h.say(`a5 APPEND ${PROJECTS} (\\Deleted) {${messageOf(3).length}}`, messageOf(3).toString()),
    ).toMatch(/^a5 OK \[APPENDUID \d+ 3\] /m);
    expect(carol.mailbox('Projects')!.messages.map((m) => m.flags)).toEqual([
      ['\\Flagged', '\\Seen'],
      [],
      [],
    ]);
    expect(await h.say('a6 CLOSE')).toBe('a6 OK CLOSE completed\r\n');
  });

  it('answers a name the user cannot see exactly as a mailbox that does not exist', async () => {
    const { alice } = twoStores();
    const h = await loggedIn({}, alice);
    for (const name of [
      PROJECTS,
      `"Other Users/${CAROL}/Secret"`,
      '"Other Users/nobody@example.org/INBOX"',
    ]) {
      expect(await h.say(`a1 SELECT ${name}`)).toBe('a1 NO [NONEXISTENT] no such mailbox\r\n');
      expect(await h.say(`a2 STATUS ${name} (MESSAGES)`)).toBe('a2 NO [NONEXISTENT] no such mailbox\r\n');
      expect(await h.say(`a3 MYRIGHTS ${name}`)).toBe('a3 NO [NONEXISTENT] no such mailbox\r\n');
      expect(await h.say(`a4 DELETE ${name}`)).toBe('a4 NO [NONEXISTENT] no such mailbox\r\n');
    }
    expect(await h.say('a5 LIST "" "Other Users/*"')).toBe('a5 OK LIST completed\r\n');
  });

  it('loses the mailbox, selected or not, when the owner takes the rights away', async () => {
    const { alice, grant } = twoStores();
    await grant('lr');
    const h = await loggedIn({}, alice);
    await h.say(`a1 SELECT ${PROJECTS}`);
    await grant('');
    // Flags the session holds already are answered from its view; nothing new reaches it.
    expect(await h.say('a2 FETCH 1 FLAGS')).toBe('* 1 FETCH (FLAGS (\\Recent))\r\na2 OK FETCH completed\r\n');
    expect(await h.say('a3 FETCH 1 BODY.PEEK[]')).toBe(
      'a3 NO [NOPERM] permission denied: needs the r right\r\n',
    );
    expect(await h.say(`a4 EXAMINE ${PROJECTS}`)).toBe('a4 NO [NONEXISTENT] no such mailbox\r\n');
  });
});
