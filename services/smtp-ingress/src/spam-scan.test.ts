import { describe, expect, it } from 'vitest';
import { applySpamEdits, type SpamVerdict, spamDecision, spamHeaderFields } from './spam-scan.js';

const verdict = (over: Partial<SpamVerdict>): SpamVerdict => ({
  action: 'no action',
  score: 1,
  requiredScore: 15,
  symbols: [],
  addHeaders: [],
  removeHeaders: [],
  ...over,
});

describe("the spam filter's action", () => {
  it('reject → 550 5.7.1; soft reject and greylist → 451 4.7.1; add header and rewrite subject → Junk', () => {
    expect(spamDecision(verdict({ action: 'reject', score: 20.5 })).refusal).toMatchObject({
      code: 550,
      enhanced: '5.7.1',
    });
    expect(spamDecision(verdict({ action: 'soft reject' })).refusal).toMatchObject({
      code: 451,
      enhanced: '4.7.1',
    });
    expect(spamDecision(verdict({ action: 'greylist' })).refusal).toMatchObject({
      code: 451,
      enhanced: '4.7.1',
    });
    expect(spamDecision(verdict({ action: 'add header' }))).toEqual({ refusal: undefined, junk: true });
    expect(spamDecision(verdict({ action: 'rewrite subject' }))).toEqual({ refusal: undefined, junk: true });
    expect(spamDecision(verdict({ action: 'no action' }))).toEqual({ refusal: undefined, junk: false });
  });

  it('removes the headers asked, rewrites the subject, and keeps the body', () => {
    const raw = Buffer.from(
      'X-Spam: yes\r\nSubject: hello\r\nX-Spam: again\r\nTo: a@b\r\n\r\nX-Spam: body\r\n',
    );
    const edited = applySpamEdits(
      raw,
      verdict({ action: 'rewrite subject', subject: '*** SPAM *** hello', removeHeaders: ['X-Spam'] }),
    );
    expect(edited.toString()).toBe('Subject: *** SPAM *** hello\r\nTo: a@b\r\n\r\nX-Spam: body\r\n');
  });

  it('writes each header to add on its own line, with no way to inject another', () => {
    expect(
      spamHeaderFields(
        verdict({
          addHeaders: [
            { name: 'X-Spam', value: 'Yes' },
            { name: 'X-Spamd-Result', value: 'default: False [1.0 / 15.0];\n\tSYMBOL(1.00)' },
            { name: 'X-Evil', value: 'a\r\nBcc: victim@example.com' },
            { name: 'Bad Name', value: 'x' },
          ],
        }),
      ),
    ).toBe(
      'X-Spam: Yes\r\nX-Spamd-Result: default: False [1.0 / 15.0];\r\n\tSYMBOL(1.00)\r\nX-Evil: a Bcc: victim@example.com\r\n',
    );
  });
});
