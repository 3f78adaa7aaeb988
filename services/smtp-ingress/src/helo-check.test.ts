import { serializeReply } from '@tegami/protocol';
import { describe, expect, it } from 'vitest';
import { classifyHelo, heloRefusal } from './helo-check.js';

describe('HELO names', () => {
  it.each([
    ['mail.example.com', { kind: 'domain', name: 'mail.example.com' }],
    ['MAIL.Example.COM', { kind: 'domain', name: 'mail.example.com' }],
    ['xn--bcher-kva.example', { kind: 'domain', name: 'xn--bcher-kva.example' }],
    ['bücher.example', { kind: 'domain', name: 'xn--bcher-kva.example' }],
    ['a-b.c-d.example', { kind: 'domain', name: 'a-b.c-d.example' }],
    ['[192.0.2.1]', { kind: 'address-literal' }],
    ['[IPv6:2001:db8::1]', { kind: 'address-literal' }],
    ['[ipv6:::1]', { kind: 'address-literal' }],
    ['localhost', { kind: 'invalid', reason: 'not-fqdn' }],
    ['mailserver', { kind: 'invalid', reason: 'not-fqdn' }],
    ['192.0.2.1', { kind: 'invalid', reason: 'bare-address' }],
    ['2001:db8::1', { kind: 'invalid', reason: 'bare-address' }],
    ['mail_server.example.com', { kind: 'invalid', reason: 'malformed' }],
    ['-mail.example.com', { kind: 'invalid', reason: 'malformed' }],
    ['mail..example.com', { kind: 'invalid', reason: 'malformed' }],
    ['mail.example.com.', { kind: 'invalid', reason: 'malformed' }],
    ['host.123', { kind: 'invalid', reason: 'malformed' }],
    ['two words.example', { kind: 'invalid', reason: 'malformed' }],
    ['[192.0.2.256]', { kind: 'invalid', reason: 'malformed' }],
    ['[2001:db8::1]', { kind: 'invalid', reason: 'malformed' }],
    ['[IPv6:192.0.2.1]', { kind: 'invalid', reason: 'malformed' }],
    ['[192.0.2.1', { kind: 'invalid', reason: 'malformed' }],
  ])('%s is %o', (argument, expected) => {
    expect(classifyHelo(argument)).toEqual(expected);
  });
});

describe('the HELO refusal', () => {
  it("says it in Postfix's form: 550 5.7.1 <name>: Helo command rejected: why", () => {
    const text = (argument: string, result: Parameters<typeof heloRefusal>[1]) =>
      serializeReply(heloRefusal(argument, result)!);
    expect(text('nowhere.example', { kind: 'refused', reason: 'not-found' })).toBe(
      '550 5.7.1 <nowhere.example>: Helo command rejected: Host not found\r\n',
    );
    expect(text('localhost', { kind: 'refused', reason: 'not-fqdn' })).toBe(
      '550 5.7.1 <localhost>: Helo command rejected: need fully-qualified hostname\r\n',
    );
    expect(text('mx.example.test', { kind: 'refused', reason: 'own-name' })).toBe(
      '550 5.7.1 <mx.example.test>: Helo command rejected: You are not me\r\n',
    );
    expect(text('a_b.example', { kind: 'refused', reason: 'malformed' })).toBe(
      '550 5.7.1 <a_b.example>: Helo command rejected: Invalid name\r\n',
    );
    expect(text('slow.example', { kind: 'temporary', detail: 'SERVFAIL' })).toBe(
      '450 4.7.1 <slow.example>: Helo command rejected: Host not found (temporary DNS failure)\r\n',
    );
    expect(heloRefusal('fine.example', { kind: 'pass' })).toBeUndefined();
  });

  it('quotes a hostile name safely and briefly', () => {
    const text = serializeReply(
      heloRefusal(`${'x'.repeat(900)}\u00e9`, { kind: 'refused', reason: 'not-fqdn' })!,
    );
    expect(text).toMatch(
      /^550 5\.7\.1 <x+\.\.\.>: Helo command rejected: need fully-qualified hostname\r\n$/,
    );
    expect(text.length).toBeLessThan(512);
  });
});
