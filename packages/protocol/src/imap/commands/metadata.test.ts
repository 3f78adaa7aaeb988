import { describe, expect, it } from 'vitest';
import { loggedIn, MemoryMailStore, startImap } from '../test-account.js';

// METADATA (RFC 5464) through the engine, over the in-memory store: the examples of §4.2
// and §4.3 as this server answers them. maxCommandSize is 1000 here.

function store(): MemoryMailStore {
  return new MemoryMailStore(['INBOX', 'Work', 'Work/Old', ['Sent', '\\Sent']]);
}

describe('METADATA (RFC 5464)', () => {
  it('advertises METADATA and METADATA-SERVER after login only', async () => {
    expect(await startImap().say('a CAPABILITY')).not.toMatch(/METADATA/);
    expect(await startImap().say('a GETMETADATA "" /shared/comment')).toBe('a BAD log in first\r\n');
    const h = await loggedIn();
    expect(await h.say('b CAPABILITY')).toMatch(/ METADATA METADATA-SERVER /);
  });

  it('sets, reads and removes a mailbox entry, any case, NIL for one without a value', async () => {
    const h = await loggedIn({}, store());
    expect(await h.say('a SETMETADATA INBOX (/private/comment "My own comment")')).toBe(
      'a OK SETMETADATA completed\r\n',
    );
    expect(await h.say('b GETMETADATA INBOX (/PRIVATE/Comment /shared/comment)')).toBe(
      '* METADATA "INBOX" (/private/comment "My own comment" /shared/comment NIL)\r\n' +
        'b OK GETMETADATA completed\r\n',
    );
    expect(await h.say('c SETMETADATA inbox (/Private/COMMENT NIL)')).toBe('c OK SETMETADATA completed\r\n');
    expect(await h.say('d GETMETADATA INBOX /private/comment')).toBe(
      '* METADATA "INBOX" (/private/comment NIL)\r\nd OK GETMETADATA completed\r\n',
    );
  });

  it('answers values as quoted strings, literals, or literal8 when they hold NUL', async () => {
    const h = await loggedIn({}, store());
    const binary = 'a\u0000\u00ffb';
    expect(
      await h.feed(
        'a SETMETADATA Work (/shared/comment {10+}\r\ntwo\r\nlines /private/vendor/x/bin ~{4+}\r\n',
        `${binary} /private/vendor/x/empty "")\r\n`,
      ),
    ).toBe('a OK SETMETADATA completed\r\n');
    expect(await h.say('b GETMETADATA (DEPTH infinity) Work (/shared /private)')).toBe(
      `* METADATA "Work" (/shared/comment {10}\r\ntwo\r\nlines /private/vendor/x/bin ~{4}\r\n${binary} /private/vendor/x/empty "")\r\n` +
        'b OK GETMETADATA completed\r\n',
    );
    expect(await h.store.account('x').getMetadata('Work', ['/private/vendor/x/bin'], '0')).toEqual([
      { entry: '/private/vendor/x/bin', value: Buffer.from(binary, 'latin1') },
    ]);
  });

  it('looks below an entry with DEPTH 1 and infinity, each entry once (§4.2.2)', async () => {
    const h = await loggedIn({}, store());
    await h.say(
      'a SETMETADATA INBOX (/private/vendor/x/a "1" /private/vendor/x/a/b "2" /private/vendor/x/a/b/c "3")',
    );
    expect(await h.say('b GETMETADATA (DEPTH 1) INBOX /private/vendor/x/a')).toBe(
      '* METADATA "INBOX" (/private/vendor/x/a "1" /private/vendor/x/a/b "2")\r\nb OK GETMETADATA completed\r\n',
    );
    expect(await h.say('c GETMETADATA (DEPTH infinity) INBOX (/private/vendor/x/a/b /private)')).toBe(
      '* METADATA "INBOX" (/private/vendor/x/a/b "2" /private/vendor/x/a/b/c "3" /private/vendor/x/a "1")\r\n' +
        'c OK GETMETADATA completed\r\n',
    );
    // Below an entry, only what exists: no NIL for the entry itself.
    expect(await h.say('d GETMETADATA (DEPTH 1) INBOX /shared')).toBe('d OK GETMETADATA completed\r\n');
    expect(await h.say('e GETMETADATA (DEPTH 0) INBOX /private/vendor/x')).toBe(
      '* METADATA "INBOX" (/private/vendor/x NIL)\r\ne OK GETMETADATA completed\r\n',
    );
  });

  it('leaves out values over MAXSIZE and says the largest (§4.2.1)', async () => {
    const h = await loggedIn({}, store());
    await h.say(
      'a SETMETADATA INBOX (/private/comment "12345678" /shared/comment "123456789012" /private/x "1")',
    );
    expect(await h.say('b GETMETADATA (MAXSIZE 3) INBOX (/private/comment /shared/comment /private/x)')).toBe(
      '* METADATA "INBOX" (/private/x "1")\r\nb OK [METADATA LONGENTRIES 12] GETMETADATA completed\r\n',
    );
    expect(await h.say('c GETMETADATA (MAXSIZE 3 DEPTH 1) INBOX /shared')).toBe(
      'c OK [METADATA LONGENTRIES 12] GETMETADATA completed\r\n',
    );
    expect(await h.say('d GETMETADATA (MAXSIZE 8) INBOX /private/comment')).toBe(
      '* METADATA "INBOX" (/private/comment "12345678")\r\nd OK GETMETADATA completed\r\n',
    );
  });

  it('gives the server entries the RFC names: /shared/admin the postmaster, read-only', async () => {
    const h = await loggedIn({}, store());
    expect(await h.say('a GETMETADATA "" (/shared/admin /shared/comment)')).toBe(
      '* METADATA "" (/shared/admin "mailto:postmaster@example.org" /shared/comment NIL)\r\n' +
        'a OK GETMETADATA completed\r\n',
    );
    expect(await h.say('b SETMETADATA "" (/shared/admin "mailto:me@example.org")')).toBe(
      "b NO [NOPERM] the server's /shared/admin is set by the operator\r\n",
    );
    expect(await h.say('c SETMETADATA "" (/private/comment "mine" /shared/vendor/x/y "z")')).toBe(
      'c OK SETMETADATA completed\r\n',
    );
    expect(await h.say('d GETMETADATA (DEPTH infinity) "" /shared')).toBe(
      '* METADATA "" (/shared/admin "mailto:postmaster@example.org" /shared/vendor/x/y "z")\r\n' +
        'd OK GETMETADATA completed\r\n',
    );
    const configured = await loggedIn({
      metadata: { admin: 'https://help.example.org/', comment: 'Be nice' },
    });
    expect(await configured.say('e GETMETADATA "" (/shared/admin /shared/comment)')).toBe(
      '* METADATA "" (/shared/admin "https://help.example.org/" /shared/comment "Be nice")\r\n' +
        'e OK GETMETADATA completed\r\n',
    );
  });

  it('refuses a value over the limit and entries past the count, changing nothing', async () => {
    const h = await loggedIn({ metadata: { maxValueSize: 5, maxEntries: 3 } }, store());
    expect(await h.say('a SETMETADATA INBOX (/private/a "1" /private/b "123456")')).toBe(
      'a NO [METADATA MAXSIZE 5] the value of /private/b is too large\r\n',
    );
    expect(await h.say('b SETMETADATA INBOX (/private/a "1" /private/b "2")')).toBe(
      'b OK SETMETADATA completed\r\n',
    );
    expect(await h.say('c SETMETADATA Work (/private/c "3" /private/d "4")')).toBe(
      'c NO [METADATA TOOMANY] an account holds at most 3 entries\r\n',
    );
    expect(await h.say('d GETMETADATA Work (/private/c /private/d)')).toBe(
      '* METADATA "Work" (/private/c NIL /private/d NIL)\r\nd OK GETMETADATA completed\r\n',
    );
    // Replacing and removing work at the limit; one in, one out does too.
    expect(await h.say('e SETMETADATA "" (/private/c "3")')).toBe('e OK SETMETADATA completed\r\n');
    expect(await h.say('f SETMETADATA INBOX (/private/a "new" /private/b NIL /private/e "5")')).toBe(
      'f OK SETMETADATA completed\r\n',
    );
  });

  it('answers a missing mailbox NO [NONEXISTENT] and bad arguments BAD', async () => {
    const h = await loggedIn({}, store());
    expect(await h.say('a GETMETADATA Nowhere /private/comment')).toBe(
      'a NO [NONEXISTENT] no such mailbox\r\n',
    );
    expect(await h.say('b SETMETADATA Nowhere (/private/comment "x")')).toBe(
      'b NO [NONEXISTENT] no such mailbox\r\n',
    );
    expect(await h.say('c GETMETADATA INBOX /private/*')).toBe(
      "c BAD invalid entry name: entry names contain no '*' or '%'\r\n",
    );
    expect(await h.say('d SETMETADATA INBOX (/private/comment value)')).toBe(
      'd BAD a metadata value is a string, a literal or NIL\r\n',
    );
    expect(await h.say('e GETMETADATA (DEPTH 2) INBOX /private')).toBe('e BAD DEPTH is 0, 1 or infinity\r\n');
  });

  it('moves entries with RENAME and ends them with DELETE, \\Noselect included', async () => {
    const h = await loggedIn({}, store());
    await h.say(
      'a SETMETADATA Work (/private/comment "work")',
      'b SETMETADATA Work/Old (/shared/comment "old")',
    );
    expect(await h.say('c RENAME Work Job')).toBe('c OK RENAME completed\r\n');
    expect(await h.say('d GETMETADATA Job/Old /shared/comment')).toBe(
      '* METADATA "Job/Old" (/shared/comment "old")\r\nd OK GETMETADATA completed\r\n',
    );
    expect(await h.say('e CREATE Work', 'f GETMETADATA Work /private/comment')).toMatch(
      /\* METADATA "Work" \(\/private\/comment NIL\)\r\nf OK /,
    );
    // Job has a child: DELETE keeps its name as \Noselect, and its entries end.
    expect(await h.say('g DELETE Job')).toMatch(/^g OK /);
    expect(await h.say('h GETMETADATA Job /private/comment')).toBe('h NO [NONEXISTENT] no such mailbox\r\n');
    expect(await h.say('i CREATE Job', 'j GETMETADATA Job /private/comment')).toMatch(
      /\* METADATA "Job" \(\/private\/comment NIL\)\r\nj OK /,
    );
    expect(
      await h.say('k DELETE Job/Old', 'l CREATE Job/Old', 'm GETMETADATA Job/Old /shared/comment'),
    ).toMatch(/\* METADATA "Job\/Old" \(\/shared\/comment NIL\)\r\nm OK /);
  });
});
