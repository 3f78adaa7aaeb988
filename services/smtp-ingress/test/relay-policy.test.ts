import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authPlain, ehlo, SAMPLE, sendData } from './smtp-client.js';
import { DOMAIN, startTestIngress, type TestIngress, USERS } from './test-ingress.js';

let t: TestIngress;
beforeAll(async () => {
  t = await startTestIngress();
});
afterAll(() => t.stop());

type Listener = 'mx' | 'submission' | 'submissions';
type Recipient = 'local user' | 'local alias' | 'unknown local' | 'remote';
const RECIPIENTS: Record<Recipient, string> = {
  'local user': `bob@${DOMAIN}`,
  'local alias': `sales@${DOMAIN}`,
  'unknown local': `nobody@${DOMAIN}`,
  remote: 'someone@elsewhere.example',
};

// Every combination of listener, authentication and recipient domain: the server must
// never relay to another domain for a client that has not authenticated.
const cases: [Listener, boolean, Recipient, number, string][] = [];
for (const listener of ['mx', 'submission', 'submissions'] as const) {
  for (const authenticated of [false, true]) {
    for (const recipient of Object.keys(RECIPIENTS) as Recipient[]) {
      let expected: [number, string];
      if (listener === 'mx') {
        // Port 25 offers no AUTH: an AUTH attempt is refused and the policy is the anonymous one.
        expected =
          recipient === 'remote'
            ? [554, '5.7.1']
            : recipient === 'unknown local'
              ? [550, '5.1.1']
              : [250, '2.1.5'];
      } else if (!authenticated) {
        expected = [530, '5.7.0']; // at MAIL already
      } else {
        expected = recipient === 'unknown local' ? [550, '5.1.1'] : [250, '2.1.5'];
      }
      cases.push([listener, authenticated, recipient, ...expected]);
    }
  }
}

describe('not an open relay', () => {
  it.each(cases)(
    '%s, authenticated %s, to a %s: %i %s',
    async (listener, authenticated, recipient, code, enhanced) => {
      const client = await ehlo(t.ports[listener], { tls: listener === 'submissions' });
      try {
        if (authenticated) {
          const auth = await authPlain(client, `alice@${DOMAIN}`, USERS.alice);
          expect(auth.code).toBe(listener === 'mx' ? 503 : 235);
        }
        const mail = await client.command(`MAIL FROM:<alice@${DOMAIN}>`);
        if (code === 530) {
          expect(mail.text).toBe('530 5.7.0 Authentication required');
          return;
        }
        expect(mail.code).toBe(250);
        const rcpt = await client.command(`RCPT TO:<${RECIPIENTS[recipient]}>`);
        expect(rcpt.text.slice(0, 9)).toBe(`${code} ${enhanced}`);
      } finally {
        client.close();
      }
    },
  );

  it('on port 25 queues mail for a local user, with the job on the queue', async () => {
    const client = await ehlo(t.ports.mx);
    await client.command('MAIL FROM:<someone@elsewhere.example>');
    await client.command(`RCPT TO:<bob@${DOMAIN}>`);
    const done = await sendData(client, SAMPLE);
    expect(done.text).toMatch(/^250 2\.0\.0 Ok: queued as [0-9A-Z]{16}$/);
    client.close();
  });

  it('refuses a submission sender that is not the authenticated user or an alias of theirs', async () => {
    const client = await ehlo(t.ports.submission);
    await authPlain(client, `alice@${DOMAIN}`, USERS.alice);
    expect((await client.command(`MAIL FROM:<bob@${DOMAIN}>`)).text).toBe(
      `553 5.7.1 <bob@${DOMAIN}>: Sender address rejected: not owned by user alice@${DOMAIN}`,
    );
    expect((await client.command(`MAIL FROM:<sales@${DOMAIN}>`)).code).toBe(250);
    client.close();
  });
});
