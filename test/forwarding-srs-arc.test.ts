import { Resolver } from 'node:dns/promises';
import {
  dkimRecordName,
  dkimRecordValue,
  srsForward,
  srsReverse,
  txtCharacterStrings,
} from '@tegami/protocol';
import { createDkimKey, traceMessages } from '@tegami/store';
import {
  arcVerifyIndependently,
  dkimSign,
  freePort,
  generateDkimKey,
  independentMailAuth,
  LineClient,
  type PeerTransaction,
  type ScriptedPeer,
  spfCheckIndependently,
  startScriptedPeer,
  startTestDnsServer,
  type TestDnsRecords,
  type TestDnsServer,
} from '@tegami/testing';
import { authenticate } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessSite, startInProcessSite } from './support/in-process-site.js';

/** The SRS address of a sender that SRS can carry. */
function srsAddress(...args: Parameters<typeof srsForward>): string {
  const result = srsForward(...args);
  if (result.kind === 'unsuitable') throw new Error(`SRS cannot carry ${args[0]}`);
  return result.address;
}

// Forwarding that survives SPF and DMARC. carol@origin.test (SPF -all for its own IP, DKIM,
// DMARC p=reject) writes to info@fwd.test, an alias of our site for carol@away.test. Our
// site relays it from its own IP: with carol's envelope sender SPF would fail at away.test;
// with the SRS address of fwd.test (whose SPF lists our IP) it passes, and the ARC set our
// site adds (signed with fwd.test's DKIM key) carries what we verified on arrival. A bounce
// to the SRS address comes back to carol; forged and expired SRS addresses are refused.
// The receiver's checks are pyspf and dkimpy (Debian's python3-spf and python3-dkim), and
// mailauth as a next hop would run it.

const tools = independentMailAuth();
const ORIGIN_IP = '127.0.0.71';
const SITE_IP = '127.0.0.72';
const AWAY_IP = '127.0.0.73';
const ORIGIN_MX_IP = '127.0.0.74';
const srs = { secrets: ['end-to-end-srs-secret-1'] };
const originKey = generateDkimKey('rsa');

let dns: TestDnsServer;
let zone: Record<string, TestDnsRecords[string]>;
let site: InProcessSite;
let mxPort: number;
let away: ScriptedPeer;
let originMx: ScriptedPeer;

beforeAll(async () => {
  if (!tools.available) throw new Error(`these tests need python3-dkim and python3-spf: ${tools.reason}`);
  mxPort = await freePort();
  zone = {
    'origin.test': {
      txt: [`v=spf1 ip4:${ORIGIN_IP} -all`],
      mx: [{ preference: 10, exchange: 'mx.origin.test' }],
    },
    'mx.origin.test': { a: [ORIGIN_MX_IP] },
    '_dmarc.origin.test': { txt: ['v=DMARC1; p=reject'] },
    'sel._domainkey.origin.test': { txt: [originKey.dnsTxt] },
    // Our site: its SPF allows its own relay address, which forwarding with SRS relies on.
    'fwd.test': { txt: [`v=spf1 ip4:${SITE_IP} -all`], mx: [{ preference: 10, exchange: 'mx.fwd.test' }] },
    'mx.fwd.test': { a: [SITE_IP] },
    'away.test': { mx: [{ preference: 10, exchange: 'mx.away.test' }] },
    'mx.away.test': { a: [AWAY_IP] },
  };
  dns = await startTestDnsServer({ records: zone });
  site = await startInProcessSite({
    domain: 'fwd.test',
    ip: SITE_IP,
    mxPort,
    dnsUpstream: dns.address,
    aliases: { info: ['carol@away.test'] },
    srs,
  });
  // fwd.test's DKIM key, published as `tegami dkim create` prints it: ARC seals with it.
  const key = await createDkimKey(site.store.pool, site.keyring, {
    domain: 'fwd.test',
    algorithm: 'rsa-sha256',
  });
  zone[dkimRecordName(key.selector, key.domain)] = {
    txt: [txtCharacterStrings(dkimRecordValue(key.algorithm, key.publicKey))],
  };
  dns.setRecords(zone);
  away = await startScriptedPeer({}, AWAY_IP, mxPort);
  originMx = await startScriptedPeer({}, ORIGIN_MX_IP, mxPort);
}, 120_000);

afterAll(async () => {
  await site?.stop();
  await away?.stop();
  await originMx?.stop();
  await dns?.stop();
});

async function smtp(from: string, commands: readonly string[], message?: string) {
  const client = await LineClient.connect(mxPort, { host: SITE_IP, localAddress: from });
  try {
    expect((await client.readReply()).code).toBe(220);
    const replies = [];
    for (const command of commands) replies.push(await client.command(command));
    if (message !== undefined) {
      expect((await client.command('DATA')).code).toBe(354);
      client.write(`${message.replace(/(^|\r\n)\./g, '$1..')}\r\n.\r\n`);
      replies.push(await client.readReply());
    }
    await client.command('QUIT');
    return replies;
  } finally {
    client.close();
  }
}

async function arrival(peer: ScriptedPeer, count: number): Promise<PeerTransaction> {
  const deadline = Date.now() + 30_000;
  while (peer.transactions.length < count) {
    if (Date.now() > deadline)
      throw new Error(`${peer.host} got ${peer.transactions.length} of ${count} messages`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return peer.transactions[count - 1]!;
}

let forwarded: PeerTransaction;
let queueId: string;

describe('mail forwarded through an alias to another domain', () => {
  it('arrives from an SRS address of the alias domain, whose SPF passes for our relay', async () => {
    const raw = await dkimSign(
      Buffer.from(
        'From: Carol <carol@origin.test>\r\nTo: info@fwd.test\r\nSubject: forwarded\r\n' +
          'Date: Thu, 03 Dec 2026 12:00:00 +0000\r\nMessage-ID: <fwd.1@origin.test>\r\n\r\nHello through the alias.\r\n',
      ),
      { domain: 'origin.test', selector: 'sel', key: originKey, canonicalization: 'relaxed/relaxed' },
    );
    const replies = await smtp(
      ORIGIN_IP,
      ['EHLO mx.origin.test', 'MAIL FROM:<carol@origin.test>', 'RCPT TO:<info@fwd.test>'],
      raw.toString('latin1'),
    );
    expect(replies.map((r) => r.code)).toEqual([250, 250, 250, 250]);
    queueId = /queued as (\S+)/.exec(replies[3]!.text)![1]!;
    forwarded = await arrival(away, 1);

    expect(forwarded.rcpts.map((r) => r.address)).toEqual(['carol@away.test']);
    expect(forwarded.mailFrom).toMatch(/^SRS0=[^=]{4}=[A-Z2-7]{2}=origin\.test=carol@fwd\.test$/);
    expect(srsReverse(forwarded.mailFrom, srs, new Date())).toEqual({
      kind: 'decoded',
      address: 'carol@origin.test',
    });
    const receiverSpf = await spfCheckIndependently(
      { ip: SITE_IP, sender: forwarded.mailFrom, helo: site.hostname },
      zone,
    );
    expect(receiverSpf.result).toBe('pass');
    // What the receiver would have said to the original sender from our address.
    const unrewritten = await spfCheckIndependently(
      { ip: SITE_IP, sender: 'carol@origin.test', helo: site.hostname },
      zone,
    );
    expect(unrewritten.result).toBe('fail');
  });

  it('carries an ARC set (cv=none) signed by the alias domain that the next hop validates', async () => {
    const verdict = await arcVerifyIndependently(forwarded.data, zone);
    expect(verdict.cv, verdict.reason).toBe('pass');
    expect(verdict.instances).toMatchObject([
      { instance: 1, cv: 'none', amsValid: true, asValid: true, amsDomain: 'fwd.test', asDomain: 'fwd.test' },
    ]);
    // Its ARC-Authentication-Results are our inbound verdicts on carol's message.
    const aar = /^ARC-Authentication-Results: ([\s\S]*?)\r\n(?![ \t])/m
      .exec(forwarded.data.toString())![1]!
      .replace(/\r\n[ \t]+/g, ' ');
    expect(aar).toMatch(/^i=1; mx\.fwd\.test; /);
    expect(aar).toMatch(/spf=pass [^;]*smtp\.mailfrom=carol@origin\.test/);
    expect(aar).toMatch(/dkim=pass [^;]*header\.i=@origin\.test/);
    expect(aar).toMatch(/arc=none/);
    expect(aar).toMatch(/dmarc=pass [^;]*header\.from=origin\.test/);

    // A next hop running mailauth (asking the test DNS server) sees the same, and SPF and
    // DMARC pass there too.
    const nextHopDns = new Resolver();
    nextHopDns.setServers([dns.address]);
    const next = await authenticate(forwarded.data, {
      ip: SITE_IP,
      helo: site.hostname,
      sender: forwarded.mailFrom,
      mta: 'mx.away.test',
      resolver: (name: string, type: string) => nextHopDns.resolve(name, type) as Promise<string[]>,
    });
    expect(next.arc).toMatchObject({ status: { result: 'pass' } });
    expect(next.spf).toMatchObject({ status: { result: 'pass' } });
    expect(next.dmarc).toMatchObject({ status: { result: 'pass' } });
  });

  it('says in the trace how the copy went out', async () => {
    const [trace] = await traceMessages(site.store.pool, queueId);
    const carol = trace!.recipients.find((r) => r.recipient === 'carol@away.test');
    expect(carol?.expandedFrom).toBe('info@fwd.test');
    expect(carol?.attempts.at(-1)?.reply).toContain(
      `(forwarded from <${forwarded.mailFrom}>, ARC i=1 cv=none by fwd.test)`,
    );
  });

  it('takes a bounce to the SRS address and relays it back to the original sender', async () => {
    const replies = await smtp(
      AWAY_IP,
      ['EHLO mx.away.test', 'MAIL FROM:<>', `RCPT TO:<${forwarded.mailFrom}>`],
      'From: Mail Delivery System <MAILER-DAEMON@mx.away.test>\r\nTo: carol@origin.test\r\n' +
        'Subject: Undelivered Mail Returned to Sender\r\nDate: Thu, 03 Dec 2026 12:01:00 +0000\r\n' +
        'Message-ID: <bounce.1@mx.away.test>\r\n\r\ncarol@away.test: mailbox full\r\n',
    );
    expect(replies.map((r) => r.code)).toEqual([250, 250, 250, 250]);
    const bounce = await arrival(originMx, 1);
    expect(bounce.mailFrom).toBe('');
    expect(bounce.rcpts.map((r) => r.address)).toEqual(['carol@origin.test']);
    expect(bounce.data.toString()).toContain('carol@away.test: mailbox full');
  });

  it('refuses bounces to forged and to expired SRS addresses with 550 5.1.1', async () => {
    const forged = srsAddress(
      'victim@elsewhere.test',
      'fwd.test',
      { secrets: ['not-the-site-secret'] },
      new Date(),
    );
    const expired = srsAddress('carol@origin.test', 'fwd.test', srs, new Date(Date.now() - 22 * 86_400_000));
    const replies = await smtp(AWAY_IP, [
      'EHLO mx.away.test',
      'MAIL FROM:<>',
      `RCPT TO:<${forged}>`,
      `RCPT TO:<${expired}>`,
    ]);
    expect(replies[2]!.text).toBe(
      `550 5.1.1 <${forged}>: Recipient address rejected: SRS address with an invalid signature (not one of ours)`,
    );
    expect(replies[3]!.text).toBe(
      `550 5.1.1 <${expired}>: Recipient address rejected: SRS address has expired (bounces are accepted for 21 days)`,
    );
  });
});
