import { freePort, LineClient, runProgram, startTestDnsServer, type TestDnsServer } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSite, startMailSite } from './support/mail-site.js';

// POP-before-SMTP across processes: a POP3 login at the pop-gateway lets that client
// address relay through smtp-ingress's port 25 for the TTL, and no other address.

let dns: TestDnsServer;
let site: MailSite;
let mxPort: number;

beforeAll(async () => {
  mxPort = await freePort();
  dns = await startTestDnsServer({ records: {} });
  site = await startMailSite({
    domain: 'pbs.test',
    ip: '127.0.0.15',
    mxPort,
    dnsUpstream: dns.address,
    users: { alice: 'alice-password' },
    pop: true,
    env: { TEGAMI_POP_BEFORE_SMTP_TTL: '3s' },
  });
}, 120_000);

afterAll(async () => {
  await site?.stop();
  await dns?.stop();
});

/** MAIL and RCPT to another domain on port 25, from the given local address. */
async function relayFrom(localAddress: string): Promise<string> {
  const client = await LineClient.connect(mxPort, { host: site.ip, localAddress });
  try {
    await client.readReply();
    await client.command('EHLO client.test');
    await client.command('MAIL FROM:<alice@pbs.test>');
    return (await client.command('RCPT TO:<someone@elsewhere.test>')).text;
  } finally {
    client.close();
  }
}

async function popLogin(localAddress: string): Promise<string> {
  const run = await runProgram(
    'python3',
    [
      '-c',
      `import poplib,socket,sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), source_address=(sys.argv[3], 0))
p = poplib.POP3.__new__(poplib.POP3); p._debugging = 0; p.host = sys.argv[1]; p.port = int(sys.argv[2]); p.encoding = 'UTF-8'
p.sock = s; p.file = s.makefile('rb'); p.welcome = p._getresp()
p.user('alice@pbs.test'); print(p.pass_('alice-password').decode()); p.quit()`,
      site.ip,
      String(site.popPort),
      localAddress,
    ],
    { cwd: process.cwd(), env: process.env, stdin: '' },
  );
  return run.stdout + run.stderr;
}

describe('POP-before-SMTP', () => {
  it('lets the address that logged in over POP3 relay for the TTL, and no other', async () => {
    expect(await relayFrom('127.0.0.16')).toMatch(/^554 5\.7\.1 .*Relay access denied/);
    expect(await popLogin('127.0.0.16')).toMatch(/^\+OK alice@pbs\.test has 0 messages/);
    expect(await relayFrom('127.0.0.16')).toMatch(/^250 2\.1\.5 /);
    expect(await relayFrom('127.0.0.17')).toMatch(/^554 5\.7\.1 .*Relay access denied/);
    await new Promise((r) => setTimeout(r, 3_500));
    expect(await relayFrom('127.0.0.16')).toMatch(/^554 5\.7\.1 .*Relay access denied/);
  });
});
