import { request } from 'node:https';
import type { LookupFunction } from 'node:net';
import { MTA_STS_POLICY_MAX_BYTES, type MtaStsPolicy, parseMtaStsPolicy } from '@tegami/protocol';
import { AddressFamily, type ResolverClient, ResolveStatus } from '@tegami/rpc';

// Fetching a domain's MTA-STS policy (RFC 8461 §3.3): GET https://mta-sts.<domain>/.well-known/
// mta-sts.txt, the host's certificate validated by WebPKI, 200 only (no redirects, no HTTP
// caching), media type text/plain, bounded in size and time. The policy host's address comes
// from the dns-resolver like every other name the worker looks up.

export type PolicyFetchFailure = 'sts-policy-fetch-error' | 'sts-policy-invalid' | 'sts-webpki-invalid';

export type PolicyFetch =
  | { readonly ok: true; readonly text: string; readonly policy: MtaStsPolicy }
  | { readonly ok: false; readonly resultType: PolicyFetchFailure; readonly detail: string };

export interface PolicyFetchOptions {
  readonly lookup: LookupFunction;
  /** Roots trusted for the policy host; undefined: Node's. */
  readonly ca?: readonly string[] | undefined;
  /** 443, except in tests. */
  readonly port: number;
  /** The whole fetch, from the address lookup to the last byte. */
  readonly timeoutMs: number;
  readonly maxBytes?: number | undefined;
}

// Certificate verdicts of the TLS handshake: the policy host is not who it should be.
const WEBPKI_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)|ALTNAME|INVALID_CA|HOSTNAME/;

export function fetchMtaStsPolicy(domain: string, options: PolicyFetchOptions): Promise<PolicyFetch> {
  const host = `mta-sts.${domain}`;
  const url = `https://${host}/.well-known/mta-sts.txt`;
  const maxBytes = options.maxBytes ?? MTA_STS_POLICY_MAX_BYTES;
  return new Promise<PolicyFetch>((resolve) => {
    let settled = false;
    const finish = (outcome: PolicyFetch) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(outcome);
    };
    const fail = (resultType: PolicyFetchFailure, detail: string) =>
      finish({ ok: false, resultType, detail: `${url}: ${detail}` });
    const req = request(
      {
        host,
        port: options.port,
        path: '/.well-known/mta-sts.txt',
        method: 'GET',
        servername: host,
        lookup: options.lookup,
        ...(options.ca ? { ca: [...options.ca] } : {}),
        rejectUnauthorized: true,
        // A connection of its own: no keep-alive pool to leak between fetches.
        agent: false,
        headers: { accept: 'text/plain', 'user-agent': 'Tegami MTA-STS' },
      },
      (res) => {
        if (res.statusCode !== 200) {
          const where = res.headers.location ? ` (to ${String(res.headers.location).slice(0, 200)})` : '';
          return fail('sts-policy-fetch-error', `HTTP status ${res.statusCode}${where}, not 200`);
        }
        const type = (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (type !== 'text/plain') return fail('sts-policy-invalid', `media type "${type}", not text/plain`);
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > maxBytes)
          return fail('sts-policy-invalid', `policy of ${declared} bytes is over ${maxBytes}`);
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) return fail('sts-policy-invalid', `policy is over ${maxBytes} bytes`);
          chunks.push(chunk);
        });
        res.on('error', (err) => fail('sts-policy-fetch-error', err.message));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const parsed = parseMtaStsPolicy(text);
          if (!parsed.ok) return fail('sts-policy-invalid', parsed.error);
          finish({ ok: true, text, policy: parsed.policy });
        });
      },
    );
    const timer = setTimeout(
      () => fail('sts-policy-fetch-error', `no complete answer within ${options.timeoutMs} ms`),
      options.timeoutMs,
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      if (WEBPKI_ERRORS.test(code)) return fail('sts-webpki-invalid', `certificate not valid: ${code}`);
      fail('sts-policy-fetch-error', code ? `${code}: ${err.message}` : err.message);
    });
    req.end();
  });
}

/**
 * A `lookup` for net/https that asks the dns-resolver, so the policy host is found through
 * the same cache and upstreams as the MX hosts (and tests can point it at their own DNS).
 */
export function resolverLookup(resolver: Pick<ResolverClient, 'resolveAddresses'>): LookupFunction {
  return (hostname, options, callback) => {
    const wantAll = typeof options === 'object' && options !== null && options.all === true;
    resolver.resolveAddresses(hostname).then(
      (answer) => {
        const list = answer.addresses.map((a) => ({
          address: a.address,
          family: a.family === AddressFamily.ADDRESS_FAMILY_IPV6 ? 6 : 4,
        }));
        if (answer.status !== ResolveStatus.RESOLVE_STATUS_OK || list.length === 0) {
          const err = Object.assign(
            new Error(`no address for ${hostname}: ${ResolveStatus[answer.status]}`),
            {
              code: answer.status === ResolveStatus.RESOLVE_STATUS_NXDOMAIN ? 'ENOTFOUND' : 'ENODATA',
              hostname,
            },
          );
          return callback(err, '', 4);
        }
        if (wantAll) return (callback as unknown as (err: null, all: typeof list) => void)(null, list);
        callback(null, list[0]!.address, list[0]!.family);
      },
      (err: Error) => callback(Object.assign(err, { code: 'ESERVFAIL' }), '', 4),
    );
  };
}
