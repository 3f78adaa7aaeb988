import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { derivePasswordSecrets } from './password-secrets.js';
import { createSaslExchange } from './sasl-exchange.js';
import type { SaslServerOptions } from './sasl-step.js';
import {
  ALICE,
  ALICE_IDENTITY,
  AUTHENTICATION_FAILED_STEP,
  challengeText,
  failingLookup,
  testServer,
} from './test-accounts.js';

/** The client side, as RFC 2195 §2 has it: the username, a space, hex(HMAC-MD5(password, challenge)). */
function cramMd5Response(username: string, password: string, challenge: string): Buffer {
  return Buffer.from(`${username} ${createHmac('md5', password).update(challenge).digest('hex')}`);
}

async function logIn(server: SaslServerOptions, username: string, password: string) {
  const exchange = createSaslExchange('CRAM-MD5', server);
  const challenge = challengeText(await exchange.start());
  return exchange.respond(cramMd5Response(username, password, challenge));
}

describe('CRAM-MD5 (RFC 2195)', () => {
  it('reproduces the RFC 2195 example exchange byte for byte', async () => {
    const secrets = await derivePasswordSecrets('tim@reston.mci.net', 'reston.mci.net', 'tanstaaftanstaaf');
    const server = testServer({
      hostname: 'postoffice.reston.mci.net',
      randomBytes: () => Buffer.from('0000000000000768', 'hex'), // 1896
      now: () => new Date(697170952 * 1000),
      lookup: async (username) =>
        username === 'tim'
          ? { ...secrets, accountId: 'account-tim', address: 'tim@reston.mci.net' }
          : undefined,
    });
    const exchange = createSaslExchange('CRAM-MD5', server);
    expect(challengeText(await exchange.start())).toBe('<1896.697170952@postoffice.reston.mci.net>');
    await expect(exchange.respond(Buffer.from('tim b913a602c7eda7a495b4e6e7334d3890'))).resolves.toEqual({
      kind: 'success',
      identity: { accountId: 'account-tim', address: 'tim@reston.mci.net' },
    });
  });

  it('authenticates a client that computes the HMAC from the password', async () => {
    await expect(logIn(testServer(), ALICE.address, ALICE.password)).resolves.toEqual({
      kind: 'success',
      identity: ALICE_IDENTITY,
    });
  });

  it('sends a fresh challenge each time, with the host name', async () => {
    const first = challengeText(await createSaslExchange('CRAM-MD5', testServer()).start());
    const second = challengeText(await createSaslExchange('CRAM-MD5', testServer()).start());
    expect(first).toMatch(/^<\d+\.\d+@mail\.example\.org>$/);
    expect(first).not.toBe(second);
  });

  it('accepts the digest in upper-case hex', async () => {
    const exchange = createSaslExchange('CRAM-MD5', testServer());
    const challenge = challengeText(await exchange.start());
    const [user, digest] = cramMd5Response(ALICE.address, ALICE.password, challenge).toString().split(' ');
    await expect(exchange.respond(Buffer.from(`${user} ${digest!.toUpperCase()}`))).resolves.toMatchObject({
      kind: 'success',
    });
  });

  it('fails a wrong password', async () => {
    await expect(logIn(testServer(), ALICE.address, 'wrong')).resolves.toEqual(AUTHENTICATION_FAILED_STEP);
  });

  it('fails an unknown user exactly like a wrong password', async () => {
    await expect(logIn(testServer(), 'bob@example.org', 'pw')).resolves.toEqual(AUTHENTICATION_FAILED_STEP);
  });

  it('fails an account without CRAM-MD5 secrets (the mechanism off, or unreadable) like a wrong password', async () => {
    const secrets = await derivePasswordSecrets(ALICE.address, 'example.org', ALICE.password, {
      legacy: false,
    });
    const server = testServer({
      lookup: async () => ({ ...secrets, accountId: ALICE.accountId, address: ALICE.address }),
    });
    await expect(logIn(server, ALICE.address, ALICE.password)).resolves.toEqual(AUTHENTICATION_FAILED_STEP);
  });

  it('fails a digest made for another challenge', async () => {
    const exchange = createSaslExchange('CRAM-MD5', testServer());
    await exchange.start();
    const replayed = cramMd5Response(ALICE.address, ALICE.password, '<1.2@mail.example.org>');
    await expect(exchange.respond(replayed)).resolves.toEqual(AUTHENTICATION_FAILED_STEP);
  });

  it.each([
    ['no space', 'alice@example.orgb913a602c7eda7a495b4e6e7334d3890'],
    ['a short digest', 'alice@example.org b913a602'],
    ['a digest that is not hex', 'alice@example.org z913a602c7eda7a495b4e6e7334d3890'],
    ['an empty username', ' b913a602c7eda7a495b4e6e7334d3890'],
  ])('refuses a response with %s as malformed', async (_, response) => {
    const exchange = createSaslExchange('CRAM-MD5', testServer());
    await exchange.start();
    await expect(exchange.respond(Buffer.from(response))).resolves.toMatchObject({ reason: 'malformed' });
  });

  it('refuses any initial response, even an empty one: the server speaks first', async () => {
    for (const initial of [Buffer.alloc(0), Buffer.from('alice@example.org')]) {
      const step = await createSaslExchange('CRAM-MD5', testServer()).start(initial);
      expect(step).toMatchObject({ kind: 'failure', reason: 'malformed' });
    }
  });

  it('answers a temporary failure when the lookup throws', async () => {
    await expect(logIn(testServer(failingLookup()), ALICE.address, ALICE.password)).resolves.toMatchObject({
      kind: 'failure',
      reason: 'temporary',
    });
  });
});
