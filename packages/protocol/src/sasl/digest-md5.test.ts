import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseDirectives, quote } from './digest-md5-directives.js';
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

const md5 = (data: string | Buffer) => createHash('md5').update(data).digest();
const md5Hex = (data: string | Buffer) => md5(data).toString('hex');

interface ClientChoice {
  username: string;
  realm: string;
  password: string;
  cnonce: string;
  digestUri: string;
  authzid?: string;
}

/** RFC 2831 §2.1.2.1 response-value for qop=auth and md5-sess, as a client computes it. */
function responseValue(choice: ClientChoice, nonce: string, a2Method: 'AUTHENTICATE' | '') {
  const ha1 = md5(`${choice.username}:${choice.realm}:${choice.password}`);
  const authzid = choice.authzid === undefined ? '' : `:${choice.authzid}`;
  const a1 = Buffer.concat([ha1, Buffer.from(`:${nonce}:${choice.cnonce}${authzid}`)]);
  const a2 = `${a2Method}:${choice.digestUri}`;
  return md5Hex(`${md5Hex(a1)}:${nonce}:00000001:${choice.cnonce}:auth:${md5Hex(a2)}`);
}

/** The client's digest-response (§2.1.2) to a challenge. */
function digestResponse(challenge: string, choice: ClientChoice): Buffer {
  const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
  const fields = [
    'charset=utf-8',
    `username=${quote(choice.username)}`,
    `realm=${quote(choice.realm)}`,
    `nonce=${quote(nonce)}`,
    'nc=00000001',
    `cnonce=${quote(choice.cnonce)}`,
    `digest-uri=${quote(choice.digestUri)}`,
    'maxbuf=65536',
    `response=${responseValue(choice, nonce, 'AUTHENTICATE')}`,
    'qop=auth',
  ];
  if (choice.authzid !== undefined) fields.push(`authzid=${quote(choice.authzid)}`);
  return Buffer.from(fields.join(','), 'utf8');
}

const ALICE_CHOICE: ClientChoice = {
  username: ALICE.address,
  realm: 'example.org',
  password: ALICE.password,
  cnonce: 'OA6MHXh6VqTrRk',
  digestUri: 'imap/mail.example.org',
};

async function logIn(server: SaslServerOptions, choice: ClientChoice) {
  const exchange = createSaslExchange('DIGEST-MD5', server);
  const challenge = challengeText(await exchange.start());
  return { exchange, challenge, step: await exchange.respond(digestResponse(challenge, choice)) };
}

describe('DIGEST-MD5 (RFC 2831)', () => {
  it('has a test client that reproduces the RFC 2831 §4 example', () => {
    const choice = {
      username: 'chris',
      realm: 'elwood.innosoft.com',
      password: 'secret',
      cnonce: 'OA6MHXh6VqTrRk',
      digestUri: 'imap/elwood.innosoft.com',
    };
    expect(responseValue(choice, 'OA6MG9tEQGm2hh', 'AUTHENTICATE')).toBe('d388dad90d4bbd760a152321f2143af7');
    expect(responseValue(choice, 'OA6MG9tEQGm2hh', '')).toBe('ea40f60335c427b5527b84dbabcdfffd');
  });

  it('challenges with one realm per local domain, a nonce, qop=auth, utf-8 and md5-sess', async () => {
    const server = testServer({ randomBytes: (n) => Buffer.from(Array.from({ length: n }, (_, i) => i)) });
    const challenge = challengeText(await createSaslExchange('DIGEST-MD5', server).start());
    expect(challenge).toBe(
      'realm="example.org",realm="example.net",nonce="AAECAwQFBgcICQoLDA0ODw==",' +
        'qop="auth",charset=utf-8,algorithm=md5-sess',
    );
  });

  it('authenticates, proves itself with rspauth, and succeeds on the empty response', async () => {
    const { exchange, challenge, step } = await logIn(testServer(), ALICE_CHOICE);
    const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
    expect(challengeText(step)).toBe(`rspauth=${responseValue(ALICE_CHOICE, nonce, '')}`);
    await expect(exchange.respond(Buffer.alloc(0))).resolves.toEqual({
      kind: 'success',
      identity: ALICE_IDENTITY,
    });
  });

  it('accepts any host in digest-uri, and an authzid naming the account', async () => {
    const choice = { ...ALICE_CHOICE, digestUri: 'imap/192.0.2.1/example.org', authzid: ALICE.address };
    const { exchange, step } = await logIn(testServer(), choice);
    expect(challengeText(step)).toMatch(/^rspauth=[0-9a-f]{32}$/);
    await expect(exchange.respond(Buffer.alloc(0))).resolves.toMatchObject({ kind: 'success' });
  });

  it('refuses an authzid naming another user, without sending rspauth', async () => {
    const { step } = await logIn(testServer(), { ...ALICE_CHOICE, authzid: 'bob@example.org' });
    expect(step).toMatchObject({ kind: 'failure', reason: 'authzid-refused' });
  });

  it('fails a wrong password', async () => {
    const { step } = await logIn(testServer(), { ...ALICE_CHOICE, password: 'wrong' });
    expect(step).toEqual(AUTHENTICATION_FAILED_STEP);
  });

  it('fails an unknown user exactly like a wrong password', async () => {
    const { step } = await logIn(testServer(), { ...ALICE_CHOICE, username: 'bob@example.org' });
    expect(step).toEqual(AUTHENTICATION_FAILED_STEP);
  });

  it('fails an account without a DIGEST-MD5 secret (the mechanism off, or unreadable) like a wrong password', async () => {
    const secrets = await derivePasswordSecrets(ALICE.address, 'example.org', ALICE.password, {
      legacy: false,
    });
    const server = testServer({
      lookup: async () => ({ ...secrets, accountId: ALICE.accountId, address: ALICE.address }),
    });
    const { step } = await logIn(server, ALICE_CHOICE);
    expect(step).toEqual(AUTHENTICATION_FAILED_STEP);
  });

  it("fails a realm other than the account's domain (it is part of HA1)", async () => {
    const { step } = await logIn(testServer(), { ...ALICE_CHOICE, realm: 'example.net' });
    expect(step).toEqual(AUTHENTICATION_FAILED_STEP);
  });

  it('fails a username in another case: HA1 holds the lower-case address', async () => {
    const { step } = await logIn(testServer(), { ...ALICE_CHOICE, username: 'Alice@example.org' });
    expect(step).toEqual(AUTHENTICATION_FAILED_STEP);
  });

  it('refuses a digest-uri for another service', async () => {
    const { step } = await logIn(testServer(), { ...ALICE_CHOICE, digestUri: 'smtp/mail.example.org' });
    expect(step).toMatchObject({
      kind: 'failure',
      reason: 'malformed',
      message: expect.stringContaining('imap/'),
    });
  });

  it('checks digest-uri against the configured service', async () => {
    const server = testServer({ service: 'pop' });
    const { exchange, step } = await logIn(server, { ...ALICE_CHOICE, digestUri: 'pop/mail.example.org' });
    expect(step.kind).toBe('challenge');
    await expect(exchange.respond(Buffer.alloc(0))).resolves.toMatchObject({ kind: 'success' });
  });

  it('refuses anything but an empty response to rspauth', async () => {
    const { exchange } = await logIn(testServer(), ALICE_CHOICE);
    await expect(exchange.respond(Buffer.from('x'))).resolves.toMatchObject({ reason: 'malformed' });
  });

  it('refuses an initial response: the server speaks first', async () => {
    const step = await createSaslExchange('DIGEST-MD5', testServer()).start(Buffer.alloc(0));
    expect(step).toMatchObject({ kind: 'failure', reason: 'malformed' });
  });

  describe('refuses a malformed digest-response', () => {
    const edits: [string, (response: string) => string][] = [
      ['not a directive list', () => 'username'],
      ['an unterminated quoted-string', (r) => r.replace(/,maxbuf=65536.*/, ',realm="open')],
      ['a repeated directive', (r) => `${r},realm="example.org"`],
      ['no cnonce', (r) => r.replace(/cnonce="[^"]*",/, '')],
      ['no response', (r) => r.replace(/,response=[0-9a-f]+/, '')],
      ['another nonce', (r) => r.replace(/nonce="[^"]*"/, 'nonce="replayed"')],
      ['nonce-count 2', (r) => r.replace('nc=00000001', 'nc=00000002')],
      ['qop=auth-int', (r) => r.replace('qop=auth', 'qop=auth-int')],
      ['charset=iso-8859-1', (r) => r.replace('charset=utf-8', 'charset=iso-8859-1')],
      ['a digest-uri without host', (r) => r.replace(/digest-uri="[^"]*"/, 'digest-uri="imap/"')],
      [
        'a digest-uri without service',
        (r) => r.replace(/digest-uri="[^"]*"/, 'digest-uri="mail.example.org"'),
      ],
      ['a digest-uri without slash', (r) => r.replace(/digest-uri="[^"]*"/, 'digest-uri="imapx"')],
      ['a short response', (r) => r.replace(/response=[0-9a-f]+/, 'response=abc')],
    ];
    it.each(edits)('%s', async (_, edit) => {
      const server = testServer();
      const exchange = createSaslExchange('DIGEST-MD5', server);
      const challenge = challengeText(await exchange.start());
      const response = edit(digestResponse(challenge, ALICE_CHOICE).toString('utf8'));
      await expect(exchange.respond(Buffer.from(response))).resolves.toMatchObject({ reason: 'malformed' });
      expect(server.looked).toEqual([]);
    });

    it('a username that is not UTF-8 under charset=utf-8', async () => {
      const exchange = createSaslExchange('DIGEST-MD5', testServer());
      const challenge = challengeText(await exchange.start());
      const response = digestResponse(challenge, { ...ALICE_CHOICE, username: 'alice\uFFFD' });
      const invalid = Buffer.from(
        response.toString('latin1').replace('alice\xEF\xBF\xBD', 'alice\xFF'),
        'latin1',
      );
      await expect(exchange.respond(invalid)).resolves.toMatchObject({
        reason: 'malformed',
        message: 'DIGEST-MD5 response is not UTF-8',
      });
    });
  });

  it('answers a temporary failure when the lookup throws', async () => {
    const { step } = await logIn(testServer(failingLookup()), ALICE_CHOICE);
    expect(step).toMatchObject({ kind: 'failure', reason: 'temporary' });
  });
});

describe('DIGEST-MD5 directive lists (RFC 2831 §7.1)', () => {
  it('reads tokens and quoted-strings with escapes, white space and empty elements', () => {
    const parsed = parseDirectives(' Username = "a\\"b\\\\c" ,, nc=00000001,\r\n qop=auth , ');
    expect(parsed).toEqual(
      new Map([
        ['username', 'a"b\\c'],
        ['nc', '00000001'],
        ['qop', 'auth'],
      ]),
    );
  });

  it('accepts an unquoted digest-uri', () => {
    expect(parseDirectives('digest-uri=imap/host')?.get('digest-uri')).toBe('imap/host');
  });

  it.each(['a', 'a=', '=b', 'a="b', 'a=b c', 'a=1,A=2', 'a="b"c'])('refuses %j', (text) => {
    expect(parseDirectives(text)).toBeUndefined();
  });

  it('quotes values it writes', () => {
    expect(quote('a"b\\c')).toBe('"a\\"b\\\\c"');
  });
});
