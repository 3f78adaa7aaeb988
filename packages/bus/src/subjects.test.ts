import { describe, expect, it } from 'vitest';
import { busNames, InvalidNameError, isValidAccountId, isValidPrefix } from './subjects.js';

describe('busNames', () => {
  it('puts the prefix in every subject, stream and consumer name', () => {
    const names = busNames('tegami');
    expect(names.jobStream).toBe('TEGAMI_MAIL_QUEUE');
    expect(names.jobSubject).toBe('tegami.queue.jobs');
    expect(names.jobConsumer).toBe('TEGAMI_DELIVERY_WORKER');
    expect(names.mailboxChanged('42')).toBe('tegami.mailbox.42.changed');
    expect(busNames().prefix).toBe('tegami');
  });

  it('refuses prefixes that would break a subject or a stream name, or collide by case', () => {
    for (const bad of ['', 'a.b', 'a*', 'a>', 'a b', 'Tegami', '1abc', 'a/b', 'x'.repeat(65)]) {
      expect(isValidPrefix(bad)).toBe(false);
      expect(() => busNames(bad)).toThrow(InvalidNameError);
    }
    expect(isValidPrefix('t0a1b2c3d4e-s1ab')).toBe(true);
  });

  it('refuses account ids that are not one subject token', () => {
    for (const bad of ['', 'a.b', '*', '>', 'a b', 'a\tb', 'a\nb', 'é', 'x'.repeat(129)]) {
      expect(isValidAccountId(bad)).toBe(false);
      expect(() => busNames().mailboxChanged(bad)).toThrow(InvalidNameError);
    }
    for (const good of ['42', '6f1c2d3e-aaaa-4bbb-8ccc-0123456789ab', 'user@example', 'a_b-c:d']) {
      expect(isValidAccountId(good)).toBe(true);
    }
  });
});
