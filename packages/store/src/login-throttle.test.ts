import type { SaslCredentials } from '@tegami/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from './accounts.js';
import type { StorePool } from './db.js';
import { addDomain } from './domains.js';
import { readLoginFailures } from './login-failures.js';
import {
  clientNetwork,
  DEFAULT_LOGIN_THROTTLE,
  type LoginAdmission,
  type LoginClock,
  LoginThrottle,
  LoginThrottled,
  type LoginThrottlePolicy,
  loginDelaySchedule,
  loginNameKey,
} from './login-throttle.js';
import { openTestStore } from './test-store.js';

// The per-account login delay against real Postgres, with a clock of the test's own: time
// moves only when an attempt sleeps for its turn or the test advances it.

let store: StorePool;

beforeAll(async () => {
  store = await openTestStore();
  await addDomain(store.pool, 'example.test');
  await createAccount(store.pool, 'erin@example.test', 'erin-password');
});

afterAll(async () => {
  await store.close();
});

class TestClock implements LoginClock {
  time = Date.UTC(2025, 0, 6, 9, 0, 0);
  now(): number {
    return this.time;
  }
  async sleep(ms: number): Promise<void> {
    this.time += ms;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

const POLICY: LoginThrottlePolicy = {
  ...DEFAULT_LOGIN_THROTTLE,
  freeFailures: 3,
  baseDelayMs: 1_000,
  maxDelayMs: 8_000,
  maxQueueMs: 16_000,
};

function throttle(policy: Partial<LoginThrottlePolicy> = {}, clock = new TestClock()) {
  return { throttle: new LoginThrottle(store.pool, { ...POLICY, ...policy }, clock), clock };
}

const waitOf = (admission: LoginAdmission) =>
  admission.kind === 'counted' ? admission.waitMs : admission.kind;

/** Wrong passwords one after the other, each from a new address, each waiting its turn. */
async function guessInTurn(
  t: LoginThrottle,
  clock: TestClock,
  name: string,
  count: number,
  net = '198.51.100',
) {
  const waits: (number | string)[] = [];
  for (let i = 0; i < count; i++) {
    const admission = await t.admit(name, `${net}.${i + 1}`);
    waits.push(waitOf(admission));
    if (admission.kind === 'counted') await clock.sleep(admission.waitMs);
    await t.failed(name, admission);
  }
  return waits;
}

describe('LoginThrottle (per-account login delay)', () => {
  it('lets a few attempts from unknown addresses through, then spaces them by a delay doubling up to the cap', async () => {
    const { throttle: t, clock } = throttle();
    expect(loginDelaySchedule(t.policy)).toEqual([0, 0, 0, 1000, 2000, 4000, 8000]);
    expect(await guessInTurn(t, clock, 'alice@example.test', 10)).toEqual([
      0, 0, 0, 1000, 2000, 4000, 8000, 8000, 8000, 8000,
    ]);
  });

  it('answers an address that logged in to the account lately at once, during an attack', async () => {
    const { throttle: t, clock } = throttle();
    const owner = '203.0.113.5';
    const first = await t.admit('bob@example.test', owner);
    await t.succeeded('bob@example.test', owner, first);

    await guessInTurn(t, clock, 'bob@example.test', 8);
    expect(await t.admit('bob@example.test', owner)).toEqual({ kind: 'known', stale: false });
    // A new address of the owner's waits like the guesser's, but gets in: no lockout.
    const newPhone = await t.admit('bob@example.test', '192.0.2.77');
    expect(newPhone).toEqual({ kind: 'counted', waitMs: 8000 });

    // The owner's own typo counts too (it is a failure), but does not delay the owner.
    const before = (await readLoginFailures(store.pool, loginNameKey('bob@example.test')))!.failures;
    const typo = await t.admit('bob@example.test', owner);
    await t.failed('bob@example.test', typo);
    expect((await readLoginFailures(store.pool, loginNameKey('bob@example.test')))!.failures).toBe(
      before + 1,
    );
    expect(await t.admit('bob@example.test', owner)).toEqual({ kind: 'known', stale: false });
  });

  it('forgets a known address after its time, and keeps only the most recent few per name', async () => {
    const { throttle: t, clock } = throttle({ knownAddressesPerName: 3, knownAddressTtlMs: 86_400_000 });
    for (const last of [1, 2, 3, 4, 5]) {
      const client = `203.0.113.${last}`;
      await t.succeeded('carol@example.test', client, await t.admit('carol@example.test', client));
      clock.advance(60_000);
    }
    const known = (await readLoginFailures(store.pool, loginNameKey('carol@example.test')))!.knownAddresses;
    expect(known).toEqual(['203.0.113.3', '203.0.113.4', '203.0.113.5']);
    expect(await t.admit('carol@example.test', '203.0.113.5')).toEqual({ kind: 'known', stale: false });

    clock.advance(86_400_000);
    expect((await t.admit('carol@example.test', '203.0.113.5')).kind).toBe('counted');
    await t.sweep();
    expect((await readLoginFailures(store.pool, loginNameKey('carol@example.test')))?.knownAddresses).toEqual(
      [],
    );
  });

  it('writes a known address down again only once it is older than the refresh interval', async () => {
    const hour = 3_600_000;
    const { throttle: t, clock } = throttle({ knownAddressRefreshMs: hour, knownAddressTtlMs: 2 * hour });
    const logIn = async (name: string) => {
      const admission = await t.admit(name, '203.0.113.9');
      await t.succeeded(name, '203.0.113.9', admission);
      return admission;
    };
    // A success half an hour after the first is not written: the first one expires on time.
    await logIn('liam@example.test');
    clock.advance(hour / 2);
    expect(await logIn('liam@example.test')).toEqual({ kind: 'known', stale: false });
    clock.advance(1.5 * hour + 1);
    expect((await t.admit('liam@example.test', '203.0.113.9')).kind).toBe('counted');

    // One more than an hour after is, and keeps the address known past the first's expiry.
    const start = clock.now();
    await logIn('mia@example.test');
    clock.advance(1.5 * hour);
    expect(await logIn('mia@example.test')).toEqual({ kind: 'known', stale: true });
    clock.time = start + 2.25 * hour;
    expect(await t.admit('mia@example.test', '203.0.113.9')).toEqual({ kind: 'known', stale: false });
  });

  it('queues parallel attempts from many addresses and two replicas behind one another, and refuses past the queue', async () => {
    const clock = new TestClock();
    const replicas = [
      throttle({ freeFailures: 0 }, clock).throttle,
      throttle({ freeFailures: 0 }, clock).throttle,
    ];
    // schedule [1000, 2000, 4000, 8000]; nobody sleeps, so all arrive at the same instant.
    const admissions = await Promise.all(
      Array.from({ length: 8 }, (_, i) => replicas[i % 2]!.admit('dave@example.test', `198.51.100.${i + 1}`)),
    );
    const waits = admissions.map(waitOf);
    expect(waits.filter((w) => typeof w === 'number').sort((a, b) => Number(a) - Number(b))).toEqual([
      1000, 3000, 7000, 15000,
    ]);
    expect(waits.filter((w) => w === 'refused')).toHaveLength(4);

    // A refused attempt booked nothing: once the queue has passed, the next one gets a turn.
    clock.advance(15_000);
    expect(await replicas[0]!.admit('dave@example.test', '198.51.100.99')).toEqual({
      kind: 'counted',
      waitMs: 8000,
    });
  });

  it('slows an unknown name exactly like an existing account', async () => {
    const real = throttle();
    const unknown = throttle();
    // erin@example.test is an account, nobody@… exists nowhere. The throttle never asks: it
    // keys on the name given, so the two cannot be told apart by timing.
    expect(
      await guessInTurn(unknown.throttle, unknown.clock, 'nobody@example.test', 8, '198.51.100'),
    ).toEqual(await guessInTurn(real.throttle, real.clock, 'erin@example.test', 8, '198.51.100'));
  });

  it('starts a name again from nothing after a quiet window, and the sweep removes its row', async () => {
    const { throttle: t, clock } = throttle({ windowMs: 15 * 60_000 });
    await guessInTurn(t, clock, 'frank@example.test', 6);
    clock.advance(15 * 60_000 + 1);
    await t.sweep();
    expect(await readLoginFailures(store.pool, loginNameKey('frank@example.test'))).toBeUndefined();
    expect(waitOf(await t.admit('frank@example.test', '198.51.100.200'))).toBe(0);
  });

  it('keeps no row for an account whose only attempt from a new address logged in', async () => {
    const { throttle: t } = throttle();
    const admission = await t.admit('grace@example.test', '192.0.2.9');
    expect(admission).toEqual({ kind: 'counted', waitMs: 0 });
    expect((await readLoginFailures(store.pool, loginNameKey('grace@example.test')))?.failures).toBe(1);
    await t.succeeded('grace@example.test', '192.0.2.9', admission);
    expect(await readLoginFailures(store.pool, loginNameKey('grace@example.test'))).toEqual({
      failures: 0,
      notBefore: new Date(0),
      knownAddresses: ['192.0.2.9'],
    });
  });

  it('bounds the table under a spray of random names, dropping the least attacked first', async () => {
    const { throttle: t, clock } = throttle({ maxTrackedNames: 5 });
    // The names of the tests before would compete for the five places.
    await store.pool.query('DELETE FROM login_failures');
    await guessInTurn(t, clock, 'heidi@example.test', 6);
    for (let i = 0; i < 30; i++) {
      const name = `spray-${i}-${Math.random().toString(36).slice(2)}@example.test`;
      await t.failed(name, await t.admit(name, '203.0.113.50'));
    }
    await t.sweep();
    const { rows } = await store.pool.query<{ n: string }>('SELECT count(*) AS n FROM login_failures');
    expect(Number(rows[0]!.n)).toBe(5);
    expect((await readLoginFailures(store.pool, loginNameKey('heidi@example.test')))!.failures).toBe(6);
  });

  it('writes nothing when turned off', async () => {
    const { throttle: t } = throttle({ maxDelayMs: 0 });
    expect(t.enabled).toBe(false);
    for (let i = 0; i < 10; i++)
      expect(await t.admit('ivan@example.test', `198.51.100.${i}`)).toEqual({ kind: 'off' });
    expect(await readLoginFailures(store.pool, loginNameKey('ivan@example.test'))).toBeUndefined();
  });
});

describe('ClientLogins (one connection)', () => {
  const lookup = async (name: string) => ({ accountId: '1', address: name }) as unknown as SaslCredentials;

  it('waits for the turn inside the credential lookup, then reports the failed name', async () => {
    const { throttle: t, clock } = throttle({ freeFailures: 1 });
    await guessInTurn(t, clock, 'judy@example.test', 1);
    const logins = t.forClient('198.51.100.7');
    const started = clock.now();
    expect(await logins.guard(lookup)('judy@example.test')).toMatchObject({ address: 'judy@example.test' });
    expect(clock.now() - started).toBe(1000);
    expect(logins.failed()).toEqual({ user: 'judy@example.test' });
    await logins.settled();
    // Failed before any name was read (malformed SASL): no user, nothing counted.
    expect(logins.failed()).toEqual({ user: undefined });
  });

  it('rejects an attempt refused unchecked, tells its event, and does not call it a failure', async () => {
    const { throttle: t } = throttle({ freeFailures: 0, maxQueueMs: 1500 });
    const refused: string[] = [];
    const first = t.forClient('198.51.100.8', { refused: (user) => refused.push(user) });
    const second = t.forClient('198.51.100.9', { refused: (user) => refused.push(user) });
    // The first books the only turn that fits; the second would wait past the queue.
    await t.admit('mallory@example.test', '198.51.100.10');
    await expect(first.guard(lookup)('mallory@example.test')).rejects.toBeInstanceOf(LoginThrottled);
    expect(refused).toEqual(['mallory@example.test']);
    expect(first.failed()).toBeUndefined();
    expect(second.failed()).toEqual({ user: undefined });
  });

  it('a verified login makes the address known for the name, across connections', async () => {
    const { throttle: t, clock } = throttle();
    const logins = t.forClient('203.0.113.88');
    await logins.guard(lookup)('kate@example.test');
    logins.succeeded();
    await logins.settled();
    await guessInTurn(t, clock, 'kate@example.test', 6, '198.51.101');
    expect(await t.admit('kate@example.test', '203.0.113.88')).toEqual({ kind: 'known', stale: false });
    expect(await t.forClient('203.0.113.88').guard(lookup)('kate@example.test')).toBeDefined();
  });
});

describe('login names and client networks', () => {
  it('keys a name the way accounts are found: canonical address, else trimmed and folded', () => {
    expect(loginNameKey('  Alice@Example.TEST ')).toEqual(loginNameKey('alice@example.test'));
    expect(loginNameKey('ALICE')).toEqual(loginNameKey('alice'));
    expect(loginNameKey('alice@example.test')).not.toEqual(loginNameKey('alice@example.org'));
  });

  it('keeps an IPv6 client as its /64 and an IPv4 client as it is', () => {
    expect(clientNetwork('2001:db8:1:2:a:b:c:d')).toBe('2001:db8:1:2::/64');
    expect(clientNetwork('2001:DB8:1:2::5')).toBe('2001:db8:1:2::/64');
    expect(clientNetwork('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientNetwork('1::2:3:4:5:6:7')).toBe('1:0:2:3::/64');
    expect(clientNetwork('::1')).toBe('0:0:0:0::/64');
    expect(clientNetwork('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientNetwork('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(clientNetwork('192.0.2.1')).toBe('192.0.2.1');
  });
});
