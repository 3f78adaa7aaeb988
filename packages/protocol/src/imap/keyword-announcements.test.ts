import { beforeAll, describe, expect, it } from 'vitest';
import { credentials, loggedIn, MemoryMailStore } from './test-account.js';

// New keywords are announced (issue 18): a FETCH never shows a keyword the client has not
// first been told of in an untagged FLAGS, with PERMANENTFLAGS beside it (RFC 3501 §7.2.6,
// RFC 9051 §7.3.5), in the session that set it and in every other session on the mailbox.

beforeAll(async () => {
  await credentials();
});

const SYSTEM = '\\Answered \\Flagged \\Deleted \\Seen \\Draft';
const announced = (keywords: string) =>
  `* FLAGS (${SYSTEM}${keywords})\r\n* OK [PERMANENTFLAGS (${SYSTEM}${keywords} \\*)] flags permitted\r\n`;

describe('keywords in FLAGS', () => {
  it('SELECT lists the keywords the messages carry; EXAMINE permits none', async () => {
    const store = MemoryMailStore.withMessages();
    const setter = await loggedIn({}, store, 'INBOX');
    await setter.say('a STORE 2 +FLAGS ($Label1 Project7)');
    const h = await loggedIn({}, store);
    const selected = await h.say('b SELECT INBOX');
    expect(selected).toContain(announced(' $Label1 Project7'));
    const examined = await h.say('c EXAMINE INBOX');
    expect(examined).toContain(
      `* FLAGS (${SYSTEM} $Label1 Project7)\r\n* OK [PERMANENTFLAGS ()] flags permitted\r\n`,
    );
  });

  it('announces a new keyword to the session that stores it, before the FETCH that shows it, and only once', async () => {
    const h = await loggedIn({}, undefined, 'INBOX');
    expect(await h.say('a STORE 1 +FLAGS ($label1)')).toBe(
      `${announced(' $label1')}* 1 FETCH (FLAGS ($label1 \\Recent))\r\na OK STORE completed\r\n`,
    );
    // Known now, in any case: no FLAGS again.
    expect(await h.say('b STORE 2 +FLAGS ($LABEL1)')).toBe(
      '* 2 FETCH (FLAGS ($LABEL1 \\Recent))\r\nb OK STORE completed\r\n',
    );
    expect(await h.say('c STORE 3 +FLAGS.SILENT (other)')).toBe(
      `${announced(' $label1 other')}c OK STORE completed\r\n`,
    );
  });

  it('announces it to another session on the mailbox before the flag change, at its next command', async () => {
    const store = MemoryMailStore.withMessages();
    const a = await loggedIn({}, store, 'INBOX');
    const b = await loggedIn({}, store, 'INBOX');
    await a.say('a STORE 1 +FLAGS ($label1)');
    const noop = await b.say('n NOOP');
    expect(noop).toBe(`${announced(' $label1')}* 1 FETCH (UID 1 FLAGS ($label1))\r\nn OK NOOP completed\r\n`);
    expect(noop.indexOf('* FLAGS')).toBeLessThan(noop.indexOf('FETCH'));
  });

  it('pushes it to a session in IDLE before the FETCH', async () => {
    const store = MemoryMailStore.withMessages();
    const a = await loggedIn({}, store, 'INBOX');
    const b = await loggedIn({}, store, 'INBOX');
    expect(await b.say('i IDLE')).toBe('+ idling\r\n');
    await a.say('a STORE 2 +FLAGS (urgent)');
    await b.settle();
    expect(b.output()).toContain(`+ idling\r\n${announced(' urgent')}* 2 FETCH (UID 2 FLAGS (urgent))\r\n`);
    await b.say('DONE');
  });

  it('announces a keyword of a message APPENDed elsewhere before a FETCH shows it', async () => {
    const store = MemoryMailStore.withMessages();
    const a = await loggedIn({}, store, 'INBOX');
    const b = await loggedIn({}, store);
    const message = 'Subject: hi\r\n\r\nhello\r\n';
    expect(await b.feed(`p APPEND INBOX (fresh) {${message.length}+}\r\n${message}\r\n`)).toMatch(
      /p OK \[APPENDUID/,
    );
    // EXISTS tells of the message, not of its flags: FLAGS comes with the first FETCH of them.
    expect(await a.say('n NOOP')).toMatch(/^\* 4 EXISTS\r\n\* \d RECENT\r\nn OK NOOP completed\r\n$/);
    expect(await a.say('f FETCH 4 (FLAGS)')).toBe(
      `${announced(' fresh')}* 4 FETCH (FLAGS (fresh \\Recent))\r\nf OK FETCH completed\r\n`,
    );
    expect(await a.say('g FETCH 4 (FLAGS ENVELOPE)')).toMatch(
      /^\* 4 FETCH \(FLAGS \(fresh \\Recent\) ENVELOPE/,
    );
  });

  it('refuses NIL as a keyword in STORE and APPEND', async () => {
    const h = await loggedIn({}, undefined, 'INBOX');
    expect(await h.say('a STORE 1 +FLAGS (NIL)')).toBe('a BAD invalid flag\r\n');
    expect(await h.say('b STORE 1 FLAGS (nil $ok)')).toBe('b BAD invalid flag\r\n');
    expect(await h.feed('c APPEND INBOX (NIL) {2+}\r\nhi\r\n')).toBe('c BAD invalid flag\r\n');
    expect(await h.say('d FETCH 1 FLAGS')).toBe('* 1 FETCH (FLAGS (\\Recent))\r\nd OK FETCH completed\r\n');
  });
});
