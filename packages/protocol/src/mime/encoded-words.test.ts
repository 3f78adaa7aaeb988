import { describe, expect, it } from 'vitest';
import { describeMessage } from './describe-message.js';
import { decodeEncodedWords } from './encoded-words.js';

// Found by the mime-parse fuzz target (issue 21).
describe('encoded words cut in the middle of a UTF-16 surrogate pair', () => {
  it('decode half a pair to U+FFFD, keeping whole pairs', () => {
    expect(decodeEncodedWords('=?utf-16be?B?2D0=?= x')).toBe('\ufffd x');
    expect(decodeEncodedWords('=?utf-16le?B?Pdg=?=')).toBe('\ufffd');
    expect(decodeEncodedWords('=?utf-16be?B?2D3eAA==?=')).toBe('😀');
  });

  it('leave no lone surrogate in the metadata, which Postgres jsonb would refuse', () => {
    const raw = Buffer.from(
      'Subject: =?utf-16be?B?2D0=?= x\r\nFrom: =?utf-16le?B?Pdg=?= <a@b>\r\n\r\nbody\r\n',
    );
    const { metadata } = describeMessage(raw);
    expect(JSON.stringify(metadata)).not.toMatch(/\\ud[89a-f]/i);
    expect(metadata.searchHeaders.find((h) => h.name === 'subject')?.value).toBe('\ufffd x');
  });
});
