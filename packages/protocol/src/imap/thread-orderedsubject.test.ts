import { describe, expect, it } from 'vitest';
import { sortableMessage } from './test-sortable-message.js';
import { threadByOrderedSubject } from './thread-orderedsubject.js';
import { formatThreadResponse } from './thread-tree.js';

const mail = (seq: number, subject: string | undefined, date?: string, internal?: string) =>
  sortableMessage(
    seq,
    [...(subject === undefined ? [] : [`Subject: ${subject}`]), ...(date ? [`Date: ${date}`] : [])],
    internal,
  );

const thread = (messages: Parameters<typeof threadByOrderedSubject>[0]) =>
  formatThreadResponse(threadByOrderedSubject(messages), (m) => m.seq).replace(/^\* THREAD ?|\r\n$/g, '');

describe('THREAD=ORDEREDSUBJECT (RFC 5256 §4)', () => {
  it('groups by base subject: the first by sent date is the parent, the rest its children', () => {
    expect(
      thread([
        mail(1, 'Re: plan', '3 Jun 2026 10:00:00 +0000'),
        mail(2, 'lunch', '2 Jun 2026 10:00:00 +0000'),
        mail(3, 'plan', '1 Jun 2026 10:00:00 +0000'),
        mail(4, '[x] Plan', '4 Jun 2026 10:00:00 +0000'),
        mail(5, 'Fwd: lunch', '5 Jun 2026 10:00:00 +0000'),
      ]),
    ).toBe('(3 (1)(4))(2 5)');
  });

  it("orders the threads by their first messages' sent dates, the internal date without Date", () => {
    expect(
      thread([
        mail(1, 'b', '3 Jun 2026 10:00:00 +0000'),
        mail(2, 'a', undefined, '2026-06-02T10:00:00Z'),
        mail(3, 'c', '3 Jun 2026 11:00:00 +0200'),
      ]),
    ).toBe('(2)(3)(1)');
  });

  it('breaks ties by sequence number and puts subjectless messages in one thread', () => {
    expect(thread([mail(1, 'x'), mail(2, undefined), mail(3, 'Re:'), mail(4, 'x')])).toBe('(1 4)(2 3)');
  });
});
