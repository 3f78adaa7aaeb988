import { describe, expect, it } from 'vitest';
import { findComparator, numericOrder } from './comparators.js';

describe('comparators (RFC 4790 §9)', () => {
  it('i;ascii-casemap folds ASCII letters only', () => {
    const casemap = findComparator('i;ascii-casemap')!;
    expect(casemap.normalise('HeLLo')).toBe('hello');
    expect(casemap.normalise('É')).toBe('É');
  });

  it('i;octet keeps case', () => {
    const octet = findComparator('i;octet')!;
    expect(octet.normalise('AbC')).toBe('AbC');
    expect(octet.order('a', 'b')).toBeLessThan(0);
  });

  it('i;ascii-numeric compares leading digits, any length', () => {
    expect(numericOrder('10', '9')).toBeGreaterThan(0);
    expect(numericOrder('007', '7')).toBe(0);
    expect(numericOrder('12abc', '12')).toBe(0);
    expect(numericOrder('123456789012345678901234567890', '123456789012345678901234567891')).toBeLessThan(0);
  });

  it('i;ascii-numeric takes a string without leading digits as positive infinity', () => {
    expect(numericOrder('abc', '999999')).toBeGreaterThan(0);
    expect(numericOrder('abc', 'xyz')).toBe(0);
    expect(numericOrder('5', 'x')).toBeLessThan(0);
  });

  it('i;ascii-numeric does not support substring matches', () => {
    expect(findComparator('i;ascii-numeric')!.substring).toBe(false);
  });

  it('finds comparators case-insensitively and refuses unknown ones', () => {
    expect(findComparator('I;OCTET')?.name).toBe('i;octet');
    expect(findComparator('i;foo')).toBeNull();
  });
});
