import { describe, expect, it } from 'vitest';
import { baseSubject } from './base-subject.js';

const base = (subject: string | null) => baseSubject(subject).text;

describe('RFC 5256 §2.1 base subject', () => {
  it('(1) decodes encoded words and makes every run of whitespace one space', () => {
    expect(base('=?utf-8?q?Caf=C3=A9?=\t  menu')).toBe('Café menu');
    expect(base('=?iso-8859-1?b?SvZyZw==?= =?iso-8859-1?q?_says?=')).toBe('Jörg says');
    expect(base('Re: =?utf-8?b?UmU6IHRlc3Q=?=')).toBe('test');
  });

  it('(2) removes trailing "(fwd)" and whitespace, repeatedly', () => {
    expect(base('hello (fwd)')).toBe('hello');
    expect(base('hello (FWD) (fwd)  ')).toBe('hello');
    expect(base('hello(fwd)')).toBe('hello');
    expect(baseSubject('hello (fwd)').replyOrForward).toBe(true);
  });

  it('(3) removes Re:, Fw:, Fwd: leaders, with blobs before and inside them', () => {
    expect(base('Re: hello')).toBe('hello');
    expect(base('RE: re: Fwd: FW: hello')).toBe('hello');
    expect(base('Re[2]: hello')).toBe('hello');
    expect(base('Re [list]: hello')).toBe('hello');
    expect(base('[list] Re: hello')).toBe('hello');
    expect(base('[a][b] Fwd: hello')).toBe('hello');
    expect(base('Re : hello')).toBe('hello');
    expect(baseSubject('Re: hello').replyOrForward).toBe(true);
  });

  it('does not take words that only start like a leader', () => {
    expect(base('Reply: hello')).toBe('Reply: hello');
    expect(base('Fwdx: hello')).toBe('Fwdx: hello');
    expect(base('Regarding the plan')).toBe('Regarding the plan');
    expect(baseSubject('Regarding the plan').replyOrForward).toBe(false);
  });

  it('(4) removes a leading blob only when something is left after it', () => {
    expect(base('[PATCH] fix it')).toBe('fix it');
    expect(base('[PATCH 1/2] [v2] fix it')).toBe('fix it');
    expect(base('[PATCH]')).toBe('[PATCH]');
    expect(base('[a] [PATCH]')).toBe('[PATCH]');
    expect(base('Re: [PATCH]')).toBe('[PATCH]');
    expect(baseSubject('[list] hello').replyOrForward).toBe(false);
  });

  it('(5) repeats (3) and (4) until neither matches', () => {
    expect(base('[list] Re: [list] Re: [other] hello')).toBe('hello');
    expect(base('Re: [list] Fwd: Re: hello')).toBe('hello');
  });

  it('(6) unwraps "[fwd: …]" and starts again from (2)', () => {
    expect(base('[fwd: hello]')).toBe('hello');
    expect(base('[Fwd: Re: hello (fwd)]')).toBe('hello');
    expect(base('Re: [fwd: [fwd: hello]]')).toBe('hello');
    expect(base('[fwd: hello] world')).toBe('world');
    // The wrapped subject may be empty; a blob that is no wrapper stays.
    expect(base('[fwd:]')).toBe('');
    expect(base('[fwd hello]')).toBe('[fwd hello]');
  });

  it('is empty for a missing or blank subject and for "Re:" alone', () => {
    expect(base(null)).toBe('');
    expect(base('')).toBe('');
    expect(base('   ')).toBe('');
    expect(base('Re:')).toBe('');
    expect(base('Re: (fwd)')).toBe('');
  });

  it('keeps the case and inner text of the base subject', () => {
    expect(base('Re: Hello  World [x]')).toBe('Hello World [x]');
    expect(base('Re: a ( fwd )')).toBe('a ( fwd )');
  });
});
