import { describe, expect, it } from 'vitest';
import { sortableMessage } from './test-sortable-message.js';
import { messageIdsIn, type ThreadableMessage, threadByReferences } from './thread-references.js';
import { formatThreadResponse } from './thread-tree.js';

/** Message n: Message-ID <n@x>, sent on day `day` of June (default n), with these fields. */
function mail(n: number, fields: readonly string[] = [], day = n): ThreadableMessage {
  const lines = [`Message-ID: <${n}@x>`, `Date: ${day} Jun 2026 10:00:00 +0000`, ...fields];
  if (!fields.some((f) => f.startsWith('Subject:'))) lines.push(`Subject: subject ${n}`);
  return sortableMessage(n, lines);
}

const thread = (messages: readonly ThreadableMessage[]) =>
  formatThreadResponse(threadByReferences(messages), (m) => m.seq).replace(/^\* THREAD ?|\r\n$/g, '');

describe('msg-ids in References, In-Reply-To and Message-ID', () => {
  it('takes every <left@right>, whitespace inside removed, and nothing else', () => {
    expect(messageIdsIn('<a@b> (comment) <c @ d>\r\n <e@f>')).toEqual(['<a@b>', '<c@d>', '<e@f>']);
    expect(messageIdsIn('<no-at> <@x> <x@> junk a@b')).toEqual([]);
    expect(messageIdsIn(null)).toEqual([]);
  });
});

describe('THREAD=REFERENCES (RFC 5256 §4)', () => {
  it('links a reply chain and a reply with several answers', () => {
    expect(
      thread([
        mail(1),
        mail(2, ['References: <1@x>']),
        mail(3, ['References: <1@x> <2@x>']),
        mail(4, ['References: <1@x> <2@x>']),
      ]),
    ).toBe('(1 2 (3)(4))');
  });

  it('uses the first msg-id of In-Reply-To when there is no References', () => {
    expect(thread([mail(1), mail(2, ['In-Reply-To: <1@x> <9@x>']), mail(3, ['In-Reply-To: junk'])])).toBe(
      '(1 2)(3)',
    );
  });

  it('(A.2) links the references among themselves, keeping links already made', () => {
    // 3 says 1 → 2 → 3, though 2 was never received: 2 is a dummy between them.
    expect(thread([mail(1), mail(3, ['References: <1@x> <2@x>'])])).toBe('(1 3)');
    // A later References naming another parent for <1@x> does not move it.
    expect(
      thread([mail(1, ['References: <0@x>']), mail(2, ['References: <7@x> <1@x>']), mail(3, ['Subject: x'])]),
    ).toBe('(1 2)(3)');
  });

  it('(A.3) the last reference is the parent, replacing one set by others', () => {
    // 2's References put 3 under 1; 3's own References put it under 5.
    expect(
      thread([mail(1), mail(2, ['References: <1@x> <3@x>']), mail(3, ['References: <5@x>']), mail(5)]),
    ).toBe('(1)(5 3 2)');
    // A link that would close a loop is not made: the message stays a root.
    expect(thread([mail(1), mail(2, ['References: <1@x> <3@x>']), mail(3, ['References: <2@x>'])])).toBe(
      '(1)(3 2)',
    );
  });

  it('(A) refuses links that would close a loop', () => {
    expect(thread([mail(1, ['References: <2@x>']), mail(2, ['References: <1@x>'])])).toBe('(2 1)');
    expect(thread([mail(1, ['References: <1@x>'])])).toBe('(1)');
  });

  it('(A.1) treats a second message with an earlier Message-ID as having none', () => {
    const dup = sortableMessage(2, [
      'Message-ID: <1@x>',
      'Date: 2 Jun 2026 10:00:00 +0000',
      'Subject: other',
    ]);
    expect(thread([mail(1), dup, mail(3, ['References: <1@x>'])])).toBe('(1 3)(2)');
  });

  it('(C) a broken chain: the missing message is pruned and its replies move up', () => {
    // 2 is missing: 3 and 4 reply to it, 2 replied to 1.
    expect(
      thread([mail(1), mail(3, ['References: <1@x> <2@x>']), mail(4, ['References: <1@x> <2@x>'])]),
    ).toBe('(1 (3)(4))');
  });

  it('(C) replies to one missing root stay together under a dummy; a single one stands alone', () => {
    expect(thread([mail(2, ['References: <1@x>']), mail(3, ['References: <1@x>'])])).toBe('((2)(3))');
    expect(thread([mail(2, ['References: <1@x>'])])).toBe('(2)');
  });

  it('(D, F) orders every level by sent date, a dummy by its first child', () => {
    expect(
      thread([
        mail(1, [], 10),
        mail(2, ['References: <0@x>'], 5),
        mail(3, ['References: <0@x>'], 3),
        mail(4, ['References: <1@x>'], 12),
        mail(5, ['References: <1@x>'], 11),
      ]),
    ).toBe('((3)(2))(1 (5)(4))');
  });

  it('(E) joins threads by base subject: a reply under the original', () => {
    expect(
      thread([
        mail(1, ['Subject: Re: lunch'], 2),
        mail(2, ['Subject: lunch'], 3),
        mail(3, ['Subject: [team] RE: Lunch'], 4),
      ]),
    ).toBe('(2 (1)(3))');
  });

  it('(E) two originals (or two replies) with one subject become siblings under a dummy', () => {
    expect(thread([mail(1, ['Subject: plan']), mail(2, ['Subject: plan'])])).toBe('((1)(2))');
    expect(thread([mail(1, ['Subject: Re: plan']), mail(2, ['Subject: Fwd: plan'])])).toBe('((1)(2))');
  });

  it('(E) a thread under a dummy takes in the other roots of its subject', () => {
    expect(
      thread([
        mail(2, ['Subject: Re: plan', 'References: <1@x>']),
        mail(3, ['Subject: Re: plan', 'References: <1@x>']),
        mail(4, ['Subject: plan']),
      ]),
    ).toBe('((2)(3)(4))');
  });

  it('(E) does not join messages without a subject', () => {
    expect(thread([mail(1, ['Subject: Re:']), mail(2, ['Subject: '])])).toBe('(1)(2)');
  });

  it('threads the RFC example shape: (3 6 (4 23)(44 7 96))', () => {
    const messages = [
      mail(3, ['Subject: a'], 1),
      mail(6, ['Subject: Re: a', 'References: <3@x>'], 2),
      mail(4, ['Subject: Re: a', 'References: <3@x> <6@x>'], 3),
      mail(23, ['Subject: Re: a', 'References: <3@x> <6@x> <4@x>'], 4),
      mail(44, ['Subject: Re: a', 'References: <3@x> <6@x>'], 5),
      mail(7, ['Subject: Re: a', 'References: <3@x> <6@x> <44@x>'], 6),
      mail(96, ['Subject: Re: a', 'References: <3@x> <6@x> <44@x> <7@x>'], 7),
    ].sort((a, b) => a.seq - b.seq);
    expect(thread(messages)).toBe('(3 6 (4 23)(44 7 96))');
  });

  it('answers "* THREAD" alone when nothing matched', () => {
    expect(formatThreadResponse(threadByReferences([]), () => 0)).toBe('* THREAD\r\n');
  });

  // How fast: bench/imap/sort-thread.ts (timings are measured there, never asserted in tests).
  it('threads 10,000 messages in one chain 10,000 deep', () => {
    const messages: ThreadableMessage[] = [];
    for (let n = 1; n <= 10_000; n++) {
      const fields = n > 1 ? [`In-Reply-To: <${n - 1}@x>`, `Subject: Re: long`] : ['Subject: long'];
      messages.push(mail(n, fields, 1));
    }
    const out = formatThreadResponse(threadByReferences(messages), (m) => m.seq);
    expect(out.startsWith('* THREAD (1 2 3 ')).toBe(true);
    expect(out.endsWith(' 9999 10000)\r\n')).toBe(true);
  });
});
