import { describe, expect, it } from 'vitest';
import { loggedIn, MemoryMailStore } from '../test-account.js';

/** INBOX with five messages: two threads and a stray, subjects and dates out of order. */
function store(): MemoryMailStore {
  const s = new MemoryMailStore(['INBOX']);
  const messages: [string, string][] = [
    [
      '<a@x>',
      'Subject: Re: plan\r\nFrom: Zoe <zoe@x>\r\nReferences: <c@x>\r\nDate: 3 Jun 2026 10:00:00 +0000',
    ],
    ['<b@x>', 'Subject: lunch\r\nFrom: amy@x\r\nDate: 1 Jun 2026 10:00:00 +0000'],
    ['<c@x>', 'Subject: plan\r\nFrom: "Bob" <bob@x>\r\nDate: 2 Jun 2026 10:00:00 +0000'],
    ['<d@x>', 'Subject: Re: lunch\r\nFrom: =?utf-8?q?=C3=89mile?= <e@x>\r\nIn-Reply-To: <b@x>'],
    ['<e@x>', 'Subject: [x] plan\r\nFrom: carl@x\r\nDate: 4 Jun 2026 10:00:00 +0000'],
  ];
  messages.forEach(([id, header], i) => {
    s.deliver('INBOX', Buffer.from(`Message-ID: ${id}\r\n${header}\r\n\r\n${'x'.repeat(10 * (5 - i))}\r\n`), {
      internalDate: new Date(Date.UTC(2026, 5, 10 - i)),
    });
  });
  return s;
}

describe('SORT (RFC 5256, RFC 5957) and ESORT (RFC 5267)', () => {
  it('sorts by each key, REVERSE and several keys; UID SORT answers UIDs', async () => {
    const h = await loggedIn({}, store(), 'INBOX');
    expect(await h.say('a SORT (SUBJECT) UTF-8 ALL')).toBe('* SORT 2 4 1 3 5\r\na OK SORT completed\r\n');
    expect(await h.say('b SORT (REVERSE ARRIVAL) US-ASCII ALL')).toBe(
      '* SORT 1 2 3 4 5\r\nb OK SORT completed\r\n',
    );
    expect(await h.say('c SORT (SIZE) UTF-8 ALL')).toBe('* SORT 5 4 3 2 1\r\nc OK SORT completed\r\n');
    // Message 4 has no Date: its internal date (7 Jun) is its sent date.
    expect(await h.say('d SORT (DATE) UTF-8 ALL')).toBe('* SORT 2 3 1 5 4\r\nd OK SORT completed\r\n');
    expect(await h.say('e SORT (FROM) UTF-8 ALL')).toBe('* SORT 2 3 5 4 1\r\ne OK SORT completed\r\n');
    expect(await h.say('f SORT (DISPLAYFROM) UTF-8 ALL')).toBe('* SORT 2 3 5 1 4\r\nf OK SORT completed\r\n');
    expect(await h.say('g SORT (SUBJECT REVERSE DATE) UTF-8 ALL')).toBe(
      '* SORT 4 2 5 1 3\r\ng OK SORT completed\r\n',
    );
    expect(await h.say('h UID SORT (SUBJECT) UTF-8 SUBJECT plan')).toBe(
      '* SORT 1 3 5\r\nh OK UID SORT completed\r\n',
    );
    expect(await h.say('i SORT (SUBJECT) UTF-8 SUBJECT nothing')).toBe('* SORT\r\ni OK SORT completed\r\n');
  });

  it('answers SORT RETURN with ESEARCH in sort order and saves the result for $', async () => {
    const h = await loggedIn({}, store(), 'INBOX');
    expect(await h.say('a SORT RETURN (MIN MAX ALL COUNT) (SUBJECT) UTF-8 ALL')).toBe(
      '* ESEARCH (TAG "a") MIN 2 MAX 5 ALL 2,4,1,3,5 COUNT 5\r\na OK SORT completed\r\n',
    );
    expect(await h.say('b UID SORT RETURN () (ARRIVAL) UTF-8 ALL')).toBe(
      '* ESEARCH (TAG "b") UID ALL 5,4,3,2,1\r\nb OK UID SORT completed\r\n',
    );
    expect(await h.say('c SORT RETURN (SAVE) (SIZE) UTF-8 SUBJECT lunch')).toBe('c OK SORT completed\r\n');
    expect(await h.say('d SORT (ARRIVAL) UTF-8 $')).toBe('* SORT 4 2\r\nd OK SORT completed\r\n');
  });

  it('takes any charset SEARCH takes and refuses others with [BADCHARSET]', async () => {
    const h = await loggedIn({}, store(), 'INBOX');
    expect(await h.say('a SORT (SUBJECT) ISO-8859-1 FROM "\xc9mile"')).toBe(
      '* SORT 4\r\na OK SORT completed\r\n',
    );
    expect(await h.say('b SORT (SUBJECT) KLINGON ALL')).toMatch(/^b NO \[BADCHARSET \(UTF-8 [^)]*\)\] /);
    expect(await h.say('c THREAD REFERENCES KLINGON ALL')).toMatch(/^c NO \[BADCHARSET/);
  });

  it('refuses bad arguments with BAD', async () => {
    const h = await loggedIn({}, store(), 'INBOX');
    for (const command of [
      'SORT',
      'SORT () UTF-8 ALL',
      'SORT (SUBJECT) UTF-8',
      'SORT (REVERSE) UTF-8 ALL',
      'SORT (COLOR) UTF-8 ALL',
      'SORT SUBJECT UTF-8 ALL',
      'SORT RETURN (PARTIAL 1:5) (SUBJECT) UTF-8 ALL',
      'SORT (SUBJECT) UTF-8 NOSUCHKEY',
      'THREAD',
      'THREAD REFS UTF-8 ALL',
      'THREAD REFERENCES UTF-8',
      'THREAD (REFERENCES) UTF-8 ALL',
    ]) {
      expect(await h.say(`x ${command}`), command).toMatch(/^x BAD /);
    }
  });

  it('is only valid in the selected state', async () => {
    const h = await loggedIn({}, store());
    expect(await h.say('a SORT (SUBJECT) UTF-8 ALL')).toMatch(/^a BAD /);
    expect(await h.say('b THREAD REFERENCES UTF-8 ALL')).toMatch(/^b BAD /);
  });
});

describe('THREAD (RFC 5256 §4)', () => {
  it('threads by ORDEREDSUBJECT and REFERENCES, by sequence number or UID', async () => {
    const h = await loggedIn({}, store(), 'INBOX');
    expect(await h.say('a THREAD ORDEREDSUBJECT UTF-8 ALL')).toBe(
      '* THREAD (2 4)(3 (1)(5))\r\na OK THREAD completed\r\n',
    );
    // 4 answers 2 by In-Reply-To, 1 answers 3 by References; 5 ("[x] plan") and 3 are
    // both originals of one base subject: siblings under a dummy (step E).
    expect(await h.say('b THREAD REFERENCES UTF-8 ALL')).toBe(
      '* THREAD (2 4)((3 1)(5))\r\nb OK THREAD completed\r\n',
    );
    expect(await h.say('c UID THREAD REFERENCES UTF-8 NOT SUBJECT lunch')).toBe(
      '* THREAD ((3 1)(5))\r\nc OK UID THREAD completed\r\n',
    );
    expect(await h.say('d THREAD REFERENCES UTF-8 SUBJECT nothing')).toBe(
      '* THREAD\r\nd OK THREAD completed\r\n',
    );
  });
});

describe('SORT and THREAD of a large mailbox', () => {
  // How fast: bench/imap/sort-thread.ts (timings are measured there, never asserted in tests).
  it('sorts and threads 10,000 messages, each one once', async () => {
    const s = new MemoryMailStore(['INBOX']);
    for (let n = 1; n <= 10_000; n++) {
      const parent = n % 5 === 0 ? `References: <${n - 1}@x>\r\n` : '';
      s.deliver(
        'INBOX',
        Buffer.from(
          `Message-ID: <${n}@x>\r\n${parent}Subject: ${n % 5 === 0 ? 'Re: ' : ''}topic ${(n * 7919) % 1_000}\r\n` +
            `From: "P ${n % 97}" <p${n}@x>\r\nDate: 1 Jun 2026 ${String(n % 24).padStart(2, '0')}:00:00 +0000\r\n\r\nbody\r\n`,
        ),
      );
    }
    const h = await loggedIn({}, s, 'INBOX');
    for (const command of [
      'SORT (SUBJECT DATE) UTF-8 ALL',
      'SORT (REVERSE DISPLAYFROM) UTF-8 ALL',
      'THREAD REFERENCES UTF-8 ALL',
      'THREAD ORDEREDSUBJECT UTF-8 ALL',
    ]) {
      const answer = await h.say(`a ${command}`);
      expect(answer, command).toMatch(/^\* (SORT|THREAD) .*\r\na OK /s);
      // Every message once: the numbers of the answer, whatever its parentheses.
      const numbers = answer.split('\r\n')[0]!.match(/\d+/g)!.map(Number);
      expect(new Set(numbers).size, command).toBe(10_000);
      expect(numbers.length, command).toBe(10_000);
    }
  }, 60_000);
});
