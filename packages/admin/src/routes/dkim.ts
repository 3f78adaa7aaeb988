import { type DkimAlgorithm, dkimRecordName, dkimRecordValue } from '@tegami/protocol/dkim';
import { createDkimKey, type DkimKey, listDkimKeys, rotateDkimKeys } from '@tegami/store';
import { ApiError } from '../errors.js';
import type { AdminRoute } from './route.js';
import { arrayOf, domainName, iso, nullableTimestamp, object, timestamp } from './schemas.js';

const key = object({
  domain: { type: 'string' },
  selector: { type: 'string' },
  algorithm: { type: 'string', enum: ['rsa-sha256', 'ed25519-sha256'] },
  state: { type: 'string', enum: ['active', 'retiring'] },
  createdAt: timestamp,
  /** Retiring: the end of its grace period (keep its record published until then). */
  retireUntil: nullableTimestamp,
  dnsName: { type: 'string' },
  dnsValue: { type: 'string' },
});

function keyOut(k: DkimKey) {
  return {
    domain: k.domain,
    selector: k.selector,
    algorithm: k.algorithm,
    state: k.state,
    createdAt: iso(k.createdAt),
    retireUntil: iso(k.retireUntil ?? null),
    dnsName: dkimRecordName(k.selector, k.domain),
    dnsValue: dkimRecordValue(k.algorithm, k.publicKey),
  };
}

const ALGORITHMS: Readonly<Record<string, DkimAlgorithm>> = { rsa: 'rsa-sha256', ed25519: 'ed25519-sha256' };

export const dkimRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: '/dkim',
    operationId: 'listDkimKeys',
    summary: 'DKIM signing keys per domain, with the TXT record each one needs',
    tag: 'dkim',
    write: false,
    query: object({ domain: domainName }, []),
    success: { status: 200, schema: object({ keys: arrayOf(key) }) },
    handle: async (ctx, req) => {
      const domain = req.query.domain as string | undefined;
      return { body: { keys: (await listDkimKeys(ctx.pool, domain)).map(keyOut) } };
    },
  },
  {
    method: 'POST',
    path: '/dkim/{domain}/rotate',
    operationId: 'rotateDkimKeys',
    summary: "Replace a domain's signing keys (or make its first one)",
    description: `Makes a new key for each algorithm the domain signs with (or only the one given), which
signs from now on; the old key becomes retiring for a grace period of 7 days (keep its record
published until retireUntil). A domain without a key gets its first one (rsa unless algorithm
says ed25519). Publish the new dnsValue at dnsName. Refused (409) when the server has no
secrets key (TEGAMI_SECRETS_KEY_FILE) to seal private keys with.`,
    tag: 'dkim',
    write: true,
    params: object({ domain: domainName }),
    body: object({ algorithm: { type: 'string', enum: ['rsa', 'ed25519'] } }, []),
    success: { status: 200, schema: object({ created: arrayOf(key), retiring: arrayOf(key) }) },
    errors: [404, 409],
    handle: async (ctx, req) => {
      if (!ctx.secretsKeyring)
        throw new ApiError(
          409,
          'conflict',
          'this server has no secrets key to seal a private key with: set TEGAMI_SECRETS_KEY_FILE (the same file as the delivery-worker and the CLI)',
        );
      const domain = req.params.domain!;
      const wanted = (req.body as { algorithm?: string } | undefined)?.algorithm;
      const algorithm = wanted === undefined ? undefined : ALGORITHMS[wanted];
      const active = (await listDkimKeys(ctx.pool, domain.toLowerCase())).filter(
        (k) => k.state === 'active' && (algorithm === undefined || k.algorithm === algorithm),
      );
      if (active.length === 0) {
        const created = await createDkimKey(ctx.pool, ctx.secretsKeyring, {
          domain,
          algorithm: algorithm ?? 'rsa-sha256',
        });
        return {
          body: { created: [keyOut(created)], retiring: [] },
          detail: { created: [created.selector] },
        };
      }
      const { created, retiring } = await rotateDkimKeys(ctx.pool, ctx.secretsKeyring, { domain, algorithm });
      return {
        body: { created: created.map(keyOut), retiring: retiring.map(keyOut) },
        detail: { created: created.map((k) => k.selector), retiring: retiring.map((k) => k.selector) },
      };
    },
  },
];
