import { describe, expect, it } from 'vitest';
import { parseRspamdVerdict, RspamdReplyError, rspamdActionOf } from './rspamd-verdict.js';

const reply = (extra: Record<string, unknown>) =>
  JSON.stringify({ action: 'no action', score: 0.1, required_score: 15, ...extra });

describe('rspamd actions', () => {
  it('keeps the six it knows, in rspamd’s JSON and configuration spellings', () => {
    expect(rspamdActionOf('no action')).toBe('no action');
    expect(rspamdActionOf('greylist')).toBe('greylist');
    expect(rspamdActionOf('add header')).toBe('add header');
    expect(rspamdActionOf('rewrite subject')).toBe('rewrite subject');
    expect(rspamdActionOf('soft reject')).toBe('soft reject');
    expect(rspamdActionOf('reject')).toBe('reject');
    expect(rspamdActionOf('soft_reject')).toBe('soft reject');
    expect(rspamdActionOf('Add_Header')).toBe('add header');
  });

  it('maps actions it does not know conservatively, never to no action', () => {
    expect(rspamdActionOf('discard')).toBe('reject');
    expect(rspamdActionOf('quarantine')).toBe('add header');
    expect(rspamdActionOf('hard reject')).toBe('reject');
    expect(rspamdActionOf('temporary_reject')).toBe('soft reject');
    expect(rspamdActionOf('junk')).toBe('add header');
    expect(rspamdActionOf('')).toBe('add header');
  });
});

describe('rspamd /checkv2 replies', () => {
  it('reads the action, the scores, and the symbols by descending score', () => {
    const verdict = parseRspamdVerdict(
      reply({
        action: 'add header',
        score: 7.5,
        required_score: 15,
        symbols: {
          B: { name: 'B', score: 0.5 },
          A: { name: 'A', score: 0.5 },
          HIGH: { name: 'HIGH', score: 7 },
          NEG: { name: 'NEG', score: -1 },
        },
      }),
    );
    expect(verdict).toEqual({
      action: 'add header',
      score: 7.5,
      requiredScore: 15,
      symbols: ['HIGH', 'A', 'B', 'NEG'],
      addHeaders: [],
      removeHeaders: [],
    });
  });

  it('gives the new Subject for rewrite subject, and only then', () => {
    expect(parseRspamdVerdict(reply({ action: 'rewrite subject', subject: '***SPAM*** hi' })).subject).toBe(
      '***SPAM*** hi',
    );
    expect(parseRspamdVerdict(reply({ action: 'add header', subject: 'x' })).subject).toBeUndefined();
  });

  it('reads the milter block: values, {value, order} and lists, folded lines as CRLF', () => {
    const verdict = parseRspamdVerdict(
      reply({
        milter: {
          add_headers: {
            'X-Spamd-Result': { value: 'default: False [0.10 / 15.00];\n\tSYM(0.10)[]', order: -1 },
            'X-Spam-Status': 'No, score=0.10',
            'X-Multi': [{ value: 'one', order: 0 }, 'two'],
          },
          remove_headers: { 'X-Spam': 0, 'X-Spamd-Result': 0 },
        },
      }),
    );
    expect(verdict.addHeaders).toEqual([
      { name: 'X-Spamd-Result', value: 'default: False [0.10 / 15.00];\r\n\tSYM(0.10)[]' },
      { name: 'X-Spam-Status', value: 'No, score=0.10' },
      { name: 'X-Multi', value: 'one' },
      { name: 'X-Multi', value: 'two' },
    ]);
    expect(verdict.removeHeaders).toEqual(['X-Spam', 'X-Spamd-Result']);
  });

  it('refuses a header that would add lines of its own to the message', () => {
    for (const value of ['Yes\r\nX-Injected: 1', 'Yes\nBcc: x', 'Yes\r', 'a\0b']) {
      expect(() => parseRspamdVerdict(reply({ milter: { add_headers: { 'X-Spam': value } } }))).toThrow(
        RspamdReplyError,
      );
    }
    expect(() => parseRspamdVerdict(reply({ milter: { add_headers: { 'Bad Name': 'x' } } }))).toThrow(
      RspamdReplyError,
    );
    expect(() => parseRspamdVerdict(reply({ milter: { remove_headers: { 'a:b': 0 } } }))).toThrow(
      RspamdReplyError,
    );
    expect(() => parseRspamdVerdict(reply({ action: 'rewrite subject', subject: 'x\r\nBcc: y' }))).toThrow(
      RspamdReplyError,
    );
  });

  it('refuses what is not a verdict', () => {
    for (const body of [
      '',
      'pong',
      '[]',
      '{"score":1,"required_score":15}',
      '{"action":"reject","required_score":15}',
      '{"action":"reject","score":"high","required_score":15}',
      '{"action":"reject","score":1}',
      '{"action":"reject","score":1,"required_score":15,"symbols":[]}',
      '{"action":"reject","score":1,"required_score":15,"milter":{"add_headers":{"X-A":{}}}}',
    ]) {
      expect(() => parseRspamdVerdict(body), body).toThrow(RspamdReplyError);
    }
  });
});
