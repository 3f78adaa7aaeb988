import { describe, expect, it } from 'vitest';
import { addressPart, splitAddress } from './address-parts.js';

describe('address parts (RFC 5228 §2.7.4, RFC 5233)', () => {
  const address = splitAddress('ken+sieve@example.org');

  it('splits local part and domain', () => {
    expect(addressPart(address, 'all')).toBe('ken+sieve@example.org');
    expect(addressPart(address, 'localpart')).toBe('ken+sieve');
    expect(addressPart(address, 'domain')).toBe('example.org');
  });

  it('splits user and detail at the first "+"', () => {
    expect(addressPart(address, 'user')).toBe('ken');
    expect(addressPart(address, 'detail')).toBe('sieve');
    expect(addressPart(splitAddress('a+b+c@x'), 'detail')).toBe('b+c');
  });

  it('has no detail without a separator, and an empty one after a bare "+"', () => {
    expect(addressPart(splitAddress('ken@example.org'), 'detail')).toBeNull();
    expect(addressPart(splitAddress('ken@example.org'), 'user')).toBe('ken');
    expect(addressPart(splitAddress('ken+@example.org'), 'detail')).toBe('');
  });

  it('has no domain for a bare local part', () => {
    expect(addressPart(splitAddress('postmaster'), 'domain')).toBeNull();
    expect(addressPart(splitAddress('postmaster'), 'all')).toBe('postmaster');
  });
});
