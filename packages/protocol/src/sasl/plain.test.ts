import { describe, expect, it, vi } from 'vitest';
import { unknownUserVerifier } from './password-check.js';
import { DEFAULT_SCRYPT_LN, derivePasswordSecrets, setScryptCost, verifyScrypt } from './password-secrets.js';
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

const plain = (authzid: string, authcid: string, password: string) =>
  Buffer.from(`${authzid}\0${authcid}\0${password}`, 'utf8');

describe('PLAIN (RFC 4616)', () => {
  it('authenticates from an initial response', async () => {
    const server = testServer();
    const step = await createSaslExchange('PLAIN', server).start(plain('', ALICE.address, ALICE.password));
    expect(step).toEqual({ kind: 'success', identity: ALICE_IDENTITY });
    expect(server.looked).toEqual([ALICE.address]);
  });

  it('sends an empty challenge when there is no initial response, then authenticates', async () => {
    const exchange = createSaslExchange('PLAIN', testServer());
    expect(challengeText(await exchange.start())).toBe('');
    await expect(exchange.respond(plain('', ALICE.address, ALICE.password))).resolves.toEqual({
      kind: 'success',
      identity: ALICE_IDENTITY,
    });
  });

  it('refuses an empty initial response ("=") as malformed', async () => {
    const step = await createSaslExchange('PLAIN', testServer()).start(Buffer.alloc(0));
    expect(step).toMatchObject({ kind: 'failure', reason: 'malformed' });
  });

  it('passes the authcid trimmed and SASLprep-ed to the lookup, which folds case', async () => {
    const server = testServer();
    const step = await createSaslExchange('PLAIN', server).start(
      plain('', ' Alice@Example.org\u00AD ', ALICE.password),
    );
    expect(server.looked).toEqual(['Alice@Example.org']);
    expect(step).toEqual({ kind: 'success', identity: ALICE_IDENTITY });
  });

  it('fails a wrong password', async () => {
    const step = await createSaslExchange('PLAIN', testServer()).start(plain('', ALICE.address, 'wrong'));
    expect(step).toEqual(AUTHENTICATION_FAILED_STEP);
  });

  it('fails an unknown user exactly like a wrong password, after an scrypt run all the same', async () => {
    vi.mocked(verifyScrypt).mockClear();
    const step = await createSaslExchange('PLAIN', testServer()).start(plain('', 'bob@example.org', 'pw'));
    expect(step).toEqual(AUTHENTICATION_FAILED_STEP);
    expect(vi.mocked(verifyScrypt)).toHaveBeenCalledWith(unknownUserVerifier(), 'pw');
  });

  it('spends as much on an unknown user as on a real one: same scrypt parameters', async () => {
    const secrets = await derivePasswordSecrets('x@example.org', 'example.org', 'x');
    const parameters = (verifier: string) => verifier.split('$').slice(0, 3).join('$');
    expect(parameters(unknownUserVerifier())).toBe(parameters(secrets.scrypt));
    await expect(verifyScrypt(unknownUserVerifier(), '')).resolves.toBe(false);
  });

  it('keeps the unknown user as costly as a new verifier when the scrypt cost is set', async () => {
    setScryptCost(14);
    try {
      const secrets = await derivePasswordSecrets('x@example.org', 'example.org', 'x');
      const parameters = (verifier: string) => verifier.split('$').slice(0, 3).join('$');
      expect(parameters(secrets.scrypt)).toBe('$scrypt$ln=14,r=8,p=1');
      expect(parameters(unknownUserVerifier())).toBe(parameters(secrets.scrypt));
    } finally {
      setScryptCost(DEFAULT_SCRYPT_LN);
    }
  });

  it('accepts an authzid that names the account itself', async () => {
    const step = await createSaslExchange('PLAIN', testServer()).start(
      plain('ALICE@example.org', ALICE.address, ALICE.password),
    );
    expect(step).toEqual({ kind: 'success', identity: ALICE_IDENTITY });
  });

  it('refuses an authzid naming another user, once the password is right', async () => {
    const exchange = () => createSaslExchange('PLAIN', testServer());
    await expect(exchange().start(plain('bob@example.org', ALICE.address, ALICE.password))).resolves.toEqual({
      kind: 'failure',
      reason: 'authzid-refused',
      message: 'alice@example.org may act only as itself',
    });
    await expect(exchange().start(plain('bob@example.org', ALICE.address, 'wrong'))).resolves.toEqual(
      AUTHENTICATION_FAILED_STEP,
    );
  });

  it.each([
    ['one NUL', Buffer.from('alice@example.org\0pw')],
    ['three NULs', Buffer.from('\0alice@example.org\0pw\0x')],
    ['an empty authcid', Buffer.from('\0\0pw')],
    ['an empty password', Buffer.from('\0alice@example.org\0')],
    ['a control character in the authcid', Buffer.from('\0ali\x07ce@example.org\0pw')],
    ['bytes that are not UTF-8', Buffer.from([0, 0x61, 0, 0xff, 0xfe])],
  ])('refuses %s as malformed, without a lookup', async (_, message) => {
    const server = testServer();
    const step = await createSaslExchange('PLAIN', server).start(message);
    expect(step).toMatchObject({ kind: 'failure', reason: 'malformed' });
    expect(server.looked).toEqual([]);
  });

  it('answers a temporary failure when the lookup throws', async () => {
    const step = await createSaslExchange('PLAIN', testServer(failingLookup())).start(
      plain('', ALICE.address, ALICE.password),
    );
    expect(step).toMatchObject({
      kind: 'failure',
      reason: 'temporary',
      cause: new Error('connection refused'),
    });
  });
});
