import { describe, expect, it, vi } from 'vitest';
import { unknownUserVerifier } from './password-check.js';
import { verifyScrypt } from './password-secrets.js';
import { createSaslExchange } from './sasl-exchange.js';
import {
  ALICE,
  ALICE_IDENTITY,
  AUTHENTICATION_FAILED_STEP,
  challengeText,
  failingLookup,
  testServer,
} from './test-accounts.js';

vi.mock('./password-secrets.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./password-secrets.js')>();
  return { ...actual, verifyScrypt: vi.fn(actual.verifyScrypt) };
});

const text = (value: string) => Buffer.from(value, 'utf8');

describe('LOGIN (draft-murchison-sasl-login)', () => {
  it('prompts "Username:" then "Password:" and authenticates', async () => {
    const exchange = createSaslExchange('LOGIN', testServer());
    expect(challengeText(await exchange.start())).toBe('Username:');
    expect(challengeText(await exchange.respond(text(ALICE.address)))).toBe('Password:');
    await expect(exchange.respond(text(ALICE.password))).resolves.toEqual({
      kind: 'success',
      identity: ALICE_IDENTITY,
    });
  });

  it('takes the username from an initial response and prompts only for the password', async () => {
    const exchange = createSaslExchange('LOGIN', testServer());
    expect(challengeText(await exchange.start(text(ALICE.address)))).toBe('Password:');
    await expect(exchange.respond(text(ALICE.password))).resolves.toMatchObject({ kind: 'success' });
  });

  it('prompts for the username after an empty initial response', async () => {
    const exchange = createSaslExchange('LOGIN', testServer());
    expect(challengeText(await exchange.start(Buffer.alloc(0)))).toBe('Username:');
    expect(challengeText(await exchange.respond(text(ALICE.address)))).toBe('Password:');
    await expect(exchange.respond(text(ALICE.password))).resolves.toMatchObject({ kind: 'success' });
  });

  it('fails a wrong password', async () => {
    const exchange = createSaslExchange('LOGIN', testServer());
    await exchange.start(text(ALICE.address));
    await expect(exchange.respond(text('wrong'))).resolves.toEqual(AUTHENTICATION_FAILED_STEP);
  });

  it('fails an unknown user like a wrong password, after an scrypt run', async () => {
    vi.mocked(verifyScrypt).mockClear();
    const exchange = createSaslExchange('LOGIN', testServer());
    expect(challengeText(await exchange.start(text('bob@example.org')))).toBe('Password:');
    await expect(exchange.respond(text('pw'))).resolves.toEqual(AUTHENTICATION_FAILED_STEP);
    expect(vi.mocked(verifyScrypt)).toHaveBeenCalledWith(unknownUserVerifier(), 'pw');
  });

  it.each([
    ['a username that is not UTF-8', Buffer.from([0xc3, 0x28])],
    ['a blank username', text('   ')],
  ])('refuses %s as malformed', async (_, username) => {
    const exchange = createSaslExchange('LOGIN', testServer());
    await exchange.start();
    await expect(exchange.respond(username)).resolves.toMatchObject({ kind: 'failure', reason: 'malformed' });
  });

  it('refuses a password that is not UTF-8 as malformed', async () => {
    const exchange = createSaslExchange('LOGIN', testServer());
    await exchange.start(text(ALICE.address));
    await expect(exchange.respond(Buffer.from([0xff]))).resolves.toMatchObject({ reason: 'malformed' });
  });

  it('answers a temporary failure when the lookup throws', async () => {
    const exchange = createSaslExchange('LOGIN', testServer(failingLookup()));
    await exchange.start(text(ALICE.address));
    await expect(exchange.respond(text(ALICE.password))).resolves.toMatchObject({
      kind: 'failure',
      reason: 'temporary',
    });
  });
});
