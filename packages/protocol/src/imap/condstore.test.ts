import { beforeAll, describe, expect, it } from 'vitest';
import { formatRanges, vanishedEarlier } from './commands/condstore.js';
import { SelectedMailbox } from './selected-mailbox.js';
import type { OpenMailbox } from './session-types.js';
import { credentials, loggedIn, MemoryMailStore } from './test-account.js';

// CONDSTORE and QRESYNC (RFC 7162) in the engine, on the in-memory store; the same against
// Dovecot is test/imap-condstore-dovecot.test.ts.

beforeAll(async () => {
  await credentials();
});

describe('CONDSTORE', () => {
  it('SELECT (CONDSTORE), FETCH MODSEQ, STORE with MODSEQ, UNCHANGEDSINCE with [MODIFIED]', async () => {
    const h = await loggedIn({}, MemoryMailStore.withMessages(3));
    expect(await h.say('b SELECT INBOX (CONDSTORE)')).toContain('* OK [HIGHESTMODSEQ 4] Highest\r\n');
    expect(await h.say('c FETCH 1:* (FLAGS MODSEQ)')).toBe(
      '* 1 FETCH (FLAGS (\\Recent) MODSEQ (2))\r\n* 2 FETCH (FLAGS (\\Recent) MODSEQ (3))\r\n' +
        '* 3 FETCH (FLAGS (\\Recent) MODSEQ (4))\r\nc OK FETCH completed\r\n',
    );
    expect(await h.say('d STORE 1 +FLAGS (\\Seen)')).toBe(
      '* 1 FETCH (FLAGS (\\Seen \\Recent) MODSEQ (5))\r\nd OK STORE completed\r\n',
    );
    // 1 (MODSEQ 5) and 3 (4) changed after 3: left alone; .SILENT still tells 2's new MODSEQ.
    expect(await h.say('e STORE 1:3 (UNCHANGEDSINCE 3) +FLAGS.SILENT (\\Deleted)')).toBe(
      '* 2 FETCH (MODSEQ (6))\r\ne OK [MODIFIED 1,3] STORE conditional store failed for some\r\n',
    );
    expect(await h.say('f UID STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS (\\Flagged)')).toBe(
      'f OK [MODIFIED 1:3] UID STORE conditional store failed for some\r\n',
    );
    expect(await h.say('g UID FETCH 1:* (FLAGS) (CHANGEDSINCE 4)')).toBe(
      '* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent) MODSEQ (5))\r\n' +
        '* 2 FETCH (UID 2 FLAGS (\\Deleted \\Recent) MODSEQ (6))\r\ng OK UID FETCH completed\r\n',
    );
    expect(await h.say('h SEARCH MODSEQ 5')).toBe('* SEARCH 1 2 (MODSEQ 6)\r\nh OK SEARCH completed\r\n');
    expect(await h.say('i SEARCH RETURN (COUNT) MODSEQ 7')).toBe(
      '* ESEARCH (TAG "i") COUNT 0\r\ni OK SEARCH completed\r\n',
    );
  });

  it('a change from elsewhere reaches a CONDSTORE session with its MODSEQ; not a plain one', async () => {
    const store = MemoryMailStore.withMessages(2);
    const plain = await loggedIn({}, store, 'INBOX');
    const condstore = await loggedIn({}, store, 'INBOX');
    expect(await condstore.say('a ENABLE CONDSTORE')).toBe(
      '* ENABLED CONDSTORE\r\n* OK [HIGHESTMODSEQ 3] Highest\r\na OK ENABLE completed\r\n',
    );
    store.setFlags('INBOX', [2], 'add', ['\\Answered']);
    expect(await condstore.say('b NOOP')).toBe(
      '* 2 FETCH (UID 2 FLAGS (\\Answered) MODSEQ (4))\r\nb OK NOOP completed\r\n',
    );
    expect(await plain.say('c NOOP')).toBe(
      '* 2 FETCH (UID 2 FLAGS (\\Answered \\Recent))\r\nc OK NOOP completed\r\n',
    );
  });

  it('refuses bad modifiers with BAD and carries on', async () => {
    const h = await loggedIn({}, MemoryMailStore.withMessages(2), 'INBOX');
    expect(await h.say('a FETCH 1 (FLAGS) (CHANGEDSINCE x)')).toMatch(/^a BAD CHANGEDSINCE needs a MODSEQ/);
    expect(await h.say('b FETCH 1 (FLAGS) (CHANGEDSINCE 9223372036854775808)')).toMatch(/^b BAD/);
    expect(await h.say('c FETCH 1 (FLAGS) (VANISHED)')).toBe('c BAD VANISHED needs CHANGEDSINCE\r\n');
    expect(await h.say('d UID FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)')).toBe(
      'd BAD VANISHED needs UID FETCH and ENABLE QRESYNC\r\n',
    );
    expect(await h.say('e FETCH 1 (FLAGS) (FOO 1)')).toBe('e BAD unknown FETCH modifier\r\n');
    expect(await h.say('f STORE 1 (UNCHANGEDSINCE) +FLAGS (\\Seen)')).toBe(
      'f BAD unknown STORE modifier\r\n',
    );
    expect(await h.say('g STORE 1 (UNCHANGEDSINCE -1) +FLAGS (\\Seen)')).toMatch(/^g BAD UNCHANGEDSINCE/);
    expect(await h.say('h SELECT INBOX (QRESYNC (1 1))')).toBe('h BAD QRESYNC is not enabled\r\n');
    expect(await h.say('i SELECT INBOX (FOO)')).toBe('i BAD unknown SELECT parameter\r\n');
    expect(await h.say('j NOOP')).toBe('j OK NOOP completed\r\n');
  });
});

describe('QRESYNC', () => {
  it('tells expunges as VANISHED with the new HIGHESTMODSEQ, and resynchronises a SELECT', async () => {
    const store = MemoryMailStore.withMessages(4);
    const h = await loggedIn({}, store);
    expect(await h.say('a ENABLE QRESYNC')).toBe('* ENABLED QRESYNC\r\na OK ENABLE completed\r\n');
    await h.say('b SELECT INBOX');
    store.expungeNow('INBOX', [2, 3]);
    expect(await h.say('c NOOP')).toBe(
      '* VANISHED 2:3\r\n* OK [HIGHESTMODSEQ 6] Highest\r\nc OK NOOP completed\r\n',
    );
    store.setFlags('INBOX', [4], 'add', ['$Work']);
    store.expungeNow('INBOX', [1]);
    const answer = await h.say('d SELECT INBOX (QRESYNC (1000 6 1:4))');
    expect(answer).toMatch(/^\* OK \[CLOSED\] previous mailbox closed\r\n/);
    expect(answer).toContain(
      '* OK [HIGHESTMODSEQ 8] Highest\r\n* VANISHED (EARLIER) 1\r\n' +
        '* 1 FETCH (UID 4 FLAGS ($Work) MODSEQ (7))\r\nd OK [READ-WRITE] SELECT completed\r\n',
    );
    // The new keyword was announced in the FLAGS SELECT sent before.
    expect(answer.indexOf('$Work')).toBeLessThan(answer.indexOf('VANISHED'));
    expect(await h.say('e SELECT INBOX (QRESYNC (999 6))')).not.toContain('VANISHED');
  });
});

describe('VANISHED (EARLIER) when the expunge history is gone', () => {
  const view = (uids: number[], uidNext: number) =>
    new SelectedMailbox({ readOnly: true } as OpenMailbox, {
      uidValidity: 1,
      uidNext,
      highestModseq: 10n,
      messages: uids.map((uid) => ({ uid, flags: [], modseq: 1n })),
      recent: { from: 0, to: 0 },
    });

  it('is the history when it is complete, without UIDs the view still holds', () => {
    const selected = view([2, 5, 9], 10);
    const history = { changed: [], vanished: [1, 3, 4, 5, 12], complete: true };
    expect(formatRanges(vanishedEarlier(selected, history, [{ from: 1, to: 100 }]))).toBe('1,3:4,12');
    expect(formatRanges(vanishedEarlier(selected, history, [{ from: 4, to: 4 }]))).toBe('4');
  });

  it('is every UID of the asked ranges below UIDNEXT that is not there, as ranges, when it is not', () => {
    const selected = view([2, 5, 9], 12);
    const history = { changed: [], vanished: [], complete: false };
    expect(formatRanges(vanishedEarlier(selected, history, [{ from: 1, to: 4_294_967_295 }]))).toBe(
      '1,3:4,6:8,10:11',
    );
    expect(
      formatRanges(
        vanishedEarlier(selected, history, [
          { from: 2, to: 3 },
          { from: 5, to: 7 },
        ]),
      ),
    ).toBe('3,6:7');
  });
});
