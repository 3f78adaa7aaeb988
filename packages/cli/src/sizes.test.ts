import { describe, expect, it } from 'vitest';
import { formatSize, formatUsage, parseSize } from './sizes.js';

describe('sizes', () => {
  it('reads bytes and K, M, G, T as powers of 1024', () => {
    expect(parseSize('1048576')).toBe(1048576);
    expect(parseSize('500K')).toBe(500 * 1024);
    expect(parseSize('500m')).toBe(500 * 1024 ** 2);
    expect(parseSize('2G')).toBe(2 * 1024 ** 3);
    expect(parseSize('2GB')).toBe(2 * 1024 ** 3);
    expect(parseSize('1T')).toBe(1024 ** 4);
    expect(parseSize('1.5G')).toBe(1.5 * 1024 ** 3);
    for (const bad of ['lots', '-1', '1.5', '2X', '', '.5G', '99999999999T'])
      expect(() => parseSize(bad)).toThrow();
  });

  it('prints bytes in the units it reads, to three significant digits', () => {
    expect(formatSize(0)).toBe('0');
    expect(formatSize(812)).toBe('812');
    expect(formatSize(340 * 1024)).toBe('340K');
    expect(formatSize(Math.round(12.3 * 1024 ** 2))).toBe('12.3M');
    expect(formatSize(500 * 1024 ** 2)).toBe('500M');
    expect(formatSize(2 * 1024 ** 3)).toBe('2G');
    expect(formatSize(1024 ** 2 - 1)).toBe('1M');
    for (const bytes of [1, 5000, 123_456_789, 2 ** 40]) {
      expect(Math.abs(parseSize(formatSize(bytes)) - bytes)).toBeLessThanOrEqual(bytes * 0.01);
    }
  });

  it('prints use against the quota, rounding the share down', () => {
    expect(formatUsage(Math.round(12.3 * 1024 ** 2), 500 * 1024 ** 2)).toBe('12.3M / 500M (2%)');
    expect(formatUsage(999, 1000)).toBe('999 / 1000 (99%)');
    expect(formatUsage(1200, 1000)).toBe('1.2K / 1000 (120%)');
    expect(formatUsage(5, 0)).toBe('5 / 0 (100%)');
    expect(formatUsage(0, null)).toBe('0 / none');
  });
});
