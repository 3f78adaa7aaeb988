import { beforeAll, describe, expect, it } from 'vitest';
import { credentials, loggedIn, MemoryMailStore, PASSWORD, startImap, USER } from './test-account.js';

// What a careful client found (issue 18's compliance bugs), each compared with what
// Dovecot answers to the same command.

beforeAll(async () => {
  await credentials();
});

describe('atoms with unusual but valid characters', () => {
  const PATTERN = "!#$&'+,-.0123456789:;<=>?@^_`|[}%*";

  it('LIST with every list-char the grammar allows is OK (nothing matches), and the session carries on', async () => {
    const h = await loggedIn();
    expect(await h.say(`a LIST "" ${PATTERN}`)).toBe('a OK LIST completed\r\n');
    expect(await h.say('b NOOP')).toBe('b OK NOOP completed\r\n');
  });

  it('SELECT of a valid atom that names no mailbox is NO, not BAD', async () => {
    const h = await loggedIn();
    expect(await h.say("a SELECT !#$'+,-.0123456789:;<=>?@^_`|}")).toBe(
      'a NO [NONEXISTENT] no such mailbox\r\n',
    );
    expect(await h.say('b SELECT foo[bar')).toBe('b NO [NONEXISTENT] no such mailbox\r\n');
  });

  it('a mailbox named with an unclosed [ can be created, listed and selected as an atom', async () => {
    const h = await loggedIn();
    expect(await h.say('a CREATE foo[bar')).toMatch(/^a OK \[MAILBOXID \(F\d+\)\] CREATE completed\r\n$/);
    expect(await h.say('b LIST "" foo[*')).toBe(
      '* LIST (\\HasNoChildren) "/" "foo[bar"\r\nb OK LIST completed\r\n',
    );
    expect(await h.say('c SELECT foo[bar')).toMatch(/c OK \[READ-WRITE\] SELECT completed\r\n$/);
  });

  it('a FETCH section still reads as one atom up to its ]', async () => {
    const h = await loggedIn({}, undefined, 'INBOX');
    expect(await h.say('a FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])')).toMatch(
      /^\* 1 FETCH \(BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}\r\nSubject: /,
    );
  });
});

describe('subscriptions outlive their mailboxes (RFC 3501 §6.3.9, RFC 5258 §3.4)', () => {
  it('LSUB and LIST (SUBSCRIBED) keep a deleted subscribed mailbox; LIST does not; UNSUBSCRIBE clears it', async () => {
    const h = await loggedIn();
    expect(await h.say('a CREATE gone')).toMatch(/^a OK \[MAILBOXID \(F\d+\)\] CREATE completed\r\n$/);
    expect(await h.say('b SUBSCRIBE gone')).toBe('b OK command completed\r\n');
    expect(await h.say('c DELETE gone')).toBe('c OK command completed\r\n');
    expect(await h.say('d LSUB "" gone')).toBe('* LSUB () "/" "gone"\r\nd OK LSUB completed\r\n');
    expect(await h.say('e LIST (SUBSCRIBED) "" gone')).toBe(
      '* LIST (\\NonExistent \\Subscribed) "/" "gone"\r\ne OK LIST completed\r\n',
    );
    expect(await h.say('f LIST "" gone')).toBe('f OK LIST completed\r\n');
    expect(await h.say('g LIST "" * RETURN (SUBSCRIBED)')).not.toContain('"gone"');
    expect(await h.say('h SELECT gone')).toBe('h NO [NONEXISTENT] no such mailbox\r\n');
    expect(await h.say('i UNSUBSCRIBE gone')).toBe('i OK command completed\r\n');
    expect(await h.say('j LSUB "" gone')).toBe('j OK LSUB completed\r\n');
    expect(await h.say('k UNSUBSCRIBE gone')).toBe('k NO [NONEXISTENT] no such mailbox\r\n');
  });

  it('CREATE of a name still subscribed makes it a mailbox again, subscribed', async () => {
    const h = await loggedIn();
    await h.say('a CREATE again', 'b DELETE again');
    expect(await h.say('c CREATE again')).toMatch(/^c OK \[MAILBOXID \(F\d+\)\] CREATE completed\r\n$/);
    expect(await h.say('d LIST (SUBSCRIBED) "" again')).toBe(
      '* LIST (\\HasNoChildren \\Subscribed) "/" "again"\r\nd OK LIST completed\r\n',
    );
  });

  it('LSUB of a subscribed mailbox under an unsubscribed \\Noselect parent', async () => {
    const h = await loggedIn();
    await h.say('a CREATE p/c', 'b UNSUBSCRIBE p', 'c DELETE p');
    expect(await h.say('d LIST "" p*')).toBe(
      '* LIST (\\Noselect \\HasChildren) "/" "p"\r\n* LIST (\\HasNoChildren) "/" "p/c"\r\nd OK LIST completed\r\n',
    );
    // "*" reaches p/c: p is not subscribed and is not listed.
    expect(await h.say('e LSUB "" p*')).toBe('* LSUB () "/" "p/c"\r\ne OK LSUB completed\r\n');
    // "%" does not reach p/c: p is listed \Noselect so the client can walk down (§6.3.9).
    expect(await h.say('f LSUB "" p%')).toBe('* LSUB (\\Noselect) "/" "p"\r\nf OK LSUB completed\r\n');
    // Subscribed itself, the \Noselect parent is listed with \Noselect by either pattern.
    expect(await h.say('g SUBSCRIBE p')).toBe('g OK command completed\r\n');
    expect(await h.say('h LSUB "" p*')).toBe(
      '* LSUB (\\Noselect) "/" "p"\r\n* LSUB () "/" "p/c"\r\nh OK LSUB completed\r\n',
    );
  });
});

describe('empty sections', () => {
  it('answers an empty or missing section as a literal {0}, as Dovecot does', async () => {
    const h = await loggedIn({ maxCommandSize: 64 * 1024 }, undefined, 'INBOX');
    // A multipart without body parts, APPENDed as literal8 (RFC 3516): its part 1 is the
    // empty text/plain part the BODYSTRUCTURE lists.
    const raw = 'Subject: b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\nno parts here\r\n';
    expect(await h.feed(`a APPEND INBOX ~{${raw.length}+}\r\n${raw}\r\n`)).toMatch(/a OK \[APPENDUID/);
    expect(await h.say('b FETCH 4 (BODY.PEEK[1] BINARY.PEEK[1] BODY.PEEK[1.1] BODY.PEEK[9])')).toBe(
      '* 4 FETCH (BODY[1] {0}\r\n BINARY[1] {0}\r\n BODY[1.1] {0}\r\n BODY[9] {0}\r\n)\r\nb OK FETCH completed\r\n',
    );
  });
});

describe('SEARCH CHARSET with the charsets old Japanese clients send', () => {
  // テスト in the Subject (an ISO-2022-JP encoded word), メール本文 in the ISO-2022-JP body.
  const body = Buffer.from('1b24422561213c256b4b5c4a381b2842', 'hex');
  const message = Buffer.concat([
    Buffer.from(
      'From: a@example.org\r\nSubject: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\r\n' +
        'Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n',
    ),
    body,
    Buffer.from('\r\n'),
  ]);
  const search = (charset: string, key: string, hex: string) => {
    const bytes = Buffer.from(hex, 'hex');
    return [
      Buffer.from(`s SEARCH CHARSET ${charset} ${key} {${bytes.length}+}\r\n`),
      bytes,
      Buffer.from('\r\n'),
    ];
  };

  it('finds the message with the string in ISO-2022-JP, Shift_JIS and EUC-JP', async () => {
    const h = await loggedIn({ maxCommandSize: 64 * 1024 }, undefined, 'INBOX');
    expect(
      await h.feed(Buffer.from(`a APPEND INBOX {${message.length}+}\r\n`), message, Buffer.from('\r\n')),
    ).toMatch(/a OK \[APPENDUID/);
    for (const [charset, hex] of [
      ['ISO-2022-JP', '1b24422546253925481b2842'],
      ['Shift_JIS', '836583588367'],
      ['EUC-JP', 'a5c6a5b9a5c8'],
    ] as const) {
      expect(await h.feed(...search(charset, 'SUBJECT', hex))).toBe(
        '* SEARCH 4\r\ns OK SEARCH completed\r\n',
      );
    }
    expect(await h.feed(...search('ISO-2022-JP', 'BODY', '1b24422561213c256b4b5c4a381b2842'))).toBe(
      '* SEARCH 4\r\ns OK SEARCH completed\r\n',
    );
    // A charset nobody knows is NO [BADCHARSET], with the list of those to use.
    expect(await h.say('b SEARCH CHARSET X-KLINGON TEXT a')).toMatch(
      /^b NO \[BADCHARSET \(UTF-8 US-ASCII ISO-2022-JP /,
    );
  });
});

describe('QUOTA (RFC 9208)', () => {
  it('GETQUOTAROOT and GETQUOTA give STORAGE in KiB from the account; SETQUOTA is the operator’s', async () => {
    const store = MemoryMailStore.withMessages();
    store.quota = 100 * 1024;
    const h = await loggedIn({}, store);
    const used = Math.floor(store.usage() / 1024);
    expect(await h.say('a GETQUOTAROOT INBOX')).toBe(
      `* QUOTAROOT "INBOX" ""\r\n* QUOTA "" (STORAGE ${used} 100)\r\na OK GETQUOTAROOT completed\r\n`,
    );
    expect(await h.say('b GETQUOTA ""')).toBe(
      `* QUOTA "" (STORAGE ${used} 100)\r\nb OK GETQUOTA completed\r\n`,
    );
    expect(await h.say('c GETQUOTA "other"')).toBe('c NO [NONEXISTENT] no such quota root\r\n');
    expect(await h.say('d GETQUOTAROOT Nowhere')).toBe('d NO [NONEXISTENT] no such mailbox\r\n');
    expect(await h.say('e SETQUOTA "" (STORAGE 1)')).toBe('e NO [NOPERM] quotas are set by the operator\r\n');
    expect(await h.say('f SETQUOTA')).toBe('f BAD SETQUOTA needs a quota root and a list of limits\r\n');
  });

  it('an account without a limit has no quota root', async () => {
    const h = await loggedIn();
    expect(await h.say('a GETQUOTAROOT INBOX')).toBe(
      '* QUOTAROOT "INBOX"\r\na OK GETQUOTAROOT completed\r\n',
    );
    expect(await h.say('b GETQUOTA ""')).toBe('b NO [NONEXISTENT] no such quota root\r\n');
  });

  it('STATUS DELETED and DELETED-STORAGE count what EXPUNGE would free', async () => {
    const store = MemoryMailStore.withMessages();
    const h = await loggedIn({}, store, 'INBOX');
    await h.say('a STORE 1:2 +FLAGS.SILENT (\\Deleted)');
    const size = store
      .mailbox('INBOX')!
      .messages.slice(0, 2)
      .reduce((n, m) => n + m.raw.length, 0);
    expect(await h.say('b STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)')).toBe(
      `* STATUS "INBOX" (MESSAGES 3 DELETED 2 DELETED-STORAGE ${Math.floor(size / 1024)})\r\nb OK STATUS completed\r\n`,
    );
  });
});

describe('LIST-EXTENDED (RFC 5258) and LIST-STATUS (RFC 5819)', () => {
  async function tree() {
    const h = await loggedIn();
    // a/b/c subscribed; a, a/b and x not.
    await h.say(
      'c1 CREATE a/b/c',
      'c2 CREATE x',
      'u1 UNSUBSCRIBE a',
      'u2 UNSUBSCRIBE a/b',
      'u3 UNSUBSCRIBE x',
    );
    return h;
  }

  it('RECURSIVEMATCH lists a parent of a subscribed mailbox the pattern does not reach, with CHILDINFO', async () => {
    const h = await tree();
    const answer = await h.say('a LIST (SUBSCRIBED RECURSIVEMATCH) "" %');
    expect(answer).toContain('* LIST (\\HasChildren) "/" "a" ("CHILDINFO" ("SUBSCRIBED"))\r\n');
    expect(answer).not.toContain('"x"');
    expect(await h.say('b LIST (SUBSCRIBED REMOTE RECURSIVEMATCH) "" a/%')).toBe(
      '* LIST (\\HasChildren) "/" "a/b" ("CHILDINFO" ("SUBSCRIBED"))\r\nb OK LIST completed\r\n',
    );
    // Without RECURSIVEMATCH, only what is itself subscribed.
    expect(await h.say('c LIST (SUBSCRIBED) "" a/%')).toBe('c OK LIST completed\r\n');
  });

  it('refuses RECURSIVEMATCH alone or with REMOTE only, and unknown options and status items', async () => {
    const h = await tree();
    expect(await h.say('a LIST (RECURSIVEMATCH) "" %')).toBe('a BAD RECURSIVEMATCH needs another option\r\n');
    expect(await h.say('b LIST (RECURSIVEMATCH REMOTE) "" %')).toBe(
      'b BAD RECURSIVEMATCH needs another option\r\n',
    );
    expect(await h.say('c LIST (FROB) "" %')).toBe('c BAD unsupported selection option FROB\r\n');
    expect(await h.say('d LIST "" % RETURN (FROB)')).toBe('d BAD unsupported return option FROB\r\n');
    expect(await h.say('e LIST "" % RETURN (STATUS (FROB))')).toBe('e BAD unknown status item\r\n');
    expect(await h.say('f LIST "" % RETURN (STATUS ())')).toBe('f BAD STATUS needs items\r\n');
  });

  it('LIST-STATUS gives STATUS after each selectable mailbox, none for a \\Noselect one; several patterns at once', async () => {
    const h = await tree();
    expect(await h.say('a DELETE a')).toBe('a OK command completed\r\n');
    expect(await h.say('b LIST "" ("a" "x") RETURN (STATUS (MESSAGES UIDNEXT))')).toBe(
      '* LIST (\\Noselect \\HasChildren) "/" "a"\r\n' +
        '* LIST (\\HasNoChildren) "/" "x"\r\n* STATUS "x" (MESSAGES 0 UIDNEXT 1)\r\nb OK LIST completed\r\n',
    );
  });
});

describe('CREATE-SPECIAL-USE (RFC 6154 §3)', () => {
  it('creates a mailbox with its special use, listed by LIST and LIST (SPECIAL-USE)', async () => {
    const h = await loggedIn();
    expect(await h.say('a CREATE Old/Mail (USE (\\Archive))')).toMatch(
      /^a OK \[MAILBOXID \(F\d+\)\] CREATE completed\r\n$/,
    );
    expect(await h.say('b LIST (SPECIAL-USE) "" Old/*')).toBe(
      '* LIST (\\HasNoChildren \\Archive) "/" "Old/Mail"\r\nb OK LIST completed\r\n',
    );
    // The superior made on the way has none.
    expect(await h.say('c LIST "" Old')).toBe('* LIST (\\HasChildren) "/" "Old"\r\nc OK LIST completed\r\n');
  });

  it('refuses a use it cannot give with NO [USEATTR], creating nothing; bad syntax is BAD', async () => {
    const h = await loggedIn();
    const useattr = /^. NO \[USEATTR\] /;
    expect(await h.say('a CREATE v (USE (\\All))')).toMatch(useattr);
    expect(await h.say('b CREATE v (USE (\\Frob))')).toMatch(/^b NO \[USEATTR\] /);
    expect(await h.say('c CREATE v (USE (\\Sent \\Trash))')).toMatch(/^c NO \[USEATTR\] /);
    expect(await h.say('d LIST "" v')).toBe('d OK LIST completed\r\n');
    expect(await h.say('e CREATE v (FROB (\\Sent))')).toBe('e BAD CREATE takes only (USE (attributes))\r\n');
    expect(await h.say('f CREATE v (USE Sent)')).toBe('f BAD CREATE takes only (USE (attributes))\r\n');
  });
});

describe('SEARCHRES (RFC 5182)', () => {
  it('SAVE with MIN or MAX alone keeps only those; with ALL or COUNT every match; SAVE alone returns nothing', async () => {
    const h = await loggedIn({}, undefined, 'INBOX');
    expect(await h.say('a SEARCH RETURN (SAVE MIN MAX) ALL')).toBe(
      '* ESEARCH (TAG "a") MIN 1 MAX 3\r\na OK SEARCH completed\r\n',
    );
    expect(await h.say('b SEARCH $')).toBe('* SEARCH 1 3\r\nb OK SEARCH completed\r\n');
    expect(await h.say('c SEARCH RETURN (SAVE MIN COUNT) ALL')).toBe(
      '* ESEARCH (TAG "c") MIN 1 COUNT 3\r\nc OK SEARCH completed\r\n',
    );
    expect(await h.say('d SEARCH $')).toBe('* SEARCH 1 2 3\r\nd OK SEARCH completed\r\n');
    expect(await h.say('e SEARCH RETURN (SAVE) 2')).toBe('e OK SEARCH completed\r\n');
    expect(await h.say('f FETCH $ (UID)')).toBe('* 2 FETCH (UID 2)\r\nf OK FETCH completed\r\n');
    // A SEARCH that is not even valid changes nothing, as Dovecot answers.
    expect(await h.say('g SEARCH RETURN (SAVE) FROB')).toBe('g BAD unknown search key FROB\r\n');
    expect(await h.say('h FETCH $ (UID)')).toBe('* 2 FETCH (UID 2)\r\nh OK FETCH completed\r\n');
  });
});

describe('WITHIN (RFC 5032)', () => {
  it('reads OLDER and YOUNGER with an interval of 1 to 2^32 - 1 seconds', async () => {
    const h = await loggedIn({}, undefined, 'INBOX');
    // The fixture's messages were stored on 2025-06-01.
    expect(await h.say('a SEARCH OLDER 60')).toBe('* SEARCH 1 2 3\r\na OK SEARCH completed\r\n');
    expect(await h.say('b SEARCH YOUNGER 60')).toBe('* SEARCH\r\nb OK SEARCH completed\r\n');
    expect(await h.say('c SEARCH OLDER 0')).toBe('c BAD interval expected (1 to 4294967295 seconds)\r\n');
    expect(await h.say('d SEARCH YOUNGER 4294967296')).toBe(
      'd BAD interval expected (1 to 4294967295 seconds)\r\n',
    );
  });
});

describe('UNAUTHENTICATE (RFC 8437)', () => {
  it('goes back to not authenticated: mailbox closed without expunging, ENABLE undone, another user may log in', async () => {
    const loggedOut: string[] = [];
    const store = MemoryMailStore.withMessages();
    const h = startImap({}, store, { loggedOut: (identity) => loggedOut.push(identity.address) });
    await h.say(
      `a LOGIN ${USER} ${PASSWORD}`,
      'b ENABLE IMAP4rev2',
      'c SELECT INBOX',
      'd STORE 1 +FLAGS.SILENT (\\Deleted)',
    );
    expect(await h.say('e UNAUTHENTICATE')).toBe('e OK UNAUTHENTICATE completed\r\n');
    expect(h.session.state).toBe('not-authenticated');
    expect(loggedOut).toEqual([USER]);
    expect(h.accounts[0]!.closed).toBe(true);
    // Not expunged, as CLOSE would have.
    expect(store.mailbox('INBOX')!.messages).toHaveLength(3);
    expect(await h.say('f SELECT INBOX')).toBe('f BAD log in first\r\n');
    expect(await h.say('g CAPABILITY')).toMatch(/^\* CAPABILITY .*LITERAL- /);
    expect(await h.say(`h LOGIN ${USER} ${PASSWORD}`)).toMatch(/^h OK /);
    // IMAP4rev2 is no longer enabled: SELECT answers as IMAP4rev1 does (RECENT).
    expect(await h.say('i SELECT INBOX')).toContain('* 0 RECENT\r\n');
  });

  it('is only for a logged-in session', async () => {
    const h = startImap();
    expect(await h.say('a UNAUTHENTICATE')).toBe('a BAD log in first\r\n');
  });
});

describe('PREVIEW (RFC 8970)', () => {
  const append = async (h: Awaited<ReturnType<typeof loggedIn>>, raw: string) =>
    expect(await h.feed(`a APPEND INBOX {${Buffer.byteLength(raw)}+}\r\n${raw}\r\n`)).toMatch(
      /a OK \[APPENDUID/,
    );

  it('gives the start of the first text part, decoded and with whitespace collapsed; NIL without one', async () => {
    const h = await loggedIn({ maxCommandSize: 64 * 1024 }, undefined, 'INBOX');
    await append(
      h,
      'Subject: qp\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' +
        'Gr=C3=BC=C3=9Fe,\r\n\r\n   see   you\r\n',
    );
    await append(
      h,
      'Subject: alt\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n' +
        '<p>Hello <b>there</b></p>\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment\r\n\r\nx\r\n--b--\r\n',
    );
    await append(h, 'Subject: pdf\r\nContent-Type: application/pdf\r\n\r\nxx\r\n');
    await append(h, `Subject: long\r\n\r\n${'word '.repeat(100)}\r\n`);
    const preview = 'Grüße, see you';
    expect(await h.say('b FETCH 4 (PREVIEW)')).toBe(
      // The harness shows octets as latin1: the preview's are UTF-8.
      `* 4 FETCH (PREVIEW {${Buffer.byteLength(preview)}}\r\n${Buffer.from(preview).toString('latin1')})\r\nb OK FETCH completed\r\n`,
    );
    expect(await h.say('c FETCH 5 (PREVIEW (LAZY))')).toBe(
      '* 5 FETCH (PREVIEW {11}\r\nHello there)\r\nc OK FETCH completed\r\n',
    );
    expect(await h.say('d FETCH 6 PREVIEW')).toBe('* 6 FETCH (PREVIEW NIL)\r\nd OK FETCH completed\r\n');
    expect(await h.say('e FETCH 7 PREVIEW')).toBe(
      `* 7 FETCH (PREVIEW {200}\r\n${'word '.repeat(40).slice(0, 200)})\r\ne OK FETCH completed\r\n`,
    );
    // PREVIEW is not a body section: \Seen stays unset.
    expect(await h.say('f FETCH 4 FLAGS')).toBe('* 4 FETCH (FLAGS (\\Recent))\r\nf OK FETCH completed\r\n');
    expect(await h.say('g FETCH 4 (PREVIEW (FROB))')).toBe('g BAD PREVIEW takes only LAZY\r\n');
  });
});
