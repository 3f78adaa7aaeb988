import { describe, expect, it } from 'vitest';
import {
  applyModRights,
  changeableFlags,
  normalRights,
  parseModRights,
  writableWith,
} from './mailbox-rights.js';

describe('mailbox rights (RFC 4314 §2.1)', () => {
  it('reads SETACL rights: replace, +add, -remove, in the standard order', () => {
    expect(parseModRights('rl')).toEqual({ mode: 'replace', rights: 'lr' });
    expect(parseModRights('+Wi')).toEqual({ mode: 'add', rights: 'wi' });
    expect(parseModRights('-a')).toEqual({ mode: 'remove', rights: 'a' });
    expect(parseModRights('')).toEqual({ mode: 'replace', rights: '' });
  });

  it('takes the obsolete c and d as the rights they stood for (§2.1.1)', () => {
    expect(parseModRights('lrc')).toEqual({ mode: 'replace', rights: 'lrkx' });
    expect(parseModRights('+d')).toEqual({ mode: 'add', rights: 'xte' });
  });

  it('refuses letters that are no right, digits included', () => {
    expect(parseModRights('lrz')).toBeUndefined();
    expect(parseModRights('l0')).toBeUndefined();
    expect(parseModRights('+-l')).toBeUndefined();
  });

  it('applies a change to the rights held', () => {
    expect(applyModRights('lr', { mode: 'add', rights: 'wi' })).toBe('lrwi');
    expect(applyModRights('lrwi', { mode: 'remove', rights: 'rx' })).toBe('lwi');
    expect(applyModRights('lrwi', { mode: 'replace', rights: 's' })).toBe('s');
    expect(normalRights('aeltr')).toBe('lrtea');
  });

  it('lets s change \\Seen, t \\Deleted and w every other flag; write access needs one of them', () => {
    expect(changeableFlags('s', ['\\Seen', '\\Deleted', '$Label'])).toEqual(['\\Seen']);
    expect(changeableFlags('tw', ['\\SEEN', '\\deleted', '$Label'])).toEqual(['\\deleted', '$Label']);
    expect(writableWith('lr')).toBe(false);
    expect(writableWith('lrs')).toBe(true);
    expect(writableWith('lrie')).toBe(false);
  });
});
