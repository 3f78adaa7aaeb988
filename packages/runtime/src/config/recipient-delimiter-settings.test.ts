import { describe, expect, it } from 'vitest';
import { readConfig } from './read.js';
import { recipientDelimiterSettings } from './recipient-delimiter-settings.js';

const read = (value?: string) =>
  readConfig(recipientDelimiterSettings(), value === undefined ? {} : { TEGAMI_RECIPIENT_DELIMITER: value })
    .recipientDelimiter;

describe('TEGAMI_RECIPIENT_DELIMITER', () => {
  it('is + unless set, and off turns subaddresses off', () => {
    expect(read()).toBe('+');
    expect(read('')).toBe('+');
    expect(read('+-')).toBe('+-');
    expect(read('OFF')).toBe('');
  });

  it('refuses what would make the address another one', () => {
    expect(() => read('@')).toThrow(/TEGAMI_RECIPIENT_DELIMITER/);
    expect(() => read('+ -')).toThrow(/not a recipient delimiter/);
  });
});
