import { freePort, LineClient, startTestDnsServer, type TestDnsServer } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSite, startMailSite } from './support/mail-site.js';

// PROXY protocol behind a load balancer, across processes: smtp-ingress, pop-gateway and
// imap-gateway trust headers from 127.0.0.41 only (the "load balancer"), and use the client
// address a header carries for Received, relay rules, POP-before-SMTP and per-address
// limits. Anyone else is served as itself, and closed if it sends a header.

const SITE_IP = '127.0.0.40';
const BALANCER = '127.0.0.41';
const STRANGER = '127.0.0.42';

let dns: TestDnsServer;
let site: MailSite;
let mxPort: number;

beforeAll(async () => {
  mxPort = await freePort();
  dns = await startTestDnsServer({ records: {} });
  site = await startMailSite({
    domain: 'proxy.test',
    ip: SITE_IP,
    mxPort,
    dnsUpstream: dns.address,
    users: { alice: 'alice-password' },
    pop: true,
    imap: 1,
    env: {
      TEGAMI_PROXY_PROTOCOL: 'true',
      TEGAMI_PROXY_TRUSTED_CIDRS: `${BALANCER}/32`,
      TEGAMI_POP_BEFORE_SMTP_TTL: '1m',
      TEGAMI_IMAP_MAX_CONNECTIONS_PER_IP: '1',
      // Clients are no longer loopback once their real address is known: USER/PASS in
      // clear must be allowed for this plain-TCP test.
      TEGAMI_POP_ALLOW_PLAINTEXT_AUTH: 'true',
    },
  });
}, 120_000);

afterAll(async () => {
  await site?.stop();
  await dns?.stop();
});

function v1(source: string, port: number, sourcePort = 40_000): string {
  return `PROXY TCP4 ${source} ${SITE_IP} ${sourcePort} ${port}\r\n`;
}

/** A PROXY v2 header (PROXY command, TCP over IPv4), as cloud load balancers send. */
function v2(source: string, port: number, sourcePort = 40_000): Buffer {
  const signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  const addresses = Buffer.alloc(12);
  Buffer.from(`${source}.${SITE_IP}`.split('.').map(Number)).copy(addresses);
  addresses.writeUInt16BE(sourcePort, 8);
  addresses.writeUInt16BE(port, 10);
  return Buffer.concat([signature, Buffer.from([0x21, 0x11, 0x00, 12]), addresses]);
}

/** A connection through the load balancer: the header, then the protocol. */
async function viaBalancer(port: number, header: string | Buffer): Promise<LineClient> {
  const client = await LineClient.connect(port, { host: SITE_IP, localAddress: BALANCER });
  client.write(header);
  return client;
}

async function relayAttempt(source: string): Promise<string> {
  const client = await viaBalancer(mxPort, v1(source, mxPort));
  try {
    expect((await client.readReply()).code).toBe(220);
    await client.command('EHLO client.test');
    await client.command('MAIL FROM:<alice@proxy.test>');
    return (await client.command('RCPT TO:<someone@elsewhere.test>')).text;
  } finally {
    client.close();
  }
}

describe('PROXY protocol', () => {
  it('SMTP: the header’s address is the client in Received and in the relay rules', async () => {
    const client = await viaBalancer(mxPort, v1('203.0.113.7', mxPort));
    expect((await client.readReply()).code).toBe(220);
    expect((await client.command('EHLO client.example.net')).lines[0]).toContain('[203.0.113.7]');
    await client.command('MAIL FROM:<bob@example.net>');
    expect((await client.command('RCPT TO:<alice@proxy.test>')).code).toBe(250);
    expect((await client.command('DATA')).code).toBe(354);
    expect((await client.command('Subject: via the balancer\r\n\r\nhello\r\n.')).code).toBe(250);
    client.close();
    const [message] = await site.waitForInbox('alice@proxy.test', 1);
    expect(message).toMatch(/^Received: from client\.example\.net \([^)]*\[203\.0\.113\.7\]/m);
    expect(message).not.toContain(BALANCER);
    // Relay is decided for the real client, which has no right to it.
    expect(await relayAttempt('203.0.113.7')).toMatch(/^554 5\.7\.1 .*Relay access denied/);
  });

  it('POP3 (v2 header) grants POP-before-SMTP to the real client address, and only to it', async () => {
    const pop = await viaBalancer(site.popPort, v2('198.51.100.9', site.popPort));
    expect(await pop.readLine()).toMatch(/^\+OK /);
    pop.write('USER alice@proxy.test\r\n');
    expect(await pop.readLine()).toMatch(/^\+OK/);
    pop.write('PASS alice-password\r\n');
    expect(await pop.readLine()).toMatch(/^\+OK alice@proxy\.test has \d+ messages/);
    pop.write('QUIT\r\n');
    expect(await pop.readLine()).toMatch(/^\+OK/);
    pop.close();
    expect(await relayAttempt('198.51.100.9')).toMatch(/^250 2\.1\.5 /);
    expect(await relayAttempt('198.51.100.10')).toMatch(/^554 5\.7\.1 .*Relay access denied/);
  });

  it('IMAP: limits per address count the real clients, not the balancer', async () => {
    const port = site.imaps[0]!.port;
    const first = await viaBalancer(port, v1('192.0.2.1', port, 1001));
    expect(await first.readLine()).toMatch(/^\* OK /);
    const other = await viaBalancer(port, v1('192.0.2.2', port, 1002));
    expect(await other.readLine()).toMatch(/^\* OK /);
    const again = await viaBalancer(port, v1('192.0.2.1', port, 1003));
    expect(await again.readLine()).toMatch(/^\* BYE \[UNAVAILABLE\] too many connections from your address/);
    for (const c of [first, other, again]) c.close();
  });

  it('serves a peer it does not trust as itself, and closes it when it sends a PROXY header', async () => {
    const plain = await LineClient.connect(mxPort, { host: SITE_IP, localAddress: STRANGER });
    expect((await plain.readReply()).code).toBe(220);
    expect((await plain.command('EHLO stranger.test')).lines[0]).toContain(`[${STRANGER}]`);
    plain.close();
    for (const port of [mxPort, site.popPort, site.imaps[0]!.port]) {
      const forged = await LineClient.connect(port, { host: SITE_IP, localAddress: STRANGER });
      await forged.readLine(); // the greeting: the server speaks first
      forged.write(v1('10.9.8.7', port));
      await forged.closedByServer(5_000);
      forged.close();
    }
  });

  it('closes a connection from the balancer that sends no header', async () => {
    const silent = await LineClient.connect(mxPort, { host: SITE_IP, localAddress: BALANCER });
    // No greeting: the server waits for the header (5 s), then gives up.
    await silent.closedByServer(8_000);
    silent.close();
  }, 15_000);
});
