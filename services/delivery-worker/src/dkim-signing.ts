import { createPrivateKey, type KeyObject } from 'node:crypto';
import { foldLongLines } from '@tegami/protocol';
import type { Logger } from '@tegami/runtime';
import {
  type DkimSigningKey,
  dkimSigningKeys,
  listDkimKeys,
  type SecretsKeyring,
  type UnreadableDkimKey,
} from '@tegami/store';
import { type DKIMSignOptions, dkimSign } from 'mailauth';
import type pg from 'pg';
import { Counter, type Registry } from 'prom-client';
import { signingDomainCandidates } from './signing-domain.js';

// DKIM signatures on mail leaving for other domains (RFC 6376; Ed25519 per RFC 8463): one
// per active key of the signing domain, so rsa-sha256 and ed25519-sha256 both when both
// exist. A message is signed once per delivery attempt, before the MX hosts are tried.

/**
 * The fields signed, as RFC 6376 §5.4.1 recommends: what a reader sees and what threads the
 * message. Those present are signed; From is listed once more than it occurs (oversigned,
 * §5.4.2), so a second From added on the way breaks the signature instead of fooling the
 * reader.
 */
export const SIGNED_FIELDS = [
  'From',
  'To',
  'Cc',
  'Subject',
  'Date',
  'Message-ID',
  'Reply-To',
  'In-Reply-To',
  'References',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
] as const;
export const OVERSIGNED_FIELDS = ['From'] as const;

/** Rotation and deletion take effect within this time in every worker. */
export const DKIM_KEY_CACHE_MS = 30_000;

export interface DkimSigningDeps {
  readonly pool: pg.Pool;
  /** TEGAMI_SECRETS_KEY_FILE: without it no key opens, and mail goes out unsigned. */
  readonly keyring: SecretsKeyring | undefined;
  readonly localDomains: () => Promise<readonly string[]>;
  readonly logger: Logger;
  readonly metrics?: Registry | undefined;
  readonly cacheMs?: number | undefined;
  readonly now?: () => Date;
}

export interface DkimSigning {
  /**
   * The message as it goes to the next MTA: long lines folded (RFC 5321 §4.5.3.1.6), then
   * signed when a local domain of its From or envelope sender has keys. A key that cannot
   * be used is logged and counted, and the message goes without that signature; a failure
   * to read the keys at all rejects, and the caller defers the delivery.
   */
  outgoing(message: Buffer, envelopeSender: string): Promise<Buffer>;
}

export function dkimSigning(deps: DkimSigningDeps): DkimSigning {
  const cacheMs = deps.cacheMs ?? DKIM_KEY_CACHE_MS;
  const now = deps.now ?? (() => new Date());
  const metrics = deps.metrics ? dkimMetrics(deps.metrics) : undefined;
  const cache = new Map<string, { readonly at: number; readonly keys: Promise<ReadyKey[]> }>();

  const unreadable = (key: UnreadableDkimKey) => {
    metrics?.failures.inc({ reason: 'unreadable-key' });
    deps.logger.error(
      {
        domain: key.domain,
        selector: key.selector,
        algorithm: key.algorithm,
        secretsKeyId: key.secretsKeyId,
      },
      deps.keyring
        ? `cannot open this DKIM key (${key.problem}): the domain's mail goes out without its signature until the secrets key that sealed it is in TEGAMI_SECRETS_KEY_FILE or the key is rotated`
        : 'this domain has a DKIM key but the delivery-worker has no TEGAMI_SECRETS_KEY_FILE to open it: its mail goes out unsigned',
    );
  };
  // Parsed once per cache time: parsing a PEM costs more than an Ed25519 signature.
  const ready = (keys: readonly DkimSigningKey[]): ReadyKey[] =>
    keys.flatMap((key) => {
      try {
        return [
          {
            domain: key.domain,
            selector: key.selector,
            algorithm: key.algorithm,
            privateKey: createPrivateKey(key.privateKeyPem),
          },
        ];
      } catch (err) {
        metrics?.failures.inc({ reason: 'unusable-key' });
        deps.logger.error(
          {
            domain: key.domain,
            selector: key.selector,
            algorithm: key.algorithm,
            err: (err as Error).message,
          },
          "this DKIM key opens but is not a private key: the domain's mail goes out without its signature until it is rotated",
        );
        return [];
      }
    });
  const keysOf = (domain: string): Promise<ReadyKey[]> => {
    const hit = cache.get(domain);
    if (hit && Date.now() - hit.at < cacheMs) return hit.keys;
    const keys = deps.keyring
      ? dkimSigningKeys(deps.pool, deps.keyring, domain, unreadable).then(ready)
      : withoutKeyring(domain);
    // Bounded: only local domains are ever looked up.
    cache.set(domain, { at: Date.now(), keys });
    keys.catch(() => cache.delete(domain));
    return keys;
  };

  // No keyring: nothing can be opened, but an operator who made keys must hear why mail is unsigned.
  const withoutKeyring = async (domain: string): Promise<ReadyKey[]> => {
    for (const key of await listDkimKeys(deps.pool, domain).catch(() => [])) {
      if (key.state === 'active') unreadable({ ...key, problem: 'unknown-key' });
    }
    return [];
  };

  return {
    async outgoing(message, envelopeSender) {
      const folded = foldLongLines(message);
      const local = new Set(await deps.localDomains());
      for (const domain of signingDomainCandidates(folded, envelopeSender, local)) {
        const keys = await keysOf(domain);
        if (keys.length === 0) continue;
        return signed(folded, keys, now(), deps.logger, metrics);
      }
      return folded;
    },
  };
}

/** An active key, its private key parsed. */
interface ReadyKey {
  readonly domain: string;
  readonly selector: string;
  readonly algorithm: DkimSigningKey['algorithm'];
  readonly privateKey: KeyObject;
}

async function signed(
  message: Buffer,
  keys: readonly ReadyKey[],
  signTime: Date,
  logger: Logger,
  metrics: DkimMetrics | undefined,
): Promise<Buffer> {
  const signatureData = keys.map((key) => ({
    signingDomain: key.domain,
    selector: key.selector,
    privateKey: key.privateKey,
    algorithm: key.algorithm,
    canonicalization: 'relaxed/relaxed',
  }));
  const first = signatureData[0]!;
  const options: DKIMSignOptions = {
    // mailauth signs with signatureData only; the top-level key fields are required by its types.
    ...first,
    signatureData,
    signTime,
    // mailauth reads a colon-separated list here (an array would sign its defaults).
    headerList: SIGNED_FIELDS.join(':'),
    oversignHeaders: [...OVERSIGNED_FIELDS],
  };
  try {
    const result = await dkimSign(message, options);
    for (const error of result.errors ?? []) {
      const failure = error as { selector?: string; signingDomain?: string; err?: Error };
      metrics?.failures.inc({ reason: 'signing-error' });
      logger.error(
        { domain: failure.signingDomain, selector: failure.selector, err: failure.err?.message },
        'DKIM signing with this key failed: the message goes out without its signature',
      );
    }
    const failed = (result.errors ?? []) as { selector?: string; signingDomain?: string }[];
    for (const key of keys) {
      if (!failed.some((e) => e.selector === key.selector && e.signingDomain === key.domain)) {
        metrics?.signed.inc({ algorithm: key.algorithm });
      }
    }
    const fields = result.signatures.trim() === '' ? '' : result.signatures;
    return fields === '' ? message : Buffer.concat([Buffer.from(fields, 'latin1'), message]);
  } catch (err) {
    metrics?.failures.inc({ reason: 'signing-error' });
    logger.error(
      { domains: [...new Set(keys.map((k) => k.domain))], err: (err as Error).message },
      'DKIM signing failed: the message goes out unsigned',
    );
    return message;
  }
}

type DkimMetrics = ReturnType<typeof dkimMetrics>;

function dkimMetrics(registry: Registry) {
  return {
    signed: new Counter({
      name: 'tegami_dkim_signed_total',
      help: 'DKIM signatures added to outgoing messages, by algorithm (rsa-sha256, ed25519-sha256)',
      labelNames: ['algorithm'] as const,
      registers: [registry],
    }),
    failures: new Counter({
      name: 'tegami_dkim_signing_failures_total',
      help: 'DKIM signatures that could not be made (the message went without): by reason, unreadable-key (the secrets key that sealed it is missing), unusable-key (not a private key) or signing-error',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
  };
}
