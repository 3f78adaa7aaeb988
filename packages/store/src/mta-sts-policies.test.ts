import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteExpiredMtaStsPolicies, findMtaStsPolicy, saveMtaStsPolicy } from './mta-sts-policies.js';
import { openTestStore } from './test-store.js';

let store: Awaited<ReturnType<typeof openTestStore>>;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => store.close());

const at = (iso: string) => new Date(iso);
const policy = (domain: string, policyId: string, fetchedAt: string, expiresAt: string) => ({
  domain,
  policyId,
  mode: 'enforce' as const,
  policyText: `version: STSv1\r\nmode: enforce\r\nmx: mx.${domain}\r\nmax_age: 86400\r\n`,
  fetchedAt: at(fetchedAt),
  expiresAt: at(expiresAt),
});

describe('the MTA-STS policy cache', () => {
  it('keeps one policy per domain, the newer fetch replacing the older', async () => {
    expect(await findMtaStsPolicy(store.pool, 'a.test')).toBeUndefined();
    await saveMtaStsPolicy(
      store.pool,
      policy('a.test', 'one', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'),
    );
    await saveMtaStsPolicy(
      store.pool,
      policy('a.test', 'two', '2026-01-01T01:00:00Z', '2026-01-02T01:00:00Z'),
    );
    expect(await findMtaStsPolicy(store.pool, 'a.test')).toEqual(
      policy('a.test', 'two', '2026-01-01T01:00:00Z', '2026-01-02T01:00:00Z'),
    );
  });

  it('does not let a slower worker put back an older fetch', async () => {
    await saveMtaStsPolicy(
      store.pool,
      policy('b.test', 'new', '2026-01-01T02:00:00Z', '2026-01-02T02:00:00Z'),
    );
    await saveMtaStsPolicy(
      store.pool,
      policy('b.test', 'old', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'),
    );
    expect((await findMtaStsPolicy(store.pool, 'b.test'))?.policyId).toBe('new');
  });

  it('refuses a mode that is not enforce, testing or none', async () => {
    await expect(
      saveMtaStsPolicy(store.pool, {
        ...policy('c.test', 'x', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'),
        mode: 'strict' as 'none',
      }),
    ).rejects.toThrow(/check constraint/);
  });

  it('forgets policies that expired', async () => {
    await saveMtaStsPolicy(store.pool, policy('d.test', 'x', '2025-01-01T00:00:00Z', '2025-01-02T00:00:00Z'));
    expect(await deleteExpiredMtaStsPolicies(store.pool, at('2025-06-01T00:00:00Z'))).toBe(1);
    expect(await findMtaStsPolicy(store.pool, 'd.test')).toBeUndefined();
    expect(await findMtaStsPolicy(store.pool, 'a.test')).toBeDefined();
  });
});
