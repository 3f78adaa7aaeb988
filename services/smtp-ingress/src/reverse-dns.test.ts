import { serializeReply } from '@tegami/protocol';
import { describe, expect, it } from 'vitest';
import { reverseDnsRefusal } from './reverse-dns.js';

describe('the reverse DNS refusal (RFC 7372 X.7.25, in Postfix words)', () => {
  const text = (result: Parameters<typeof reverseDnsRefusal>[0], address = '192.0.2.7') =>
    serializeReply(reverseDnsRefusal(result, address)!);

  it('550 when the address has no name, or names that do not lead back to it', () => {
    expect(text({ kind: 'none' })).toBe(
      '550 5.7.25 Client host rejected: cannot find your reverse hostname, [192.0.2.7]\r\n',
    );
    expect(text({ kind: 'unconfirmed', names: ['forged.example'] }, '2001:db8::7')).toBe(
      '550 5.7.25 Client host rejected: cannot find your hostname, [2001:db8::7]\r\n',
    );
  });

  it('450 when DNS could not tell', () => {
    expect(text({ kind: 'temporary', detail: 'SERVFAIL' })).toBe(
      '450 4.7.25 Client host rejected: cannot find your reverse hostname, [192.0.2.7]\r\n',
    );
  });

  it('nothing for a confirmed name', () => {
    expect(reverseDnsRefusal({ kind: 'confirmed', name: 'mx.example' }, '192.0.2.7')).toBeUndefined();
  });
});
