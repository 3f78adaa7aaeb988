import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../mime/envelope.js';
import { emailIdOf, emailKeyOf, isObjectId, mailboxIdOf } from './object-ids.js';
import { credentials, loggedIn, MemoryMailStore, messageOf } from './test-account.js';
import { threadIdOf } from './thread-ids.js';

// OBJECTID (RFC 8474) and SAVEDATE (RFC 8514) in the engine, on the in-memory store; over
// the real gateway and Postgres: test/imap-objectid.test.ts, and SAVEDATE against Dovecot:
// test/imap-savedate-dovecot.test.ts.

beforeAll(async () => {
  await credentials();
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

describe('objectids', () => {
  it('makes EMAILIDs and MAILBOXIDs of the RFC 8474 §3 alphabet, 1 to 255 characters', () => {
    const id = emailIdOf(sha256(Buffer.from('a message')));
    expect(id).toMatch(/^M[A-Za-z0-9_-]{43}$/);
    expect(isObjectId(id)).toBe(true);
    expect(isObjectId(mailboxIdOf('9007199254740991'))).toBe(true);
    for (const bad of ['', 'a b', 'a+b', 'a/b', 'x'.repeat(256), 'é']) expect(isObjectId(bad)).toBe(false);
    expect(isObjectId('x'.repeat(255))).toBe(true);
  });

  it('takes back only the EMAILIDs it makes', () => {
    const key = sha256(Buffer.from('a message'));
    expect(emailKeyOf(emailIdOf(key))).toEqual(key);
    // Another letter, another length, or trailing bits that base64url of 32 bytes never sets.
    const id = emailIdOf(key);
    expect(emailKeyOf(`T${id.slice(1)}`)).toBeUndefined();
    expect(emailKeyOf(id.slice(0, -1))).toBeUndefined();
    expect(emailKeyOf(`${id.slice(0, -1)}${id.endsWith('B') ? 'C' : 'B'}`)).toBeUndefined();
  });
});

describe('OBJECTID (RFC 8474)', () => {
  it('answers FETCH EMAILID and THREADID, and SEARCH EMAILID and THREADID', async () => {
    const store = MemoryMailStore.withMessages(2);
    // A reply to message 1, and a reply to the reply that names only its parent's parent first.
    store.deliver(
      'INBOX',
      Buffer.from(
        'Subject: Re: message 1\r\nMessage-ID: <r1@x>\r\nIn-Reply-To: <1@example.net>\r\n\r\nre\r\n',
      ),
    );
    store.deliver(
      'INBOX',
      Buffer.from(
        'Subject: Re: message 1\r\nMessage-ID: <r2@x>\r\nIn-Reply-To: <r1@x>\r\n' +
          'References: <1@example.net>\r\n <r1@x>\r\n\r\nre re\r\n',
      ),
    );
    const h = await loggedIn({}, store);
    await h.say('a SELECT INBOX');
    const first = emailIdOf(sha256(messageOf(1)));
    const second = emailIdOf(sha256(messageOf(2)));
    const thread1 = threadIdOf({ messageId: '<1@example.net>', inReplyTo: null } as Envelope, null, first);
    const thread2 = threadIdOf({ messageId: '<2@example.net>', inReplyTo: null } as Envelope, null, second);
    expect(thread1).toMatch(/^T[A-Za-z0-9_-]{27}$/);
    expect(thread1).not.toBe(thread2);
    expect(await h.say('b FETCH 1:2 (EMAILID THREADID)')).toBe(
      `* 1 FETCH (EMAILID (${first}) THREADID (${thread1}))\r\n* 2 FETCH (EMAILID (${second}) THREADID (${thread2}))\r\n` +
        'b OK FETCH completed\r\n',
    );
    // The replies are in message 1's thread: by In-Reply-To, and by References' first entry.
    expect(await h.say('b2 FETCH 3:4 THREADID')).toBe(
      `* 3 FETCH (THREADID (${thread1}))\r\n* 4 FETCH (THREADID (${thread1}))\r\nb2 OK FETCH completed\r\n`,
    );
    expect(await h.say(`c SEARCH EMAILID ${second}`)).toBe('* SEARCH 2\r\nc OK SEARCH completed\r\n');
    expect(await h.say(`c2 SEARCH THREADID ${thread1}`)).toBe('* SEARCH 1 3 4\r\nc2 OK SEARCH completed\r\n');
    expect(await h.say(`c3 SEARCH NOT THREADID ${thread1}`)).toBe('* SEARCH 2\r\nc3 OK SEARCH completed\r\n');
    // An objectid this server never made matches nothing.
    expect(await h.say('d SEARCH EMAILID M6d99ac3275bb4e')).toBe('* SEARCH\r\nd OK SEARCH completed\r\n');
    expect(await h.say('e SEARCH THREADID T64b478a75b7ea9')).toBe('* SEARCH\r\ne OK SEARCH completed\r\n');
    expect(await h.say('f SEARCH OR EMAILID M1 NOT THREADID T1')).toBe(
      '* SEARCH 1 2 3 4\r\nf OK SEARCH completed\r\n',
    );
    // Not an objectid: BAD, and the session goes on.
    expect(await h.say('g SEARCH EMAILID "a b"')).toMatch(/^g BAD /);
    expect(await h.say('h SEARCH EMAILID')).toMatch(/^h BAD /);
    expect(await h.say('i SEARCH THREADID (x)')).toMatch(/^i BAD /);
  });

  it('keeps the EMAILID of a message through COPY and MOVE', async () => {
    const h = await loggedIn({}, MemoryMailStore.withMessages(2));
    await h.say('a SELECT INBOX');
    const id = emailIdOf(sha256(messageOf(2)));
    await h.say('b COPY 2 Archive', 'c MOVE 2 Trash');
    await h.say('d SELECT Archive');
    expect(await h.say('e FETCH 1 EMAILID')).toBe(`* 1 FETCH (EMAILID (${id}))\r\ne OK FETCH completed\r\n`);
    await h.say('f SELECT Trash');
    expect(await h.say('g UID SEARCH EMAILID ' + id)).toBe('* SEARCH 1\r\ng OK UID SEARCH completed\r\n');
  });

  it('says MAILBOXID on SELECT, EXAMINE, CREATE and STATUS; RENAME keeps it, DELETE + CREATE does not', async () => {
    const h = await loggedIn({}, MemoryMailStore.withMessages(0));
    const created = await h.say('a CREATE Projects');
    const id = /^a OK \[MAILBOXID \((F\d+)\)\] CREATE completed\r\n$/.exec(created)?.[1];
    expect(id).toBeDefined();
    expect(await h.say('b SELECT Projects')).toContain(`* OK [MAILBOXID (${id})] Ok\r\n`);
    expect(await h.say('c EXAMINE Projects')).toContain(`* OK [MAILBOXID (${id})] Ok\r\n`);
    await h.say('d UNSELECT', 'e RENAME Projects Done');
    expect(await h.say('f STATUS Done (MAILBOXID MESSAGES)')).toBe(
      `* STATUS "Done" (MAILBOXID (${id}) MESSAGES 0)\r\nf OK STATUS completed\r\n`,
    );
    await h.say('g DELETE Done');
    const again = await h.say('h CREATE Done');
    expect(again).toMatch(/^h OK \[MAILBOXID \(F\d+\)\] CREATE completed\r\n$/);
    expect(again).not.toContain(`(${id})`);
    // A mailbox that does not exist has no MAILBOXID to tell.
    expect(await h.say('i STATUS Nowhere (MAILBOXID)')).toBe('i NO [NONEXISTENT] no such mailbox\r\n');
  });
});

describe('SAVEDATE (RFC 8514)', () => {
  it('answers FETCH SAVEDATE with when the message was saved here, set anew by COPY', async () => {
    const store = MemoryMailStore.withMessages(1);
    const h = await loggedIn({}, store);
    await h.say('a SELECT INBOX');
    const fetched = await h.say('b FETCH 1 (INTERNALDATE SAVEDATE)');
    // Message 1's INTERNALDATE is the store's fixed 2025 date; it was saved today.
    const saved = /SAVEDATE "([^"]+)"/.exec(fetched)?.[1];
    expect(fetched).toContain('INTERNALDATE "01-Jun-2025 12:00:00 +0000"');
    expect(Math.abs(Date.parse(saved!.replace(/-/g, ' ')) - Date.now())).toBeLessThan(60_000);
    store.mailbox('INBOX')!.messages[0]!.savedAt.setTime(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(await h.say('c FETCH 1 SAVEDATE')).toBe(
      '* 1 FETCH (SAVEDATE "02-Jan-2026 03:04:05 +0000")\r\nc OK FETCH completed\r\n',
    );
    await h.say('d COPY 1 Archive', 'e SELECT Archive');
    expect(await h.say('f FETCH 1 SAVEDATE')).not.toContain('02-Jan-2026');
  });

  it('searches SAVEDBEFORE, SAVEDON, SAVEDSINCE and SAVEDATESUPPORTED', async () => {
    const store = MemoryMailStore.withMessages(3);
    const h = await loggedIn({}, store);
    const messages = store.mailbox('INBOX')!.messages;
    messages[0]!.savedAt.setTime(Date.UTC(2026, 0, 1, 23, 59, 59));
    messages[1]!.savedAt.setTime(Date.UTC(2026, 0, 2, 0, 0, 0));
    messages[2]!.savedAt.setTime(Date.UTC(2026, 0, 3, 12, 0, 0));
    await h.say('a SELECT INBOX');
    expect(await h.say('b SEARCH SAVEDBEFORE 2-Jan-2026')).toBe('* SEARCH 1\r\nb OK SEARCH completed\r\n');
    expect(await h.say('c SEARCH SAVEDON 2-Jan-2026')).toBe('* SEARCH 2\r\nc OK SEARCH completed\r\n');
    expect(await h.say('d SEARCH SAVEDSINCE 2-Jan-2026')).toBe('* SEARCH 2 3\r\nd OK SEARCH completed\r\n');
    // Every mailbox here keeps save dates.
    expect(await h.say('e SEARCH SAVEDATESUPPORTED')).toBe('* SEARCH 1 2 3\r\ne OK SEARCH completed\r\n');
    expect(await h.say('f SEARCH SAVEDON 31-Feb-2026')).toMatch(/^f BAD /);
  });
});
