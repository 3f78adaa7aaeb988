import {
  freePort,
  runProgram,
  type ScriptedPeer,
  startScriptedPeer,
  startTestDnsServer,
  type TestDnsServer,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSite, startMailSite } from './support/mail-site.js';

// Mail end to end, every part a real process: swaks submits to smtp-ingress, the
// delivery-worker asks dns-resolver, which asks a DNS server on loopback, and relays to
// the other site's smtp-ingress (or to a scripted MTA) by its MX.

let dns: TestDnsServer;
let a: MailSite;
let b: MailSite;
let mxPort: number;
const peers: ScriptedPeer[] = [];

beforeAll(async () => {
  mxPort = await freePort();
  dns = await startTestDnsServer({
    records: {
      'a.test': { mx: [{ preference: 10, exchange: 'mx.a.test' }] },
      'mx.a.test': { a: ['127.0.0.2'] },
      'b.test': { mx: [{ preference: 10, exchange: 'mx.b.test' }] },
      'mx.b.test': { a: ['127.0.0.3'] },
      'greylist.test': { mx: [{ preference: 10, exchange: 'mx.greylist.test' }] },
      'mx.greylist.test': { a: ['127.0.0.4'] },
      'refuses.test': { mx: [{ preference: 10, exchange: 'mx.refuses.test' }] },
      'mx.refuses.test': { a: ['127.0.0.5'] },
      // Its MX host's address has nothing listening: every attempt is refused.
      'unreachable.test': { mx: [{ preference: 10, exchange: 'mx.unreachable.test' }] },
      'mx.unreachable.test': { a: ['127.0.0.6'] },
      'nomail.test': { mx: [{ preference: 0, exchange: '.' }] },
    },
  });
  peers.push(
    await startScriptedPeer(
      {
        rcpt: (_rcpt, attempt) => (attempt === 1 ? '451 4.7.1 greylisted, come back later' : '250 2.1.5 ok'),
      },
      '127.0.0.4',
      mxPort,
    ),
    await startScriptedPeer(
      { rcpt: (rcpt) => `550 5.1.1 <${rcpt}>: Recipient address rejected` },
      '127.0.0.5',
      mxPort,
    ),
  );
  const common = { mxPort, dnsUpstream: dns.address };
  [a, b] = await Promise.all([
    startMailSite({
      ...common,
      domain: 'a.test',
      ip: '127.0.0.2',
      users: { alice: 'alice-password', bob: 'bob-password', carol: 'carol-password' },
      aliases: { sales: ['carol@a.test'] },
      workerEnv: {
        TEGAMI_DELIVERY_RETRY_MIN_MS: '300ms',
        TEGAMI_DELIVERY_RETRY_MAX_MS: '1s',
        TEGAMI_DELIVERY_MAX_QUEUE_TIME_MS: '5s',
      },
    }),
    startMailSite({ ...common, domain: 'b.test', ip: '127.0.0.3', users: { dave: 'dave-password' } }),
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  for (const peer of peers) await peer.stop();
  await dns?.stop();
});

/** swaks on the site's submission port, authenticated as alice; returns the queue id. */
async function submit(site: MailSite, to: readonly string[], header = ''): Promise<string> {
  const run = await runProgram(
    'swaks',
    [
      '--server',
      `${site.ip}:${site.submissionPort}`,
      '--auth',
      'PLAIN',
      '--auth-user',
      `alice@${site.domain}`,
      '--auth-password',
      'alice-password',
      '--from',
      `alice@${site.domain}`,
      '--to',
      to.join(','),
      ...(header ? ['--header', header] : []),
    ],
    { cwd: process.cwd(), env: process.env, stdin: '' },
  );
  const queueId = /250 2\.0\.0 Ok: queued as ([0-9A-Z]+)/.exec(run.stdout)?.[1];
  if (run.code !== 0 || !queueId) throw new Error(`swaks failed:\n${run.stdout}${run.stderr}`);
  return queueId;
}

/** The DSN in alice@a.test's INBOX (or another user's) about this queue id. */
async function dsnAbout(queueId: string, site = a, user = 'alice@a.test'): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = (await site.inbox(user)).find((m) => m.includes(`X-Tegami-Queue-ID: ${queueId}`));
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(`no DSN about ${queueId}:\n${a.worker().output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface SmtplibTransaction {
  readonly port: number;
  readonly from: string;
  readonly to: readonly string[];
  readonly message: string;
  readonly mailOptions?: readonly string[];
  readonly rcptOptions?: readonly string[];
  readonly login?: readonly [string, string];
}

/** One transaction with Python's smtplib (swaks here has no DSN options); the queue id. */
async function smtplib(site: MailSite, t: SmtplibTransaction): Promise<string> {
  const script = `
import json, smtplib, sys
t = json.load(sys.stdin)
s = smtplib.SMTP(t['host'], t['port'], local_hostname='client.test', timeout=20)
s.ehlo()
if t.get('login'):
    s.login(*t['login'])
s.mail(t['from'], t.get('mailOptions', []))
for r in t['to']:
    s.rcpt(r, t.get('rcptOptions', []))
code, text = s.data(t['message'].encode('utf-8'))
print(code, text.decode())
s.quit()
`;
  const run = await runProgram('python3', ['-c', script], {
    cwd: process.cwd(),
    env: process.env,
    stdin: JSON.stringify({ host: site.ip, ...t }),
  });
  const queueId = /^250 2\.0\.0 Ok: queued as ([0-9A-Z]+)/.exec(run.stdout)?.[1];
  if (run.code !== 0 || !queueId) throw new Error(`smtplib failed:\n${run.stdout}${run.stderr}`);
  return queueId;
}

describe('delivery end to end', () => {
  it('delivers a submission to two users and an alias once each, and tegami trace shows it', async () => {
    const queueId = await submit(a, ['alice@a.test', 'bob@a.test', 'sales@a.test']);
    for (const user of ['alice', 'bob', 'carol']) {
      const inbox = await a.waitForInbox(`${user}@a.test`, 1);
      const copies = inbox.filter((m) => m.includes(`queued as ${queueId}`) || m.includes(queueId));
      expect(copies, user).toHaveLength(1);
      expect(copies[0]).toMatch(
        new RegExp(`^Return-Path: <alice@a\\.test>\r\nDelivered-To: ${user}@a\\.test\r\nReceived: from `),
      );
    }
    const trace = await a.tegami(['trace', queueId]);
    expect(trace.code, trace.stderr).toBe(0);
    expect(trace.stdout).toContain(`${queueId}  done`);
    expect(trace.stdout).toMatch(/to <alice@a\.test>: delivered/);
    expect(trace.stdout).toMatch(/to <carol@a\.test> \(via sales@a\.test\): delivered/);
    expect(trace.stdout).toMatch(/to <sales@a\.test>: expanded/);
  });

  it('relays from a.test to b.test by MX, with a Received header from each hop', async () => {
    const queueId = await submit(a, ['dave@b.test'], 'Subject: across sites');
    const [message] = await b.waitForInbox('dave@b.test', 1);
    expect(message).toContain('Subject: across sites');
    const received = message!.match(/^Received: .*(?:\r\n[ \t].*)*/gm) ?? [];
    expect(received).toHaveLength(2);
    // Newest first: b's ingress took it from a's worker (bound to 127.0.0.2) ...
    expect(received[0]).toMatch(
      /from mx\.a\.test \(.*127\.0\.0\.2.*\)[\s\S]*by mx\.b\.test[\s\S]*with ESMTP/,
    );
    // ... which had it from alice's authenticated submission.
    expect(received[1]).toMatch(/by mx\.a\.test[\s\S]*with ESMTPA[\s\S]*id /);
    expect(received[1]).toContain(queueId);
    const trace = await a.tegami(['trace', queueId]);
    expect(trace.stdout).toMatch(/to <dave@b\.test>: relayed/);
    expect(trace.stdout).toMatch(/relayed mx\.b\.test\[127\.0\.0\.3\]/);
  });

  it('delivers on retry after a 451', async () => {
    const queueId = await submit(a, ['someone@greylist.test']);
    const deadline = Date.now() + 30_000;
    let trace = '';
    while (Date.now() < deadline && !/: relayed/.test(trace)) {
      trace = (await a.tegami(['trace', queueId])).stdout;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(trace).toMatch(/deferred mx\.greylist\.test\[127\.0\.0\.4\].*451 4\.7\.1 greylisted/);
    expect(trace).toMatch(/relayed mx\.greylist\.test\[127\.0\.0\.4\].*250/);
  });

  it('bounces a 550 to the sender, naming the recipient and the reply', async () => {
    const queueId = await submit(a, ['nobody@refuses.test']);
    const dsn = await dsnAbout(queueId);
    expect(dsn).toContain('Final-Recipient: rfc822; nobody@refuses.test');
    expect(dsn).toContain('Action: failed');
    expect(dsn).toMatch(
      /Diagnostic-Code: smtp; .*550 5\.1\.1 <nobody@refuses\.test>: Recipient address rejected/,
    );
  });

  it('defers an unreachable MX, then bounces it as expired', async () => {
    const queueId = await submit(a, ['someone@unreachable.test']);
    const dsn = await dsnAbout(queueId);
    expect(dsn).toContain('Final-Recipient: rfc822; someone@unreachable.test');
    expect(dsn).toContain('Status: 4.4.7');
    expect(dsn).toMatch(/connect to mx\.unreachable\.test\[127\.0\.0\.6\]:\d+: connection refused/);
    const trace = (await a.tegami(['trace', queueId])).stdout;
    expect(trace.match(/ deferred /g)?.length ?? 0).toBeGreaterThanOrEqual(2);
  });

  it('sends a stranger asking NOTIFY=SUCCESS RET=FULL on port 25 a notice with the headers only', async () => {
    // Anyone may claim dave@b.test as the sender: Tegami must not mail him what they wrote.
    const queueId = await smtplib(a, {
      port: mxPort,
      from: 'dave@b.test',
      to: ['bob@a.test'],
      message: 'From: dave@b.test\r\nSubject: laundered?\r\n\r\nSECRET-PAYLOAD\r\n',
      mailOptions: ['RET=FULL'],
      rcptOptions: ['NOTIFY=SUCCESS'],
    });
    const dsn = await dsnAbout(queueId, b, 'dave@b.test');
    expect(dsn).toContain('Action: delivered');
    expect(dsn).toContain('Content-Type: text/rfc822-headers');
    expect(dsn).toContain('Subject: laundered?');
    expect(dsn).not.toContain('SECRET-PAYLOAD');
  });

  it('returns the whole message to an authenticated sender who asked NOTIFY=SUCCESS RET=FULL', async () => {
    const queueId = await smtplib(a, {
      port: a.submissionPort,
      login: ['alice@a.test', 'alice-password'],
      from: 'alice@a.test',
      to: ['bob@a.test'],
      message: 'From: alice@a.test\r\nSubject: keep a copy\r\n\r\nALICE-OWN-TEXT\r\n',
      mailOptions: ['RET=FULL'],
      rcptOptions: ['NOTIFY=SUCCESS'],
    });
    const dsn = await dsnAbout(queueId);
    expect(dsn).toContain('Action: delivered');
    expect(dsn).toContain('Content-Type: message/rfc822');
    expect(dsn).toContain('ALICE-OWN-TEXT');
  });

  it('keeps a 1,200-octet line whole for a local user and folds it for the next MTA', async () => {
    const line = `${'0123456789'.repeat(119)}END-OF-IT!`;
    const queueId = await smtplib(a, {
      port: a.submissionPort,
      login: ['alice@a.test', 'alice-password'],
      from: 'alice@a.test',
      to: ['bob@a.test', 'dave@b.test'],
      message: `From: alice@a.test\r\nSubject: one long line\r\n\r\n${line}\r\n`,
    });
    const mine = async (site: MailSite, user: string) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const found = (await site.inbox(user)).find((m) => m.includes(queueId));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`${queueId} never reached ${user}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    expect(await mine(a, 'bob@a.test')).toMatch(new RegExp(`\r\n\r\n${line}\r\n$`));
    expect(await mine(b, 'dave@b.test')).toMatch(
      new RegExp(`\r\n\r\n${line.slice(0, 998)}\r\n ${line.slice(998)}\r\n$`),
    );
  });

  it('bounces at once for a null MX and for a domain that does not exist', async () => {
    const nullMx = await submit(a, ['someone@nomail.test']);
    const nx = await submit(a, ['someone@nxdomain.test']);
    expect(await dsnAbout(nullMx)).toContain('Status: 5.1.10');
    expect(await dsnAbout(nx)).toContain('Status: 5.1.2');
  });
});
