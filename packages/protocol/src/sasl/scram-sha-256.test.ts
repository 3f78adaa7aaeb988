import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { derivePasswordSecrets, scramSha256Keys } from './password-secrets.js';
import { createSaslExchange, type SaslExchange } from './sasl-exchange.js';
import type { SaslServerOptions, SaslStep } from './sasl-step.js';
import { saslprep } from './saslprep.js';
import { ALICE, ALICE_IDENTITY, challengeText, failingLookup, testServer } from './test-accounts.js';

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

/** The client side of RFC 5802 §3, from the password, for one server-first-message. */
function clientFinal(password: string, clientFirstBare: string, serverFirst: string, gs2Header = 'n,,') {
  const attributes = new Map(serverFirst.split(',').map((a) => [a.slice(0, 1), a.slice(2)] as const));
  const saltedPassword = pbkdf2Sync(
    saslprep(password),
    Buffer.from(attributes.get('s')!, 'base64'),
    Number(attributes.get('i')),
    32,
    'sha256',
  );
  const clientKey = hmac(saltedPassword, 'Client Key');
  const storedKey = createHash('sha256').update(clientKey).digest();
  const withoutProof = `c=${Buffer.from(gs2Header).toString('base64')},r=${attributes.get('r')}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const clientSignature = hmac(storedKey, authMessage);
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ clientSignature[i]!));
  const serverSignature = hmac(hmac(saltedPassword, 'Server Key'), authMessage);
  return {
    message: Buffer.from(`${withoutProof},p=${proof.toString('base64')}`),
    expectedServerFinal: `v=${serverSignature.toString('base64')}`,
  };
}

interface LogIn {
  exchange: SaslExchange;
  serverFirst: string;
  final: SaslStep;
  expectedServerFinal: string;
}

async function logIn(
  server: SaslServerOptions,
  { username = ALICE.address, password = ALICE.password, gs2Header = 'n,,', initial = true } = {},
): Promise<LogIn> {
  const bare = `n=${username},r=fyko+d2lbbFgONRv9qkxdawL`;
  const exchange = createSaslExchange('SCRAM-SHA-256', server);
  const clientFirst = Buffer.from(`${gs2Header}${bare}`);
  let step = initial ? await exchange.start(clientFirst) : await exchange.start();
  if (!initial) {
    expect(challengeText(step)).toBe('');
    step = await exchange.respond(clientFirst);
  }
  const serverFirst = challengeText(step);
  const { message, expectedServerFinal } = clientFinal(password, bare, serverFirst, gs2Header);
  return { exchange, serverFirst, final: await exchange.respond(message), expectedServerFinal };
}

const INVALID_PROOF = {
  kind: 'failure',
  reason: 'invalid-credentials',
  message: 'authentication failed',
  finalData: Buffer.from('e=invalid-proof'),
};

describe('SCRAM-SHA-256 (RFC 5802, RFC 7677)', () => {
  it('reproduces the RFC 7677 §3 example exchange with its server nonce', async () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const secrets = await derivePasswordSecrets('user@example.org', 'example.org', 'pencil');
    const server = testServer({
      randomBytes: () => Buffer.from('%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0', 'latin1'),
      lookup: async (username) =>
        username === 'user'
          ? {
              ...secrets,
              scramSha256: scramSha256Keys('pencil', salt, 4096),
              accountId: 'account-user',
              address: 'user@example.org',
            }
          : undefined,
    });
    const exchange = createSaslExchange('SCRAM-SHA-256', server);
    const serverFirst = await exchange.start(Buffer.from('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    expect(challengeText(serverFirst)).toBe(
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    );
    const final = await exchange.respond(
      Buffer.from(
        'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,' +
          'p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
      ),
    );
    expect(final).toEqual({
      kind: 'success',
      identity: { accountId: 'account-user', address: 'user@example.org' },
      finalData: Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='),
    });
  });

  it('authenticates a client that derives the proof from the password, and proves itself', async () => {
    const { serverFirst, final, expectedServerFinal } = await logIn(testServer());
    const alice = await testServer().lookup(ALICE.address);
    expect(serverFirst).toMatch(
      new RegExp(
        `^r=fyko\\+d2lbbFgONRv9qkxdawL[\\x21-\\x2b\\x2d-\\x7e]{24},s=${base64Pattern(alice!.scramSha256.salt)},i=4096$`,
      ),
    );
    expect(final).toEqual({
      kind: 'success',
      identity: ALICE_IDENTITY,
      finalData: Buffer.from(expectedServerFinal),
    });
  });

  it('sends an empty challenge when there is no initial response', async () => {
    const { final } = await logIn(testServer(), { initial: false });
    expect(final).toMatchObject({ kind: 'success' });
  });

  it('refuses an empty initial response as malformed', async () => {
    const step = await createSaslExchange('SCRAM-SHA-256', testServer()).start(Buffer.alloc(0));
    expect(step).toMatchObject({ kind: 'failure', reason: 'malformed' });
  });

  it('accepts the "y" flag: the client could bind a channel but we offer no -PLUS', async () => {
    const { final } = await logIn(testServer(), { gs2Header: 'y,,' });
    expect(final).toMatchObject({ kind: 'success' });
  });

  it('accepts an authzid naming the account, refuses one naming another', async () => {
    const own = await logIn(testServer(), { gs2Header: `n,a=${ALICE.address},` });
    expect(own.final).toMatchObject({ kind: 'success' });
    const other = await logIn(testServer(), { gs2Header: 'n,a=bob@example.org,' });
    expect(other.final).toMatchObject({
      kind: 'failure',
      reason: 'authzid-refused',
      finalData: Buffer.from('e=other-error'),
    });
  });

  it('decodes =2C and =3D in the username before the lookup', async () => {
    const server = testServer();
    await createSaslExchange('SCRAM-SHA-256', server).start(Buffer.from('n,,n=a=2Cb=3Dc,r=abc'));
    expect(server.looked).toEqual(['a,b=c']);
  });

  it('fails a wrong password with e=invalid-proof', async () => {
    const { final } = await logIn(testServer(), { password: 'wrong' });
    expect(final).toEqual(INVALID_PROOF);
  });

  it('fails an unknown user exactly like a wrong password, with a salt as stable as a real one', async () => {
    const server = testServer();
    const first = await logIn(server, { username: 'bob@example.org', password: 'pw' });
    const again = await logIn(server, { username: 'BOB@example.org', password: 'pw' });
    expect(first.final).toEqual(INVALID_PROOF);
    expect(first.serverFirst).toMatch(/,s=[A-Za-z0-9+/]{22}==,i=4096$/);
    expect(again.serverFirst.split(',').slice(1)).toEqual(first.serverFirst.split(',').slice(1));
  });

  it('derives the fake salt from the configured key, so replicas sharing it agree', async () => {
    const fakeSalt = async (unknownUserSaltKey: Buffer) => {
      const { serverFirst } = await logIn(testServer({ unknownUserSaltKey }), {
        username: 'bob@example.org',
      });
      return serverFirst.split(',')[1];
    };
    const replicaA = await fakeSalt(Buffer.alloc(32, 1));
    expect(await fakeSalt(Buffer.alloc(32, 1))).toBe(replicaA);
    expect(await fakeSalt(Buffer.alloc(32, 2))).not.toBe(replicaA);
  });

  it.each([
    ['channel binding (p=)', 'p=tls-unique,,n=user,r=abc'],
    ['an unknown gs2 flag', 'x,,n=user,r=abc'],
    ['a gs2 header without authzid attribute', 'n,user,n=user,r=abc'],
    ['a mandatory extension (m=)', 'n,,m=ext,n=user,r=abc'],
    ['an empty username', 'n,,n=,r=abc'],
    ['a bad =XX escape in the username', 'n,,n=a=2Xb,r=abc'],
    ['a username not in n=', 'n,,u=user,r=abc'],
    ['no nonce', 'n,,n=user'],
    ['a nonce with a space', 'n,,n=user,r=a b'],
    ['a bad extension', 'n,,n=user,r=abc,bad'],
    ['bytes that are not UTF-8', Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xff, 0x2c, 0x72, 0x3d, 0x61])],
  ])('refuses a client-first-message with %s', async (_, message) => {
    const server = testServer();
    const step = await createSaslExchange('SCRAM-SHA-256', server).start(Buffer.from(message));
    expect(step).toMatchObject({ kind: 'failure', reason: 'malformed' });
    expect(server.looked).toEqual([]);
  });

  it.each([
    [
      'another channel binding',
      (m: string) => m.replace('c=biws', 'c=eSws'),
      'e=channel-bindings-dont-match',
    ],
    ['another nonce', (m: string) => m.replace(/r=[^,]+/, 'r=fyko+d2lbbFgONRv9qkxdawLx'), 'e=other-error'],
    ['no proof', (m: string) => m.replace(/,p=.*/, ''), 'e=invalid-encoding'],
    ['a proof that is not base64', (m: string) => m.replace(/p=.*/, 'p=%%%%'), 'e=invalid-encoding'],
    ['a short proof', (m: string) => m.replace(/p=.*/, 'p=AAAA'), 'e=invalid-proof'],
  ])('refuses a client-final-message with %s', async (_, edit, serverError) => {
    const bare = `n=${ALICE.address},r=abc`;
    const exchange = createSaslExchange('SCRAM-SHA-256', testServer());
    const serverFirst = challengeText(await exchange.start(Buffer.from(`n,,${bare}`)));
    const { message } = clientFinal(ALICE.password, bare, serverFirst);
    await expect(exchange.respond(Buffer.from(edit(message.toString())))).resolves.toEqual({
      kind: 'failure',
      reason: 'malformed',
      message: expect.any(String),
      finalData: Buffer.from(serverError),
    });
  });

  it('answers a temporary failure when the lookup throws', async () => {
    const step = await createSaslExchange('SCRAM-SHA-256', testServer(failingLookup())).start(
      Buffer.from(`n,,n=${ALICE.address},r=abc`),
    );
    expect(step).toMatchObject({ kind: 'failure', reason: 'temporary' });
  });
});

function base64Pattern(salt: Buffer): string {
  return salt.toString('base64').replace(/[+/]/g, '\\$&');
}
