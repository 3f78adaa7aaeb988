import { addDomain, createAccount } from '@tegami/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ehlo, SAMPLE, sendData } from './smtp-client.js';
import { DOMAIN, queueIdOf, startTestIngress, type TestIngress } from './test-ingress.js';

// RFC 5321 §4.5.1 and §4.1.1.3: postmaster@ each local domain, and a bare <Postmaster>
// for this host, reach someone; none of them is ever relayed.

let t: TestIngress;
beforeAll(async () => {
  t = await startTestIngress();
  await addDomain(t.store.pool, 'empty.test');
});
afterAll(() => t.stop());

/** Sends SAMPLE from a stranger on port 25 to `rcpt`; the RCPT reply, and the queued recipients. */
async function sendTo(ingress: TestIngress, rcpt: string) {
  const client = await ehlo(ingress.ports.mx);
  try {
    await client.command('MAIL FROM:<someone@elsewhere.example>');
    const answer = await client.command(`RCPT TO:${rcpt}`);
    if (answer.code !== 250) return { answer: answer.text, queued: [] };
    const done = await sendData(client, SAMPLE);
    const queued = await ingress.queued(queueIdOf(done.text));
    return { answer: answer.text, queued: queued!.recipients.map((r) => r.address) };
  } finally {
    client.close();
  }
}

describe('postmaster', () => {
  it('takes postmaster@ a local domain, which the domain’s first user receives through an alias', async () => {
    expect(await sendTo(t, `<PostMaster@${DOMAIN}>`)).toEqual({
      answer: '250 2.1.5 Ok',
      queued: [`postmaster@${DOMAIN}`],
    });
    const alias = await t.store.pool.query('SELECT destination FROM aliases WHERE address = $1', [
      `postmaster@${DOMAIN}`,
    ]);
    expect(alias.rows).toEqual([{ destination: `alice@${DOMAIN}` }]);
  });

  it('refuses postmaster@ a local domain that has nobody to read it, instead of bouncing it later', async () => {
    expect((await sendTo(t, '<postmaster@empty.test>')).answer).toBe(
      '550 5.1.1 <postmaster@empty.test>: Recipient address rejected: empty.test has no postmaster yet',
    );
    await createAccount(t.store.pool, 'first@empty.test', 'first-secret');
    expect((await sendTo(t, '<postmaster@empty.test>')).answer).toBe('250 2.1.5 Ok');
  });

  it('takes a bare <Postmaster> as postmaster@ the local domain the host name is in', async () => {
    // The host name is mx.example.test: not a local domain, but in one.
    expect(await sendTo(t, '<postmaster>')).toEqual({
      answer: '250 2.1.5 Ok',
      queued: [`postmaster@${DOMAIN}`],
    });
  });

  it('never relays <Postmaster> to a host name that is not local: the first domain added has it', async () => {
    const isp = await startTestIngress({ hostname: 'smtp.isp.example' });
    try {
      await addDomain(isp.store.pool, 'aaa.test');
      await createAccount(isp.store.pool, 'zed@aaa.test', 'zed-secret');
      expect(await sendTo(isp, '<Postmaster>')).toEqual({
        answer: '250 2.1.5 Ok',
        queued: [`postmaster@${DOMAIN}`],
      });
      expect((await sendTo(isp, '<postmaster@smtp.isp.example>')).answer).toBe(
        '554 5.7.1 <postmaster@smtp.isp.example>: Relay access denied',
      );
    } finally {
      await isp.stop();
    }
  });
});
