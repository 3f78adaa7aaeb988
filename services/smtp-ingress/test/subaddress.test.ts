import { setPlusAddressing } from '@tegami/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ehlo, SAMPLE, sendData } from './smtp-client.js';
import { DOMAIN, queueIdOf, startTestIngress, type TestIngress } from './test-ingress.js';

// RFC 5233 subaddresses at RCPT: user+tag@domain is taken for the user (or the alias) it
// extends, and queued as sent, so Delivered-To and Sieve's :detail still see the tag.

let t: TestIngress;
beforeAll(async () => {
  t = await startTestIngress();
});
afterAll(() => t.stop());

async function sendTo(ingress: TestIngress, rcpt: string) {
  const client = await ehlo(ingress.ports.mx);
  try {
    await client.command('MAIL FROM:<someone@elsewhere.example>');
    const answer = await client.command(`RCPT TO:<${rcpt}>`);
    if (answer.code !== 250) return { answer: answer.text, queued: [] };
    const done = await sendData(client, SAMPLE);
    const queued = await ingress.queued(queueIdOf(done.text));
    return { answer: answer.text, queued: queued!.recipients.map((r) => r.address) };
  } finally {
    client.close();
  }
}

describe('subaddresses at RCPT', () => {
  it('takes user+tag and alias+tag, queued with the tag', async () => {
    expect(await sendTo(t, `alice+lists@${DOMAIN}`)).toEqual({
      answer: '250 2.1.5 Ok',
      queued: [`alice+lists@${DOMAIN}`],
    });
    expect((await sendTo(t, `sales+q3@${DOMAIN}`)).answer).toBe('250 2.1.5 Ok');
  });

  it('refuses a tag on an unknown user', async () => {
    expect((await sendTo(t, `nobody+x@${DOMAIN}`)).answer).toBe(
      `550 5.1.1 <nobody+x@${DOMAIN}>: Recipient address rejected: User unknown`,
    );
  });

  it('refuses user+tag where the domain turned subaddresses off, or the delimiter is off', async () => {
    await setPlusAddressing(t.store.pool, DOMAIN, false);
    try {
      expect((await sendTo(t, `alice+lists@${DOMAIN}`)).answer).toMatch(/^550 5\.1\.1 /);
      expect((await sendTo(t, `alice@${DOMAIN}`)).answer).toBe('250 2.1.5 Ok');
    } finally {
      await setPlusAddressing(t.store.pool, DOMAIN, true);
    }
    const off = await startTestIngress({ recipientDelimiter: '' });
    try {
      expect((await sendTo(off, `alice+lists@${DOMAIN}`)).answer).toMatch(/^550 5\.1\.1 /);
    } finally {
      await off.stop();
    }
    const dash = await startTestIngress({ recipientDelimiter: '-' });
    try {
      expect((await sendTo(dash, `alice-lists@${DOMAIN}`)).answer).toBe('250 2.1.5 Ok');
    } finally {
      await dash.stop();
    }
  });
});
