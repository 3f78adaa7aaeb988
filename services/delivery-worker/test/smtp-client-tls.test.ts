import {
  createTestCa,
  type ScriptedPeer,
  startScriptedPeer,
  type TestCa,
  type TestCertificate,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webPkiCheck } from '../src/peer-tls.js';
import { ConnectionFailure, openSmtpSession, type SmtpClientOptions } from '../src/smtp-client.js';
import type { PeerTls, TlsRequirement } from '../src/tls-policy.js';

// The SMTP client held to a TLS requirement, against scripted peers with certificates from a
// CA made here: trusted only when the client is given it as its extra CA.

const MX = 'mx.tls-client.test';
let ca: TestCa;
let good: TestCertificate;
let wrongName: TestCertificate;
let expired: TestCertificate;
let stranger: TestCertificate;
const peers: ScriptedPeer[] = [];
let nextAddress = 40;

const options = (more: Partial<SmtpClientOptions> = {}): SmtpClientOptions => ({
  hostname: 'client.test',
  connectTimeoutMs: 2_000,
  smtpTimeoutMs: 5_000,
  tlsVerify: false,
  extraCa: ca.cert,
  ...more,
});

async function peer(script: Parameters<typeof startScriptedPeer>[0] = {}): Promise<ScriptedPeer> {
  const started = await startScriptedPeer(script, `127.0.0.${nextAddress++}`);
  peers.push(started);
  return started;
}

const target = (p: ScriptedPeer) => ({ host: MX, address: p.host, port: p.port });
const required = (more: Partial<Extract<TlsRequirement, { kind: 'required' }>> = {}): TlsRequirement => ({
  kind: 'required',
  check: webPkiCheck,
  ...more,
});

async function failureOf(promise: Promise<unknown>): Promise<ConnectionFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectionFailure);
  return err as ConnectionFailure;
}

async function sendOne(p: ScriptedPeer, tls?: TlsRequirement, more: Partial<SmtpClientOptions> = {}) {
  const session = await openSmtpSession(target(p), options(more), tls);
  try {
    const replies = await session.send(
      { sender: 'a@client.test', recipients: ['b@tls-client.test'], size: 20 },
      Buffer.from('Subject: x\r\n\r\nhi\r\n'),
    );
    return { session, replies };
  } finally {
    session.close();
  }
}

beforeAll(async () => {
  ca = await createTestCa();
  good = await ca.issue([MX]);
  wrongName = await ca.issue(['other.tls-client.test']);
  expired = await ca.issue([MX], {
    notBefore: new Date(Date.now() - 10 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  });
  stranger = await (await createTestCa('Someone else')).issue([MX]);
});

afterAll(async () => {
  for (const p of peers) await p.stop();
});

describe('opportunistic TLS', () => {
  it('upgrades with STARTTLS when offered and reports success', async () => {
    const p = await peer({ tls: good });
    const { session, replies } = await sendOne(p);
    expect(session.secure).toBe(true);
    expect(session.tlsResult).toEqual({ resultType: 'success' });
    expect(replies[0]!.kind).toBe(2);
    expect(p.transactions[0]!.secure).toBe(true);
  });

  it('goes on in clear when STARTTLS is not offered, and says so', async () => {
    const p = await peer();
    const { session, replies } = await sendOne(p);
    expect(session.secure).toBe(false);
    expect(session.tlsResult.resultType).toBe('starttls-not-supported');
    expect(replies[0]!.kind).toBe(2);
    expect(p.transactions[0]!.secure).toBe(false);
  });

  it('accepts any certificate without a policy (RFC 7435), but a report-only check records why it failed', async () => {
    const p = await peer({ tls: stranger });
    const seen: PeerTls[] = [];
    const { session, replies } = await sendOne(p, {
      kind: 'opportunistic',
      reportOnly: (shown) => {
        seen.push(shown);
        return webPkiCheck(shown);
      },
    });
    expect(replies[0]!.kind).toBe(2);
    expect(session.tlsResult.resultType).toBe('certificate-not-trusted');
    expect(seen[0]!.authorized).toBe(false);
    expect(seen[0]!.chain[0]!.subject.CN).toBe(MX);
    expect(seen[0]!.protocol).toMatch(/^TLSv1\.[23]$/);
  });

  it('refuses an unverifiable certificate when TEGAMI_DELIVERY_TLS_VERIFY is on', async () => {
    const p = await peer({ tls: wrongName });
    const failure = await failureOf(openSmtpSession(target(p), options({ tlsVerify: true })));
    expect(failure.permanent).toBe(false);
    expect(failure.enhanced).toBe('4.7.5');
    expect(failure.tlsResult?.resultType).toBe('certificate-host-mismatch');
    expect(p.transactions).toHaveLength(0);
  });
});

describe('required TLS', () => {
  it('delivers when STARTTLS succeeds and the check passes, and shows the check the whole chain', async () => {
    const p = await peer({ tls: { key: good.key, cert: good.cert + ca.cert } });
    const seen: PeerTls[] = [];
    const { session } = await sendOne(p, {
      kind: 'required',
      check: (shown) => {
        seen.push(shown);
        return webPkiCheck(shown);
      },
    });
    expect(session.tlsResult).toEqual({ resultType: 'success' });
    expect(seen[0]!.authorized).toBe(true);
    expect(seen[0]!.chain.map((c) => c.subject.CN)).toEqual([MX, 'Tegami test CA']);
    expect(p.transactions).toHaveLength(1);
  });

  it('fails temporarily, without sending, when the peer does not offer STARTTLS', async () => {
    const p = await peer();
    const failure = await failureOf(openSmtpSession(target(p), options(), required()));
    expect(failure.permanent).toBe(false);
    expect(failure.enhanced).toBe('4.7.4');
    expect(failure.tlsResult?.resultType).toBe('starttls-not-supported');
    expect(failure.reply).toContain(`${MX}[${p.host}]`);
    expect(p.rcptLog).toHaveLength(0);
  });

  it.each([
    ['a certificate for another name', () => wrongName, 'certificate-host-mismatch'],
    ['an expired certificate', () => expired, 'certificate-expired'],
    ['a certificate from an untrusted CA', () => stranger, 'certificate-not-trusted'],
  ] as const)('fails with 4.7.5 on %s', async (_what, cert, resultType) => {
    const p = await peer({ tls: cert() });
    const failure = await failureOf(openSmtpSession(target(p), options(), required()));
    expect(failure.permanent).toBe(false);
    expect(failure.enhanced).toBe('4.7.5');
    expect(failure.tlsResult?.resultType).toBe(resultType);
    expect(p.transactions).toHaveLength(0);
  });

  it('trusts the test CA only when it is given as the extra CA', async () => {
    const p = await peer({ tls: good });
    const failure = await failureOf(openSmtpSession(target(p), options({ extraCa: undefined }), required()));
    expect(failure.tlsResult?.resultType).toBe('certificate-not-trusted');
  });

  it('fails when the peer must offer REQUIRETLS and does not; delivers when it does', async () => {
    const without = await peer({ tls: good });
    const failure = await failureOf(
      openSmtpSession(target(without), options(), required({ peerMustOfferRequireTls: true })),
    );
    expect(failure.enhanced).toBe('4.7.10');
    expect(failure.permanent).toBe(false);
    expect(failure.tlsResult?.resultType).toBe('success');

    const offering = await peer({ tls: good, extensions: ['REQUIRETLS'] });
    const { session } = await sendOne(offering, required({ peerMustOfferRequireTls: true }));
    expect(session.extensions).toContain('REQUIRETLS');
    expect(offering.transactions).toHaveLength(1);
  });

  it('keeps the extensions of the EHLO after STARTTLS, not those announced in clear', async () => {
    // RFC 3207 §4.2: what came before the handshake is forgotten (STARTTLS is listed only then).
    const p = await peer({ tls: good });
    const session = await openSmtpSession(target(p), options(), required());
    session.close();
    expect(session.extensions).not.toContain('STARTTLS');
  });
});
