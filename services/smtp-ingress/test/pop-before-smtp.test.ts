import { grantPopBeforeSmtp } from '@tegami/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ehlo } from './smtp-client.js';
import { DOMAIN, startTestIngress, type TestIngress } from './test-ingress.js';

// POP-before-SMTP on the ingress side: a grant for the client's address (which the
// pop-gateway writes after a POP3 login) lets it relay through port 25 without AUTH until
// it expires.

let t: TestIngress;
beforeAll(async () => {
  t = await startTestIngress({ popBeforeSmtp: true });
});
afterAll(() => t.stop());

async function tryRelay(listener: 'mx' | 'submission'): Promise<string> {
  const client = await ehlo(t.ports[listener]);
  try {
    const mail = await client.command(`MAIL FROM:<alice@${DOMAIN}>`);
    if (mail.code !== 250) return mail.text;
    return (await client.command('RCPT TO:<someone@elsewhere.example>')).text;
  } finally {
    client.close();
  }
}

describe('POP-before-SMTP', () => {
  it('relays for a granted address until the grant expires, and never for another address', async () => {
    await grantPopBeforeSmtp(t.store.pool, '192.0.2.55', 60_000);
    expect(await tryRelay('mx')).toMatch(/^554 5\.7\.1 .*Relay access denied/);
    expect(await tryRelay('submission')).toBe('530 5.7.0 Authentication required');

    await grantPopBeforeSmtp(t.store.pool, '127.0.0.1', 1_500);
    expect(await tryRelay('mx')).toMatch(/^250 2\.1\.5 /);
    // Submission (RFC 6409) wants AUTH whatever POP3 did.
    expect(await tryRelay('submission')).toBe('530 5.7.0 Authentication required');

    await new Promise((r) => setTimeout(r, 1_700));
    expect(await tryRelay('mx')).toMatch(/^554 5\.7\.1 .*Relay access denied/);
    expect(await tryRelay('submission')).toBe('530 5.7.0 Authentication required');
  });
});
