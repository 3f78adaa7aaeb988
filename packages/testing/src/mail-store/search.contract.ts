import { readFileSync } from 'node:fs';
import { normaliseForSearch, type SearchNode } from '@tegami/protocol';
import { describe, expect, it } from 'vitest';
import { appendAll, mail, type NewMailUser, openOrFail } from './mail-store-contract-support.js';

// The mail store contract, SEARCH: the criteria as the engine hands them over (sets
// resolved to UIDs, text keys normalised by normaliseForSearch), matched against what was
// stored at APPEND, whatever charset the message was written in.

const corpus = new URL('../../../../../shared/corpus/', import.meta.url);
const corpusMessage = (file: string) => readFileSync(new URL(file, corpus));

const text = (value: string, where: 'body' | 'text' = 'text'): SearchNode => ({
  op: 'text',
  where,
  value: normaliseForSearch(value),
});
const header = (name: string, value: string): SearchNode => ({
  op: 'header',
  name,
  value: normaliseForSearch(value),
});

export function describeSearchContract(newUser: NewMailUser): void {
  describe('search', () => {
    it('matches flags (keywords in any case), UIDs, sizes and dates, combined', async () => {
      const account = await (await newUser()).session();
      const small = mail(1);
      const large = mail(2, 'x'.repeat(2_000));
      await account.append('INBOX', {
        raw: small,
        flags: ['\\Seen', '$Work'],
        internalDate: new Date('2025-03-01T10:00:00Z'),
      });
      await account.append('INBOX', {
        raw: large,
        flags: [],
        internalDate: new Date('2025-03-02T23:30:00Z'),
      });
      await account.append('INBOX', {
        raw: mail(3),
        flags: ['\\Flagged'],
        internalDate: new Date('2025-03-03T00:10:00Z'),
      });
      const inbox = await openOrFail(account, 'INBOX', true);
      const search = (criteria: SearchNode) => inbox.search(criteria);
      const day = (iso: string) => new Date(`${iso}T00:00:00Z`);

      expect(await search({ op: 'all' })).toEqual([1, 2, 3]);
      expect(await search({ op: 'flag', flag: '\\seen', set: true })).toEqual([1]);
      expect(await search({ op: 'flag', flag: '$WORK', set: true })).toEqual([1]);
      expect(await search({ op: 'flag', flag: '\\Seen', set: false })).toEqual([2, 3]);
      expect(await search({ op: 'uids', uids: [3, 1, 77] })).toEqual([1, 3]);
      expect(await search({ op: 'uids', uids: [] })).toEqual([]);
      expect(await search({ op: 'size', compare: 'larger', size: small.length })).toEqual([2]);
      expect(await search({ op: 'size', compare: 'smaller', size: large.length })).toEqual([1, 3]);
      expect(await search({ op: 'date', field: 'internal', compare: 'on', day: day('2025-03-02') })).toEqual([
        2,
      ]);
      expect(
        await search({ op: 'date', field: 'internal', compare: 'since', day: day('2025-03-02') }),
      ).toEqual([2, 3]);
      expect(
        await search({ op: 'date', field: 'internal', compare: 'before', day: day('2025-03-02') }),
      ).toEqual([1]);
      // The Date header's day, "disregarding time and timezone" (RFC 3501 §6.4.4).
      expect(await search({ op: 'date', field: 'sent', compare: 'on', day: day('2025-06-02') })).toEqual([
        1, 2, 3,
      ]);
      expect(
        await search({
          op: 'or',
          left: { op: 'flag', flag: '\\Flagged', set: true },
          right: { op: 'not', node: { op: 'size', compare: 'smaller', size: 1_000 } },
        }),
      ).toEqual([2, 3]);
      expect(
        await search({
          op: 'and',
          nodes: [
            { op: 'flag', flag: '\\Seen', set: false },
            { op: 'uids', uids: [1, 2] },
          ],
        }),
      ).toEqual([2]);
    });

    it('matches by the internal date relative to now (WITHIN, RFC 5032)', async () => {
      const account = await (await newUser()).session();
      const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
      await account.append('INBOX', { raw: mail(1), flags: [], internalDate: hoursAgo(48) });
      await account.append('INBOX', { raw: mail(2), flags: [], internalDate: hoursAgo(2) });
      const inbox = await openOrFail(account, 'INBOX', true);
      expect(await inbox.search({ op: 'age', compare: 'older', seconds: 86_400 })).toEqual([1]);
      expect(await inbox.search({ op: 'age', compare: 'younger', seconds: 86_400 })).toEqual([2]);
      expect(await inbox.search({ op: 'age', compare: 'younger', seconds: 60 })).toEqual([]);
      expect(await inbox.search({ op: 'age', compare: 'older', seconds: 4_294_967_295 })).toEqual([]);
    });

    it('matches header fields and text after a STORE by MODSEQ', async () => {
      const account = await (await newUser()).session();
      await appendAll(account, 'INBOX', [
        mail(1, 'the quarterly figures\r\n'),
        mail(2, 'lunch?\r\n', 'X-Project: Apollo\r\n'),
      ]);
      const inbox = await openOrFail(account, 'INBOX');
      expect(await inbox.search(header('subject', 'NOTE 2'))).toEqual([2]);
      expect(await inbox.search(header('x-project', ''))).toEqual([2]);
      expect(await inbox.search(header('x-project', 'apollo'))).toEqual([2]);
      expect(await inbox.search(text('Quarterly', 'body'))).toEqual([1]);
      // TEXT looks at the header too; BODY does not.
      expect(await inbox.search(text('apollo'))).toEqual([2]);
      expect(await inbox.search(text('apollo', 'body'))).toEqual([]);
      const [changed] = await inbox.store([1], 'add', ['\\Answered']);
      expect(await inbox.search({ op: 'modseq', modseq: changed!.modseq })).toEqual([1]);
    });

    it('finds words of messages written in ISO-2022-JP, Shift_JIS and UTF-8, whatever the charset', async () => {
      const account = await (await newUser()).session();
      await appendAll(account, 'INBOX', [
        corpusMessage('iso2022jp-attachments.eml'),
        corpusMessage('shift-jis-body.eml'),
        corpusMessage('utf8-headers.eml'),
        corpusMessage('plain-rfc822.eml'),
      ]);
      const inbox = await openOrFail(account, 'INBOX', true);
      expect(await inbox.search(text('テスト', 'body'))).toEqual([1]);
      expect(await inbox.search(header('subject', 'テスト'))).toEqual([1]);
      expect(await inbox.search(text('請求書'))).toEqual([2]);
      expect(await inbox.search(text('会議'))).toEqual([3]);
      expect(await inbox.search({ op: 'not', node: text('テスト') })).not.toContain(1);
    });
  });
}
