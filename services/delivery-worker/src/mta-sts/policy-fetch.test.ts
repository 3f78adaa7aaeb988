import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AddressFamily, ResolveStatus } from '@tegami/rpc';
import { createTestCa, type TestCa } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchMtaStsPolicy, type PolicyFetchOptions, resolverLookup } from './policy-fetch.js';

// The policy fetch against HTTPS servers of the test's own, found through a scripted resolver.

const POLICY = 'version: STSv1\r\nmode: enforce\r\nmx: mx.fetch.test\r\nmax_age: 86400\r\n';
let ca: TestCa;
let server: Server;
let port: number;
const lookedUp: string[] = [];
// What the server answers, per Host header.
const answers = new Map<string, (res: import('node:http').ServerResponse) => void>();

const resolver = {
  async resolveAddresses(host: string) {
    lookedUp.push(host);
    if (host.endsWith('.nowhere.test')) {
      return { status: ResolveStatus.RESOLVE_STATUS_NXDOMAIN, addresses: [], detail: 'scripted' };
    }
    return {
      status: ResolveStatus.RESOLVE_STATUS_OK,
      addresses: [{ address: '127.0.0.80', family: AddressFamily.ADDRESS_FAMILY_IPV4, ttlSeconds: 60 }],
      detail: '',
    };
  },
};

const options = (more: Partial<PolicyFetchOptions> = {}): PolicyFetchOptions => ({
  lookup: resolverLookup(resolver),
  ca: [ca.cert],
  port,
  timeoutMs: 2_000,
  ...more,
});

function serve(domain: string, answer: (res: import('node:http').ServerResponse) => void) {
  answers.set(`mta-sts.${domain}`, answer);
}

beforeAll(async () => {
  ca = await createTestCa();
  const names = ['ok', 'redirect', 'missing', 'html', 'big', 'chunked', 'invalid', 'slow', 'charset'].map(
    (d) => `mta-sts.${d}.fetch.test`,
  );
  const cert = await ca.issue(names);
  server = createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    const answer = answers.get(String(req.headers.host).replace(/:\d+$/, ''));
    if (req.url !== '/.well-known/mta-sts.txt' || !answer) {
      res.writeHead(404).end();
      return;
    }
    answer(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.80', resolve));
  port = (server.address() as AddressInfo).port;
  const plain =
    (body: string, type = 'text/plain') =>
    (res: import('node:http').ServerResponse) =>
      res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
  serve('ok.fetch.test', plain(POLICY));
  serve('charset.fetch.test', plain(POLICY, 'text/plain; charset=utf-8'));
  serve('redirect.fetch.test', (res) =>
    res.writeHead(301, { location: 'https://elsewhere.test/.well-known/mta-sts.txt' }).end(),
  );
  serve('html.fetch.test', plain(POLICY, 'text/html'));
  serve('big.fetch.test', plain(`${POLICY}${'x: y\r\n'.repeat(12_000)}`));
  serve('chunked.fetch.test', (res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    for (let i = 0; i < 70; i++) res.write(`${'x'.repeat(1020)}: y\r\n`);
    res.end();
  });
  serve('invalid.fetch.test', plain('version: STSv1\r\nmode: enforce\r\nmax_age: 86400\r\n'));
  serve('slow.fetch.test', () => undefined);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('fetching an MTA-STS policy (RFC 8461 §3.3)', () => {
  it('reads the policy from https://mta-sts.<domain>/.well-known/mta-sts.txt, the host found through the resolver', async () => {
    expect(await fetchMtaStsPolicy('ok.fetch.test', options())).toEqual({
      ok: true,
      text: POLICY,
      policy: { mode: 'enforce', mx: ['mx.fetch.test'], maxAge: 86400 },
    });
    expect(lookedUp).toContain('mta-sts.ok.fetch.test');
  });

  it('takes text/plain with parameters', async () => {
    expect(await fetchMtaStsPolicy('charset.fetch.test', options())).toMatchObject({ ok: true });
  });

  it('does not follow a redirect', async () => {
    expect(await fetchMtaStsPolicy('redirect.fetch.test', options())).toEqual({
      ok: false,
      resultType: 'sts-policy-fetch-error',
      detail:
        'https://mta-sts.redirect.fetch.test/.well-known/mta-sts.txt: HTTP status 301 (to https://elsewhere.test/.well-known/mta-sts.txt), not 200',
    });
  });

  it('fails on any status but 200', async () => {
    expect(await fetchMtaStsPolicy('missing.fetch.test', options())).toMatchObject({
      ok: false,
      resultType: 'sts-policy-fetch-error',
      detail: expect.stringContaining('HTTP status 404'),
    });
  });

  it('refuses a media type other than text/plain', async () => {
    expect(await fetchMtaStsPolicy('html.fetch.test', options())).toMatchObject({
      ok: false,
      resultType: 'sts-policy-invalid',
      detail: expect.stringContaining('media type "text/html"'),
    });
  });

  it('refuses a body over 64 KiB, whether its length is declared or not', async () => {
    expect(await fetchMtaStsPolicy('big.fetch.test', options())).toMatchObject({
      ok: false,
      resultType: 'sts-policy-invalid',
      detail: expect.stringMatching(/policy of \d+ bytes is over 65536$/),
    });
    expect(await fetchMtaStsPolicy('chunked.fetch.test', options())).toMatchObject({
      ok: false,
      resultType: 'sts-policy-invalid',
      detail: expect.stringMatching(/policy is over 65536 bytes$/),
    });
  });

  it('refuses a policy that does not parse', async () => {
    expect(await fetchMtaStsPolicy('invalid.fetch.test', options())).toMatchObject({
      ok: false,
      resultType: 'sts-policy-invalid',
      detail: expect.stringContaining('mode enforce needs at least one mx'),
    });
  });

  it('refuses a policy host whose certificate is not trusted, or not for its name', async () => {
    expect(await fetchMtaStsPolicy('ok.fetch.test', options({ ca: undefined }))).toMatchObject({
      ok: false,
      resultType: 'sts-webpki-invalid',
    });
    serve('other.fetch.test', (res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(POLICY));
    expect(await fetchMtaStsPolicy('other.fetch.test', options())).toEqual({
      ok: false,
      resultType: 'sts-webpki-invalid',
      detail:
        'https://mta-sts.other.fetch.test/.well-known/mta-sts.txt: certificate not valid: ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });

  it('gives up on a host that does not answer in time', async () => {
    expect(await fetchMtaStsPolicy('slow.fetch.test', options({ timeoutMs: 300 }))).toMatchObject({
      ok: false,
      resultType: 'sts-policy-fetch-error',
      detail: expect.stringContaining('no complete answer within 300 ms'),
    });
  });

  it('fails when the policy host has no address', async () => {
    expect(await fetchMtaStsPolicy('x.nowhere.test', options())).toMatchObject({
      ok: false,
      resultType: 'sts-policy-fetch-error',
      detail: expect.stringContaining('ENOTFOUND'),
    });
  });
});
