import { describe, expect, it } from 'vitest';
import {
  addressBytes,
  bracketed,
  isLoopbackAddress,
  sameAddress,
  unwrapIpv4Mapped,
} from './client-address.js';

describe('client addresses', () => {
  it('reads IPv4 and every IPv6 text form as bytes', () => {
    expect([...addressBytes('192.0.2.99')!]).toEqual([192, 0, 2, 99]);
    expect([...addressBytes('2001:db8::1')!]).toEqual([0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1]);
    expect([...addressBytes('::')!]).toEqual(Array(16).fill(0));
    expect([...addressBytes('fe80::')!]).toEqual([0xfe, 0x80, ...Array(14).fill(0)]);
    expect([...addressBytes('64:ff9b::192.0.2.1')!].slice(12)).toEqual([192, 0, 2, 1]);
    expect([...addressBytes('2001:DB8:0:0:1:0:0:1')!]).toEqual([...addressBytes('2001:db8::1:0:0:1')!]);
  });

  it('takes an IPv4-mapped IPv6 peer for the IPv4 address it is', () => {
    expect(unwrapIpv4Mapped('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(unwrapIpv4Mapped('::FFFF:192.0.2.7')).toBe('192.0.2.7');
    expect(addressBytes('::ffff:192.0.2.7')).toHaveLength(4);
    expect(sameAddress('::ffff:192.0.2.7', '192.0.2.7')).toBe(true);
    expect(bracketed('::ffff:192.0.2.7')).toBe('[192.0.2.7]');
  });

  it('refuses what is not an address', () => {
    for (const text of ['', 'example.com', '192.0.2', '1.2.3.256', 'fe80::1%eth0', '[192.0.2.1]'])
      expect(addressBytes(text), text).toBeUndefined();
    expect(sameAddress('x', 'x')).toBe(false);
  });

  it('compares addresses, not texts', () => {
    expect(sameAddress('2001:db8::1', '2001:0db8:0000:0000:0000:0000:0000:0001')).toBe(true);
    expect(sameAddress('2001:db8::1', '2001:db8::2')).toBe(false);
    expect(sameAddress('192.0.2.1', '::192.0.2.1')).toBe(false);
  });

  it('knows loopback: all of 127.0.0.0/8 and ::1, however written', () => {
    for (const a of [
      '127.0.0.1',
      '127.0.0.2',
      '127.13.5.1',
      '127.255.255.255',
      '::1',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
    ])
      expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['128.0.0.1', '126.255.255.255', '::', '::2', '192.0.2.1', '::127.0.0.1', 'localhost'])
      expect(isLoopbackAddress(a), a).toBe(false);
  });
});
