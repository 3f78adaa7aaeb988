import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  credentials,
  loggedIn,
  MemoryMailStore,
  messageOf,
  PASSWORD,
  startImap,
  USER,
} from './test-account.js';
import { grammarCommand } from './test-command-grammar.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');

const PRE_AUTH_BASE = 'IMAP4rev1 IMAP4rev2 LITERAL- SASL-IR ID ENABLE IDLE';
const AUTHED_CAPS =
  'IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE CREATE-SPECIAL-USE STATUS=SIZE OBJECTID UNSELECT UIDPLUS MOVE CHILDREN ' +
  'SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES WITHIN SAVEDATE SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES BINARY PREVIEW APPENDLIMIT=10000 MULTIAPPEND CATENATE REPLACE UTF8=ACCEPT CONDSTORE QRESYNC NOTIFY QUOTA QUOTA=RES-STORAGE METADATA METADATA-SERVER ACL RIGHTS=texk UNAUTHENTICATE COMPRESS=DEFLATE';
const LOGGED_IN = (tag: string) => `${tag} OK [CAPABILITY ${AUTHED_CAPS}] ${USER} logged in\r\n`;
const SYSTEM_FLAGS = '\\Answered \\Flagged \\Deleted \\Seen \\Draft';

/** The select answer for INBOX with its three default messages, rev1. */
function selectAnswer(tag: string, recent: number, readOnly = false): string {
  return (
    `* FLAGS (${SYSTEM_FLAGS})\r\n` +
    `* OK [PERMANENTFLAGS (${readOnly ? '' : `${SYSTEM_FLAGS} \\*`})] flags permitted\r\n` +
    '* 3 EXISTS\r\n' +
    `* ${recent} RECENT\r\n` +
    '* OK [UNSEEN 1] first unseen message\r\n' +
    '* OK [UIDVALIDITY 1000] UIDs valid\r\n' +
    '* OK [UIDNEXT 4] predicted next UID\r\n' +
    '* OK [MAILBOXID (F1)] Ok\r\n' +
    '* OK [HIGHESTMODSEQ 4] Highest\r\n' +
    `${tag} OK [${readOnly ? 'READ-ONLY' : 'READ-WRITE'}] ${readOnly ? 'EXAMINE' : 'SELECT'} completed\r\n`
  );
}

/** The challenge of a `+ ` line, decoded. */
function challenge(answer: string): string {
  const match = /^\+ ([A-Za-z0-9+/=]*)\r\n$/.exec(answer);
  if (!match) throw new Error(`expected a continuation, got ${JSON.stringify(answer)}`);
  return unb64(match[1]!);
}

/** The client side of SCRAM-SHA-256 (RFC 5802 §3, RFC 7677), as in the POP3 tests. */
function scramClientFinal(password: string, clientFirstBare: string, serverFirst: string) {
  const attributes = new Map(serverFirst.split(',').map((a) => [a.slice(0, 1), a.slice(2)] as const));
  const salted = pbkdf2Sync(
    password,
    Buffer.from(attributes.get('s')!, 'base64'),
    Number(attributes.get('i')),
    32,
    'sha256',
  );
  const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = createHash('sha256').update(clientKey).digest();
  const withoutProof = `c=${b64('n,,')},r=${attributes.get('r')}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = hmac(storedKey, authMessage);
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
  return {
    clientFinal: `${withoutProof},p=${proof.toString('base64')}`,
    serverFinal: `v=${hmac(hmac(salted, 'Server Key'), authMessage).toString('base64')}`,
  };
}

beforeAll(async () => {
  // The one slow derivation (real scrypt and PBKDF2 for SCRAM), done once up front.
  await credentials();
});

describe('greeting, CAPABILITY and STARTTLS', () => {
  it('greets with the capabilities and lists more after login, fewer login ones', async () => {
    const h = startImap();
    expect(h.output()).toBe(
      `* OK [CAPABILITY ${PRE_AUTH_BASE} STARTTLS AUTH=SCRAM-SHA-256 AUTH=DIGEST-MD5 AUTH=CRAM-MD5 ` +
        'AUTH=PLAIN AUTH=LOGIN] imap.example.org IMAP server ready\r\n',
    );
    expect(await h.say('a CAPABILITY')).toBe(
      `* CAPABILITY ${PRE_AUTH_BASE} STARTTLS AUTH=SCRAM-SHA-256 AUTH=DIGEST-MD5 AUTH=CRAM-MD5 ` +
        'AUTH=PLAIN AUTH=LOGIN\r\na OK CAPABILITY completed\r\n',
    );
    expect(await h.say(`b LOGIN ${USER} ${PASSWORD}`)).toBe(LOGGED_IN('b'));
    expect(await h.say('c CAPABILITY')).toBe(`* CAPABILITY ${AUTHED_CAPS}\r\nc OK CAPABILITY completed\r\n`);
  });

  it('LOGINDISABLED and no PLAIN/LOGIN mechanisms without TLS; LOGIN and PLAIN answer NO [PRIVACYREQUIRED]', async () => {
    const h = startImap({ plaintextAllowed: false });
    expect(await h.say('a CAPABILITY')).toBe(
      `* CAPABILITY ${PRE_AUTH_BASE} STARTTLS LOGINDISABLED AUTH=SCRAM-SHA-256 AUTH=DIGEST-MD5 ` +
        'AUTH=CRAM-MD5\r\na OK CAPABILITY completed\r\n',
    );
    expect(await h.say(`b LOGIN ${USER} ${PASSWORD}`)).toBe(
      'b NO [PRIVACYREQUIRED] LOGIN is disabled until STARTTLS\r\n',
    );
    expect(await h.say('c AUTHENTICATE PLAIN')).toBe('c NO [PRIVACYREQUIRED] use STARTTLS first\r\n');
    expect(await h.say(`d AUTHENTICATE PLAIN ${b64(`\u0000${USER}\u0000${PASSWORD}`)}`)).toBe(
      'd NO [PRIVACYREQUIRED] use STARTTLS first\r\n',
    );
    expect(h.session.state).toBe('not-authenticated');
    expect(h.authFailures).toBe(0);
  });

  it('STARTTLS: OK then the starttls action; commands pipelined behind it are never executed', async () => {
    const h = startImap({ plaintextAllowed: false });
    // CVE-2011-0411 class: an attacker injects commands in clear behind the client's STARTTLS.
    const answer = await h.feed(`a STARTTLS\r\nb LOGIN ${USER} ${PASSWORD}\r\nc CAPABILITY\r\nd LOGOUT\r\n`);
    expect(answer).toBe('a OK Begin TLS negotiation now\r\n');
    expect(h.actions).toEqual(['starttls']);
    // Bytes arriving before the handshake is done are not commands either.
    expect(await h.feed('e LOGOUT\r\n')).toBe('');
    h.session.tlsStarted();
    expect(h.session.state).toBe('not-authenticated');
    expect(await h.say('f CAPABILITY')).toBe(
      `* CAPABILITY ${PRE_AUTH_BASE} AUTH=SCRAM-SHA-256 AUTH=DIGEST-MD5 AUTH=CRAM-MD5 AUTH=PLAIN ` +
        'AUTH=LOGIN\r\nf OK CAPABILITY completed\r\n',
    );
    expect(await h.say('g STARTTLS')).toBe('g BAD TLS is on already\r\n');
    expect(await h.say(`h LOGIN ${USER} ${PASSWORD}`)).toBe(LOGGED_IN('h'));
    expect(h.actions.at(-1)).toBe('continue');
  });

  it('neither lists nor accepts AUTH=CRAM-MD5 and AUTH=DIGEST-MD5 when the operator turned them off', async () => {
    const h = startImap({ plaintextAllowed: false, saslMechanisms: ['SCRAM-SHA-256', 'PLAIN', 'LOGIN'] });
    expect(await h.say('a CAPABILITY')).toBe(
      `* CAPABILITY ${PRE_AUTH_BASE} STARTTLS LOGINDISABLED AUTH=SCRAM-SHA-256\r\na OK CAPABILITY completed\r\n`,
    );
    expect(await h.say('b AUTHENTICATE CRAM-MD5')).toBe('b NO unsupported authentication mechanism\r\n');
    expect(await h.say('c AUTHENTICATE DIGEST-MD5')).toBe('c NO unsupported authentication mechanism\r\n');
    expect(h.session.state).toBe('not-authenticated');
  });

  it('STARTTLS is BAD without a certificate, and after login', async () => {
    const none = startImap({ tls: 'unavailable' });
    expect(await none.say('a STARTTLS')).toBe('a BAD STARTTLS is not available\r\n');
    expect(none.output().split('\r\n')[0]).not.toContain(' STARTTLS');
    const h = await loggedIn();
    expect(await h.say('b STARTTLS')).toBe('b BAD already authenticated\r\n');
  });

  it('LOGOUT: BYE, OK, close; commands before login need it; ID and NOOP work in any state', async () => {
    const h = startImap();
    expect(await h.say('a SELECT INBOX')).toBe('a BAD log in first\r\n');
    expect(await h.say('b FROB')).toBe('b BAD unknown command\r\n');
    expect(await h.say('c ID NIL')).toBe('* ID ("name" "Tegami" "vendor" "Tegami")\r\nc OK ID completed\r\n');
    expect(await h.say('d NOOP')).toBe('d OK NOOP completed\r\n');
    expect(await h.say('e LOGOUT', 'f NOOP')).toBe(
      '* BYE imap.example.org IMAP server logging out\r\ne OK LOGOUT completed\r\n',
    );
    expect(h.actions).toEqual(['continue', 'continue', 'continue', 'continue', 'close', 'close']);
  });
});

describe('AUTHENTICATE', () => {
  const plain = b64(`\u0000${USER}\u0000${PASSWORD}`);

  it('PLAIN without an initial response: an empty continuation, then the base64 line', async () => {
    const h = startImap();
    expect(await h.say('a AUTHENTICATE PLAIN')).toBe('+ \r\n');
    expect(await h.say(plain)).toBe(LOGGED_IN('a'));
    expect(h.session.state).toBe('authenticated');
    expect(h.session.identity?.address).toBe(USER);
  });

  it('PLAIN with SASL-IR, in one chunk with the next command', async () => {
    const h = startImap();
    expect(await h.feed(`a AUTHENTICATE PLAIN ${plain}\r\nb NOOP\r\n`)).toBe(
      `${LOGGED_IN('a')}b OK NOOP completed\r\n`,
    );
  });

  it('"*" cancels with BAD, bad base64 is BAD, and the session goes on', async () => {
    const h = startImap();
    await h.say('a AUTHENTICATE PLAIN');
    expect(await h.say('*')).toBe('a BAD authentication cancelled\r\n');
    await h.say('b AUTHENTICATE PLAIN');
    expect(await h.say('!!!not base64')).toBe('b BAD cannot decode the response\r\n');
    expect(await h.say('c AUTHENTICATE PLAIN ****')).toBe('c BAD cannot decode the initial response\r\n');
    expect(await h.say('d NOOP')).toBe('d OK NOOP completed\r\n');
    expect(h.session.state).toBe('not-authenticated');
  });

  it('a wrong password is NO [AUTHENTICATIONFAILED] and counted; LOGIN too', async () => {
    const h = startImap();
    expect(await h.say(`a AUTHENTICATE PLAIN ${b64(`\u0000${USER}\u0000wrong`)}`)).toBe(
      'a NO [AUTHENTICATIONFAILED] authentication failed\r\n',
    );
    expect(await h.say(`b LOGIN ${USER} wrong`)).toBe(
      'b NO [AUTHENTICATIONFAILED] authentication failed\r\n',
    );
    expect(await h.say('c LOGIN nobody@example.org wrong')).toBe(
      'c NO [AUTHENTICATIONFAILED] authentication failed\r\n',
    );
    expect(h.authFailures).toBe(3);
    expect(await h.say('d AUTHENTICATE FROB')).toBe('d NO unsupported authentication mechanism\r\n');
  });

  it('SCRAM-SHA-256: server-first, server-final as a continuation, an empty line, then OK', async () => {
    const h = startImap({ plaintextAllowed: false });
    const bare = `n=${USER},r=rOprNGfwEbeRWgbNEkqO`;
    const serverFirst = challenge(await h.say(`a AUTHENTICATE SCRAM-SHA-256 ${b64(`n,,${bare}`)}`));
    expect(serverFirst).toMatch(/^r=rOprNGfwEbeRWgbNEkqO[^,]+,s=[^,]+,i=4096$/);
    const { clientFinal, serverFinal } = scramClientFinal(PASSWORD, bare, serverFirst);
    expect(challenge(await h.say(b64(clientFinal)))).toBe(serverFinal);
    expect(h.session.state).toBe('not-authenticated');
    expect(await h.say('')).toBe(LOGGED_IN('a'));
    expect(h.session.state).toBe('authenticated');
  });

  it('SCRAM-SHA-256 with a wrong password fails', async () => {
    const h = startImap();
    expect(await h.say('a AUTHENTICATE SCRAM-SHA-256')).toBe('+ \r\n');
    const bare = `n=${USER},r=abcdefghijklmnop`;
    const serverFirst = challenge(await h.say(b64(`n,,${bare}`)));
    const { clientFinal } = scramClientFinal('not the password', bare, serverFirst);
    expect(await h.say(b64(clientFinal))).toBe('a NO [AUTHENTICATIONFAILED] authentication failed\r\n');
    expect(h.authFailures).toBe(1);
  });

  it('the store unreachable or too many sessions: NO [UNAVAILABLE] / NO [LIMIT]', async () => {
    const temp = startImap({}, undefined, { openAccount: async () => 'temp' });
    expect(await temp.say(`a LOGIN ${USER} ${PASSWORD}`)).toBe(
      'a NO [UNAVAILABLE] the mail store cannot be reached now, try again later\r\n',
    );
    const many = startImap({}, undefined, { openAccount: async () => 'too-many' });
    expect(await many.say(`a LOGIN ${USER} ${PASSWORD}`)).toBe(
      'a NO [LIMIT] too many sessions of this user at once\r\n',
    );
  });
});

describe('literals', () => {
  it('a synchronising literal gets "+ Ready"; LITERAL+ gets none', async () => {
    const h = startImap();
    expect(await h.feed(`a LOGIN {${USER.length}}\r\n`)).toBe('+ Ready for literal data\r\n');
    expect(await h.feed(`${USER} {${PASSWORD.length}}\r\n`)).toBe('+ Ready for literal data\r\n');
    expect(await h.feed(`${PASSWORD}\r\n`)).toBe(LOGGED_IN('a'));
    const plus = startImap();
    expect(
      await plus.feed(`b LOGIN {${USER.length}+}\r\n${USER} {${PASSWORD.length}+}\r\n${PASSWORD}\r\n`),
    ).toBe(LOGGED_IN('b'));
  });

  it('APPEND over maxMessageSize: NO [TOOBIG] and no "+"; the session reads on', async () => {
    const h = await loggedIn();
    expect(await h.say('a APPEND INBOX {20000}')).toBe(
      'a NO [TOOBIG] the message is larger than 10000 octets\r\n',
    );
    expect(await h.say('b NOOP')).toBe('b OK NOOP completed\r\n');
    // LITERAL+: the octets are on their way; they are read and thrown away.
    expect(await h.feed(`c APPEND INBOX (\\Seen) {20000+}\r\n${'x'.repeat(20000)}\r\nd NOOP\r\n`)).toBe(
      'c NO [TOOBIG] the message is larger than 10000 octets\r\nd OK NOOP completed\r\n',
    );
    expect(h.store.mailbox('INBOX')!.messages).toHaveLength(3);
  });

  it('a literal that takes a command over its size is BAD [TOOBIG]; APPEND before login is NO', async () => {
    const h = startImap();
    expect(await h.say('a LOGIN {9000}')).toBe('a BAD [TOOBIG] the command is larger than 8192 octets\r\n');
    expect(await h.say('b APPEND INBOX {10}')).toBe('b NO log in first\r\n');
    expect(await h.say('c NOOP')).toBe('c OK NOOP completed\r\n');
  });
});

describe('SELECT and EXAMINE', () => {
  it('SELECT answers FLAGS, PERMANENTFLAGS, EXISTS, RECENT, UNSEEN, UIDVALIDITY, UIDNEXT, READ-WRITE', async () => {
    const h = await loggedIn();
    expect(await h.say('a SELECT INBOX')).toBe(selectAnswer('a', 3));
    // \Recent belongs to the first session: a second SELECT sees none.
    const other = await loggedIn({}, h.store);
    expect(await other.say('b SELECT inbox')).toBe(selectAnswer('b', 0));
    expect(await h.say('c SELECT Nowhere')).toBe('c NO [NONEXISTENT] no such mailbox\r\n');
    expect(h.session.state).toBe('authenticated');
  });

  it('EXAMINE is READ-ONLY: no permanent flags, STORE and EXPUNGE refused, BODY[] sets no \\Seen', async () => {
    const h = await loggedIn();
    expect(await h.say('a EXAMINE INBOX')).toBe(selectAnswer('a', 3, true));
    expect(await h.say('b STORE 1 +FLAGS (\\Seen)')).toBe('b NO [READ-ONLY] the mailbox is read-only\r\n');
    expect(await h.say('c EXPUNGE')).toBe('c NO [READ-ONLY] the mailbox is read-only\r\n');
    const raw = messageOf(1).toString('latin1');
    expect(await h.say('d FETCH 1 BODY[]')).toBe(
      `* 1 FETCH (BODY[] {${raw.length}}\r\n${raw})\r\nd OK FETCH completed\r\n`,
    );
    expect(h.store.mailbox('INBOX')!.messages[0]!.flags).toEqual([]);
    // EXAMINE claims no \Recent: a later SELECT still gets them.
    const other = await loggedIn({}, h.store);
    expect(await other.say('e SELECT INBOX')).toContain('* 3 RECENT\r\n');
  });

  it('IMAP4rev2: no RECENT or UNSEEN, a LIST line, [CLOSED] on reselect, SEARCH answered by ESEARCH', async () => {
    const h = await loggedIn();
    expect(await h.say('a ENABLE IMAP4rev2')).toBe('* ENABLED IMAP4rev2\r\na OK ENABLE completed\r\n');
    expect(await h.say('b SELECT INBOX')).toBe(
      `* FLAGS (${SYSTEM_FLAGS})\r\n* OK [PERMANENTFLAGS (${SYSTEM_FLAGS} \\*)] flags permitted\r\n` +
        '* 3 EXISTS\r\n* OK [UIDVALIDITY 1000] UIDs valid\r\n* OK [UIDNEXT 4] predicted next UID\r\n' +
        '* OK [MAILBOXID (F1)] Ok\r\n* OK [HIGHESTMODSEQ 4] Highest\r\n* LIST () "/" "INBOX"\r\nb OK [READ-WRITE] SELECT completed\r\n',
    );
    expect(await h.say('c SEARCH ALL')).toBe('* ESEARCH (TAG "c") ALL 1:3\r\nc OK SEARCH completed\r\n');
    expect(await h.say('d UID SEARCH 2:3')).toBe(
      '* ESEARCH (TAG "d") UID ALL 2:3\r\nd OK UID SEARCH completed\r\n',
    );
    expect(await h.say('e SEARCH SEEN')).toBe('* ESEARCH (TAG "e")\r\ne OK SEARCH completed\r\n');
    expect(await h.say('f FETCH 1 FLAGS')).toBe('* 1 FETCH (FLAGS ())\r\nf OK FETCH completed\r\n');
    expect(await h.say('g EXAMINE INBOX')).toMatch(/^\* OK \[CLOSED\] previous mailbox closed\r\n\* FLAGS /);
  });

  it('rev1 SEARCH: plain SEARCH responses, RETURN gives ESEARCH', async () => {
    const h = await loggedIn({}, undefined, 'INBOX');
    expect(await h.say('a SEARCH SUBJECT "Message 2"')).toBe('* SEARCH 2\r\na OK SEARCH completed\r\n');
    expect(await h.say('b SEARCH FROM bob SENTSINCE 2-Jun-2025')).toBe(
      '* SEARCH 2 3\r\nb OK SEARCH completed\r\n',
    );
    expect(await h.say('c SEARCH OR LARGER 10000 BODY "BODY LINE" NOT UID 1')).toBe(
      '* SEARCH 2 3\r\nc OK SEARCH completed\r\n',
    );
    expect(await h.say('d SEARCH RETURN (MIN COUNT) UNSEEN')).toBe(
      '* ESEARCH (TAG "d") MIN 1 COUNT 3\r\nd OK SEARCH completed\r\n',
    );
    expect(await h.say('e SEARCH FROB')).toBe('e BAD unknown search key FROB\r\n');
    // A sequence number past the end is a criterion no message meets, not an error (issue 18,
    // as Dovecot answers); a range reaching past the end is cut there.
    expect(await h.say('f SEARCH 9')).toBe('* SEARCH\r\nf OK SEARCH completed\r\n');
    expect(await h.say('g SEARCH RETURN () 1000')).toBe('* ESEARCH (TAG "g")\r\ng OK SEARCH completed\r\n');
    expect(await h.say('h SEARCH RETURN (MIN) 1000')).toBe(
      '* ESEARCH (TAG "h")\r\nh OK SEARCH completed\r\n',
    );
    expect(await h.say('i SEARCH RETURN (COUNT) 2:1000')).toBe(
      '* ESEARCH (TAG "i") COUNT 2\r\ni OK SEARCH completed\r\n',
    );
    expect(await h.say('j SEARCH OR 9 1')).toBe('* SEARCH 1\r\nj OK SEARCH completed\r\n');
    expect(await h.say('k SEARCH 1000:*')).toBe('* SEARCH 3\r\nk OK SEARCH completed\r\n');
    // FETCH still refuses it (RFC 9051 §9 seq-number).
    expect(await h.say('l FETCH 9 FLAGS')).toBe('l BAD message sequence number out of range\r\n');
  });
});

describe('RFC 3501 §7.4.1: EXPUNGE only where allowed', () => {
  /** B selects first (so A sees no \Recent), then A; B deletes message 2 and expunges it. */
  async function expungedElsewhere() {
    const store = MemoryMailStore.withMessages();
    const b = await loggedIn({}, store, 'INBOX');
    const a = await loggedIn({}, store, 'INBOX');
    expect(await b.say('b1 STORE 2 +FLAGS.SILENT (\\Deleted)', 'b2 EXPUNGE')).toBe(
      'b1 OK STORE completed\r\n* 2 EXPUNGE\r\nb2 OK EXPUNGE completed\r\n',
    );
    return a;
  }

  it('FETCH, STORE and SEARCH by sequence number get no EXPUNGE; NOOP does; numbers stay consistent', async () => {
    const a = await expungedElsewhere();
    expect(await a.say('a1 FETCH 1:3 UID')).toBe(
      '* 1 FETCH (UID 1)\r\n* 3 FETCH (UID 3)\r\na1 OK FETCH completed\r\n',
    );
    expect(await a.say('a2 STORE 3 +FLAGS (\\Flagged)')).toBe(
      '* 3 FETCH (FLAGS (\\Flagged))\r\na2 OK STORE completed\r\n',
    );
    expect(await a.say('a3 SEARCH ALL')).toBe('* SEARCH 1 3\r\na3 OK SEARCH completed\r\n');
    expect(await a.say('a4 FETCH 3 UID')).toBe('* 3 FETCH (UID 3)\r\na4 OK FETCH completed\r\n');
    expect(await a.say('a5 NOOP')).toBe('* 2 EXPUNGE\r\na5 OK NOOP completed\r\n');
    expect(await a.say('a6 FETCH 2 (UID FLAGS)')).toBe(
      '* 2 FETCH (UID 3 FLAGS (\\Flagged))\r\na6 OK FETCH completed\r\n',
    );
    expect(await a.say('a7 FETCH 3 UID')).toBe('a7 BAD message sequence number out of range\r\n');
  });

  it('UID FETCH may carry the EXPUNGE, after its own FETCH responses', async () => {
    const a = await expungedElsewhere();
    expect(await a.say('a1 UID FETCH 1:* FLAGS')).toBe(
      '* 1 FETCH (UID 1 FLAGS ())\r\n* 3 FETCH (UID 3 FLAGS ())\r\n* 2 EXPUNGE\r\na1 OK UID FETCH completed\r\n',
    );
    expect(await a.say('a2 NOOP')).toBe('a2 OK NOOP completed\r\n');
  });

  it('new messages and flag changes from elsewhere are announced after any command', async () => {
    const store = MemoryMailStore.withMessages();
    const a = await loggedIn({}, store, 'INBOX');
    store.deliver('INBOX', messageOf(4));
    store.setFlags('INBOX', [1], 'add', ['\\Answered']);
    expect(await a.say('a1 FETCH 1 UID')).toBe(
      '* 1 FETCH (UID 1)\r\n* 4 EXISTS\r\n* 4 RECENT\r\n* 1 FETCH (UID 1 FLAGS (\\Answered \\Recent))\r\n' +
        'a1 OK FETCH completed\r\n',
    );
  });
});

describe('IDLE', () => {
  it('pushes EXISTS, FETCH FLAGS and EXPUNGE from other sessions until DONE', async () => {
    const store = MemoryMailStore.withMessages();
    const a = await loggedIn({}, store, 'INBOX');
    const b = await loggedIn({}, store, 'INBOX');
    expect(await a.say('i IDLE')).toBe('+ idling\r\n');
    expect(a.session.isIdle).toBe(true);
    await b.say(`b1 APPEND INBOX {${messageOf(4).length}+}`, messageOf(4).toString('latin1'));
    expect(await a.settle()).toBe('* 4 EXISTS\r\n* 4 RECENT\r\n');
    await b.say('b2 STORE 1 +FLAGS (\\Flagged)');
    expect(await a.settle()).toBe('* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))\r\n');
    await b.say('b3 STORE 2 +FLAGS.SILENT (\\Deleted)', 'b4 EXPUNGE');
    // The flag change and the expunge may come as one push or two; both arrive before DONE.
    const pushed = await a.settle();
    expect(pushed).toMatch(/^(\* 2 FETCH \(UID 2 FLAGS \(\\Deleted \\Recent\)\)\r\n)?\* 2 EXPUNGE\r\n$/);
    expect(await a.say('DONE')).toBe('i OK IDLE terminated\r\n');
    expect(a.session.isIdle).toBe(false);
    expect(await a.say('n NOOP')).toBe('n OK NOOP completed\r\n');
  });

  it('IDLE and DONE pipelined in one chunk with the next command', async () => {
    const h = await loggedIn({}, undefined, 'INBOX');
    expect(await h.feed('i IDLE\r\nDONE\r\nn NOOP\r\n')).toBe(
      '+ idling\r\ni OK IDLE terminated\r\nn OK NOOP completed\r\n',
    );
  });

  it('a line other than DONE ends IDLE with BAD', async () => {
    const h = await loggedIn({}, undefined, 'INBOX');
    expect(await h.say('i IDLE')).toBe('+ idling\r\n');
    expect(await h.say('j NOOP')).toBe('i BAD expected DONE\r\n');
    expect(await h.say('k NOOP')).toBe('k OK NOOP completed\r\n');
  });

  it('a session that has logged out is no longer woken', async () => {
    const store = MemoryMailStore.withMessages();
    const a = await loggedIn({}, store, 'INBOX');
    await a.say('i IDLE');
    a.session.end();
    expect(store.watcherCount).toBe(0);
    store.deliver('INBOX', messageOf(4));
    expect(await a.settle()).toBe('');
  });
});

describe('FETCH', () => {
  const raw1 = messageOf(1).toString('latin1');
  const raw2 = messageOf(2).toString('latin1');

  it('BODY[] sets \\Seen and answers FLAGS with it; BODY.PEEK[] does not', async () => {
    const h = await loggedIn({}, undefined, 'INBOX');
    expect(await h.say('a FETCH 1 BODY[]')).toBe(
      `* 1 FETCH (BODY[] {${raw1.length}}\r\n${raw1} FLAGS (\\Seen \\Recent))\r\na OK FETCH completed\r\n`,
    );
    expect(await h.say('b FETCH 2 BODY.PEEK[]')).toBe(
      `* 2 FETCH (BODY[] {${raw2.length}}\r\n${raw2})\r\nb OK FETCH completed\r\n`,
    );
    expect(h.store.mailbox('INBOX')!.messages.map((m) => m.flags)).toEqual([['\\Seen'], [], []]);
    // Already \Seen: nothing changes, so no FLAGS either.
    expect(await h.say('c FETCH 1 BODY[TEXT]')).toBe(
      '* 1 FETCH (BODY[TEXT] {11}\r\nbody line\r\n)\r\nc OK FETCH completed\r\n',
    );
  });

  it('partials, header fields, BINARY.SIZE and the fast items', async () => {
    const h = await loggedIn({}, undefined, 'INBOX');
    expect(
      await h.say(
        'a FETCH 1 (BODY.PEEK[]<0.10> BODY.PEEK[HEADER.FIELDS (SUBJECT)] BINARY.SIZE[1] RFC822.SIZE)',
      ),
    ).toBe(
      '* 1 FETCH (BODY[]<0> {10}\r\nFrom: Bob  BODY[HEADER.FIELDS (SUBJECT)] {22}\r\nSubject: message 1\r\n\r\n' +
        ` BINARY.SIZE[1] 11 RFC822.SIZE ${raw1.length})\r\na OK FETCH completed\r\n`,
    );
    expect(await h.say('b FETCH 2 BODY.PEEK[TEXT]<11.100>')).toBe(
      '* 2 FETCH (BODY[TEXT]<11> {11}\r\nbody line\r\n)\r\nb OK FETCH completed\r\n',
    );
    expect(await h.say('c FETCH 1 BODY.PEEK[]<5000.10>')).toBe(
      '* 1 FETCH (BODY[]<5000> {0}\r\n)\r\nc OK FETCH completed\r\n',
    );
    expect(await h.say('d FETCH 1 (UID INTERNALDATE)')).toBe(
      '* 1 FETCH (UID 1 INTERNALDATE "01-Jun-2025 12:00:00 +0000")\r\nd OK FETCH completed\r\n',
    );
    expect(await h.say('e FETCH 1 BODY[FROB]')).toBe('e BAD invalid section FROB\r\n');
  });

  it('BINARY decodes base64', async () => {
    const store = MemoryMailStore.withMessages(0);
    store.deliver(
      'INBOX',
      Buffer.from(
        'Subject: b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
          `${Buffer.from('hello\u0000world').toString('base64')}\r\n`,
      ),
    );
    const h = await loggedIn({}, store, 'INBOX');
    expect(await h.say('a FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])')).toBe(
      '* 1 FETCH (BINARY.SIZE[1] 11 BINARY[1] ~{11}\r\nhello\u0000world)\r\na OK FETCH completed\r\n',
    );
  });

  // Was an engine bug (fixed): RFC 3501 §9 (seq-number) / RFC 9051 §9 — the server should answer BAD to a
  // message sequence number greater than the number of messages, "This includes "*" if the
  // selected mailbox is empty". resolveSet (message-commands.ts) checks only numeric ends and
  // lets "*" resolve to nothing in an empty mailbox, so FETCH * / STORE * answer OK.
  it('FETCH * in an empty mailbox is BAD, like any sequence number past the end', async () => {
    const h = await loggedIn({}, MemoryMailStore.withMessages(0), 'INBOX');
    expect(await h.say('a FETCH 1 FLAGS')).toBe('a BAD message sequence number out of range\r\n');
    expect(await h.say('b FETCH * FLAGS')).toBe('b BAD message sequence number out of range\r\n');
  });

  it('UID FETCH always answers UID, first', async () => {
    const h = await loggedIn({}, undefined, 'INBOX');
    expect(await h.say('a UID FETCH 2:3 FLAGS')).toBe(
      '* 2 FETCH (UID 2 FLAGS (\\Recent))\r\n* 3 FETCH (UID 3 FLAGS (\\Recent))\r\na OK UID FETCH completed\r\n',
    );
    expect(await h.say('b UID FETCH 9 FLAGS')).toBe('b OK UID FETCH completed\r\n');
  });

  it('STORE answers every message named; .SILENT answers none; \\Recent cannot be stored', async () => {
    const h = await loggedIn({}, undefined, 'INBOX');
    // $Work is new in the mailbox: FLAGS and PERMANENTFLAGS name it before any FETCH shows it.
    expect(await h.say('a STORE 1:2 +FLAGS (\\Flagged $Work)')).toBe(
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r\n' +
        '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] flags permitted\r\n' +
        '* 1 FETCH (FLAGS ($Work \\Flagged \\Recent))\r\n* 2 FETCH (FLAGS ($Work \\Flagged \\Recent))\r\n' +
        'a OK STORE completed\r\n',
    );
    expect(await h.say('b UID STORE 2 -FLAGS.SILENT ($Work \\Recent)')).toBe('b OK UID STORE completed\r\n');
    expect(await h.say('c SEARCH KEYWORD $work')).toBe('* SEARCH 1\r\nc OK SEARCH completed\r\n');
    expect(await h.say('d STORE 1 FLAGS (\\Frob)')).toBe('d BAD invalid flag\r\n');
  });
});

describe('COPY, MOVE, APPEND and EXPUNGE', () => {
  it('COPY answers COPYUID; to a missing mailbox TRYCREATE', async () => {
    const h = await loggedIn({}, undefined, 'INBOX');
    expect(await h.say('a COPY 1:2 Archive')).toBe('a OK [COPYUID 1003 1:2 1:2] COPY completed\r\n');
    expect(await h.say('b UID COPY 3 Archive')).toBe('b OK [COPYUID 1003 3 3] UID COPY completed\r\n');
    expect(await h.say('c COPY 1 Nowhere')).toBe('c NO [TRYCREATE] no such mailbox\r\n');
    expect(h.store.mailbox('Archive')!.messages.map((m) => m.uid)).toEqual([1, 2, 3]);
  });

  it('MOVE: COPYUID in an untagged OK, then EXPUNGE, then OK (RFC 6851)', async () => {
    const h = await loggedIn({}, undefined, 'INBOX');
    expect(await h.say('a MOVE 2 Trash')).toBe(
      '* OK [COPYUID 1002 2 1] moved\r\n* 2 EXPUNGE\r\na OK MOVE completed\r\n',
    );
    expect(await h.say('b UID MOVE 1,3 Trash')).toBe(
      '* OK [COPYUID 1002 1,3 2:3] moved\r\n* 2 EXPUNGE\r\n* 1 EXPUNGE\r\nb OK UID MOVE completed\r\n',
    );
    expect(await h.say('c MOVE 1 Nowhere')).toBe('c BAD message sequence number out of range\r\n');
    expect(await h.say('d STATUS Trash (MESSAGES UIDNEXT)')).toBe(
      '* STATUS "Trash" (MESSAGES 3 UIDNEXT 4)\r\nd OK STATUS completed\r\n',
    );
  });

  it('APPEND answers APPENDUID; to the selected mailbox it is announced; to a missing one TRYCREATE', async () => {
    const h = await loggedIn({}, undefined, 'INBOX');
    const message = 'Subject: appended\r\n\r\nhi\r\n';
    expect(await h.say(`a APPEND Sent (\\Seen) "05-Jun-2025 08:00:00 +0200" {${message.length}}`)).toBe(
      '+ Ready for literal data\r\n',
    );
    expect(await h.feed(`${message}\r\n`)).toBe('a OK [APPENDUID 1001 1] APPEND completed\r\n');
    const sent = h.store.mailbox('Sent')!.messages[0]!;
    expect(sent.flags).toEqual(['\\Seen']);
    expect(sent.internalDate.toISOString()).toBe('2025-06-05T06:00:00.000Z');
    expect(await h.feed(`b APPEND INBOX {${message.length}+}\r\n${message}\r\n`)).toBe(
      '* 4 EXISTS\r\n* 4 RECENT\r\nb OK [APPENDUID 1000 4] APPEND completed\r\n',
    );
    expect(await h.feed(`c APPEND Nowhere {${message.length}+}\r\n${message}\r\n`)).toBe(
      'c NO [TRYCREATE] no such mailbox\r\n',
    );
    h.store.quota = 1;
    expect(await h.feed(`d APPEND INBOX {${message.length}+}\r\n${message}\r\n`)).toBe(
      'd NO [OVERQUOTA] the mailbox is over its quota\r\n',
    );
  });

  it('EXPUNGE and UID EXPUNGE remove only \\Deleted messages; CLOSE expunges silently', async () => {
    const h = await loggedIn({}, undefined, 'INBOX');
    await h.say('a STORE 1:3 +FLAGS.SILENT (\\Deleted)');
    expect(await h.say('b UID EXPUNGE 2')).toBe('* 2 EXPUNGE\r\nb OK UID EXPUNGE completed\r\n');
    await h.say('c STORE 2 -FLAGS.SILENT (\\Deleted)');
    expect(await h.say('d EXPUNGE')).toBe('* 1 EXPUNGE\r\nd OK EXPUNGE completed\r\n');
    await h.say('e STORE 1 +FLAGS.SILENT (\\Deleted)');
    expect(await h.say('f CLOSE')).toBe('f OK CLOSE completed\r\n');
    expect(h.session.state).toBe('authenticated');
    expect(h.store.mailbox('INBOX')!.messages).toEqual([]);
    expect(await h.say('g FETCH 1 FLAGS')).toBe('g BAD no mailbox selected\r\n');
  });
});

describe('mailboxes: LIST, LSUB, CREATE, RENAME, DELETE, STATUS', () => {
  async function tree() {
    const h = await loggedIn();
    expect(await h.say('c1 CREATE a/b/c')).toMatch(/^c1 OK \[MAILBOXID \(F\d+\)\] CREATE completed\r\n$/);
    return h;
  }

  it('CREATE makes the parents; LIST * and % with \\HasChildren, \\HasNoChildren and special use', async () => {
    const h = await tree();
    expect(await h.say('a LIST "" "*"')).toBe(
      '* LIST (\\HasNoChildren) "/" "INBOX"\r\n* LIST (\\HasNoChildren \\Archive) "/" "Archive"\r\n' +
        '* LIST (\\HasNoChildren \\Sent) "/" "Sent"\r\n* LIST (\\HasNoChildren \\Trash) "/" "Trash"\r\n' +
        '* LIST (\\HasChildren) "/" "a"\r\n* LIST (\\HasChildren) "/" "a/b"\r\n' +
        '* LIST (\\HasNoChildren) "/" "a/b/c"\r\na OK LIST completed\r\n',
    );
    expect(await h.say('b LIST "" %')).toBe(
      '* LIST (\\HasNoChildren) "/" "INBOX"\r\n* LIST (\\HasNoChildren \\Archive) "/" "Archive"\r\n' +
        '* LIST (\\HasNoChildren \\Sent) "/" "Sent"\r\n* LIST (\\HasNoChildren \\Trash) "/" "Trash"\r\n' +
        '* LIST (\\HasChildren) "/" "a"\r\nb OK LIST completed\r\n',
    );
    expect(await h.say('c LIST a/ %')).toBe('* LIST (\\HasChildren) "/" "a/b"\r\nc OK LIST completed\r\n');
    expect(await h.say('d LIST "" a/%/%')).toBe(
      '* LIST (\\HasNoChildren) "/" "a/b/c"\r\nd OK LIST completed\r\n',
    );
    expect(await h.say('e LIST "" ""')).toBe('* LIST (\\Noselect) "/" ""\r\ne OK LIST completed\r\n');
    expect(await h.say('f LIST (SPECIAL-USE) "" "*"')).toBe(
      '* LIST (\\HasNoChildren \\Archive) "/" "Archive"\r\n* LIST (\\HasNoChildren \\Sent) "/" "Sent"\r\n' +
        '* LIST (\\HasNoChildren \\Trash) "/" "Trash"\r\nf OK LIST completed\r\n',
    );
    expect(await h.say('g CREATE a/b')).toBe('g NO [ALREADYEXISTS] the mailbox exists already\r\n');
    expect(await h.say('h CREATE inbox')).toBe('h NO [ALREADYEXISTS] INBOX exists always\r\n');
    expect(await h.say('i CREATE x/')).toMatch(/^i OK \[MAILBOXID \(F\d+\)\] CREATE completed\r\n$/);
    expect(await h.say('j LIST "" x*')).toBe('* LIST (\\HasNoChildren) "/" "x"\r\nj OK LIST completed\r\n');
  });

  it('LSUB lists subscribed mailboxes; UNSUBSCRIBE takes one out', async () => {
    const h = await tree();
    expect(await h.say('a UNSUBSCRIBE a/b')).toBe('a OK command completed\r\n');
    expect(await h.say('b LSUB "" a*')).toBe(
      '* LSUB () "/" "a"\r\n* LSUB () "/" "a/b/c"\r\nb OK LSUB completed\r\n',
    );
    expect(await h.say('c LSUB "" ""')).toBe('* LSUB (\\Noselect) "/" ""\r\nc OK LSUB completed\r\n');
  });

  // Was an engine bug (fixed): RFC 3501 §6.3.9 — when "foo/bar" is subscribed and "foo" is not, LSUB with a "%"
  // that matches foo MUST return foo, flagged \Noselect; mailbox-commands.ts skips every
  // unsubscribed name, so the client never learns there is a subscribed hierarchy below it.
  it('LSUB "%" returns an unsubscribed parent of a subscribed mailbox as \\Noselect', async () => {
    const h = await tree();
    await h.say('a UNSUBSCRIBE a', 'b UNSUBSCRIBE a/b');
    expect(await h.say('c LSUB "" %')).toContain('* LSUB (\\Noselect) "/" "a"\r\n');
  });

  it('RENAME moves the children too; the old names are gone', async () => {
    const h = await tree();
    expect(await h.say('a RENAME a x/y')).toBe('a OK RENAME completed\r\n');
    expect(await h.say('b LIST "" x*')).toBe(
      '* LIST (\\HasChildren) "/" "x"\r\n* LIST (\\HasChildren) "/" "x/y"\r\n' +
        '* LIST (\\HasChildren) "/" "x/y/b"\r\n* LIST (\\HasNoChildren) "/" "x/y/b/c"\r\nb OK LIST completed\r\n',
    );
    expect(await h.say('c LIST "" a*')).toBe('c OK LIST completed\r\n');
    expect(await h.say('d RENAME x x/z')).toBe('d NO [CANNOT] a mailbox cannot move into itself\r\n');
    expect(await h.say('e RENAME Nowhere y')).toBe('e NO [NONEXISTENT] no such mailbox\r\n');
    expect(await h.say('f RENAME Sent Trash')).toBe('f NO [ALREADYEXISTS] the new name is taken\r\n');
    expect(await h.say('g RENAME Sent INBOX')).toBe('g NO [ALREADYEXISTS] INBOX exists always\r\n');
  });

  it('RENAME INBOX moves its messages and leaves INBOX empty', async () => {
    const h = await loggedIn();
    expect(await h.say('a RENAME INBOX Old')).toBe('a OK RENAME completed\r\n');
    expect(await h.say('b STATUS INBOX (MESSAGES UIDNEXT)', 'c STATUS Old (MESSAGES)')).toBe(
      '* STATUS "INBOX" (MESSAGES 0 UIDNEXT 4)\r\nb OK STATUS completed\r\n' +
        '* STATUS "Old" (MESSAGES 3)\r\nc OK STATUS completed\r\n',
    );
  });

  // Was an engine bug (fixed): RFC 3501 §6.3.5 — "Renaming INBOX is permitted ... If the server implementation
  // supports inferior hierarchical names of INBOX, these are unaffected by a rename of INBOX."
  // RENAME INBOX moves INBOX's messages into a new mailbox, so INBOX/old is a legal target
  // (Dovecot and Cyrus allow it); mailbox-commands.ts applies the "cannot move into itself"
  // check to INBOX as well and answers NO [CANNOT].
  it('RENAME INBOX INBOX/old is allowed (it moves the messages, not the name)', async () => {
    const h = await loggedIn();
    expect(await h.say('a RENAME INBOX INBOX/old')).toBe('a OK RENAME completed\r\n');
  });

  // RFC 3501 §6.3.4's examples: a parent loses its messages and stays \Noselect; deleting
  // a \Noselect name that still has children is the error; a leaf goes entirely.
  it('DELETE of a parent keeps it \\Noselect without its messages; INBOX stays; a leaf goes', async () => {
    const store = MemoryMailStore.withMessages();
    const h = await loggedIn({}, store);
    expect(await h.say('c1 CREATE foo/bar')).toMatch(/^c1 OK \[MAILBOXID \(F\d+\)\] CREATE completed\r\n$/);
    store.deliver('foo', messageOf(1));
    const other = await loggedIn({}, store, 'foo');
    expect(await h.say('a DELETE foo')).toBe('a OK command completed\r\n');
    expect(await other.say('o1 NOOP')).toBe('* 1 EXPUNGE\r\no1 OK NOOP completed\r\n');
    expect(await h.say('b LIST "" foo*')).toBe(
      '* LIST (\\Noselect \\HasChildren) "/" "foo"\r\n* LIST (\\HasNoChildren) "/" "foo/bar"\r\nb OK LIST completed\r\n',
    );
    expect(await h.say('c SELECT foo')).toBe('c NO [NONEXISTENT] no such mailbox\r\n');
    expect(await h.say('d STATUS foo (MESSAGES)')).toBe('d NO [NONEXISTENT] no such mailbox\r\n');
    expect(await h.feed('e APPEND foo {1+}\r\nx\r\n')).toBe('e NO [TRYCREATE] no such mailbox\r\n');
    expect(await h.say('f DELETE foo')).toBe(
      'f NO [INUSE] the name has inferior hierarchical names and no mailbox of its own to delete\r\n',
    );
    expect(await h.say('g DELETE INBOX')).toBe('g NO [CANNOT] INBOX cannot be deleted\r\n');
    // The child goes; the \Noselect parent stays until it is deleted itself.
    expect(await h.say('h DELETE foo/bar', 'i LIST "" foo*')).toBe(
      'h OK command completed\r\n* LIST (\\Noselect \\HasNoChildren) "/" "foo"\r\ni OK LIST completed\r\n',
    );
    expect(await h.say('j DELETE foo', 'k DELETE foo')).toBe(
      'j OK command completed\r\nk NO [NONEXISTENT] no such mailbox\r\n',
    );
  });

  it('CREATE makes a \\Noselect name a mailbox again', async () => {
    const h = await tree();
    expect(await h.say('a DELETE a/b', 'b CREATE a/b', 'c CREATE a/b')).toBe(
      // The mailbox made again is the one whose messages DELETE took (its UIDs go on): its MAILBOXID too.
      'a OK command completed\r\nb OK [MAILBOXID (F6)] CREATE completed\r\nc NO [ALREADYEXISTS] the mailbox exists already\r\n',
    );
    expect(await h.say('d SELECT a/b')).toContain('d OK [READ-WRITE]');
    // CREATE of a child under a \Noselect parent leaves the parent as it is.
    expect(await h.say('e DELETE a', 'f CREATE a/x', 'g LIST "" a')).toBe(
      'e OK command completed\r\nf OK [MAILBOXID (F8)] CREATE completed\r\n* LIST (\\Noselect \\HasChildren) "/" "a"\r\ng OK LIST completed\r\n',
    );
  });

  it('STATUS items; an unknown item is BAD, a missing mailbox NO', async () => {
    const h = await loggedIn();
    const size = [1, 2, 3].reduce((n, i) => n + messageOf(i).length, 0);
    expect(
      await h.say('a STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN SIZE HIGHESTMODSEQ)'),
    ).toBe(
      `* STATUS "INBOX" (MESSAGES 3 RECENT 3 UIDNEXT 4 UIDVALIDITY 1000 UNSEEN 3 SIZE ${size} ` +
        'HIGHESTMODSEQ 4)\r\na OK STATUS completed\r\n',
    );
    expect(await h.say('b STATUS INBOX (FROB)')).toBe('b BAD unknown status item\r\n');
    expect(await h.say('c STATUS Nowhere (MESSAGES)')).toBe('c NO [NONEXISTENT] no such mailbox\r\n');
    // RFC 5819 / RFC 5258: with RETURN options, special-use comes only when asked for (RFC 6154 §2).
    expect(await h.say('d LIST "" "S*" RETURN (SPECIAL-USE STATUS (MESSAGES))')).toBe(
      '* LIST (\\HasNoChildren \\Sent) "/" "Sent"\r\n* STATUS "Sent" (MESSAGES 0)\r\nd OK LIST completed\r\n',
    );
  });

  it('mailbox names are modified UTF-7 on the wire, UTF-8 after ENABLE UTF8=ACCEPT', async () => {
    const h = await loggedIn();
    expect(await h.say('a CREATE "&AMk-t&AOk-"')).toMatch(
      /^a OK \[MAILBOXID \(F\d+\)\] CREATE completed\r\n$/,
    );
    expect(h.store.mailbox('Été')).toBeDefined();
    expect(await h.say('b LIST "" "&AMk-*"')).toBe(
      '* LIST (\\HasNoChildren) "/" "&AMk-t&AOk-"\r\nb OK LIST completed\r\n',
    );
    await h.say('c ENABLE UTF8=ACCEPT');
    const answer = await h.feed(Buffer.from('d LIST "" "É*"\r\n', 'utf8'));
    expect(Buffer.from(answer, 'latin1').toString('utf8')).toBe(
      '* LIST (\\HasNoChildren) "/" "Été"\r\nd OK LIST completed\r\n',
    );
  });

  it('APPEND … UTF8 (literal8) after ENABLE UTF8=ACCEPT (RFC 6855 §4), and not before', async () => {
    const h = await loggedIn();
    expect(await h.say('a APPEND INBOX UTF8 (~{3+}\r\nx\r\n)')).toMatch(
      /^a BAD UTF8 needs ENABLE UTF8=ACCEPT\r\n$/,
    );
    await h.say('b ENABLE UTF8=ACCEPT');
    const raw = Buffer.from('Subject: Été\r\n\r\nhi\r\n', 'utf8');
    const answer = await h.feed(
      Buffer.concat([Buffer.from(`c APPEND INBOX UTF8 (~{${raw.length}+}\r\n`), raw, Buffer.from(')\r\n')]),
    );
    expect(answer).toMatch(/^c OK \[APPENDUID \d+ \d+\] APPEND completed\r\n$/);
  });
});

// ---------------------------------------------------------------------------
// Property: whatever arrives, the session does not throw and writes only response lines.

/** Splits the output into response lines, literal octets folded in (as `<n octets>`). */
function responseLines(out: string): string[] {
  const lines: string[] = [];
  let pos = 0;
  while (pos < out.length) {
    let line = '';
    for (;;) {
      const eol = out.indexOf('\r\n', pos);
      if (eol < 0) throw new Error(`unterminated response ${JSON.stringify(out.slice(pos, pos + 200))}`);
      const text = out.slice(pos, eol);
      if (/[\r\n]/.test(text)) throw new Error(`bare CR or LF in ${JSON.stringify(text)}`);
      line += text;
      pos = eol + 2;
      const literal = /~?\{(\d+)\}$/.exec(text);
      if (!literal || line.startsWith('+')) break;
      const size = Number(literal[1]);
      if (pos + size > out.length) throw new Error(`literal overruns the output in ${JSON.stringify(line)}`);
      line += `<${size} octets>`;
      pos += size;
    }
    lines.push(line);
  }
  return lines;
}

const RESPONSE_LINE = new RegExp(
  '^(?:' +
    [
      String.raw`\* (?:OK|NO|BAD|BYE)(?: .*)?`,
      String.raw`\* (?:CAPABILITY|LIST|LSUB|STATUS|FLAGS|SEARCH|ESEARCH|ENABLED|NAMESPACE|ID)(?: .*)?`,
      String.raw`\* (?:SORT|THREAD|VANISHED|QUOTA|QUOTAROOT|METADATA|ACL|LISTRIGHTS|MYRIGHTS)(?: .*)?`,
      String.raw`\* \d+ (?:EXISTS|RECENT|EXPUNGE)`,
      String.raw`\* \d+ FETCH \(.*\)`,
      String.raw`\+ .*`,
      String.raw`[^\s*+(){%"\\]+ (?:OK|NO|BAD) .+`,
    ].join('|') +
    ')$',
);

const TAGS = ['a', 'b1', 'X.2', 'tag]'];
const COMMAND_TEMPLATES = [
  'NOOP',
  'CAPABILITY',
  `LOGIN ${USER} ${PASSWORD}`,
  'LOGIN alice wrong',
  'AUTHENTICATE PLAIN',
  'AUTHENTICATE PLAIN =',
  'SELECT INBOX',
  'EXAMINE INBOX',
  'SELECT Archive',
  'ENABLE IMAP4rev2',
  'ENABLE UTF8=ACCEPT',
  'FETCH 1:* (FLAGS UID BODY.PEEK[HEADER])',
  'FETCH 1 BODY[]<2.5>',
  'FETCH * (ENVELOPE BODYSTRUCTURE BINARY.SIZE[1])',
  'FETCH 2 BINARY[1]',
  'UID FETCH 1:* RFC822.SIZE',
  'STORE 1 +FLAGS (\\Deleted)',
  'STORE 1:2 FLAGS.SILENT (\\Seen $x)',
  'UID STORE * -FLAGS (\\Seen)',
  'SEARCH ALL',
  'SEARCH RETURN (MIN MAX COUNT SAVE) UNSEEN',
  'SEARCH $',
  'UID SEARCH OR SEEN TEXT "body" NOT LARGER 5',
  'SEARCH CHARSET KOI8-R ALL',
  'COPY 1 Archive',
  'MOVE 1 Trash',
  'UID MOVE 1:* Nowhere',
  'EXPUNGE',
  'UID EXPUNGE 1:3',
  'CLOSE',
  'UNSELECT',
  'IDLE',
  'DONE',
  '*',
  'LIST "" *',
  'LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (CHILDREN STATUS (MESSAGES))',
  'LSUB "" %',
  'CREATE a/b',
  'RENAME a c',
  'DELETE c',
  'STATUS INBOX (MESSAGES UNSEEN)',
  'APPEND INBOX {5}',
  'APPEND INBOX (\\Seen) {5+}',
  'LOGIN {3}',
  'NAMESPACE',
  'ID ("name" "x")',
  'STARTTLS',
  'CHECK',
  'LOGOUT',
];

const lineArbitrary = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(...TAGS), fc.constantFrom(...COMMAND_TEMPLATES))
      .map(([t, c]) => `${t} ${c}\r\n`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'hello\r\n',
      'DONE\r\n',
      '\r\n',
      `${b64(`\u0000${USER}\u0000${PASSWORD}`)}\r\n`,
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((s) => `${s}\r\n`) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1')) },
  // Commands from the grammar, with boundary and hostile arguments (test-command-grammar.ts).
  {
    weight: 6,
    arbitrary: fc.tuple(fc.constantFrom(...TAGS), grammarCommand).map(([t, command]) => `${t} ${command}`),
  },
);

describe('property: robustness on any input', () => {
  it('never throws, writes only valid response lines, and never hands the store what it cannot hold', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(lineArbitrary, { minLength: 1, maxLength: 25 }),
        fc.boolean(),
        fc.constantFrom<'unavailable' | 'starttls' | 'active'>('unavailable', 'starttls', 'active'),
        fc.integer({ min: 1, max: 64 }),
        fc.boolean(),
        async (lines, plaintextAllowed, tls, chunkSize, selectFirst) => {
          // The store throws where Postgres would (test-postgres-rules.ts); the session
          // answers that NO [SERVERBUG] and the gateway logs it: neither may happen.
          const failures: unknown[] = [];
          const h = startImap({ plaintextAllowed, tls, maxCommandSize: 4096 }, undefined, {
            commandFailed: (_name, err) => failures.push(err),
          });
          const start = selectFirst ? `L LOGIN ${USER} ${PASSWORD}\r\nS SELECT INBOX\r\n` : '';
          const bytes = Buffer.from(start + lines.join(''), 'latin1');
          for (let at = 0; at < bytes.length; at += chunkSize) {
            const action = await h.session.receive(bytes.subarray(at, at + chunkSize));
            if (action === 'starttls') h.session.tlsStarted();
          }
          await h.settle();
          h.session.end();
          for (const line of responseLines(h.output())) {
            if (!RESPONSE_LINE.test(line)) throw new Error(`not a response line: ${JSON.stringify(line)}`);
            if (/^\S+ NO \[SERVERBUG\]/.test(line)) throw new Error(`SERVERBUG: ${JSON.stringify(line)}`);
          }
          if (failures.length > 0) throw failures[0];
        },
      ),
      { numRuns: 150 },
    );
  });
});
