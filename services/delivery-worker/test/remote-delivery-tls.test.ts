import type { DueDelivery, QueueEntry } from '@tegami/store';
import { createTestCa, freePort, type ScriptedPeer, startScriptedPeer, type TestCa } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webPkiCheck } from '../src/peer-tls.js';
import { deliverToDomain, type RemoteDeliveryDeps } from '../src/remote-delivery.js';
import type { HostTlsPolicy, TlsOutcome } from '../src/tls-policy.js';
import { createFakeResolver, type TestResolver } from './fake-resolver.js';

// Relaying to a domain whose MX hosts a TLS policy governs: the policy of each host decides
// its connection, a refused host gives way to the next, and every attempt's TLS is reported.

const DOMAIN = 'policy.test';
let ca: TestCa;
let resolver: TestResolver;
let port: number;
const peers: ScriptedPeer[] = [];
let nextAddress = 60;

const entry: QueueEntry = {
  queueId: 'Q1',
  state: 'queued',
  sender: 'alice@example.test',
  size: 20,
  blobSha256: Buffer.alloc(32),
  messageId: null,
  dsnEnvid: null,
  dsnRet: null,
  clientAddress: null,
  clientHelo: null,
  authenticatedAs: null,
  receivedAt: new Date(),
  reportsOn: null,
  junk: false,
  requireTls: false,
  tlsRequiredNo: false,
};
const delivery: DueDelivery = {
  id: 'd1',
  recipient: `bob@${DOMAIN}`,
  notify: null,
  orcpt: null,
  attempts: 0,
  expandedFrom: null,
  delayNotified: false,
};
const message = Buffer.from('Subject: x\r\n\r\nhi\r\n');

/** A peer for MX host `name` with a certificate for `certName` from the test CA. */
async function mxHost(name: string, certName: string | null): Promise<ScriptedPeer> {
  const address = `127.0.0.${nextAddress++}`;
  const peer = await startScriptedPeer(certName ? { tls: await ca.issue([certName]) } : {}, address, port);
  peers.push(peer);
  resolver.setAddresses(name, [address]);
  return peer;
}

const enforced: HostTlsPolicy = {
  policyType: 'sts',
  policyStrings: ['version: STSv1', 'mode: enforce', 'mx: *.policy.test', 'max_age: 86400'],
  mxHostPatterns: ['*.policy.test'],
  requirement: { kind: 'required', check: webPkiCheck },
  authenticatedRoute: true,
};

function deps(tlsPolicy: RemoteDeliveryDeps['tlsPolicy'], outcomes: TlsOutcome[]): RemoteDeliveryDeps {
  return {
    resolver,
    port,
    smtp: {
      hostname: 'out.example.test',
      connectTimeoutMs: 2_000,
      smtpTimeoutMs: 5_000,
      tlsVerify: false,
      extraCa: ca.cert,
    },
    withDomainSlot: (_domain, fn) => fn(),
    onTlsOutcome: (outcome) => outcomes.push(outcome),
    ...(tlsPolicy ? { tlsPolicy } : {}),
  };
}

beforeAll(async () => {
  ca = await createTestCa();
  resolver = createFakeResolver();
  port = await freePort();
});

afterAll(async () => {
  for (const peer of peers) await peer.stop();
});

describe('remote delivery under a TLS policy', () => {
  it('gives up an MX host the policy refuses, delivers through the next, and reports both attempts', async () => {
    const bad = await mxHost('mx1.policy.test', 'elsewhere.test');
    const goodPeer = await mxHost('mx2.policy.test', 'mx2.policy.test');
    resolver.setMx(DOMAIN, { hosts: ['mx1.policy.test', 'mx2.policy.test'] });
    const outcomes: TlsOutcome[] = [];
    const asked: string[] = [];
    const results = await deliverToDomain(
      deps(async (domain, mx) => {
        asked.push(`${domain} ${mx}`);
        return enforced;
      }, outcomes),
      DOMAIN,
      entry,
      [delivery],
      message,
    );
    expect(results).toMatchObject([{ kind: 'relayed', mxHost: 'mx2.policy.test' }]);
    expect(asked).toEqual([`${DOMAIN} mx1.policy.test`, `${DOMAIN} mx2.policy.test`]);
    expect(bad.transactions).toHaveLength(0);
    expect(goodPeer.transactions).toHaveLength(1);
    expect(outcomes).toEqual([
      {
        policyDomain: DOMAIN,
        policyType: 'sts',
        policyStrings: enforced.policyStrings,
        mxHostPatterns: ['*.policy.test'],
        mxHost: 'mx1.policy.test',
        sendingIp: undefined,
        receivingIp: bad.host,
        result: 'certificate-host-mismatch',
        failureDetail: 'certificate not valid: ERR_TLS_CERT_ALTNAME_INVALID',
      },
      expect.objectContaining({ mxHost: 'mx2.policy.test', receivingIp: goodPeer.host, result: 'success' }),
    ]);
  });

  it('defers with the TLS failure when every MX host is refused', async () => {
    await mxHost('mx1.all-bad.test', null);
    await mxHost('mx2.all-bad.test', 'wrong.test');
    resolver.setMx('all-bad.test', { hosts: ['mx1.all-bad.test', 'mx2.all-bad.test'] });
    const outcomes: TlsOutcome[] = [];
    const results = await deliverToDomain(
      deps(async () => enforced, outcomes),
      'all-bad.test',
      entry,
      [{ ...delivery, recipient: 'bob@all-bad.test' }],
      message,
    );
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ kind: 'deferred', statusCode: '4.7.5', mxHost: 'mx2.all-bad.test' });
    expect((results[0] as { reply: string }).reply).toMatch(
      /^TLS with mx2\.all-bad\.test\[.*\]:\d+ failed: 4\.7\.5 /,
    );
    expect(outcomes.map((o) => o.result)).toEqual(['starttls-not-supported', 'certificate-host-mismatch']);
  });

  it('defers, without connecting, when the policy of a host cannot be determined', async () => {
    const peer = await mxHost('mx.unknown-policy.test', 'mx.unknown-policy.test');
    resolver.setMx('unknown-policy.test', { hosts: ['mx.unknown-policy.test'] });
    const outcomes: TlsOutcome[] = [];
    const results = await deliverToDomain(
      deps(async () => {
        throw new Error('store unavailable');
      }, outcomes),
      'unknown-policy.test',
      entry,
      [{ ...delivery, recipient: 'bob@unknown-policy.test' }],
      message,
    );
    expect(results[0]).toMatchObject({ kind: 'deferred', statusCode: '4.7.5' });
    expect(peer.connections()).toBe(0);
    expect(outcomes).toEqual([]);
  });

  it('uses opportunistic TLS without a policy and reports it as no-policy-found', async () => {
    const peer = await mxHost('mx.plain.test', null);
    resolver.setMx('plain.test', { hosts: ['mx.plain.test'] });
    const outcomes: TlsOutcome[] = [];
    const results = await deliverToDomain(
      deps(undefined, outcomes),
      'plain.test',
      entry,
      [{ ...delivery, recipient: 'bob@plain.test' }],
      message,
    );
    expect(results[0]).toMatchObject({ kind: 'relayed' });
    expect(peer.transactions).toHaveLength(1);
    expect(outcomes).toMatchObject([
      {
        policyDomain: 'plain.test',
        policyType: 'no-policy-found',
        policyStrings: [],
        result: 'starttls-not-supported',
      },
    ]);
  });
});
