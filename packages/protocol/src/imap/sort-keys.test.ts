import { describe, expect, it } from 'vitest';
import type { ImapToken } from './command-tokens.js';
import { compareCodePoints, parseSortCriteria, type SortCriterion, sortMessages } from './sort-keys.js';
import { sortableMessage } from './test-sortable-message.js';

const atom = (value: string): ImapToken => ({ type: 'atom', value });
const list = (...values: string[]): ImapToken => ({ type: 'list', items: values.map(atom) });
const by = (...names: string[]): SortCriterion[] => {
  const parsed = parseSortCriteria(list(...names));
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
};
const seqs = (messages: readonly { seq: number }[]) => messages.map((m) => m.seq);

describe('sort criteria', () => {
  it('reads keys with REVERSE before any of them, in any case', () => {
    expect(parseSortCriteria(list('reverse', 'Date', 'SUBJECT'))).toEqual([
      { key: 'DATE', reverse: true },
      { key: 'SUBJECT', reverse: false },
    ]);
    expect(parseSortCriteria(list('DISPLAYFROM', 'REVERSE', 'DISPLAYTO'))).toEqual([
      { key: 'DISPLAYFROM', reverse: false },
      { key: 'DISPLAYTO', reverse: true },
    ]);
  });

  it('refuses an empty list, unknown keys, REVERSE without a key and a bare atom', () => {
    expect(parseSortCriteria(list())).toBe('sort criteria expected');
    expect(parseSortCriteria(list('COLOR'))).toBe('unknown sort key COLOR');
    expect(parseSortCriteria(list('DATE', 'REVERSE'))).toBe('REVERSE needs a sort key');
    expect(parseSortCriteria(list('REVERSE', 'REVERSE', 'DATE'))).toBe('REVERSE REVERSE');
    expect(parseSortCriteria(atom('DATE'))).toBe('sort criteria expected');
    expect(parseSortCriteria(undefined)).toBe('sort criteria expected');
  });
});

describe('RFC 5256 §3 sort keys', () => {
  it('ARRIVAL: internal date, ties by sequence number', () => {
    const messages = [
      sortableMessage(1, ['Subject: a'], '2026-01-03T00:00:00Z'),
      sortableMessage(2, ['Subject: b'], '2026-01-01T00:00:00Z'),
      sortableMessage(3, ['Subject: c'], '2026-01-03T00:00:00Z'),
    ];
    expect(seqs(sortMessages(messages, by('ARRIVAL')))).toEqual([2, 1, 3]);
    // REVERSE turns the key around, not the tie-break (§3: ties stay in mailbox order).
    expect(seqs(sortMessages(messages, by('REVERSE', 'ARRIVAL')))).toEqual([1, 3, 2]);
  });

  it('DATE: the instant with its zone; the internal date when Date is missing or unreadable', () => {
    const messages = [
      sortableMessage(1, ['Date: Mon, 1 Jun 2026 10:00:00 +0200'], '2026-06-05T00:00:00Z'), // 08:00Z
      sortableMessage(2, ['Date: Mon, 1 Jun 2026 09:00:00 +0000'], '2026-06-05T00:00:00Z'), // 09:00Z
      sortableMessage(3, ['Subject: no date'], '2026-06-01T08:30:00Z'),
      sortableMessage(4, ['Date: sometime soon'], '2026-06-01T07:00:00Z'),
      sortableMessage(5, ['Date: Mon, 1 Jun 2026 01:00:00 -0700'], '2026-01-01T00:00:00Z'), // 08:00Z
    ];
    expect(seqs(sortMessages(messages, by('DATE')))).toEqual([4, 1, 5, 3, 2]);
  });

  it('SIZE: RFC822.SIZE', () => {
    const messages = [
      sortableMessage(1, ['Subject: x'], undefined, 'a'.repeat(30)),
      sortableMessage(2, ['Subject: x'], undefined, 'a'.repeat(10)),
      sortableMessage(3, ['Subject: x'], undefined, 'a'.repeat(20)),
    ];
    expect(seqs(sortMessages(messages, by('SIZE')))).toEqual([2, 3, 1]);
    expect(seqs(sortMessages(messages, by('REVERSE', 'SIZE')))).toEqual([1, 3, 2]);
  });

  it('SUBJECT: the base subject, i;ascii-casemap', () => {
    const messages = [
      sortableMessage(1, ['Subject: Re: cherry']),
      sortableMessage(2, ['Subject: [list] Banana']),
      sortableMessage(3, ['Subject: apple (fwd)']),
      sortableMessage(4, []),
      sortableMessage(5, ['Subject: =?utf-8?q?Fwd=3A_APPLE?=']),
    ];
    expect(seqs(sortMessages(messages, by('SUBJECT')))).toEqual([4, 3, 5, 2, 1]);
  });

  it("FROM, TO, CC: the first address's mailbox (not its display name); none sorts first", () => {
    const messages = [
      sortableMessage(1, ['From: Zed <alpha@z.org>', 'To: c@x, a@x', 'Cc: Bo <b@x>']),
      sortableMessage(2, ['From: Abe <zulu@a.org>', 'To: B@x']),
      sortableMessage(3, ['To: a@x', 'Cc: a@x']),
    ];
    expect(seqs(sortMessages(messages, by('FROM')))).toEqual([3, 1, 2]);
    expect(seqs(sortMessages(messages, by('TO')))).toEqual([3, 2, 1]);
    expect(seqs(sortMessages(messages, by('CC')))).toEqual([2, 3, 1]);
  });

  it('DISPLAYFROM, DISPLAYTO (RFC 5957): the decoded display name, else the address', () => {
    const messages = [
      sortableMessage(1, ['From: "Zed" <alpha@z.org>', 'To: =?utf-8?q?Bj=C3=B6rn?= <z@x>']),
      sortableMessage(2, ['From: beta@a.org', 'To: "" <c@x>']),
      sortableMessage(3, ['From: =?iso-8859-1?q?=C4lice?= <q@q>', 'To: Anna <y@x>']),
      sortableMessage(4, ['Subject: nobody']),
    ];
    // "", "beta@a.org", "ZED", "Älice" (after Z in code point order).
    expect(seqs(sortMessages(messages, by('DISPLAYFROM')))).toEqual([4, 2, 1, 3]);
    // "", "ANNA", "BJÖRN", "c@x".
    expect(seqs(sortMessages(messages, by('DISPLAYTO')))).toEqual([4, 3, 1, 2]);
  });

  it('several keys: each breaks the ties of the one before, REVERSE on its own key only', () => {
    const messages = [
      sortableMessage(1, ['Subject: b', 'Date: Mon, 1 Jun 2026 10:00:00 +0000']),
      sortableMessage(2, ['Subject: a', 'Date: Mon, 1 Jun 2026 10:00:00 +0000']),
      sortableMessage(3, ['Subject: b', 'Date: Mon, 1 Jun 2026 11:00:00 +0000']),
      sortableMessage(4, ['Subject: Re: a', 'Date: Mon, 1 Jun 2026 12:00:00 +0000']),
    ];
    expect(seqs(sortMessages(messages, by('SUBJECT', 'REVERSE', 'DATE')))).toEqual([4, 2, 3, 1]);
    expect(seqs(sortMessages(messages, by('REVERSE', 'SUBJECT', 'DATE')))).toEqual([1, 3, 2, 4]);
  });

  it('compares code points, as UTF-8 octets order them', () => {
    expect(compareCodePoints('\u{1F600}', '\uFFFD')).toBeGreaterThan(0);
    expect(compareCodePoints('\uE000', '\uD7FF')).toBeGreaterThan(0);
    expect(compareCodePoints('ab', 'abc')).toBeLessThan(0);
    expect(compareCodePoints('Z', 'Ä')).toBeLessThan(0);
  });

  // How fast: bench/imap/sort-thread.ts (timings are measured there, never asserted in tests).
  it('sorts 10,000 messages by every key, each one once and in order', () => {
    const messages = Array.from({ length: 10_000 }, (_, i) => {
      const n = (i * 7919) % 10_000;
      return sortableMessage(
        i + 1,
        [
          `Subject: ${i % 3 === 0 ? 'Re: ' : ''}[list] topic ${n % 500}`,
          `From: "Person ${n % 97}" <p${n}@example.org>`,
          `To: t${n % 13}@example.org`,
          `Date: Mon, 1 Jun 2026 ${String(n % 24).padStart(2, '0')}:00:00 +0${n % 9}00`,
        ],
        new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
      );
    });
    for (const keys of [
      ['SUBJECT', 'DATE'],
      ['REVERSE', 'DATE'],
      ['FROM'],
      ['DISPLAYFROM', 'SIZE'],
      ['ARRIVAL'],
    ]) {
      const sorted = sortMessages(messages, by(...keys));
      expect(new Set(sorted.map((m) => m.seq)).size).toBe(10_000);
      if (keys[0] === 'ARRIVAL') {
        for (let i = 1; i < sorted.length; i++)
          expect(sorted[i - 1]!.internalDate <= sorted[i]!.internalDate).toBe(true);
      }
    }
  });
});
