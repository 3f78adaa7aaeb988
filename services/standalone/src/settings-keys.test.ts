import { deliverySettings } from '@tegami/delivery-worker';
import { dnsResolverSettings } from '@tegami/dns-resolver';
import { imapSettings } from '@tegami/imap-gateway';
import { popSettings } from '@tegami/pop-gateway';
import { inboundCheckSettings, smtpSettings } from '@tegami/smtp-ingress';
import { describe, expect, it } from 'vitest';

// main.ts spreads every service's settings into one object: a key two services share would
// quietly give one service the other's value (TEGAMI_DELIVERY_MTA_STS_PORT once became the
// policy host's port this way).

describe("the standalone's settings", () => {
  it('take each key from one service only', () => {
    const groups = [
      deliverySettings(),
      dnsResolverSettings(),
      imapSettings(),
      popSettings(),
      smtpSettings(),
      inboundCheckSettings(),
    ];
    // A key two groups both define is fine only when it reads the very same variables.
    const seen = new Map<string, Set<string>>();
    for (const group of groups) {
      for (const [key, reader] of Object.entries(group)) {
        seen.set(key, (seen.get(key) ?? new Set()).add(reader.variables.join(',')));
      }
    }
    const shared = [...seen]
      .filter(([, readers]) => readers.size > 1)
      .map(([key, readers]) => [key, [...readers]]);
    expect(shared).toEqual([]);
  });
});
