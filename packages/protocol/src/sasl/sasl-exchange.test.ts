import { describe, expect, it } from 'vitest';
import {
  createSaslExchange,
  enabledSaslMechanisms,
  isPlaintextMechanism,
  LEGACY_SASL_MECHANISMS,
  SASL_MECHANISMS,
} from './sasl-exchange.js';
import type { SaslMechanismName } from './sasl-step.js';
import { ALICE, aliceCredentials, challengeText, failingLookup, testServer } from './test-accounts.js';

const plain = Buffer.from(`\0${ALICE.address}\0${ALICE.password}`);

describe('SASL exchange', () => {
  it('advertises every mechanism, strongest first', () => {
    expect(SASL_MECHANISMS).toEqual(['SCRAM-SHA-256', 'DIGEST-MD5', 'CRAM-MD5', 'PLAIN', 'LOGIN']);
    expect(SASL_MECHANISMS.filter(isPlaintextMechanism)).toEqual(['PLAIN', 'LOGIN']);
  });

  it('leaves out CRAM-MD5 and DIGEST-MD5 when the legacy mechanisms are off', () => {
    expect(LEGACY_SASL_MECHANISMS).toEqual(['DIGEST-MD5', 'CRAM-MD5']);
    expect(enabledSaslMechanisms({ legacy: true })).toEqual(SASL_MECHANISMS);
    expect(enabledSaslMechanisms({ legacy: false })).toEqual(['SCRAM-SHA-256', 'PLAIN', 'LOGIN']);
  });

  it('names its mechanism', () => {
    expect(createSaslExchange('CRAM-MD5', testServer()).mechanism).toBe('CRAM-MD5');
  });

  it('refuses a response after success, and after failure', async () => {
    const succeeded = createSaslExchange('PLAIN', testServer());
    expect(await succeeded.start(plain)).toMatchObject({ kind: 'success' });
    await expect(succeeded.respond(plain)).resolves.toMatchObject({ kind: 'failure', reason: 'malformed' });

    const failed = createSaslExchange('PLAIN', testServer());
    expect(await failed.start(Buffer.from('x'))).toMatchObject({ kind: 'failure' });
    await expect(failed.respond(plain)).resolves.toMatchObject({ kind: 'failure', reason: 'malformed' });
  });

  it('refuses a response before start, and a second start', async () => {
    const exchange = createSaslExchange('LOGIN', testServer());
    await expect(exchange.respond(Buffer.from('x'))).resolves.toMatchObject({ reason: 'malformed' });
    const again = createSaslExchange('LOGIN', testServer());
    expect(challengeText(await again.start())).toBe('Username:');
    await expect(again.start()).resolves.toMatchObject({ reason: 'malformed' });
    await expect(again.respond(Buffer.from(ALICE.address))).resolves.toMatchObject({ reason: 'malformed' });
  });

  it('refuses an initial response or a response over 4096 bytes, without a lookup', async () => {
    const server = testServer();
    const oversize = Buffer.concat([Buffer.from(`\0${ALICE.address}\0`), Buffer.alloc(4097, 'x')]);
    await expect(createSaslExchange('PLAIN', server).start(oversize)).resolves.toMatchObject({
      reason: 'malformed',
      message: 'response too long',
    });
    const exchange = createSaslExchange('PLAIN', server);
    await exchange.start();
    await expect(exchange.respond(oversize)).resolves.toMatchObject({ message: 'response too long' });
    expect(server.looked).toEqual([]);
  });

  it('takes a response of exactly 4096 bytes', async () => {
    const password = 'x'.repeat(4096 - 2 - ALICE.address.length);
    const step = await createSaslExchange('PLAIN', testServer()).start(
      Buffer.from(`\0${ALICE.address}\0${password}`),
    );
    expect(step).toMatchObject({ kind: 'failure', reason: 'invalid-credentials' });
  });

  it('turns an unexpected exception into a temporary failure that carries the cause', async () => {
    // Credentials the store mangled: a CRAM-MD5 state that is not 16 bytes makes md5 throw.
    const broken = {
      ...(await aliceCredentials()),
      cramMd5: { inner: Buffer.alloc(3), outer: Buffer.alloc(3) },
    };
    const exchange = createSaslExchange('CRAM-MD5', testServer({ lookup: async () => broken }));
    await exchange.start();
    const step = await exchange.respond(Buffer.from(`${ALICE.address} ${'0'.repeat(32)}`));
    expect(step).toMatchObject({ kind: 'failure', reason: 'temporary', cause: expect.any(RangeError) });
    await expect(exchange.respond(Buffer.alloc(0))).resolves.toMatchObject({ reason: 'malformed' });
  });

  it.each<[SaslMechanismName, Buffer | undefined, Buffer | undefined]>([
    ['PLAIN', plain, undefined],
    ['LOGIN', Buffer.from(ALICE.address), Buffer.from(ALICE.password)],
    ['CRAM-MD5', undefined, Buffer.from(`${ALICE.address} ${'0'.repeat(32)}`)],
    ['SCRAM-SHA-256', Buffer.from(`n,,n=${ALICE.address},r=abc`), undefined],
  ])(
    '%s resolves a throwing lookup to a temporary failure, never a rejection',
    async (mechanism, first, second) => {
      const exchange = createSaslExchange(mechanism, testServer(failingLookup()));
      let step = await exchange.start(first);
      if (second) step = await exchange.respond(second);
      expect(step).toMatchObject({
        kind: 'failure',
        reason: 'temporary',
        message: 'credential lookup failed',
      });
    },
  );
});
