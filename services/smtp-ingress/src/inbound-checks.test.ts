import { describe, expect, it } from 'vitest';
import { type InboundVerdictSummary, spamVerdictTally } from './inbound-checks.js';

const scanned = (action: string, outcome: InboundVerdictSummary['action']): InboundVerdictSummary => ({
  spam: { action, score: 0, required: 15, symbols: [] },
  action: outcome,
});

describe("the spam filter's verdict as the dashboard counts it", () => {
  it('is rejected, spam or ham by the action of the filter', () => {
    expect(spamVerdictTally(scanned('reject', 'reject'))).toBe('rejected');
    expect(spamVerdictTally(scanned('add header', 'junk'))).toBe('spam');
    expect(spamVerdictTally(scanned('rewrite subject', 'junk'))).toBe('spam');
    expect(spamVerdictTally(scanned('no action', 'inbox'))).toBe('ham');
  });

  it('is ham when DMARC alone sent the message to Junk', () => {
    expect(spamVerdictTally(scanned('no action', 'junk'))).toBe('ham');
  });

  it('is nothing for a message sent back for later (the retry counts) or never scanned', () => {
    expect(spamVerdictTally(scanned('greylist', 'tempfail'))).toBeUndefined();
    expect(spamVerdictTally(scanned('soft reject', 'tempfail'))).toBeUndefined();
    expect(spamVerdictTally({ spam: { unscanned: 'timeout' }, action: 'inbox' })).toBeUndefined();
    expect(
      spamVerdictTally({
        dmarc: { result: 'fail', domain: 'x.test', policy: 'reject', action: 'reject', reason: '' },
        action: 'reject',
      }),
    ).toBeUndefined();
  });
});
