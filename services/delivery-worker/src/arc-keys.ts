import { type DkimSigningKey, dkimSigningKeys, type SecretsKeyring } from '@tegami/store';
import type pg from 'pg';
import type { ArcSealKey } from './arc-seal.js';
import { DKIM_KEY_CACHE_MS } from './dkim-signing.js';

/**
 * The key that seals a domain's forwarded mail: its active rsa DKIM key (RFC 8617 §4.1.3
 * allows ARC rsa-sha256 only, so an ed25519-only domain does not seal), read as the DKIM
 * signer reads keys and cached as long. The object is the store's, whose PEM stays out of
 * logs. Without a keyring no key opens: undefined.
 */
export function arcSealKeys(
  pool: pg.Pool,
  keyring: SecretsKeyring | undefined,
  cacheMs = DKIM_KEY_CACHE_MS,
): (domain: string) => Promise<ArcSealKey | undefined> {
  const cache = new Map<string, { readonly at: number; readonly key: Promise<DkimSigningKey | undefined> }>();
  return (domain) => {
    if (!keyring) return Promise.resolve(undefined);
    const hit = cache.get(domain);
    if (hit && Date.now() - hit.at < cacheMs) return hit.key;
    const key = dkimSigningKeys(pool, keyring, domain).then((keys) =>
      keys.find((k) => k.algorithm === 'rsa-sha256'),
    );
    // Bounded: only the domains of local aliases are looked up. A failure is not kept.
    cache.set(domain, { at: Date.now(), key });
    key.catch(() => cache.delete(domain));
    return key;
  };
}
