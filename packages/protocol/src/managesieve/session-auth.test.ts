import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { saslprep } from '../sasl/saslprep.js';
import { ALICE_PLAIN, MemoryScripts, PASSWORD, start, USER } from './test-session.js';

// AUTHENTICATE (RFC 5804 §2.1) with the mechanisms IMAP offers, each driven by a client
// computed here from the password.

const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');
/** The base64 inside the one quoted string a challenge line is. */
const challengeOf = (line: string) => {
  const match = /^"([A-Za-z0-9+/=]*)"\r\n$/.exec(line);
  if (!match) throw new Error(`not a challenge: ${JSON.stringify(line)}`);
  return unb64(match[1]!);
};
const md5Hex = (data: string | Buffer) => createHash('md5').update(data).digest('hex');
const hmac256 = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

describe('AUTHENTICATE', () => {
  it('takes PLAIN with an initial response, under TLS or where plaintext is allowed', async () => {
    const h = start({ tls: 'active' });
    expect(await h.feed(`AUTHENTICATE "PLAIN" "${ALICE_PLAIN}"\r\n`)).toBe('OK "Logged in"\r\n');
    expect(h.logins).toEqual([USER]);
    expect(h.session.state).toBe('authenticated');
    expect(await h.feed(`AUTHENTICATE "PLAIN" "${ALICE_PLAIN}"\r\n`)).toBe('NO "already authenticated"\r\n');
  });

  it('takes PLAIN without one: an empty challenge, then the response as a literal', async () => {
    const h = start({ plaintextAllowed: true });
    expect(await h.feed('Authenticate "PLAIN"\r\n')).toBe('""\r\n');
    expect(await h.feed(`{${ALICE_PLAIN.length}+}\r\n${ALICE_PLAIN}\r\n`)).toBe('OK "Logged in"\r\n');
  });

  it('takes LOGIN, its prompts as challenges', async () => {
    const h = start({ plaintextAllowed: true });
    expect(challengeOf(await h.feed('AUTHENTICATE "LOGIN"\r\n'))).toBe('Username:');
    expect(challengeOf(await h.feed(`"${b64(USER)}"\r\n`))).toBe('Password:');
    expect(await h.feed(`"${b64(PASSWORD)}"\r\n`)).toBe('OK "Logged in"\r\n');
  });

  it('refuses PLAIN and LOGIN before TLS (ENCRYPT-NEEDED) and does not offer them', async () => {
    const h = start();
    expect(await h.feed(`AUTHENTICATE "PLAIN" "${ALICE_PLAIN}"\r\n`)).toBe(
      'NO (ENCRYPT-NEEDED) "PLAIN needs TLS first: use STARTTLS"\r\n',
    );
    expect(await h.feed('CAPABILITY\r\n')).toContain('"SASL" "SCRAM-SHA-256 DIGEST-MD5 CRAM-MD5"\r\n');
    expect(h.failures).toEqual([]);
  });

  it('says AUTH-TOO-WEAK for CRAM-MD5 and DIGEST-MD5 when the operator turned them off', async () => {
    const h = start({ saslMechanisms: ['SCRAM-SHA-256', 'PLAIN', 'LOGIN'], tls: 'active' });
    expect(await h.feed('AUTHENTICATE "CRAM-MD5"\r\n')).toBe(
      'NO (AUTH-TOO-WEAK) "CRAM-MD5 is not allowed here"\r\n',
    );
    expect(await h.feed('AUTHENTICATE "GSSAPI"\r\n')).toBe('NO "unsupported authentication mechanism"\r\n');
    expect(await h.feed('CAPABILITY\r\n')).toContain('"SASL" "SCRAM-SHA-256 PLAIN LOGIN"\r\n');
  });

  it('takes CRAM-MD5', async () => {
    const h = start();
    const challenge = challengeOf(await h.feed('AUTHENTICATE "CRAM-MD5"\r\n'));
    const digest = createHmac('md5', PASSWORD).update(challenge).digest('hex');
    expect(await h.feed(`"${b64(`${USER} ${digest}`)}"\r\n`)).toBe('OK "Logged in"\r\n');
  });

  it('takes DIGEST-MD5 for the "sieve" service (§2.1)', async () => {
    const h = start();
    const challenge = challengeOf(await h.feed('Authenticate "DIGEST-MD5"\r\n'));
    const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
    const cnonce = 'OA6MHXh6VqTrRk';
    const digestUri = 'sieve/sieve.example.org';
    const a1 = Buffer.concat([
      createHash('md5').update(`${USER}:example.org:${PASSWORD}`).digest(),
      Buffer.from(`:${nonce}:${cnonce}`),
    ]);
    const value = (a2: string) => md5Hex(`${md5Hex(a1)}:${nonce}:00000001:${cnonce}:auth:${md5Hex(a2)}`);
    const response = `charset=utf-8,username="${USER}",realm="example.org",nonce="${nonce}",nc=00000001,cnonce="${cnonce}",digest-uri="${digestUri}",response=${value(`AUTHENTICATE:${digestUri}`)},qop=auth`;
    // The mechanism proves itself in a challenge of its own, answered with an empty string.
    expect(challengeOf(await h.feed(`"${b64(response)}"\r\n`))).toBe(`rspauth=${value(`:${digestUri}`)}`);
    expect(await h.feed('""\r\n')).toBe('OK "Logged in"\r\n');
  });

  it('refuses DIGEST-MD5 made for another service', async () => {
    const h = start();
    const challenge = challengeOf(await h.feed('AUTHENTICATE "DIGEST-MD5"\r\n'));
    const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
    const response = `username="${USER}",realm="example.org",nonce="${nonce}",nc=00000001,cnonce="x",digest-uri="imap/sieve.example.org",response=${'0'.repeat(32)},qop=auth`;
    expect(await h.feed(`"${b64(response)}"\r\n`)).toMatch(/^NO "/);
    expect(h.session.state).toBe('non-authenticated');
  });

  it('takes SCRAM-SHA-256 and sends the server signature in the OK (§2.1)', async () => {
    const h = start();
    const bare = `n=${USER},r=fyko+d2lbbFgONRv9qkxdawL`;
    const serverFirst = challengeOf(await h.feed(`AUTHENTICATE "SCRAM-SHA-256" "${b64(`n,,${bare}`)}"\r\n`));
    const attributes = new Map(serverFirst.split(',').map((a) => [a.slice(0, 1), a.slice(2)] as const));
    const salted = pbkdf2Sync(
      saslprep(PASSWORD),
      Buffer.from(attributes.get('s')!, 'base64'),
      Number(attributes.get('i')),
      32,
      'sha256',
    );
    const clientKey = hmac256(salted, 'Client Key');
    const withoutProof = `c=${b64('n,,')},r=${attributes.get('r')}`;
    const authMessage = `${bare},${serverFirst},${withoutProof}`;
    const signature = hmac256(createHash('sha256').update(clientKey).digest(), authMessage);
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!)).toString('base64');
    const serverFinal = `v=${hmac256(hmac256(salted, 'Server Key'), authMessage).toString('base64')}`;
    expect(await h.feed(`"${b64(`${withoutProof},p=${proof}`)}"\r\n`)).toBe(
      `OK (SASL "${b64(serverFinal)}") "Logged in"\r\n`,
    );
  });

  it('ends the exchange on "*" without counting a failure', async () => {
    const h = start({ plaintextAllowed: true });
    await h.feed('AUTHENTICATE "PLAIN"\r\n');
    expect(await h.feed('"*"\r\n')).toBe('NO "authentication cancelled"\r\n');
    expect(h.failures).toEqual([]);
    expect(await h.feed('NOOP\r\n')).toBe('OK "Done"\r\n');
  });

  it('ends the exchange on a response that is not one string', async () => {
    const h = start({ plaintextAllowed: true });
    await h.feed('AUTHENTICATE "PLAIN"\r\n');
    expect(await h.feed('NOOP\r\n')).toBe('NO "the response must be one string"\r\n');
    await h.feed('AUTHENTICATE "PLAIN"\r\n');
    expect(await h.feed('"not base64!"\r\n')).toBe('NO "cannot decode the response"\r\n');
    expect(h.session.state).toBe('non-authenticated');
  });

  it('counts wrong passwords, and says BYE after three on one connection', async () => {
    const h = start({ plaintextAllowed: true });
    const wrong = `AUTHENTICATE "PLAIN" "${b64(`\0${USER}\0wrong`)}"\r\n`;
    expect(await h.feed(wrong)).toBe('NO "Authentication failed"\r\n');
    expect(await h.feed(wrong)).toBe('NO "Authentication failed"\r\n');
    expect(await h.feed(wrong)).toBe('BYE "Too many failed authentication attempts"\r\n');
    expect(h.failures).toEqual(['PLAIN', 'PLAIN', 'PLAIN']);
    expect(h.actions.at(-1)).toBe('close');
    expect(await h.feed(`AUTHENTICATE "PLAIN" "${ALICE_PLAIN}"\r\n`)).toBe('');
  });

  it('lets the limit of failures be set, and forgives them on a login', async () => {
    const h = start({ plaintextAllowed: true, maxAuthFailures: 2 });
    const wrong = `AUTHENTICATE "PLAIN" "${b64(`\0${USER}\0wrong`)}"\r\n`;
    await h.feed(wrong);
    await h.feed(`AUTHENTICATE "PLAIN" "${ALICE_PLAIN}"\r\n`);
    await h.feed('UNAUTHENTICATE\r\n');
    expect(await h.feed(wrong)).toBe('NO "Authentication failed"\r\n');
    expect(await h.feed(wrong)).toBe('BYE "Too many failed authentication attempts"\r\n');
  });

  it('says TRYLATER when the accounts or the scripts cannot be reached', async () => {
    const noAccounts = start({ plaintextAllowed: true }, new MemoryScripts(), {
      lookupCredentials: () => Promise.reject(new Error('connection refused')),
    });
    expect(await noAccounts.feed(`AUTHENTICATE "PLAIN" "${ALICE_PLAIN}"\r\n`)).toBe(
      'NO (TRYLATER) "authentication is unavailable now, try again later"\r\n',
    );
    const noScripts = start({ plaintextAllowed: true }, new MemoryScripts(), {
      openScripts: async () => 'temp',
    });
    expect(await noScripts.feed(`AUTHENTICATE "PLAIN" "${ALICE_PLAIN}"\r\n`)).toBe(
      'NO (TRYLATER) "the script store cannot be reached now, try again later"\r\n',
    );
    expect(noScripts.session.state).toBe('non-authenticated');
  });
});
