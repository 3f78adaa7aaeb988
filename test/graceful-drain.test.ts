import { freePort, LineClient, startTestDnsServer, type TestDnsServer } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSite, type Replica, startMailSite } from './support/mail-site.js';

// SIGTERM, as Kubernetes sends it before removing a pod: readiness fails at once, the
// listeners close, an SMTP transaction in progress finishes (its 250 means stored) and the
// next command gets 421, IMAP sessions get BYE, POP3 sessions are closed without applying
// their deletions, and the process exits 0.

let dns: TestDnsServer;
let site: MailSite;

beforeAll(async () => {
  dns = await startTestDnsServer({ records: {} });
  site = await startMailSite({
    domain: 'drain.test',
    ip: '127.0.0.60',
    mxPort: await freePort(),
    dnsUpstream: dns.address,
    users: { alice: 'alice-password' },
    pop: 1,
    imap: 1,
    env: { TEGAMI_POP_ALLOW_PLAINTEXT_AUTH: 'true', TEGAMI_SHUTDOWN_TIMEOUT_MS: '20s' },
  });
}, 120_000);

afterAll(async () => {
  await site?.stop();
  await dns?.stop();
});

const replica = (service: string): Replica => site.replicas.find((r) => r.service === service)!;

async function readiness(r: Replica): Promise<number> {
  return fetch(`http://127.0.0.1:${r.opsPort}/readyz`).then(
    (res) => res.status,
    () => 0,
  );
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('graceful drain on SIGTERM', () => {
  it('smtp-ingress: fails readiness, refuses new connections, finishes the transaction in progress, then 421', async () => {
    const ingress = site.ingresses[0]!;
    const mx = ingress.mxPort;
    const busy = await LineClient.connect(mx, { host: site.ip });
    await busy.readReply();
    await busy.command('EHLO busy.test');
    await busy.command('MAIL FROM:<bob@example.net>');
    expect((await busy.command('RCPT TO:<alice@drain.test>')).code).toBe(250);
    expect((await busy.command('DATA')).code).toBe(354);
    busy.write('Subject: sent across a shutdown\r\n\r\nfirst half\r\n');
    const idle = await LineClient.connect(mx, { host: site.ip });
    await idle.readReply();
    await idle.command('EHLO idle.test');

    expect(await readiness(ingress.replica)).toBe(200);
    ingress.replica.program().signal('SIGTERM');
    // Between transactions: told at once, and closed.
    expect((await idle.readReply(5_000)).text).toMatch(/^421 4\.3\.2 .*shutting down/);
    await idle.closedByServer(5_000);
    // Still serving the drain, but no longer ready: the Service stops sending connections.
    await until(async () => (await readiness(ingress.replica)) === 503, 2_000);
    await expect(LineClient.connect(mx, { host: site.ip })).rejects.toThrow(/ECONNREFUSED/);

    // The transaction in progress is still served to its end.
    busy.write('second half\r\n.\r\n');
    expect((await busy.readReply()).code).toBe(250);
    expect((await busy.command('MAIL FROM:<bob@example.net>')).text).toMatch(/^421 4\.3\.2 /);
    expect(await ingress.replica.program().exited(20_000)).toBe(0);
    const [message] = await site.waitForInbox('alice@drain.test', 1);
    expect(message).toContain('first half\r\nsecond half\r\n');
    await ingress.replica.start();
  }, 60_000);

  it('imap-gateway: every session gets BYE, whether in IDLE or not, and the process exits 0', async () => {
    const imap = replica('imap-gateway');
    const port = site.imaps[0]!.port;
    const login = async () => {
      const c = await LineClient.connect(port, { host: site.ip });
      await c.readLine();
      c.write('a LOGIN alice@drain.test alice-password\r\nb SELECT INBOX\r\n');
      while (!(await c.readLine()).startsWith('b OK')) {}
      return c;
    };
    const idling = await login();
    idling.write('c IDLE\r\n');
    expect(await idling.readLine()).toMatch(/^\+ /);
    const selected = await login();
    imap.program().signal('SIGTERM');
    expect(await idling.readLine(5_000)).toBe('* BYE server shutting down');
    expect(await selected.readLine(5_000)).toBe('* BYE server shutting down');
    await idling.closedByServer(5_000);
    expect(await imap.program().exited(20_000)).toBe(0);
    await imap.start();
  }, 60_000);

  it('pop-gateway: closes sessions without applying their deletions', async () => {
    const pop = replica('pop-gateway');
    const before = (await site.inbox('alice@drain.test')).length;
    expect(before).toBeGreaterThan(0);
    const c = await LineClient.connect(site.popPort, { host: site.ip });
    await c.readLine();
    c.write('USER alice@drain.test\r\n');
    await c.readLine();
    c.write('PASS alice-password\r\n');
    expect(await c.readLine()).toMatch(/^\+OK/);
    c.write('DELE 1\r\n');
    expect(await c.readLine()).toMatch(/^\+OK/);
    pop.program().signal('SIGTERM');
    await c.closedByServer(5_000);
    expect(await pop.program().exited(20_000)).toBe(0);
    expect(await site.inbox('alice@drain.test')).toHaveLength(before);
    await pop.start();
  }, 60_000);
});
