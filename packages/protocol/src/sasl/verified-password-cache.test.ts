import { describe, expect, it } from 'vitest';
import { VerifiedPasswordCache } from './verified-password-cache.js';

const V1 = '$scrypt$ln=15,r=8,p=1$c2FsdA==$aGFzaA==';
const V2 = '$scrypt$ln=15,r=8,p=1$c2FsdDI=$aGFzaDI=';

function cache(options: { ttlMs?: number; maxEntries?: number } = {}) {
  let now = 1_000;
  const c = new VerifiedPasswordCache({
    ttlMs: options.ttlMs ?? 60_000,
    maxEntries: options.maxEntries ?? 100,
    now: () => now,
  });
  return { c, advance: (ms: number) => (now += ms) };
}

describe('VerifiedPasswordCache', () => {
  it('misses before a verification and hits after one, for the same account, verifier and password', () => {
    const { c } = cache();
    expect(c.has('a1', V1, 'secret')).toBe(false);
    c.remember('a1', V1, 'secret');
    expect(c.has('a1', V1, 'secret')).toBe(true);
    expect(c.size).toBe(1);
  });

  it('never hits with a wrong password, and a wrong one does not evict the right one', () => {
    const { c } = cache();
    c.remember('a1', V1, 'secret');
    for (const wrong of ['Secret', 'secret ', '', 'secre', 'secret\u0000'])
      expect(c.has('a1', V1, wrong)).toBe(false);
    expect(c.has('a1', V1, 'secret')).toBe(true);
  });

  it('misses once the password was set anew (another verifier), and for another account', () => {
    const { c } = cache();
    c.remember('a1', V1, 'secret');
    expect(c.has('a1', V2, 'secret')).toBe(false);
    expect(c.has('a2', V1, 'secret')).toBe(false);
  });

  it('forgets a verification its TTL after it was made, however often it was used', () => {
    const { c, advance } = cache({ ttlMs: 10_000 });
    c.remember('a1', V1, 'secret');
    advance(9_999);
    expect(c.has('a1', V1, 'secret')).toBe(true);
    advance(1);
    expect(c.has('a1', V1, 'secret')).toBe(false);
    expect(c.size).toBe(0);
  });

  it('holds at most maxEntries accounts, the least recently used going first', () => {
    const { c } = cache({ maxEntries: 3 });
    for (const id of ['a1', 'a2', 'a3']) c.remember(id, V1, `pw-${id}`);
    expect(c.has('a1', V1, 'pw-a1')).toBe(true); // a1 is now the most recent
    c.remember('a4', V1, 'pw-a4');
    expect(c.size).toBe(3);
    expect(c.has('a2', V1, 'pw-a2')).toBe(false);
    for (const id of ['a1', 'a3', 'a4']) expect(c.has(id, V1, `pw-${id}`)).toBe(true);
  });

  it('keeps nothing when off (TTL 0 or size 0)', () => {
    for (const options of [{ ttlMs: 0 }, { maxEntries: 0 }]) {
      const { c } = cache(options);
      expect(c.enabled).toBe(false);
      c.remember('a1', V1, 'secret');
      expect(c.has('a1', V1, 'secret')).toBe(false);
      expect(c.size).toBe(0);
    }
  });

  it('forgets an account on request', () => {
    const { c } = cache();
    c.remember('a1', V1, 'secret');
    c.forget('a1');
    expect(c.has('a1', V1, 'secret')).toBe(false);
  });

  it('keeps neither the password nor a key shared with another process', () => {
    const one = cache().c;
    const two = cache().c;
    one.remember('a1', V1, 'password-in-memory');
    two.remember('a1', V1, 'password-in-memory');
    const held = (c: VerifiedPasswordCache) =>
      [...(c as unknown as { entries: Map<string, { digest: Buffer }> }).entries.values()][0]!.digest;
    expect(held(one).includes(Buffer.from('password-in-memory'))).toBe(false);
    expect(held(one).equals(held(two))).toBe(false);
  });
});
