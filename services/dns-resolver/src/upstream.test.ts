import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { matchResponse } from './upstream.js';

// The datagram the dns-message fuzz target found (test/fuzz/crashers/dns-message/): a
// response of 632 octets whose header counts 24,576 additional records, and whose second
// record is a TXT whose length runs past the end.
const FUZZED = Buffer.from(
  '10008180000100010000600004' +
    '6d61696c0179016e0000100001' +
    '046d61696c046d61696c0179016e0000100001'.repeat(31) +
    '046d61696c046d61696c0179016e000010',
  'hex',
);

describe('matchResponse', () => {
  it('refuses a record that runs past the message instead of decoding every counted record from the first octet', () => {
    expect(FUZZED.length).toBe(632);
    // What dns-packet alone makes of it: its offset turns NaN, read as 0 by every decoder.
    expect(dnsPacket.decode(FUZZED).additionals).toHaveLength(24_576);
    // It asks back the question the datagram carries, so only the decoding can refuse it.
    expect(matchResponse(FUZZED, 0x1000, 'mail.y.n', 'TXT')).toBeUndefined();
  });

  it('reads a well-formed response exactly as dns-packet does', () => {
    const message = dnsPacket.encode({
      type: 'response',
      id: 4242,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHENTIC_DATA,
      questions: [{ type: 'MX', class: 'IN', name: 'example.org' }],
      answers: [
        {
          type: 'MX',
          class: 'IN',
          name: 'example.org',
          ttl: 300,
          data: { preference: 10, exchange: 'mx.example.org' },
        },
        { type: 'TXT', class: 'IN', name: 'example.org', ttl: 60, data: ['v=spf1 -all'] },
      ],
      authorities: [
        {
          type: 'SOA',
          class: 'IN',
          name: 'example.org',
          ttl: 3600,
          data: {
            mname: 'ns.example.org',
            rname: 'hostmaster.example.org',
            serial: 1,
            refresh: 2,
            retry: 3,
            expire: 4,
            minimum: 5,
          },
        },
      ],
      additionals: [{ type: 'A', class: 'IN', name: 'mx.example.org', ttl: 300, data: '192.0.2.25' }],
    });
    const response = matchResponse(message, 4242, 'EXAMPLE.org', 'MX');
    expect(response).toEqual(dnsPacket.decode(message));
    expect(response?.answers).toHaveLength(2);
    expect(response?.flag_ad).toBe(true);
  });

  it('refuses a response to another query, and a short datagram', () => {
    const message = dnsPacket.encode({
      type: 'response',
      id: 7,
      questions: [{ type: 'A', class: 'IN', name: 'example.org' }],
    });
    expect(matchResponse(message, 7, 'example.org', 'A')).toBeDefined();
    expect(matchResponse(message, 8, 'example.org', 'A')).toBeUndefined();
    expect(matchResponse(message.subarray(0, 11), 7, 'example.org', 'A')).toBeUndefined();
  });
});
