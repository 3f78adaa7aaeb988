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

// Two delivery-worker processes on one queue: each message is handled by one of them,
// and the limit on connections to a destination domain holds across both.

const MESSAGES = 12;
let dns: TestDnsServer;
let site: MailSite;
let peer: ScriptedPeer;

beforeAll(async () => {
  const mxPort = await freePort();
  dns = await startTestDnsServer({
    records: {
      'narrow.test': { mx: [{ preference: 10, exchange: 'mx.narrow.test' }] },
      'mx.narrow.test': { a: ['127.0.0.14'] },
    },
  });
  // Slow enough that both workers want a connection at the same time.
  peer = await startScriptedPeer({ greetingDelayMs: 150 }, '127.0.0.14', mxPort);
  site = await startMailSite({
    domain: 'replicas.test',
    ip: '127.0.0.13',
    mxPort,
    dnsUpstream: dns.address,
    users: { alice: 'alice-password' },
    workerEnv: { TEGAMI_DELIVERY_DOMAIN_CONNECTIONS: '1', TEGAMI_DELIVERY_CONCURRENCY: '4' },
    workers: 2,
  });
}, 120_000);

afterAll(async () => {
  await site?.stop();
  await peer?.stop();
  await dns?.stop();
});

const SEND = `
import smtplib, sys
with smtplib.SMTP(sys.argv[1], int(sys.argv[2])) as s:
    s.login('alice@replicas.test', 'alice-password')
    for n in range(int(sys.argv[3])):
        s.sendmail('alice@replicas.test', ['bob@narrow.test'],
                   f"Subject: r{n}\\r\\nMessage-ID: <r-{n}@replicas.test>\\r\\n\\r\\nhello {n}\\r\\n".encode())
print('sent')
`;

describe('two delivery-worker replicas', () => {
  it('share the queue, each message once, and keep to one connection to the domain between them', async () => {
    const first = site.workers[0]!.program();
    const second = site.workers[1]!.program();
    const sent = await runProgram(
      'python3',
      ['-c', SEND, site.ip, String(site.submissionPort), String(MESSAGES)],
      {
        cwd: process.cwd(),
        env: process.env,
        stdin: '',
      },
    );
    expect(sent.stdout + sent.stderr).toContain('sent');
    const deadline = Date.now() + 60_000;
    while (peer.transactions.length < MESSAGES && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const ids = peer.transactions.map((t) => /Message-ID: <(r-\d+)@/.exec(t.data.toString())?.[1]);
    expect(ids).toHaveLength(MESSAGES);
    expect(new Set(ids).size).toBe(MESSAGES);
    expect(peer.maxConcurrent()).toBe(1);
    const attemptsBy = (worker: typeof first) =>
      worker.output().match(/"msg":"remote delivery attempt"/g)?.length ?? 0;
    // The last log lines may trail the peer's view by a moment.
    while (attemptsBy(first) + attemptsBy(second) < MESSAGES && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(attemptsBy(first) + attemptsBy(second)).toBe(MESSAGES);
    expect(attemptsBy(first)).toBeGreaterThan(0);
    expect(attemptsBy(second)).toBeGreaterThan(0);
  }, 120_000);
});
