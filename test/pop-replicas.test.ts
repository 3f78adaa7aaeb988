import { freePort, LineClient, runProgram, startTestDnsServer, type TestDnsServer } from '@tegami/testing';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSite, startMailSite } from './support/mail-site.js';

// Two pop-gateway processes on one Postgres, as two replicas in Kubernetes: the maildrop
// lock holds across them, a deletion through one is what the other shows next and what an
// IMAP session (imap-gateway process) sees at once, and a replica that dies holding the
// lock lets go of it when its lease runs out.

let dns: TestDnsServer;
let site: MailSite;
let mxPort: number;

beforeAll(async () => {
  mxPort = await freePort();
  dns = await startTestDnsServer({ records: {} });
  site = await startMailSite({
    domain: 'replicas.test',
    ip: '127.0.0.16',
    mxPort,
    dnsUpstream: dns.address,
    users: { alice: 'alice-password' },
    pop: 2,
    imap: 1,
  });
  for (let i = 1; i <= 3; i++) {
    const run = await runProgram(
      'swaks',
      [
        '--server',
        `${site.ip}:${mxPort}`,
        '--from',
        'sender@elsewhere.test',
        '--to',
        'alice@replicas.test',
        '--header',
        `Subject: replica test ${i}`,
      ],
      { cwd: process.cwd(), env: process.env, stdin: '' },
    );
    if (run.code !== 0) throw new Error(run.stdout + run.stderr);
  }
  await site.waitForInbox('alice@replicas.test', 3);
}, 120_000);

afterAll(async () => {
  await site?.stop();
  await dns?.stop();
});

async function login(port: number): Promise<{ client: LineClient; answer: string }> {
  const client = await LineClient.connect(port, { host: site.ip });
  await client.readLine();
  client.write('USER alice@replicas.test\r\nPASS alice-password\r\n');
  await client.readLine();
  return { client, answer: await client.readLine() };
}

describe('pop-gateway replicas', () => {
  it('hold one lock between them, and a DELE + QUIT on one is gone on the other and from IMAP', async () => {
    const [a, b] = site.pops;
    const imap = new ImapFlow({
      host: site.ip,
      port: site.imaps[0]!.port,
      secure: false,
      auth: { user: 'alice@replicas.test', pass: 'alice-password' },
      logger: false,
    });
    await imap.connect();
    const opened = await imap.mailboxOpen('INBOX');
    expect(opened.exists).toBe(3);
    const expunged: number[] = [];
    imap.on('expunge', (e) => expunged.push(e.seq ?? 0));
    const idle = imap.idle();
    const first = await login(a!.port);
    expect(first.answer).toBe('+OK alice@replicas.test has 3 messages');
    const second = await login(b!.port);
    expect(second.answer).toMatch(/^-ERR \[IN-USE\] /);
    second.client.close();

    first.client.write('DELE 1\r\nQUIT\r\n');
    expect(await first.client.readLine()).toMatch(/^\+OK /);
    expect(await first.client.readLine()).toMatch(/^\+OK /);
    await first.client.closedByServer();
    // The IMAP session in IDLE is told at once (the issue asks within a second).
    const quitAt = Date.now();
    while (expunged.length === 0 && Date.now() - quitAt < 1_000) await new Promise((r) => setTimeout(r, 20));
    expect(expunged).toEqual([1]);
    await imap.logout();
    await idle.catch(() => undefined);

    const third = await login(b!.port);
    expect(third.answer).toBe('+OK alice@replicas.test has 2 messages');
    third.client.write('TOP 1 0\r\n');
    expect(await third.client.readLine()).toMatch(/^\+OK/);
    const headers: string[] = [];
    for (let line = await third.client.readLine(); line !== '.'; line = await third.client.readLine())
      headers.push(line);
    expect(headers).toContain('Subject: replica test 2');
    third.client.write('QUIT\r\n');
    await third.client.readLine();
    expect(await site.inbox('alice@replicas.test')).toHaveLength(2);
  });

  it('lets the lock of a replica killed mid-session go when its lease runs out, deleting nothing', async () => {
    const [a, b] = site.pops;
    const held = await login(b!.port);
    expect(held.answer).toMatch(/^\+OK /);
    held.client.write('DELE 1\r\n');
    expect(await held.client.readLine()).toMatch(/^\+OK /);
    b!.program.signal('SIGKILL');
    await b!.program.exited(10_000);

    const refused = await login(a!.port);
    expect(refused.answer).toMatch(/^-ERR \[IN-USE\] /);
    refused.client.close();
    // The lease is 30 s and was renewed every 10 s: it runs out 20–30 s after the kill.
    const started = Date.now();
    let answer = '';
    while (Date.now() - started < 45_000) {
      const attempt = await login(a!.port);
      answer = attempt.answer;
      attempt.client.write('QUIT\r\n');
      attempt.client.close();
      if (answer.startsWith('+OK')) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(answer).toBe('+OK alice@replicas.test has 2 messages');
    expect(Date.now() - started).toBeGreaterThan(15_000);
  }, 60_000);
});
