import { acquireDestinationSlot, releaseDestinationSlot, renewDestinationSlot } from '@tegami/store';
import type pg from 'pg';

const SLOT_LEASE_MS = 120_000;

/**
 * The limit on connections to one destination domain, held across every worker replica:
 * `withDomainSlot(domain, fn)` runs fn holding one of the domain's `limit` slots (a lease
 * in Postgres, renewed while fn runs), or resolves undefined at once when all are taken.
 */
export function domainSlots(pool: pg.Pool, limit: number, holder: string) {
  return async function withDomainSlot<T>(domain: string, fn: () => Promise<T>): Promise<T | undefined> {
    let slot: number | undefined;
    // Two workers picking the same free slot at once: one loses and looks again.
    for (let i = 0; i < 3 && slot === undefined; i++) {
      slot = await acquireDestinationSlot(pool, domain, limit, holder, SLOT_LEASE_MS);
    }
    if (slot === undefined) return undefined;
    const renew = setInterval(() => {
      renewDestinationSlot(pool, domain, slot, holder, SLOT_LEASE_MS).catch(() => undefined);
    }, SLOT_LEASE_MS / 3);
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      await releaseDestinationSlot(pool, domain, slot, holder).catch(() => undefined);
    }
  };
}
