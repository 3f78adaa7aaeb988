import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { srsReverse } from '@tegami/protocol';
import {
  freePort,
  LineClient,
  type ScriptedPeer,
  startScriptedPeer,
  startTestDnsServer,
  type TestDnsServer,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSite, startMailSite } from './support/mail-site.js';

// TEGAMI_SRS_SECRET_FILE as the chart gives it: smtp-ingress and the delivery-worker as
// processes of their own, reading the same secret file. The delivery-worker sends what an
// alias forwards from an SRS address; smtp-ingress takes the bounce to it back.
// (forwarding-srs-arc.test.ts checks SPF and ARC at the receiver.)

const SECRET = 'processes-test-srs-secret';
const scratch = mkdtempSync(join(tmpdir(), 'tegami-srs-processes-'));
let dns: TestDnsServer;
let site: MailSite;
let away: ScriptedPeer;
let origin: ScriptedPeer;
let mxPort: number;

beforeAll(async () => {
  mxPort = await freePort();
  dns = await startTestDnsServer({
    records: {
      'away.test': { mx: [{ preference: 10, exchange: 'mx.away.test' }] },
      'mx.away.test': { a: ['127.0.0.82'] },
      'origin.test': { mx: [{ preference: 10, exchange: 'mx.origin.test' }] },
      'mx.origin.test': { a: ['127.0.0.83'] },
    },
  });
  const secretFile = join(scratch, 'srs.secret');
  writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
  away = await startScriptedPeer({}, '127.0.0.82', mxPort);
  origin = await startScriptedPeer({}, '127.0.0.83', mxPort);
  site = await startMailSite({
    domain: 'fwd.test',
    ip: '127.0.0.81',
    mxPort,
    dnsUpstream: dns.address,
    aliases: { info: ['carol@away.test'] },
    env: { TEGAMI_SRS_SECRET_FILE: secretFile },
  });
}, 120_000);

afterAll(async () => {
  await site?.stop();
  await away?.stop();
  await origin?.stop();
  await dns?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

async function send(from: string, to: string): Promise<string[]> {
  const client = await LineClient.connect(mxPort, { host: '127.0.0.81' });
  try {
    const replies = [(await client.readReply()).text];
    for (const command of ['EHLO client.test', `MAIL FROM:<${from}>`, `RCPT TO:<${to}>`, 'DATA'])
      replies.push((await client.command(command)).text);
    client.write(`From: <${from || 'mailer-daemon@mx.away.test'}>\r\nSubject: hop\r\n\r\nHello.\r\n.\r\n`);
    replies.push((await client.readReply()).text);
    return replies;
  } finally {
    client.close();
  }
}

async function arrival(peer: ScriptedPeer) {
  const deadline = Date.now() + 30_000;
  while (peer.transactions.length === 0) {
    if (Date.now() > deadline)
      throw new Error(`nothing arrived; worker said:\n${site.worker().output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return peer.transactions[0]!;
}

describe('forwarding with the services as processes', () => {
  it('sends from an SRS address of the alias domain, and returns the bounce to it to the sender', async () => {
    expect((await send('carol@origin.test', 'info@fwd.test')).at(-1)).toMatch(/^250 /);
    const forwarded = await arrival(away);
    expect(forwarded.mailFrom).toMatch(/^SRS0=[^=]{4}=[A-Z2-7]{2}=origin\.test=carol@fwd\.test$/);
    expect(srsReverse(forwarded.mailFrom, { secrets: [SECRET] }, new Date())).toEqual({
      kind: 'decoded',
      address: 'carol@origin.test',
    });

    expect((await send('', forwarded.mailFrom)).at(-1)).toMatch(/^250 /);
    const bounce = await arrival(origin);
    expect(bounce.mailFrom).toBe('');
    expect(bounce.rcpts.map((r) => r.address)).toEqual(['carol@origin.test']);
  });
});
