import { describe, expect, it } from 'vitest';
import { describeMessage } from './describe-message.js';
import { MAX_ENVELOPE_FIELD_CHARS } from './envelope.js';

describe('ENVELOPE of huge address fields', () => {
  it('reads an address field up to its cap, so the metadata stays bounded', () => {
    // 1 MB of "a," made 30 MB of metadata before (a 25 MB message: more than jsonb holds).
    const raw = Buffer.from(`From: x@example.org\r\nTo: ${'a,'.repeat(500_000)}\r\n\r\nbody\r\n`);
    const { metadata } = describeMessage(raw);
    expect(metadata.envelope.to).toHaveLength(MAX_ENVELOPE_FIELD_CHARS / 2);
    expect(metadata.envelope.to?.[0]).toEqual({
      name: null,
      adl: null,
      mailbox: 'a',
      host: 'MISSING_DOMAIN',
    });
    expect(JSON.stringify(metadata).length).toBeLessThan(raw.length * 3);
  });

  it('reads fields below the cap whole', () => {
    const to = Array.from({ length: 1000 }, (_, i) => `User ${i} <user${i}@example.org>`).join(', ');
    const { metadata } = describeMessage(Buffer.from(`To: ${to}\r\n\r\nbody\r\n`));
    expect(metadata.envelope.to).toHaveLength(1000);
    expect(metadata.envelope.to?.[999]).toEqual({
      name: 'User 999',
      adl: null,
      mailbox: 'user999',
      host: 'example.org',
    });
  });
});
