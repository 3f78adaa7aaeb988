import { beforeAll, describe, expect, it } from 'vitest';
import { credentials, type ImapHarness, MemoryMailStore, PASSWORD, startImap, USER } from './test-account.js';

// Bad input that once reached the store (issue 13 item 7): each value the Postgres store
// cannot hold is refused by the engine with a plain BAD or NO, and nothing reaches the
// commandFailed hook (the gateway logs what reaches it, and answers NO [SERVERBUG]). The
// in-memory store throws where Postgres throws (test-postgres-rules.ts), so a value that
// slipped through would show up here as SERVERBUG.

beforeAll(async () => {
  await credentials();
});

interface Probe extends ImapHarness {
  /** What reached commandFailed: each one would be a SERVERBUG and a log line. */
  readonly failures: unknown[];
}

async function session(select?: string): Promise<Probe> {
  const failures: unknown[] = [];
  // The limits of a real gateway (64 KiB a command after login): these inputs are big.
  const h = startImap({ maxCommandSize: 64 * 1024 }, MemoryMailStore.withMessages(), {
    commandFailed: (_name, err) => failures.push(err),
  });
  const probe = Object.assign(h, { failures });
  await h.say(`L LOGIN ${USER} ${PASSWORD}`);
  if (select) expect(await h.say(`S SELECT ${select}`)).toMatch(/S OK \[READ-WRITE\]/);
  return probe;
}

const NO_SUCH = (tag: string) => `${tag} NO [NONEXISTENT] no such mailbox\r\n`;

describe('the cases of issue 13 item 7', () => {
  it('answers SELECT "" with NO [NONEXISTENT] and logs nothing', async () => {
    const h = await session('INBOX');
    expect(await h.say('a SELECT ""')).toBe(NO_SUCH('a'));
    // A failed SELECT leaves no mailbox selected (RFC 3501 §6.3.1).
    expect(h.session.state).toBe('authenticated');
    expect(h.failures).toEqual([]);
  });

  it('answers SELECT "/" and SELECT "/bob/INBOX" with NO [NONEXISTENT] and logs nothing', async () => {
    const h = await session();
    expect(await h.say('a SELECT "/"')).toBe(NO_SUCH('a'));
    expect(await h.say('b SELECT "/bob/INBOX"')).toBe(NO_SUCH('b'));
    expect(await h.say('c EXAMINE "/bob/INBOX"')).toBe(NO_SUCH('c'));
    expect(h.failures).toEqual([]);
  });

  it('answers SEARCH LARGER 99999999999999999999 with BAD (number64 ends at 2^63 - 1) and logs nothing', async () => {
    const h = await session('INBOX');
    expect(await h.say('a SEARCH LARGER 99999999999999999999')).toBe(
      'a BAD number expected (0 to 9223372036854775807)\r\n',
    );
    expect(await h.say('b SEARCH SMALLER 9223372036854775808')).toBe(
      'b BAD number expected (0 to 9223372036854775807)\r\n',
    );
    // The largest number64 is a size like any other: every message is smaller.
    expect(await h.say('c SEARCH SMALLER 9223372036854775807')).toBe(
      '* SEARCH 1 2 3\r\nc OK SEARCH completed\r\n',
    );
    expect(await h.say('d SEARCH LARGER 9223372036854775807')).toBe('* SEARCH\r\nd OK SEARCH completed\r\n');
    expect(h.failures).toEqual([]);
  });

  it('answers SEARCH MODSEQ 99999999999999999999 with BAD (mod-sequence-valzer ends at 2^63 - 1) and logs nothing', async () => {
    const h = await session('INBOX');
    expect(await h.say('a SEARCH MODSEQ 99999999999999999999')).toBe(
      'a BAD invalid MODSEQ (0 to 9223372036854775807)\r\n',
    );
    expect(await h.say('b SEARCH MODSEQ 9223372036854775808')).toBe(
      'b BAD invalid MODSEQ (0 to 9223372036854775807)\r\n',
    );
    // The first valid SEARCH MODSEQ turns CONDSTORE on (RFC 7162 §3.1): HIGHESTMODSEQ first.
    expect(await h.say('c SEARCH MODSEQ 9223372036854775807')).toBe(
      '* OK [HIGHESTMODSEQ 4] Highest\r\n* SEARCH\r\nc OK SEARCH completed\r\n',
    );
    // RFC 7162 §3.1.5: the entry name is a quoted string; the answer ends with the highest MODSEQ found.
    expect(await h.say('d SEARCH MODSEQ "/flags/\\\\seen" all 0')).toBe(
      '* SEARCH 1 2 3 (MODSEQ 4)\r\nd OK SEARCH completed\r\n',
    );
    expect(h.failures).toEqual([]);
  });

  it('answers SEARCH CHARSET UTF-8 TEXT {4+} with invalid UTF-8 with BAD and logs nothing', async () => {
    const h = await session('INBOX');
    const answer = await h.feed(
      Buffer.concat([
        Buffer.from('a SEARCH CHARSET UTF-8 TEXT {4+}\r\n'),
        Buffer.from([0xff, 0xfe, 0xfd, 0xfc]),
        Buffer.from('\r\n'),
      ]),
    );
    expect(answer).toBe('a BAD invalid UTF-8 in a string\r\n');
    // Encoded surrogates and overlong forms are not UTF-8 either.
    expect(await h.feed('b SEARCH CHARSET UTF-8 BODY {3+}\r\n\xed\xa0\x80\r\n')).toBe(
      'b BAD invalid UTF-8 in a string\r\n',
    );
    expect(await h.feed('c SEARCH SUBJECT {2+}\r\n\xc0\x80\r\n')).toBe('c BAD invalid UTF-8 in a string\r\n');
    // Valid UTF-8 is searched.
    expect(await h.feed('d SEARCH CHARSET UTF-8 TEXT {2+}\r\n\xc3\xa9\r\n')).toBe(
      '* SEARCH\r\nd OK SEARCH completed\r\n',
    );
    expect(h.failures).toEqual([]);
  });
});

describe('the rest of the class: strings', () => {
  it('answers a NUL in a search string with BAD (CHAR8 excludes it; Postgres text cannot hold it)', async () => {
    const h = await session('INBOX');
    expect(await h.feed('a SEARCH TEXT {3+}\r\na\x00b\r\n')).toBe('a BAD NUL is not allowed in a string\r\n');
    expect(await h.feed('b SEARCH HEADER Subject {2+}\r\n\x00x\r\n')).toBe(
      'b BAD NUL is not allowed in a string\r\n',
    );
    expect(h.failures).toEqual([]);
  });

  it('answers a literal8 anywhere but APPEND data with BAD, as Dovecot does', async () => {
    const h = await session('INBOX');
    expect(await h.feed('a SEARCH TEXT ~{2+}\r\nab\r\n')).toBe(
      'a BAD literal8 is allowed only for APPEND message data\r\n',
    );
    expect(await h.feed('b STATUS ~{5+}\r\nINBOX (MESSAGES)\r\n')).toBe(
      'b BAD literal8 is allowed only for APPEND message data\r\n',
    );
    expect(await h.feed('c LOGIN ~{1+}\r\na b\r\n')).toBe('c BAD already authenticated\r\n');
    expect(h.failures).toEqual([]);
  });

  it('answers 8-bit flags and keywords with BAD, and invalid UTF-8 in any atom', async () => {
    const h = await session('INBOX');
    expect(await h.feed('a STORE 1 +FLAGS (\xff\xfe)\r\n')).toBe('a BAD invalid flag\r\n');
    expect(await h.feed('b SEARCH KEYWORD caf\xc3\xa9\r\n')).toBe('b BAD invalid keyword\r\n');
    expect(await h.feed('c SEARCH TEXT caf\xff\r\n')).toBe('c BAD invalid UTF-8 in an atom\r\n');
    // A UTF-8 atom is a search string (python's imaplib sends them so), but before
    // UTF8=ACCEPT no mailbox name.
    expect(await h.feed('d SEARCH TEXT caf\xc3\xa9\r\n')).toBe('* SEARCH\r\nd OK SEARCH completed\r\n');
    expect(await h.feed('e STATUS Gr\xc3\xb6\xc3\x9fe (MESSAGES)\r\n')).toBe(
      'e NO [CANNOT] the mailbox name is not valid modified UTF-7\r\n',
    );
    expect(h.failures).toEqual([]);
  });

  it('ENABLE with an invalid name is BAD and enables nothing', async () => {
    const h = await session();
    expect(await h.say('a ENABLE UTF8=ACCEPT "x"')).toBe('a BAD capability names are atoms\r\n');
    expect(h.session.utf8).toBe(false);
    expect(await h.feed('b ENABLE IMAP4rev2 \xff\r\n')).toBe('b BAD capability names are atoms\r\n');
    expect(h.session.rev2).toBe(false);
    // Unknown names are ignored (RFC 5161 §3.1).
    expect(await h.say('c ENABLE X-UNKNOWN UTF8=ACCEPT')).toBe(
      '* ENABLED UTF8=ACCEPT\r\nc OK ENABLE completed\r\n',
    );
  });
});

describe('the rest of the class: mailbox names', () => {
  it('answers every command naming a mailbox no one can have with NO [NONEXISTENT]', async () => {
    const h = await session('INBOX');
    for (const [tag, command] of [
      ['a', 'STATUS "" (MESSAGES)'],
      ['b', 'STATUS "a//b" (MESSAGES)'],
      ['c', 'DELETE "/"'],
      ['d', 'SUBSCRIBE ""'],
      ['e', 'UNSUBSCRIBE "x/"'],
      ['f', 'RENAME "" x'],
      ['g', 'APPEND "" {1+}\r\nx'],
      ['h', 'APPEND "/INBOX" (\\Seen) {1+}\r\nx'],
      ['i', 'COPY 1 ""'],
      ['j', 'MOVE 1 "/x"'],
      ['k', 'UID COPY 1 "a//b"'],
    ] as const) {
      expect(await h.say(`${tag} ${command}`), command).toBe(NO_SUCH(tag));
    }
    // A control character: not modified UTF-7 at all, and in UTF-8 no name either.
    expect(await h.say('l STATUS {3+}\r\na\x01b (MESSAGES)')).toBe(
      'l NO [CANNOT] the mailbox name is not valid modified UTF-7\r\n',
    );
    await h.say('m ENABLE UTF8=ACCEPT');
    expect(await h.say('n STATUS {3+}\r\na\x01b (MESSAGES)')).toBe(NO_SUCH('n'));
    expect(h.failures).toEqual([]);
  });

  it('answers a NUL or invalid UTF-8 in a mailbox name with BAD', async () => {
    const h = await session();
    expect(await h.feed('a SELECT {3+}\r\na\x00b\r\n')).toBe('a BAD NUL is not allowed in a string\r\n');
    await h.say('b ENABLE UTF8=ACCEPT');
    expect(await h.feed('c CREATE {2+}\r\n\xc3\x28\r\n')).toBe('c BAD invalid UTF-8 in a string\r\n');
    expect(h.failures).toEqual([]);
  });

  it('refuses to CREATE or RENAME to a name too long in octets, too deep, empty or with wildcards', async () => {
    const h = await session();
    await h.say('u ENABLE UTF8=ACCEPT');
    // 999 CJK characters: under 1,000 characters, 2,997 octets (more than the store's index holds).
    expect(await h.feed(Buffer.from(`a CREATE "${'\u65e5'.repeat(999)}"\r\n`, 'utf8'))).toBe(
      'a NO [CANNOT] invalid mailbox name: longer than 1000 octets\r\n',
    );
    expect(await h.say(`b CREATE "${'x/'.repeat(32)}y"`)).toBe(
      'b NO [CANNOT] invalid mailbox name: deeper than 32 levels\r\n',
    );
    expect(await h.say('c CREATE ""')).toBe('c NO [CANNOT] invalid mailbox name: the name is empty\r\n');
    expect(await h.say('d CREATE "/"')).toBe('d NO [CANNOT] invalid mailbox name: the name is empty\r\n');
    expect(await h.say('e CREATE "a*b"')).toBe(
      'e NO [CANNOT] invalid mailbox name: the LIST wildcards * and % are not allowed\r\n',
    );
    expect(await h.say('f RENAME Sent "a//b"')).toBe(
      'f NO [CANNOT] invalid mailbox name: a hierarchy level is empty (a leading, trailing or doubled "/")\r\n',
    );
    expect(await h.say(`g RENAME Sent "${'s'.repeat(1001)}"`)).toBe(
      'g NO [CANNOT] invalid mailbox name: longer than 1000 octets\r\n',
    );
    // 1,000 octets is fine.
    expect(await h.say(`h CREATE "${'s'.repeat(1000)}"`)).toMatch(
      /^h OK \[MAILBOXID \(F\d+\)\] CREATE completed\r\n$/,
    );
    expect(h.failures).toEqual([]);
  });

  it('refuses a RENAME that would give a mailbox below a name too long or too deep', async () => {
    const h = await session();
    expect(await h.say(`a CREATE "m/k/${'x'.repeat(995)}"`)).toMatch(
      /^a OK \[MAILBOXID \(F\d+\)\] CREATE completed\r\n$/,
    );
    // m/k/xxx… would become 1,000 + 996 octets.
    expect(await h.say(`b RENAME m/k "m/${'K'.repeat(998)}"`)).toBe(
      'b NO [CANNOT] a mailbox below would get an invalid name: longer than 1000 octets\r\n',
    );
    expect(await h.say(`c RENAME m "${'M'.repeat(1000)}"`)).toBe(
      'c NO [CANNOT] a mailbox below would get an invalid name: longer than 1000 octets\r\n',
    );
    expect(await h.say(`d CREATE "${'d/'.repeat(30)}e"`)).toMatch(
      /^d OK \[MAILBOXID \(F\d+\)\] CREATE completed\r\n$/,
    );
    expect(await h.say('e RENAME d "x/y/z"')).toBe(
      'e NO [CANNOT] a mailbox below would get an invalid name: deeper than 32 levels\r\n',
    );
    expect(await h.say('f RENAME m n')).toBe('f OK RENAME completed\r\n');
    expect(h.failures).toEqual([]);
  });

  it('RENAME to itself or to INBOX is NO', async () => {
    const h = await session();
    expect(await h.say('a RENAME Sent Sent')).toBe('a NO [CANNOT] a mailbox cannot move into itself\r\n');
    expect(await h.say('b RENAME Sent inbox')).toBe('b NO [ALREADYEXISTS] INBOX exists always\r\n');
    expect(await h.say('c RENAME INBOX INBOX')).toBe('c NO [ALREADYEXISTS] INBOX exists always\r\n');
    expect(h.failures).toEqual([]);
  });
});

describe('the rest of the class: numbers and dates', () => {
  it('answers section part numbers past 4294967295 with BAD', async () => {
    const h = await session('INBOX');
    expect(await h.say('a FETCH 1 BODY[4294967296]')).toBe('a BAD invalid section 4294967296\r\n');
    expect(await h.say('b FETCH 1 BINARY[99999999999999999999]')).toBe('b BAD invalid binary section\r\n');
    expect(await h.say('c FETCH 1 BINARY.SIZE[1.4294967296]')).toBe('c BAD invalid binary section\r\n');
    expect(await h.say('d FETCH 1 BINARY.SIZE[4294967295]')).toBe(
      '* 1 FETCH (BINARY.SIZE[4294967295] 0)\r\nd OK FETCH completed\r\n',
    );
    expect(h.failures).toEqual([]);
  });

  it('takes partials up to 2^63 - 1 (number64) and echoes the origin exactly', async () => {
    const h = await session('INBOX');
    expect(await h.say('a FETCH 1 BODY.PEEK[]<9223372036854775807.99999999999>')).toBe(
      '* 1 FETCH (BODY[]<9223372036854775807> {0}\r\n)\r\na OK FETCH completed\r\n',
    );
    expect(await h.say('b FETCH 1 BODY.PEEK[TEXT]<0010.4>')).toBe(
      '* 1 FETCH (BODY[TEXT]<10> {1}\r\n\n)\r\nb OK FETCH completed\r\n',
    );
    expect(await h.say('c FETCH 1 BODY.PEEK[]<9223372036854775808.1>')).toBe(
      'c BAD partial out of range\r\n',
    );
    expect(await h.say('d FETCH 1 BINARY.PEEK[1]<0.99999999999999999999>')).toBe(
      'd BAD partial out of range\r\n',
    );
    expect(h.failures).toEqual([]);
  });

  it('answers SEARCH dates that name no day (31-Feb, year 0000) with BAD', async () => {
    const h = await session('INBOX');
    expect(await h.say('a SEARCH SENTBEFORE 31-Feb-2026')).toBe('a BAD invalid date\r\n');
    expect(await h.say('b SEARCH BEFORE 29-Feb-2100')).toBe('b BAD invalid date\r\n');
    expect(await h.say('c SEARCH SINCE 1-Jan-0000')).toBe('c BAD invalid date\r\n');
    expect(await h.say('d SEARCH ON 0-Jan-2026')).toBe('d BAD invalid date\r\n');
    expect(await h.say('e SEARCH SENTSINCE 29-Feb-2024')).toBe('* SEARCH 1 2 3\r\ne OK SEARCH completed\r\n');
    // Years 1-99 are years 1-99, not 1901-1999.
    expect(await h.say('f SEARCH BEFORE 1-Jan-0050')).toBe('* SEARCH\r\nf OK SEARCH completed\r\n');
    expect(h.failures).toEqual([]);
  });

  it('answers APPEND dates that name no moment in years 0001-9999 with BAD; INTERNALDATE keeps four digits', async () => {
    const h = await session('INBOX');
    expect(await h.say('a APPEND INBOX "31-Feb-2026 00:00:00 +0000" {1+}\r\nx')).toBe(
      'a BAD invalid date-time\r\n',
    );
    expect(await h.say('b APPEND INBOX "01-Jan-0000 12:00:00 +0000" {1+}\r\nx')).toBe(
      'b BAD invalid date-time\r\n',
    );
    expect(await h.say('c APPEND INBOX "31-Dec-9999 23:59:59 -2359" {1+}\r\nx')).toBe(
      'c BAD invalid date-time\r\n',
    );
    expect(await h.say('d APPEND INBOX "01-Jan-0001 00:00:00 +0000" {1+}\r\nx')).toBe(
      '* 4 EXISTS\r\n* 4 RECENT\r\nd OK [APPENDUID 1000 4] APPEND completed\r\n',
    );
    expect(await h.say('e FETCH 4 INTERNALDATE')).toBe(
      '* 4 FETCH (INTERNALDATE "01-Jan-0001 00:00:00 +0000")\r\ne OK FETCH completed\r\n',
    );
    expect(h.failures).toEqual([]);
  });

  it('answers SEARCH with more keys than the store compiles with BAD', async () => {
    const h = await session('INBOX');
    expect(await h.say(`a SEARCH ${'SEEN '.repeat(10_001)}ALL`)).toBe('a BAD too many search keys\r\n');
    // 999 keys and the AND that joins them are 1,000 nodes, the most one SEARCH may have.
    expect(await h.say(`b SEARCH ${'SEEN '.repeat(998)}ALL`)).toBe('* SEARCH\r\nb OK SEARCH completed\r\n');
    expect(await h.say(`d SEARCH ${'SEEN '.repeat(999)}ALL`)).toBe('d BAD too many search keys\r\n');
    expect(await h.say(`c SEARCH ${'NOT '.repeat(100)}ALL`)).toBe('c BAD search keys nested too deep\r\n');
    expect(h.failures).toEqual([]);
  });

  it('keeps the table of flag sets of a view bounded when every STORE sets new keywords', async () => {
    const h = await session('INBOX');
    for (let n = 0; n < 500; n++) {
      // Each new keyword is announced in FLAGS, even to a .SILENT STORE (RFC 3501 §7.2.6).
      const answer = await h.say(`k${n} STORE 1 FLAGS.SILENT (key${n} $x)`);
      expect(answer).toMatch(
        new RegExp(
          `^\\* FLAGS \\([^)]* key${n}\\)\r\n\\* OK \\[PERMANENTFLAGS .*\r\nk${n} OK STORE completed\r\n$`,
        ),
      );
    }
    // Three messages: at most 2 × 3 + 64 distinct sets are kept, not 500.
    expect(h.session.selected!.flagSetCount).toBeLessThanOrEqual(70);
    expect(await h.say('f FETCH 1:3 FLAGS')).toBe(
      '* 1 FETCH (FLAGS ($x key499 \\Recent))\r\n* 2 FETCH (FLAGS (\\Recent))\r\n* 3 FETCH (FLAGS (\\Recent))\r\n' +
        'f OK FETCH completed\r\n',
    );
    expect(h.failures).toEqual([]);
  });

  it('answers ESEARCH MIN and MAX over 200,000 matches (no spread into Math.min)', async () => {
    const store = MemoryMailStore.withMessages(1);
    const inbox = store.mailbox('INBOX')!;
    const first = inbox.messages[0]!;
    for (let uid = 2; uid <= 200_000; uid++) inbox.messages.push({ ...first, uid, flags: [] });
    inbox.uidNext = 200_001;
    const failures: unknown[] = [];
    const h = startImap({ maxCommandSize: 64 * 1024 }, store, {
      commandFailed: (_name, err) => failures.push(err),
    });
    await h.say(`L LOGIN ${USER} ${PASSWORD}`);
    await h.say('S EXAMINE INBOX');
    expect(await h.say('a UID SEARCH RETURN (MIN MAX COUNT) ALL')).toBe(
      '* ESEARCH (TAG "a") UID MIN 1 MAX 200000 COUNT 200000\r\na OK UID SEARCH completed\r\n',
    );
    expect(failures).toEqual([]);
  });

  it('answers a sequence set of 10,000 overlapping ranges with each message once', async () => {
    const h = await session('INBOX');
    const many = Array.from({ length: 10_000 }, () => '1:*').join(',');
    expect(await h.say(`a UID SEARCH UID ${many}`)).toBe('* SEARCH 1 2 3\r\na OK UID SEARCH completed\r\n');
    expect(await h.say(`b FETCH ${many},2,3:1 UID`)).toBe(
      '* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 2)\r\n* 3 FETCH (UID 3)\r\nb OK FETCH completed\r\n',
    );
    expect(await h.say('c UID FETCH 4294967295,3:4294967295 UID')).toBe(
      '* 3 FETCH (UID 3)\r\nc OK UID FETCH completed\r\n',
    );
    expect(await h.say('d UID FETCH 4294967296 UID')).toBe('d BAD invalid sequence set\r\n');
    expect(h.failures).toEqual([]);
  });
});
