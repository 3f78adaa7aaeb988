import type { DueDelivery, QueueEntry } from '@tegami/store';
import { createTestCa, freePort, type ScriptedPeer, startScriptedPeer, type TestCa } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webPkiCheck } from '../src/peer-tls.js';
import { deliverToDomain, type RemoteDeliveryDeps } from '../src/remote-delivery.js';
import { openSmtpSession } from '../src/smtp-client.js';
import { type HostTlsPolicy, NO_TLS_POLICY, type TlsOutcome } from '../src/tls-policy.js';
import { createFakeResolver, type TestResolver } from './fake-resolver.js';

// RFC 8689 on the way out: a REQUIRETLS message goes only to an authenticated MX host, over
// TLS its policy validates, that offers REQUIRETLS, and carries REQUIRETLS on; failing that
// it comes back (5.7.30 / 5.7.10). "TLS-Required: No" delivers past a failing policy.

let ca: TestCa;
let resolver: TestResolver;
let port: number;
const peers: ScriptedPeer[] = [];
let nextAddress = 90;

const plain: QueueEntry = {
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
const required: QueueEntry = { ...plain, requireTls: true };
const message = Buffer.from('Subject: secret\r\n\r\nhi\r\n');

const to = (domain: string): DueDelivery => ({
  id: `d-${domain}`,
  recipient: `bob@${domain}`,
  notify: null,
  orcpt: null,
  attempts: 0,
  expandedFrom: null,
  delayNotified: false,
});

/** MTA-STS enforce with a matching MX: an authenticated route, WebPKI required. */
const STS_ENFORCE: HostTlsPolicy = {
  policyType: 'sts',
  policyStrings: ['version: STSv1', 'mode: enforce', 'mx: *.sts.test', 'max_age: 86400'],
  mxHostPatterns: ['*.sts.test'],
  requirement: { kind: 'required', check: webPkiCheck },
  authenticatedRoute: true,
};

/**
 * A peer as MX host `name`: with a certificate for `certName` from the test CA (none: no
 * STARTTLS), offering REQUIRETLS or not.
 */
async function mxHost(
  name: string,
  certName: string | null,
  offersRequireTls: boolean,
): Promise<ScriptedPeer> {
  const address = `127.0.0.${nextAddress++}`;
  const peer = await startScriptedPeer(
    {
      ...(certName ? { tls: await ca.issue([certName]) } : {}),
      ...(offersRequireTls ? { extensions: ['REQUIRETLS'] } : {}),
    },
    address,
    port,
  );
  peers.push(peer);
  resolver.setAddresses(name, [address]);
  return peer;
}

function deps(policyOf: (mxHost: string) => HostTlsPolicy, outcomes: TlsOutcome[] = []): RemoteDeliveryDeps {
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
    tlsPolicy: async (_domain, mx) => policyOf(mx),
  };
}

const send = (d: RemoteDeliveryDeps, domain: string, entry: QueueEntry) =>
  deliverToDomain(d, domain, entry, [to(domain)], message);

beforeAll(async () => {
  ca = await createTestCa();
  resolver = createFakeResolver();
  port = await freePort();
});

afterAll(async () => {
  for (const peer of peers) await peer.stop();
});

describe('a REQUIRETLS message (RFC 8689 §4.2.1)', () => {
  it('goes over validated TLS to an MTA-STS-matched MX offering REQUIRETLS, with REQUIRETLS on MAIL FROM', async () => {
    const peer = await mxHost('mx.good.sts.test', 'mx.good.sts.test', true);
    resolver.setMx('good.sts.test', { hosts: ['mx.good.sts.test'] });
    const results = await send(
      deps(() => STS_ENFORCE),
      'good.sts.test',
      required,
    );
    expect(results).toMatchObject([{ kind: 'relayed', mxHost: 'mx.good.sts.test' }]);
    expect(peer.transactions).toHaveLength(1);
    expect(peer.transactions[0]).toMatchObject({ secure: true, mailFrom: 'alice@example.test' });
    expect(peer.transactions[0]!.mailParams.split(' ')).toContain('REQUIRETLS');
  });

  it('is returned with 5.7.30 when the only MX host does not offer REQUIRETLS', async () => {
    const peer = await mxHost('mx.norequire.sts.test', 'mx.norequire.sts.test', false);
    resolver.setMx('norequire.sts.test', { hosts: ['mx.norequire.sts.test'] });
    const results = await send(
      deps(() => STS_ENFORCE),
      'norequire.sts.test',
      required,
    );
    expect(results).toMatchObject([{ kind: 'bounced', statusCode: '5.7.30' }]);
    expect((results[0] as { reply: string }).reply).toMatch(
      /^550 5\.7\.30 REQUIRETLS support required: mx\.norequire\.sts\.test\[[\d.]+\]:\d+ does not offer REQUIRETLS$/,
    );
    expect(peer.transactions).toHaveLength(0);
  });

  it('is returned with 5.7.30, without connecting, when no MX host is authenticated', async () => {
    const peer = await mxHost('mx.unsigned.test', 'mx.unsigned.test', true);
    resolver.setMx('unsigned.test', { hosts: ['mx.unsigned.test'] });
    const results = await send(
      deps(() => NO_TLS_POLICY),
      'unsigned.test',
      required,
    );
    expect(results).toMatchObject([
      {
        kind: 'bounced',
        statusCode: '5.7.30',
        reply:
          '550 5.7.30 REQUIRETLS support required: MX host mx.unsigned.test is not authenticated by DNSSEC or MTA-STS',
      },
    ]);
    expect(peer.connections()).toBe(0);
  });

  it('is deferred, without connecting, while the MTA-STS policy that would vouch for the MX cannot be fetched', async () => {
    const peer = await mxHost('mx.unfetched.test', 'mx.unfetched.test', true);
    resolver.setMx('unfetched.test', { hosts: ['mx.unfetched.test'] });
    const unfetched = { ...NO_TLS_POLICY, undetermined: 'MTA-STS policy of unfetched.test not fetched: 503' };
    const results = await send(
      deps(() => unfetched),
      'unfetched.test',
      required,
    );
    expect(results).toMatchObject([{ kind: 'deferred', statusCode: '4.7.5' }]);
    expect(peer.connections()).toBe(0);
  });

  it('is returned with 5.7.10 when the certificate does not validate', async () => {
    const peer = await mxHost('mx.badcert.sts.test', 'elsewhere.test', true);
    resolver.setMx('badcert.sts.test', { hosts: ['mx.badcert.sts.test'] });
    const results = await send(
      deps(() => STS_ENFORCE),
      'badcert.sts.test',
      required,
    );
    expect(results).toMatchObject([{ kind: 'bounced', statusCode: '5.7.10' }]);
    expect((results[0] as { reply: string }).reply).toMatch(
      /^550 5\.7\.10 Encryption needed: TLS with mx\.badcert\.sts\.test.* ERR_TLS_CERT_ALTNAME_INVALID/,
    );
    expect(peer.transactions).toHaveLength(0);
  });

  it('passes over the MX hosts that do not qualify to one that does', async () => {
    const unsigned = await mxHost('mx1.mixed.test', 'mx1.mixed.test', true);
    const lacking = await mxHost('mx2.mixed.test', 'mx2.mixed.test', false);
    const good = await mxHost('mx3.mixed.test', 'mx3.mixed.test', true);
    resolver.setMx('mixed.test', { hosts: ['mx1.mixed.test', 'mx2.mixed.test', 'mx3.mixed.test'] });
    const results = await send(
      deps((mx) => (mx === 'mx1.mixed.test' ? NO_TLS_POLICY : STS_ENFORCE)),
      'mixed.test',
      required,
    );
    expect(results).toMatchObject([{ kind: 'relayed', mxHost: 'mx3.mixed.test' }]);
    expect(unsigned.connections()).toBe(0);
    expect(lacking.transactions).toHaveLength(0);
    expect(good.transactions[0]!.mailParams).toContain('REQUIRETLS');
  });

  it('waits, as any message, when an MX host cannot be reached at all', async () => {
    resolver.setAddresses('mx.down.sts.test', ['127.0.0.250']);
    resolver.setMx('down.sts.test', { hosts: ['mx.down.sts.test'] });
    const results = await send(
      deps(() => STS_ENFORCE),
      'down.sts.test',
      required,
    );
    expect(results).toMatchObject([{ kind: 'deferred', statusCode: '4.4.1' }]);
  });

  it('may go to a DNSSEC-signed MX host without TLSA records, over WebPKI-valid TLS for its name', async () => {
    const peer = await mxHost('mx.signed.test', 'mx.signed.test', true);
    const impostor = await mxHost('mx.signed-badcert.test', 'elsewhere.test', true);
    resolver.setMx('signed.test', { hosts: ['mx.signed.test'], authenticated: true });
    resolver.setMx('signed-badcert.test', { hosts: ['mx.signed-badcert.test'], authenticated: true });
    expect(
      await send(
        deps(() => NO_TLS_POLICY),
        'signed.test',
        required,
      ),
    ).toMatchObject([{ kind: 'relayed' }]);
    expect(peer.transactions[0]!.mailParams).toContain('REQUIRETLS');
    expect(
      await send(
        deps(() => NO_TLS_POLICY),
        'signed-badcert.test',
        required,
      ),
    ).toMatchObject([{ kind: 'bounced', statusCode: '5.7.10' }]);
    expect(impostor.transactions).toHaveLength(0);
  });

  it('may go to the domain itself when it has no MX, over WebPKI-valid TLS for its name', async () => {
    const peer = await mxHost('implicit.test', 'implicit.test', true);
    resolver.setMx('implicit.test', { hosts: ['implicit.test'], implicit: true });
    const results = await send(
      deps(() => NO_TLS_POLICY),
      'implicit.test',
      required,
    );
    expect(results).toMatchObject([{ kind: 'relayed' }]);
    expect(peer.transactions[0]!.mailParams).toContain('REQUIRETLS');
  });

  it('never carries REQUIRETLS on an ordinary message', async () => {
    const peer = await mxHost('mx.ordinary.sts.test', 'mx.ordinary.sts.test', true);
    resolver.setMx('ordinary.sts.test', { hosts: ['mx.ordinary.sts.test'] });
    expect(
      await send(
        deps(() => STS_ENFORCE),
        'ordinary.sts.test',
        plain,
      ),
    ).toMatchObject([{ kind: 'relayed' }]);
    expect(peer.transactions[0]!.mailParams).not.toContain('REQUIRETLS');
  });
});

describe('the notice about a REQUIRETLS message (RFC 8689 §5)', () => {
  const notice: QueueEntry = { ...required, sender: '' };

  it('goes even to a host that cannot take REQUIRETLS, untagged', async () => {
    const peer = await mxHost('mx.back.test', null, false);
    resolver.setMx('back.test', { hosts: ['mx.back.test'] });
    expect(
      await send(
        deps(() => NO_TLS_POLICY),
        'back.test',
        notice,
      ),
    ).toMatchObject([{ kind: 'relayed' }]);
    expect(peer.transactions[0]).toMatchObject({
      mailFrom: '',
      secure: false,
      mailParams: expect.not.stringContaining('REQUIRETLS'),
    });
  });

  it('is tagged REQUIRETLS where the route qualifies', async () => {
    const peer = await mxHost('mx.back.sts.test', 'mx.back.sts.test', true);
    resolver.setMx('back.sts.test', { hosts: ['mx.back.sts.test'] });
    expect(
      await send(
        deps(() => STS_ENFORCE),
        'back.sts.test',
        notice,
      ),
    ).toMatchObject([{ kind: 'relayed' }]);
    expect(peer.transactions[0]!.mailParams).toContain('REQUIRETLS');
  });
});

describe('a "TLS-Required: No" message (RFC 8689 §4.2.2)', () => {
  it('is delivered past an MTA-STS enforce policy its MX host fails, and the failure is still reported', async () => {
    const peer = await mxHost('mx.expired.sts.test', 'elsewhere.test', false);
    resolver.setMx('expired.sts.test', { hosts: ['mx.expired.sts.test'] });
    const outcomes: TlsOutcome[] = [];
    const d = deps(() => STS_ENFORCE, outcomes);
    // The same message without the field waits for a valid certificate.
    expect(await send(d, 'expired.sts.test', plain)).toMatchObject([
      { kind: 'deferred', statusCode: '4.7.5' },
    ]);
    expect(peer.transactions).toHaveLength(0);
    const results = await send(d, 'expired.sts.test', { ...plain, tlsRequiredNo: true });
    expect(results).toMatchObject([{ kind: 'relayed' }]);
    expect(peer.transactions).toHaveLength(1);
    // Still over STARTTLS (§3: "SHOULD negotiate STARTTLS ... if available").
    expect(peer.transactions[0]).toMatchObject({ secure: true });
    expect(outcomes.map((o) => o.result)).toEqual(['certificate-host-mismatch', 'certificate-host-mismatch']);
  });
});

describe('a "TLS-Required: No" message whose MX host has no known policy', () => {
  it('is delivered opportunistically where others wait for the policy (a failed TLSA or policy lookup)', async () => {
    const peer = await mxHost('mx.unknown.test', 'mx.unknown.test', false);
    resolver.setMx('unknown.test', { hosts: ['mx.unknown.test'] });
    const d: RemoteDeliveryDeps = {
      ...deps(() => STS_ENFORCE),
      tlsPolicy: async () => {
        throw new Error('TLSA lookup failed');
      },
    };
    expect(await send(d, 'unknown.test', plain)).toMatchObject([{ kind: 'deferred', statusCode: '4.7.5' }]);
    expect(await send(d, 'unknown.test', required)).toMatchObject([
      { kind: 'deferred', statusCode: '4.7.5' },
    ]);
    expect(peer.connections()).toBe(0);
    expect(await send(d, 'unknown.test', { ...plain, tlsRequiredNo: true })).toMatchObject([
      { kind: 'relayed' },
    ]);
    expect(peer.transactions).toHaveLength(1);
  });
});

describe('the SMTP client and REQUIRETLS', () => {
  it('never sends a REQUIRETLS message untagged: refused before MAIL on a session that cannot tag it', async () => {
    const clear = await startScriptedPeer({ extensions: ['REQUIRETLS'] }, `127.0.0.${nextAddress++}`);
    peers.push(clear);
    const session = await openSmtpSession(
      { host: 'mx.clear.test', address: clear.host, port: clear.port },
      { hostname: 'out.example.test', connectTimeoutMs: 2_000, smtpTimeoutMs: 5_000, tlsVerify: false },
    );
    try {
      const replies = await session.send(
        {
          sender: 'alice@example.test',
          recipients: ['bob@clear.test'],
          size: message.length,
          requireTls: true,
        },
        message,
      );
      expect(replies).toEqual([
        {
          recipient: 'bob@clear.test',
          kind: 5,
          reply:
            '550 5.7.30 REQUIRETLS support required: REQUIRETLS can only be used over TLS connections (RFC 8689)',
          enhanced: '5.7.30',
        },
      ]);
    } finally {
      session.close();
    }
    expect(clear.transactions).toHaveLength(0);
    expect(clear.rcptLog).toHaveLength(0);
  });
});
