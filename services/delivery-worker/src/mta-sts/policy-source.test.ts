import { ResolveStatus } from '@tegami/rpc';
import type { CachedMtaStsPolicy } from '@tegami/store';
import { describe, expect, it } from 'vitest';
import type { PolicyFetch } from './policy-fetch.js';
import { createMtaStsPolicySource, type MtaStsPolicyCache } from './policy-source.js';

// When a policy is fetched, kept and applied (RFC 8461 §3.1, §5.1), with a scripted TXT record,
// policy host, store and clock.

const policyText = (mode: string, maxAge = 86400) =>
  `version: STSv1\r\nmode: ${mode}\r\nmx: mx.a.test\r\nmax_age: ${maxAge}\r\n`;

function harness() {
  let clock = Date.parse('2026-03-01T00:00:00Z');
  let record: string[][] | 'SERVFAIL' | undefined = [['v=STSv1; id=one;']];
  let served: PolicyFetch = {
    ok: true,
    text: policyText('enforce'),
    policy: { mode: 'enforce', mx: ['mx.a.test'], maxAge: 86400 },
  };
  const fetches: string[] = [];
  const stored = new Map<string, CachedMtaStsPolicy>();
  let storeReads = 0;
  const cache: MtaStsPolicyCache = {
    async find(domain) {
      storeReads++;
      return stored.get(domain);
    },
    async save(policy) {
      stored.set(policy.domain, policy);
    },
  };
  const failures: string[] = [];
  const make = () =>
    createMtaStsPolicySource({
      resolver: {
        async resolveTxt() {
          if (record === 'SERVFAIL')
            return { status: ResolveStatus.RESOLVE_STATUS_SERVFAIL, records: [], detail: '' };
          if (!record) return { status: ResolveStatus.RESOLVE_STATUS_NXDOMAIN, records: [], detail: '' };
          return {
            status: ResolveStatus.RESOLVE_STATUS_OK,
            records: record.map((strings) => ({ strings, ttlSeconds: 60 })),
            detail: '',
          };
        },
      },
      cache,
      fetch: async (domain) => {
        fetches.push(domain);
        return served;
      },
      onFetchFailure: (_domain, failure) => failures.push(failure.resultType),
      now: () => clock,
    });
  return {
    source: make(),
    /** Another worker: its own memory, the same store. */
    another: make,
    fetches,
    stored,
    failures,
    storeReads: () => storeReads,
    setRecord: (r: typeof record) => {
      record = r;
    },
    serve: (text: string) => {
      const mode = /mode: (\w+)/.exec(text)![1] as 'enforce';
      const maxAge = Number(/max_age: (\d+)/.exec(text)![1]);
      served = { ok: true, text, policy: { mode, mx: ['mx.a.test'], maxAge } };
    },
    failFetch: () => {
      served = { ok: false, resultType: 'sts-policy-fetch-error', detail: 'refused' };
    },
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe('the MTA-STS policy of a destination', () => {
  it('fetches the policy a TXT record announces, keeps it in the store, and does not fetch it again', async () => {
    const h = harness();
    const first = await h.source('A.test.');
    expect(first).toEqual({
      domain: 'a.test',
      id: 'one',
      policy: { mode: 'enforce', mx: ['mx.a.test'], maxAge: 86400 },
      lines: ['version: STSv1', 'mode: enforce', 'mx: mx.a.test', 'max_age: 86400'],
    });
    expect(h.stored.get('a.test')).toMatchObject({
      policyId: 'one',
      mode: 'enforce',
      fetchedAt: new Date('2026-03-01T00:00:00Z'),
      expiresAt: new Date('2026-03-02T00:00:00Z'),
    });
    const reads = h.storeReads();
    expect(await h.source('a.test')).toEqual(first);
    expect(h.fetches).toEqual(['a.test']);
    // The id still names the policy in memory: the store is not read again.
    expect(h.storeReads()).toBe(reads);
  });

  it('fetches again when the id changes', async () => {
    const h = harness();
    await h.source('a.test');
    h.setRecord([['v=STSv1; id=two;']]);
    h.serve(policyText('testing'));
    expect(await h.source('a.test')).toMatchObject({ id: 'two', policy: { mode: 'testing' } });
    expect(h.fetches).toEqual(['a.test', 'a.test']);
  });

  it('fetches again when max_age has run out, even with the same id', async () => {
    const h = harness();
    await h.source('a.test');
    h.advance(86_400_000 + 1);
    await h.source('a.test');
    expect(h.fetches).toHaveLength(2);
    expect(h.stored.get('a.test')?.expiresAt).toEqual(new Date('2026-03-03T00:00:00.001Z'));
  });

  it('uses a policy another worker fetched, from the store', async () => {
    const h = harness();
    await h.source('a.test');
    expect(await h.another()('a.test')).toMatchObject({ id: 'one' });
    expect(h.fetches).toHaveLength(1);
  });

  it('keeps applying the cached policy when the new one cannot be fetched (§5)', async () => {
    const h = harness();
    await h.source('a.test');
    h.setRecord([['v=STSv1; id=two;']]);
    h.failFetch();
    expect(await h.source('a.test')).toMatchObject({ id: 'one', policy: { mode: 'enforce' } });
    expect(h.failures).toEqual(['sts-policy-fetch-error']);
    // And does not try the same id again at once.
    await h.source('a.test');
    expect(h.fetches).toHaveLength(2);
    h.advance(300_001);
    await h.source('a.test');
    expect(h.fetches).toHaveLength(3);
  });

  it('keeps applying the cached policy when the TXT record is gone or DNS fails, until it expires', async () => {
    const h = harness();
    await h.another()('a.test');
    h.setRecord(undefined);
    expect(await h.source('a.test')).toMatchObject({ id: 'one' });
    h.setRecord('SERVFAIL');
    expect(await h.source('a.test')).toMatchObject({ id: 'one' });
    h.advance(86_400_000 + 1);
    expect(await h.source('a.test')).toBeUndefined();
  });

  it('has no policy without a record, with an invalid one, or when the fetch fails and nothing is cached', async () => {
    const h = harness();
    h.setRecord(undefined);
    expect(await h.source('a.test')).toBeUndefined();
    h.setRecord([['v=STSv1; id=one;'], ['v=STSv1; id=two;']]);
    expect(await h.source('a.test')).toBeUndefined();
    h.setRecord([['v=STSv1; id=not-valid;']]);
    expect(await h.source('a.test')).toBeUndefined();
    expect(h.fetches).toEqual([]);
    h.setRecord([['v=STSv1; id=one;']]);
    h.failFetch();
    expect(await h.source('a.test')).toBeUndefined();
    expect(h.fetches).toEqual(['a.test']);
  });

  it('reads the store for a domain without a record at most once a minute', async () => {
    const h = harness();
    h.setRecord(undefined);
    await h.source('b.test');
    await h.source('b.test');
    expect(h.storeReads()).toBe(1);
    h.advance(60_001);
    await h.source('b.test');
    expect(h.storeReads()).toBe(2);
  });

  it('applies nothing for a policy in mode none, but keeps it so it replaces the older one', async () => {
    const h = harness();
    await h.source('a.test');
    h.setRecord([['v=STSv1; id=off;']]);
    h.serve('version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n');
    expect(await h.source('a.test')).toBeUndefined();
    expect(h.stored.get('a.test')).toMatchObject({ policyId: 'off', mode: 'none' });
    h.setRecord(undefined);
    expect(await h.another()('a.test')).toBeUndefined();
  });

  it('shares one lookup and fetch among concurrent deliveries to a domain', async () => {
    const h = harness();
    await Promise.all([h.source('a.test'), h.source('a.test'), h.source('a.test')]);
    expect(h.fetches).toEqual(['a.test']);
  });
});
