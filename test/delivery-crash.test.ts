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

// SIGKILL the delivery-worker in the middle of 200 messages, each to a local user and to
// a remote MTA, start it again, and count: every message once in the INBOX, and at the
// remote MTA every message, a second copy only for a transaction the kill cut after the
// peer's 250 and before the worker could write it down (SMTP cannot close that window,
// RFC 5321 §6.1 chooses duplicates over loss), so at most as many as were in flight.

const MESSAGES = 200;
const CONCURRENCY = 4;
let dns: TestDnsServer;
let site: MailSite;
let peer: ScriptedPeer;

beforeAll(async () => {
  const mxPort = await freePort();
  dns = await startTestDnsServer({
    records: {
      'remote.test': { mx: [{ preference: 10, exchange: 'mx.remote.test' }] },
      'mx.remote.test': { a: ['127.0.0.9'] },
    },
  });
  // A slow greeting keeps the batch going long enough to kill the worker in its middle.
  peer = await startScriptedPeer({ greetingDelayMs: 30 }, '127.0.0.9', mxPort);
  site = await startMailSite({
    domain: 'crash.test',
    ip: '127.0.0.8',
    mxPort,
    dnsUpstream: dns.address,
    users: { alice: 'alice-password' },
    workerEnv: { TEGAMI_DELIVERY_CONCURRENCY: String(CONCURRENCY), TEGAMI_DELIVERY_RETRY_MIN_MS: '500ms' },
  });
}, 120_000);

afterAll(async () => {
  await site?.stop();
  await peer?.stop();
  await dns?.stop();
});

const SEND_ALL = `
import smtplib, sys
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with smtplib.SMTP(host, port) as s:
    s.login('alice@crash.test', 'alice-password')
    for n in range(count):
        msg = f"From: <alice@crash.test>\\r\\nTo: <alice@crash.test>, <far@remote.test>\\r\\nSubject: crash {n}\\r\\nMessage-ID: <crash-{n}@crash.test>\\r\\n\\r\\nmessage {n}\\r\\n"
        s.sendmail('alice@crash.test', ['alice@crash.test', 'far@remote.test'], msg.encode())
print('sent', count)
`;

describe('delivery-worker crash', () => {
  it('loses and doubles nothing in the INBOX when SIGKILLed mid-batch', async () => {
    const sent = await runProgram(
      'python3',
      ['-c', SEND_ALL, site.ip, String(site.submissionPort), String(MESSAGES)],
      {
        cwd: process.cwd(),
        env: process.env,
        stdin: '',
      },
    );
    expect(sent.stdout + sent.stderr).toContain(`sent ${MESSAGES}`);

    // Kill it once a part, but not all, of the batch is through.
    await site.waitForInbox('alice@crash.test', 20, 60_000);
    site.worker().signal('SIGKILL');
    await site.worker().exited(10_000);
    const atKill = (await site.inbox('alice@crash.test')).length;
    expect(atKill).toBeLessThan(MESSAGES);

    await site.startWorker();
    const inbox = await site.waitForInbox('alice@crash.test', MESSAGES, 120_000);
    // Let a late duplicate show itself, if there were one.
    await new Promise((r) => setTimeout(r, 1000));
    const final = await site.inbox('alice@crash.test');
    const ids = final.map((m) => /Message-ID: <(crash-\d+)@/.exec(m)?.[1]);
    expect(final).toHaveLength(MESSAGES);
    expect(new Set(ids).size).toBe(MESSAGES);
    expect(inbox.length).toBe(MESSAGES);

    const deadline = Date.now() + 60_000;
    const remoteIds = () =>
      peer.transactions.map((t) => /Message-ID: <(crash-\d+)@/.exec(t.data.toString())?.[1]);
    while (new Set(remoteIds()).size < MESSAGES && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const remote = remoteIds();
    expect(new Set(remote).size).toBe(MESSAGES);
    const duplicates = remote.length - new Set(remote).size;
    expect(duplicates).toBeLessThanOrEqual(CONCURRENCY);

    const queue = await site.tegami(['queue', 'list']);
    expect(queue.stdout.trim()).toBe('(none)');
  }, 300_000);
});
