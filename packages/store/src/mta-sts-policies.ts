import type { Queryable } from './db.js';

// The MTA-STS policy cache of the delivery-workers (migration 0014). The policy logic (when to
// fetch, what a policy means) is the delivery-worker's; this only keeps what it fetched.

export interface CachedMtaStsPolicy {
  readonly domain: string;
  readonly policyId: string;
  readonly mode: 'enforce' | 'testing' | 'none';
  readonly policyText: string;
  readonly fetchedAt: Date;
  readonly expiresAt: Date;
}

/** The policy last fetched for `domain` (lower case), expired or not. */
export async function findMtaStsPolicy(
  db: Queryable,
  domain: string,
): Promise<CachedMtaStsPolicy | undefined> {
  const result = await db.query<{
    domain: string;
    policy_id: string;
    mode: CachedMtaStsPolicy['mode'];
    policy_text: string;
    fetched_at: Date;
    expires_at: Date;
  }>(
    `SELECT domain, policy_id, mode, policy_text, fetched_at, expires_at
       FROM mta_sts_policies WHERE domain = $1`,
    [domain],
  );
  const row = result.rows[0];
  return row
    ? {
        domain: row.domain,
        policyId: row.policy_id,
        mode: row.mode,
        policyText: row.policy_text,
        fetchedAt: row.fetched_at,
        expiresAt: row.expires_at,
      }
    : undefined;
}

/**
 * Keeps a freshly fetched policy, replacing the domain's previous one. Workers that fetched
 * at the same moment race harmlessly: the one fetched last wins, and both fetched the same id
 * or the newer one.
 */
export async function saveMtaStsPolicy(db: Queryable, policy: CachedMtaStsPolicy): Promise<void> {
  await db.query(
    `INSERT INTO mta_sts_policies (domain, policy_id, mode, policy_text, fetched_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (domain) DO UPDATE
        SET policy_id = EXCLUDED.policy_id, mode = EXCLUDED.mode, policy_text = EXCLUDED.policy_text,
            fetched_at = EXCLUDED.fetched_at, expires_at = EXCLUDED.expires_at
      WHERE mta_sts_policies.fetched_at <= EXCLUDED.fetched_at`,
    [policy.domain, policy.policyId, policy.mode, policy.policyText, policy.fetchedAt, policy.expiresAt],
  );
}

/** Drops policies that expired before `before` (nothing applies them any more). */
export async function deleteExpiredMtaStsPolicies(db: Queryable, before: Date): Promise<number> {
  const result = await db.query('DELETE FROM mta_sts_policies WHERE expires_at < $1', [before]);
  return result.rowCount ?? 0;
}
