import { addAlias, findAccount } from '@tegami/store';
import { type ScriptedPeer, startScriptedPeer } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeResolver, type TestResolver } from './fake-resolver.js';
import { DOMAIN, startTestWorker, type TestWorker } from './test-worker.js';

// A REQUIRETLS message in the whole worker (RFC 8689): it stays on our system when local,
// is returned when no MX host qualifies (here no TLS policy vouches for any), and its notice
// returns headers only and is tagged REQUIRETLS itself (§5).

let t: TestWorker;
let resolver: TestResolver;
let peer: ScriptedPeer;

beforeAll(async () => {
  resolver = createFakeResolver();
  t = await startTestWorker(resolver);
  // Offers REQUIRETLS, but over no TLS and by an MX record nothing authenticates.
  peer = await startScriptedPeer({ extensions: ['REQUIRETLS'] }, '127.0.0.70', t.smtpPort);
  resolver.setMx('remote.test', { hosts: ['mx.remote.test'] });
  resolver.setAddresses('mx.remote.test', ['127.0.0.70']);
  await addAlias(t.store.pool, `away@${DOMAIN}`, ['carol@remote.test']);
});

afterAll(async () => {
  await t?.stop();
  await peer?.stop();
});

async function noticeAbout(queueId: string): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = (await t.inbox(`alice@${DOMAIN}`)).find((m) => m.includes(`X-Tegami-Queue-ID: ${queueId}`));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no notice about ${queueId}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a REQUIRETLS message in the delivery-worker', () => {
  it('is delivered locally, returned for a remote recipient and an alias leading away, headers only', async () => {
    const alice = (await findAccount(t.store.pool, `alice@${DOMAIN}`))!;
    const queueId = await t.submit({
      from: `alice@${DOMAIN}`,
      to: [`bob@${DOMAIN}`, 'dave@remote.test', `away@${DOMAIN}`],
      raw: `From: <alice@${DOMAIN}>\r\nSubject: for your eyes\r\n\r\nSECRET-PAYLOAD\r\n`,
      // RET=FULL from an authenticated sender would return the whole message; not with REQUIRETLS.
      ret: 'FULL',
      authenticatedAs: alice.id,
      requireTls: true,
    });
    const trace = await t.settled(queueId);
    const byRecipient = Object.fromEntries(trace.recipients.map((r) => [r.recipient, r]));
    expect(byRecipient[`bob@${DOMAIN}`]).toMatchObject({ status: 'delivered' });
    const lastReply = (recipient: string) => byRecipient[recipient]?.attempts.at(-1)?.reply;
    expect(byRecipient['dave@remote.test']?.status).toBe('bounced');
    expect(lastReply('dave@remote.test')).toMatch(/^550 5\.7\.30 REQUIRETLS support required/);
    // §4.1: the alias's copy is tagged as the message was.
    expect(byRecipient['carol@remote.test']?.status).toBe('bounced');
    expect(lastReply('carol@remote.test')).toMatch(/^550 5\.7\.30 /);
    expect(peer.connections()).toBe(0);
    expect((await t.inbox(`bob@${DOMAIN}`)).some((m) => m.includes('SECRET-PAYLOAD'))).toBe(true);

    // One notice per pass: the alias's destination failed in the pass after its expansion.
    const rows = await t.store.pool.query('SELECT require_tls FROM queue WHERE reports_on = $1', [queueId]);
    expect(rows.rows).toEqual([{ require_tls: true }, { require_tls: true }]);
    await noticeAbout(queueId);
    const notices = (await t.inbox(`alice@${DOMAIN}`)).filter((m) =>
      m.includes(`X-Tegami-Queue-ID: ${queueId}`),
    );
    expect(notices.join('')).toContain(
      'REQUIRETLS support required: MX host mx.remote.test is not authenticated',
    );
    for (const notice of notices) {
      expect(notice).toContain('Status: 5.7.30');
      expect(notice).toContain('Content-Type: text/rfc822-headers');
      expect(notice).toContain('Subject: for your eyes');
      expect(notice).not.toContain('SECRET-PAYLOAD');
    }
  });

  it('leaves the notices of an ordinary message untagged', async () => {
    const queueId = await t.submit({ from: `alice@${DOMAIN}`, to: [`nobody@${DOMAIN}`] });
    await t.settled(queueId);
    await noticeAbout(queueId);
    const rows = await t.store.pool.query('SELECT require_tls FROM queue WHERE reports_on = $1', [queueId]);
    expect(rows.rows).toEqual([{ require_tls: false }]);
  });
});
