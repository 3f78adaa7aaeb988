import { describe, expect, it } from 'vitest';
import { loggedIn, MemoryMailStore, messageOf } from '../test-account.js';

// MULTIAPPEND (RFC 3502), CATENATE (RFC 4469) and REPLACE (RFC 8508) through the engine,
// over the in-memory store. maxMessageSize (APPENDLIMIT) is 10000, maxCommandSize 1000:
// the messages of one command may hold 11000 octets together.

const m = (text: string) => `Subject: ${text}\r\n\r\n${text} body\r\n`;
/** One append-message as LITERAL+ on the wire, with its options before it. */
const lit = (text: string) => `{${text.length}+}\r\n${text}`;

function draftsStore(): MemoryMailStore {
  const store = new MemoryMailStore(['INBOX', ['Drafts', '\\Drafts'], ['Sent', '\\Sent']]);
  for (let n = 1; n <= 3; n++) store.deliver('INBOX', messageOf(n));
  return store;
}

describe('MULTIAPPEND (RFC 3502)', () => {
  it('stores every message, each with its flags and date, and answers one APPENDUID set', async () => {
    const h = await loggedIn({}, draftsStore());
    const answer = await h.feed(
      `a APPEND Drafts (\\Seen) "05-Jun-2025 08:00:00 +0200" ${lit(m('one'))} (\\Draft) ${lit(m('two'))} ${lit(m('three'))}\r\n`,
    );
    expect(answer).toBe('a OK [APPENDUID 1001 1:3] APPEND completed\r\n');
    const drafts = h.store.mailbox('Drafts')!.messages;
    expect(drafts.map((d) => [d.uid, d.flags, d.raw.toString()])).toEqual([
      [1, ['\\Seen'], m('one')],
      [2, ['\\Draft'], m('two')],
      [3, [], m('three')],
    ]);
    expect(drafts[0]!.internalDate.toISOString()).toBe('2025-06-05T06:00:00.000Z');
  });

  it('advertises MULTIAPPEND, CATENATE and REPLACE after login only', async () => {
    const h = await loggedIn();
    const caps = await h.say('a CAPABILITY');
    expect(caps).toMatch(/ MULTIAPPEND CATENATE REPLACE /);
    const before = (await import('../test-account.js')).startImap();
    expect(await before.say('b CAPABILITY')).not.toMatch(/MULTIAPPEND|CATENATE|REPLACE/);
  });

  it('stores none of them when their sum is over the quota: NO [OVERQUOTA]', async () => {
    const store = draftsStore();
    const used = store.usage();
    store.quota = used + m('one').length + m('two').length + 1;
    const h = await loggedIn({}, store);
    expect(await h.feed(`a APPEND Drafts ${lit(m('one'))} ${lit(m('two'))} ${lit(m('three'))}\r\n`)).toBe(
      'a NO [OVERQUOTA] the mailbox is over its quota\r\n',
    );
    expect(h.store.mailbox('Drafts')!.messages).toHaveLength(0);
    expect(h.store.mailbox('Drafts')!.uidNext).toBe(1);
  });

  it('stores none of them when the connection drops in the 3rd message', async () => {
    const h = await loggedIn({}, draftsStore());
    const third = m('three');
    expect(
      await h.feed(
        `a APPEND Drafts ${lit(m('one'))} ${lit(m('two'))} {${third.length}+}\r\n${third.slice(0, 5)}`,
      ),
    ).toBe('');
    h.session.end();
    expect(h.store.mailbox('Drafts')!.messages).toHaveLength(0);
  });

  it('stores none of them when the 3rd is empty, or the 3rd names no mailbox part', async () => {
    const h = await loggedIn({}, draftsStore());
    expect(await h.feed(`a APPEND Drafts ${lit(m('one'))} ${lit(m('two'))} {0+}\r\n\r\n`)).toBe(
      'a NO an empty message cannot be appended\r\n',
    );
    expect(
      await h.feed(`b APPEND Drafts ${lit(m('one'))} ${lit(m('two'))} CATENATE (URL "/INBOX/;UID=99")\r\n`),
    ).toBe('b NO [BADURL /INBOX/;UID=99] the URL does not name a message of yours\r\n');
    expect(h.store.mailbox('Drafts')!.messages).toHaveLength(0);
  });

  it('answers TRYCREATE for a missing mailbox and stores nothing', async () => {
    const h = await loggedIn({}, draftsStore());
    expect(await h.feed(`a APPEND Nowhere ${lit(m('one'))} ${lit(m('two'))}\r\n`)).toBe(
      'a NO [TRYCREATE] no such mailbox\r\n',
    );
  });

  it('holds all the messages of one command to APPENDLIMIT + the command size together', async () => {
    const h = await loggedIn({}, draftsStore());
    const big = `Subject: big\r\n\r\n${'x'.repeat(6000)}\r\n`;
    // Each fits APPENDLIMIT (10000); the second takes the command past 11000: refused
    // before it is sent, and the session goes on.
    expect(await h.say(`a APPEND Drafts {${big.length}}`)).toBe('+ Ready for literal data\r\n');
    expect(await h.feed(`${big} {${big.length}}\r\n`)).toBe(
      'a NO [TOOBIG] the messages of one command may hold 11000 octets together\r\n',
    );
    expect(await h.say('b NOOP')).toBe('b OK NOOP completed\r\n');
    expect(h.store.mailbox('Drafts')!.messages).toHaveLength(0);
  });

  it('a selected target hears of all the new messages', async () => {
    const h = await loggedIn({}, draftsStore(), 'INBOX');
    expect(await h.feed(`a APPEND INBOX ${lit(m('one'))} ${lit(m('two'))}\r\n`)).toBe(
      '* 5 EXISTS\r\n* 5 RECENT\r\na OK [APPENDUID 1000 4:5] APPEND completed\r\n',
    );
  });
});

describe('CATENATE (RFC 4469)', () => {
  it('builds a message from TEXT and URLs of stored messages and their parts', async () => {
    const store = draftsStore();
    const multipart = Buffer.from(
      'Subject: with parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n' +
        '--b\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--b\r\nContent-Type: text/x-second\r\n\r\nsecond\r\n--b--\r\n',
    );
    store.deliver('INBOX', multipart);
    const h = await loggedIn({}, store);
    const head = 'Subject: forwarded\r\nContent-Type: multipart/mixed; boundary=n\r\n\r\n--n\r\n';
    const tail = '\r\n--n--\r\n';
    const answer = await h.feed(
      `a APPEND Drafts (\\Draft) CATENATE (TEXT ${lit(head)} URL "/INBOX;UIDVALIDITY=1000/;UID=4/;SECTION=2.MIME" URL "/INBOX/;UID=4/;SECTION=2" TEXT ${lit(tail)})\r\n`,
    );
    expect(answer).toBe('a OK [APPENDUID 1001 1] APPEND completed\r\n');
    expect(h.store.mailbox('Drafts')!.messages[0]!.raw.toString()).toBe(
      `${head}Content-Type: text/x-second\r\n\r\nsecond${tail}`,
    );
    expect(h.store.mailbox('Drafts')!.messages[0]!.flags).toEqual(['\\Draft']);
  });

  it('takes whole messages, partial ranges and URLs relative to the selected mailbox', async () => {
    const h = await loggedIn({}, draftsStore(), 'INBOX');
    expect(
      await h.feed(
        'a APPEND Drafts CATENATE (URL "/INBOX/;UID=1" URL ";UID=2/;SECTION=TEXT/;PARTIAL=0.5")\r\n',
      ),
    ).toBe('a OK [APPENDUID 1001 1] APPEND completed\r\n');
    expect(h.store.mailbox('Drafts')!.messages[0]!.raw.toString()).toBe(`${messageOf(1)}body `);
  });

  it.each([
    ['/INBOX;UIDVALIDITY=999/;UID=1', 'a UIDVALIDITY that is not the mailbox’s'],
    ['/INBOX/;UID=42', 'a UID that does not exist'],
    ['/Nowhere/;UID=1', 'a mailbox that does not exist'],
    ['/INBOX/;UID=1/;SECTION=7', 'a part that does not exist'],
    ['imap://bob@elsewhere.example/INBOX/;UID=1', 'another server or user'],
    [';UID=1', 'a relative URL with no mailbox selected'],
  ])('NO [BADURL] for %s (%s); nothing stored', async (url) => {
    const h = await loggedIn({}, draftsStore());
    expect(await h.feed(`a APPEND Drafts CATENATE (TEXT {2+}\r\nhi URL "${url}")\r\n`)).toBe(
      `a NO [BADURL ${url}] the URL does not name a message of yours\r\n`,
    );
    expect(h.store.mailbox('Drafts')!.messages).toHaveLength(0);
  });

  it('NO [TOOBIG] when the message built is over APPENDLIMIT', async () => {
    const store = draftsStore();
    store.deliver('INBOX', Buffer.from(`Subject: large\r\n\r\n${'y'.repeat(6000)}\r\n`));
    const h = await loggedIn({}, store);
    expect(await h.feed('a APPEND Drafts CATENATE (URL "/INBOX/;UID=4" URL "/INBOX/;UID=4")\r\n')).toBe(
      'a NO [TOOBIG] the message would be larger than 10000 octets\r\n',
    );
    expect(h.store.mailbox('Drafts')!.messages).toHaveLength(0);
  });

  it('holds the messages built by one MULTIAPPEND of CATENATEs to the command total', async () => {
    const store = draftsStore();
    store.deliver('INBOX', Buffer.from(`Subject: large\r\n\r\n${'y'.repeat(6000)}\r\n`));
    const h = await loggedIn({}, store);
    expect(
      await h.feed('a APPEND Drafts CATENATE (URL "/INBOX/;UID=4") CATENATE (URL "/INBOX/;UID=4")\r\n'),
    ).toBe('a NO [TOOBIG] the messages of one APPEND may hold 11000 octets together\r\n');
    expect(h.store.mailbox('Drafts')!.messages).toHaveLength(0);
  });
});

describe('REPLACE (RFC 8508)', () => {
  // RFC 8508 §4's example shows EXISTS before EXPUNGE; either order is the same news.
  it('replaces a draft in the selected mailbox: APPENDUID, the news, then OK (RFC 8508 §4)', async () => {
    const store = draftsStore();
    for (const text of ['d1', 'd2', 'd3', 'd4']) store.deliver('Drafts', Buffer.from(m(text)));
    const h = await loggedIn({}, store, 'Drafts');
    const answer = await h.feed(`A003 REPLACE 4 Drafts (\\Seen \\Draft) ${lit(m('d4 again'))}\r\n`);
    expect(answer).toBe(
      '* OK [APPENDUID 1001 5] Replacement Message ready\r\n* 4 EXPUNGE\r\n* 4 EXISTS\r\n* 4 RECENT\r\nA003 OK REPLACE completed\r\n',
    );
    const drafts = h.store.mailbox('Drafts')!.messages;
    expect(drafts.map((d) => d.uid)).toEqual([1, 2, 3, 5]);
    expect(drafts[3]!.flags).toEqual(['\\Draft', '\\Seen']);
  });

  it('UID REPLACE into another mailbox: the old one is expunged here', async () => {
    const store = draftsStore();
    const h = await loggedIn({}, store, 'INBOX');
    expect(await h.feed(`B001 UID REPLACE 2 Sent ${lit(m('sent'))}\r\n`)).toBe(
      '* OK [APPENDUID 1002 1] Replacement Message ready\r\n* 2 EXPUNGE\r\nB001 OK UID REPLACE completed\r\n',
    );
    expect(h.store.mailbox('INBOX')!.messages.map((x) => x.uid)).toEqual([1, 3]);
    expect(h.store.mailbox('Sent')!.messages.map((x) => x.raw.toString())).toEqual([m('sent')]);
  });

  it('over quota: NO [OVERQUOTA] and the old message stays', async () => {
    const store = draftsStore();
    store.quota = store.usage() + 10;
    const h = await loggedIn({}, store, 'INBOX');
    const bigger = `Subject: bigger\r\n\r\n${'z'.repeat(messageOf(1).length + 20)}\r\n`;
    expect(await h.feed(`a REPLACE 1 INBOX ${lit(bigger)}\r\n`)).toBe(
      'a NO [OVERQUOTA] the mailbox is over its quota\r\n',
    );
    expect(h.store.mailbox('INBOX')!.messages.map((x) => x.uid)).toEqual([1, 2, 3]);
    // What the old one frees counts: a replacement of the same size fits.
    expect(await h.feed(`b REPLACE 1 INBOX ${lit(messageOf(1).toString())}\r\n`)).toMatch(
      /b OK REPLACE completed/,
    );
  });

  it('a missing target: NO [TRYCREATE], the old message stays', async () => {
    const h = await loggedIn({}, draftsStore(), 'INBOX');
    expect(await h.feed(`a REPLACE 1 Nowhere ${lit(m('x'))}\r\n`)).toBe(
      'a NO [TRYCREATE] no such mailbox\r\n',
    );
    expect(h.store.mailbox('INBOX')!.messages).toHaveLength(3);
  });

  it('takes CATENATE for the new message', async () => {
    const h = await loggedIn({}, draftsStore(), 'INBOX');
    expect(
      await h.feed('a REPLACE 3 Drafts CATENATE (URL ";UID=3/;SECTION=HEADER" TEXT {5+}\r\nnew\r\n)\r\n'),
    ).toBe('* OK [APPENDUID 1001 1] Replacement Message ready\r\n* 3 EXPUNGE\r\na OK REPLACE completed\r\n');
    expect(h.store.mailbox('Drafts')!.messages[0]!.raw.toString()).toMatch(/^From: Bob.*\r\n\r\nnew\r\n$/s);
  });

  it('refuses what cannot be replaced', async () => {
    const h = await loggedIn({}, draftsStore(), 'INBOX');
    expect(await h.feed(`a REPLACE 9 Drafts ${lit(m('x'))}\r\n`)).toBe(
      'a BAD message sequence number out of range\r\n',
    );
    expect(await h.feed(`b UID REPLACE 9 Drafts ${lit(m('x'))}\r\n`)).toBe(
      'b NO [NONEXISTENT] no message with that UID\r\n',
    );
    expect(await h.feed(`c REPLACE 0 Drafts ${lit(m('x'))}\r\n`)).toBe(
      'c BAD REPLACE needs a message sequence number\r\n',
    );
    expect(await h.feed(`d REPLACE 1 Drafts ${lit(m('x'))} ${lit(m('y'))}\r\n`)).toBe(
      'd BAD REPLACE takes one message\r\n',
    );
    expect(await h.say('e EXAMINE INBOX')).toMatch(/e OK \[READ-ONLY\]/);
    expect(await h.feed(`f REPLACE 1 Drafts ${lit(m('x'))}\r\n`)).toBe(
      'f NO [READ-ONLY] the mailbox is read-only\r\n',
    );
    expect(h.store.mailbox('Drafts')!.messages).toHaveLength(0);
    expect(h.store.mailbox('INBOX')!.messages).toHaveLength(3);
  });

  it('is valid only in the selected state, and its literal is bounded by APPENDLIMIT', async () => {
    const h = await loggedIn({}, draftsStore());
    expect(await h.feed(`a REPLACE 1 Drafts ${lit(m('x'))}\r\n`)).toMatch(/^a BAD /);
    await h.say('s SELECT INBOX');
    expect(await h.say('b UID REPLACE 1 Drafts {20000}')).toBe(
      'b NO [TOOBIG] the message is larger than 10000 octets\r\n',
    );
    // Without the message budget a 5000-octet literal would pass the 1000-octet command size.
    const five = `Subject: five\r\n\r\n${'f'.repeat(5000)}\r\n`;
    expect(await h.feed(`c UID REPLACE 1 Drafts ${lit(five)}\r\n`)).toMatch(/c OK UID REPLACE completed/);
  });
});

describe('REPLACE after ENABLE QRESYNC (RFC 7162 §3.2.10)', () => {
  it('reports the old message as VANISHED', async () => {
    const h = await loggedIn({}, draftsStore());
    expect(await h.say('e ENABLE QRESYNC')).toMatch(/e OK/);
    await h.say('s SELECT INBOX');
    const answer = await h.feed(`a UID REPLACE 2 Drafts ${lit(m('again'))}\r\n`);
    // QRESYNC may add the mailbox's new HIGHESTMODSEQ after VANISHED.
    expect(answer).toMatch(/^\* OK \[APPENDUID 1001 1\] Replacement Message ready\r\n\* VANISHED 2\r\n/);
    expect(answer).not.toMatch(/EXPUNGE/);
    expect(answer).toMatch(/a OK UID REPLACE completed\r\n$/);
  });
});
