import { serializeReply } from '@tegami/protocol';
import { describe, expect, it } from 'vitest';
import { dnsblQueryName, dnsblRefusal, isListingAnswer } from './dnsbl.js';

describe('DNSBL names (RFC 5782)', () => {
  it('reverses the octets of an IPv4 address (§2.1)', () => {
    expect(dnsblQueryName('192.0.2.99', 'bad.example.com')).toBe('99.2.0.192.bad.example.com');
    expect(dnsblQueryName('127.0.0.2', 'zen.example')).toBe('2.0.0.127.zen.example');
  });

  it('reverses the 32 nibbles of an IPv6 address (§2.4)', () => {
    expect(dnsblQueryName('2001:db8:1:2:3:4:567:89ab', 'ugly.example.com')).toBe(
      'b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com',
    );
    expect(dnsblQueryName('::1', 'v6.example')).toBe(`1.${'0.'.repeat(31)}v6.example`);
  });

  it('looks an IPv4-mapped IPv6 peer up as its IPv4 address', () => {
    expect(dnsblQueryName('::ffff:192.0.2.99', 'bl.example')).toBe('99.2.0.192.bl.example');
  });

  it('has no name for what is not an address', () => {
    expect(dnsblQueryName('unknown', 'bl.example')).toBeUndefined();
  });

  it('takes 127.0.0.0/8 answers for listings, but not Spamhaus error codes or real addresses', () => {
    for (const a of ['127.0.0.2', '127.0.0.4', '127.0.0.10', '127.0.1.2'])
      expect(isListingAnswer(a), a).toBe(true);
    for (const a of ['127.255.255.252', '127.255.255.254', '127.255.255.255', '192.0.2.80', '10.0.0.1'])
      expect(isListingAnswer(a), a).toBe(false);
  });
});

describe('the DNSBL refusal', () => {
  it("says it in Postfix's words, with the listing's text", () => {
    expect(
      serializeReply(
        dnsblRefusal('192.0.2.99', 'zen.example', 'Listed by ZEN, see https://zen.example/q/192.0.2.99'),
      ),
    ).toBe(
      '554 5.7.1 Service unavailable; Client host [192.0.2.99] blocked using zen.example; Listed by ZEN, see https://zen.example/q/192.0.2.99\r\n',
    );
    expect(serializeReply(dnsblRefusal('2001:db8::9', 'bl.example', undefined))).toBe(
      '554 5.7.1 Service unavailable; Client host [2001:db8::9] blocked using bl.example\r\n',
    );
  });

  it('keeps what a list says on one printable line of bounded length', () => {
    const text = serializeReply(
      dnsblRefusal('192.0.2.99', 'bl.example', `evil\r\n250 ok\u00e9${'x'.repeat(1000)}`),
    );
    expect(text.split('\r\n')).toHaveLength(2);
    expect(text).toMatch(/^554 5\.7\.1 [\x20-\x7e]+\r\n$/);
    expect(text).toContain('evil??250 ok?');
    expect(text.length).toBeLessThan(512);
  });
});
