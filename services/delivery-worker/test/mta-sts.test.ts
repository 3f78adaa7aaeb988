import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type TraceMessage, traceMessages } from '@tegami/store';
import {
  createTestCa,
  type PeerScript,
  type ScriptedPeer,
  startScriptedPeer,
  type TestCa,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TlsOutcome } from '../src/tls-policy.js';
import { createFakeResolver, type TestResolver } from './fake-resolver.js';
import { DOMAIN, startTestWorker, type TestWorker } from './test-worker.js';

// The worker relaying to domains that publish MTA-STS policies (RFC 8461): policies served
// over HTTPS by a server with a certificate from the test's CA (trusted as the worker's extra
// CA), MX hosts that are scripted MTAs with STARTTLS.

const POLICY_HOST_ADDRESS = '127.0.0.90';
let ca: TestCa;
let resolver: TestResolver;
let t: TestWorker;
let https: Server;
const outcomes: TlsOutcome[] = [];
const peers: ScriptedPeer[] = [];
let nextAddress = 100;
/** Policy text served per domain; a number: that HTTP status instead. */
const policies = new Map<string, string | number>();
const fetches: string[] = [];

const policy = (mode: string, mx: readonly string[]) =>
  `version: STSv1\r\nmode: ${mode}\r\n${mx.map((m) => `mx: ${m}\r\n`).join('')}max_age: 86400\r\n`;

/** Publishes `domain` with an MTA-STS policy (TXT id, policy host) and MX hosts in that order. */
function publish(domain: string, id: string, text: string | number): void {
  resolver.setTxt(`_mta-sts.${domain}`, [[`v=STSv1; id=${id};`]]);
  resolver.setAddresses(`mta-sts.${domain}`, [POLICY_HOST_ADDRESS]);
  policies.set(domain, text);
}

/** A scripted MTA for MX host `host` (with STARTTLS when `certNames` is given). */
async function mxHost(host: string, certNames: readonly string[] | null, issuer = ca): Promise<ScriptedPeer> {
  const address = `127.0.0.${nextAddress++}`;
  const script: PeerScript = certNames ? { tls: await issuer.issue(certNames) } : {};
  const peer = await startScriptedPeer(script, address, t.smtpPort);
  peers.push(peer);
  resolver.setAddresses(host, [address]);
  return peer;
}

async function waitForStatus(queueId: string, status: string): Promise<TraceMessage> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const [trace] = await traceMessages(t.store.pool, queueId);
    if (trace?.recipients.every((r) => r.status === status)) return trace;
    if (Date.now() > deadline)
      throw new Error(`${queueId} not ${status}: ${JSON.stringify(trace?.recipients)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const send = (to: string) => t.submit({ from: `alice@${DOMAIN}`, to: [to] });
const outcomesFor = (domain: string) => outcomes.filter((o) => o.policyDomain === domain);

beforeAll(async () => {
  ca = await createTestCa();
  const domains = ['good', 'wrong-name', 'untrusted', 'testing', 'unlisted', 'cached', 'unfetchable'].map(
    (d) => `mta-sts.${d}.test`,
  );
  const cert = await ca.issue(domains);
  https = createServer({ key: cert.key, cert: cert.cert }, (req: IncomingMessage, res: ServerResponse) => {
    const domain = String(req.headers.host)
      .replace(/:\d+$/, '')
      .replace(/^mta-sts\./, '');
    fetches.push(domain);
    const served = policies.get(domain);
    if (req.url !== '/.well-known/mta-sts.txt' || served === undefined) return void res.writeHead(404).end();
    if (typeof served === 'number') return void res.writeHead(served).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(served);
  });
  await new Promise<void>((resolve) => https.listen(0, POLICY_HOST_ADDRESS, resolve));
  resolver = createFakeResolver();
  t = await startTestWorker(
    resolver,
    {
      extraCa: ca.cert,
      mtaSts: { timeoutMs: 2_000, port: (https.address() as AddressInfo).port },
      schedule: { minMs: 60_000, maxMs: 60_000, lifetimeMs: 600_000 },
    },
    { onTlsOutcome: (outcome) => outcomes.push(outcome) },
  );
});

afterAll(async () => {
  await t?.stop();
  for (const peer of peers) await peer.stop();
  https?.closeAllConnections();
  await new Promise((resolve) => https?.close(resolve));
});

describe('MTA-STS enforce', () => {
  it('delivers over TLS to an MX host whose certificate is valid for its name', async () => {
    publish('good.test', 'v1', policy('enforce', ['mx.good.test']));
    resolver.setMx('good.test', { hosts: ['mx.good.test'] });
    const peer = await mxHost('mx.good.test', ['mx.good.test']);
    const trace = await t.settled(await send('bob@good.test'));
    expect(trace.recipients[0]!.status).toBe('relayed');
    expect(peer.transactions[0]!.secure).toBe(true);
    expect(outcomesFor('good.test')).toEqual([
      {
        policyDomain: 'good.test',
        policyType: 'sts',
        policyStrings: ['version: STSv1', 'mode: enforce', 'mx: mx.good.test', 'max_age: 86400'],
        mxHostPatterns: ['mx.good.test'],
        mxHost: 'mx.good.test',
        sendingIp: undefined,
        receivingIp: peer.host,
        result: 'success',
        failureDetail: undefined,
      },
    ]);
  });

  it('defers, sending nothing, when the certificate is for another name', async () => {
    publish('wrong-name.test', 'v1', policy('enforce', ['mx.wrong-name.test']));
    resolver.setMx('wrong-name.test', { hosts: ['mx.wrong-name.test'] });
    const peer = await mxHost('mx.wrong-name.test', ['mx.elsewhere.test']);
    const trace = await waitForStatus(await send('bob@wrong-name.test'), 'deferred');
    expect(trace.recipients[0]!.attempts[0]!.reply).toMatch(
      /^TLS with mx\.wrong-name\.test\[127\.0\.0\.\d+\]:\d+ failed: 4\.7\.5 certificate not valid: ERR_TLS_CERT_ALTNAME_INVALID \(MTA-STS policy of wrong-name\.test\)$/,
    );
    expect(peer.rcptLog).toEqual([]);
    expect(outcomesFor('wrong-name.test').map((o) => o.result)).toEqual(['certificate-host-mismatch']);
  });

  it('defers when the certificate comes from a CA nobody trusts', async () => {
    publish('untrusted.test', 'v1', policy('enforce', ['mx.untrusted.test']));
    resolver.setMx('untrusted.test', { hosts: ['mx.untrusted.test'] });
    const peer = await mxHost('mx.untrusted.test', ['mx.untrusted.test'], await createTestCa('Unknown CA'));
    await waitForStatus(await send('bob@untrusted.test'), 'deferred');
    expect(peer.rcptLog).toEqual([]);
    expect(outcomesFor('untrusted.test').map((o) => o.result)).toEqual(['certificate-not-trusted']);
  });

  it('does not use an MX host the policy does not list, and delivers through one it does', async () => {
    publish('unlisted.test', 'v1', policy('enforce', ['mx2.unlisted.test']));
    resolver.setMx('unlisted.test', { hosts: ['mx1.unlisted.test', 'mx2.unlisted.test'] });
    const unlisted = await mxHost('mx1.unlisted.test', ['mx1.unlisted.test']);
    const listed = await mxHost('mx2.unlisted.test', ['mx2.unlisted.test']);
    const trace = await t.settled(await send('bob@unlisted.test'));
    expect(trace.recipients[0]!.status).toBe('relayed');
    expect(unlisted.transactions).toEqual([]);
    expect(listed.transactions).toHaveLength(1);
    expect(outcomesFor('unlisted.test').map((o) => [o.mxHost, o.result])).toEqual([
      ['mx1.unlisted.test', 'validation-failure'],
      ['mx2.unlisted.test', 'success'],
    ]);
  });
});

describe('MTA-STS testing', () => {
  it('delivers despite a bad certificate, and the outcome says what was wrong', async () => {
    publish('testing.test', 'v1', policy('testing', ['mx.testing.test']));
    resolver.setMx('testing.test', { hosts: ['mx.testing.test'] });
    const peer = await mxHost('mx.testing.test', ['not-the-mx.test']);
    const trace = await t.settled(await send('bob@testing.test'));
    expect(trace.recipients[0]!.status).toBe('relayed');
    expect(peer.transactions).toHaveLength(1);
    expect(outcomesFor('testing.test')).toMatchObject([
      {
        policyType: 'sts',
        result: 'certificate-host-mismatch',
        failureDetail: 'certificate not valid: ERR_TLS_CERT_ALTNAME_INVALID (MTA-STS policy of testing.test)',
      },
    ]);
  });
});

describe('the policy cache', () => {
  it('fetches a policy once, keeps it across a restart, and fetches again when the id changes', async () => {
    publish('cached.test', 'v1', policy('enforce', ['mx.cached.test']));
    resolver.setMx('cached.test', { hosts: ['mx.cached.test'] });
    const peer = await mxHost('mx.cached.test', ['mx.cached.test']);
    await t.settled(await send('bob@cached.test'));
    await t.settled(await send('bob@cached.test'));
    expect(fetches.filter((d) => d === 'cached.test')).toHaveLength(1);

    // Another worker process (the store is shared and survives restarts).
    await t.restartWorker();
    await t.settled(await send('bob@cached.test'));
    expect(fetches.filter((d) => d === 'cached.test')).toHaveLength(1);

    // A new id: the new policy (testing, another MX) applies from the next delivery on.
    publish('cached.test', 'v2', policy('testing', ['mx.other.test']));
    await t.settled(await send('bob@cached.test'));
    expect(fetches.filter((d) => d === 'cached.test')).toHaveLength(2);
    expect(outcomesFor('cached.test').map((o) => o.result)).toEqual([
      'success',
      'success',
      'success',
      'validation-failure',
    ]);
    expect(peer.transactions).toHaveLength(4);
  });

  it('keeps applying the cached policy when the new one cannot be fetched', async () => {
    publish('cached.test', 'v3', 500);
    const trace = await t.settled(await send('bob@cached.test'));
    expect(trace.recipients[0]!.status).toBe('relayed');
    expect(fetches.filter((d) => d === 'cached.test')).toHaveLength(3);
    // Still the v2 policy (testing, mx.other.test): delivered, the unlisted MX reported.
    expect(outcomesFor('cached.test').at(-1)).toMatchObject({
      result: 'validation-failure',
      mxHostPatterns: ['mx.other.test'],
    });
  });

  it('reports a policy that cannot be fetched as sts-policy-fetch-error, and delivers as without one', async () => {
    publish('unfetchable.test', 'u1', 404);
    await mxHost('mx.unfetchable.test', ['mx.unfetchable.test']);
    resolver.setMx('unfetchable.test', { hosts: ['mx.unfetchable.test'] });
    const trace = await t.settled(await send('bob@unfetchable.test'));
    expect(trace.recipients[0]!.status).toBe('relayed');
    expect(outcomesFor('unfetchable.test')).toEqual([
      expect.objectContaining({ policyType: 'sts', result: 'sts-policy-fetch-error', mxHost: '' }),
      expect.objectContaining({ policyType: 'no-policy-found', result: 'success' }),
    ]);
    // A REQUIRETLS message needs the route the policy would vouch for: it waits for it.
    const required = await t.submit({
      from: `alice@${DOMAIN}`,
      to: ['bob@unfetchable.test'],
      requireTls: true,
    });
    const waiting = await waitForStatus(required, 'deferred');
    expect(waiting.recipients[0]!.attempts.at(-1)?.reply).toMatch(
      /^451 4\.7\.5 REQUIRETLS needs MX host mx\.unfetchable\.test authenticated, and the MTA-STS policy of unfetchable\.test not fetched: sts-policy-fetch-error/,
    );
  });
});
