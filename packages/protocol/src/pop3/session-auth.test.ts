import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { credentials, loggedIn, PASSWORD, start, USER } from './test-session.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');
const WELCOME = '+OK alice@example.org has 3 messages\r\n';

/** The challenge of a `+ ` line, decoded. */
function challenge(answer: string): string {
  const match = /^\+ ([A-Za-z0-9+/=]*)\r\n$/.exec(answer);
  if (!match) throw new Error(`expected a continuation, got ${JSON.stringify(answer)}`);
  return unb64(match[1]!);
}

describe('POP3 CAPA (RFC 2449)', () => {
  it('before TLS, without plaintext: STLS and the mechanisms that keep the password secret', async () => {
    const h = start({ plaintextAllowed: false });
    expect(await h.say('CAPA')).toBe(
      '+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n' +
        'EXPIRE NEVER\r\nSASL SCRAM-SHA-256 DIGEST-MD5 CRAM-MD5\r\nSTLS\r\nIMPLEMENTATION Tegami\r\n.\r\n',
    );
  });

  it('with plaintext allowed and no TLS to offer: USER, every mechanism, no STLS', async () => {
    const h = start({ plaintextAllowed: true, tls: 'unavailable', loginDelaySeconds: 300 });
    expect(await h.say('CAPA')).toBe(
      '+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n' +
        'EXPIRE NEVER\r\nUSER\r\nSASL SCRAM-SHA-256 DIGEST-MD5 CRAM-MD5 PLAIN LOGIN\r\n' +
        'LOGIN-DELAY 300\r\nIMPLEMENTATION Tegami\r\n.\r\n',
    );
  });

  it('under TLS: USER and every mechanism, no STLS; after login, no login capabilities', async () => {
    const h = start({ plaintextAllowed: false, tls: 'active' });
    const capa = await h.say('CAPA');
    expect(capa).toContain('\r\nUSER\r\nSASL SCRAM-SHA-256 DIGEST-MD5 CRAM-MD5 PLAIN LOGIN\r\n');
    expect(capa).not.toContain('STLS');
    await h.say(`USER ${USER}`, `PASS ${PASSWORD}`);
    expect(await h.say('CAPA')).toBe(
      '+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n' +
        'EXPIRE NEVER\r\nIMPLEMENTATION Tegami\r\n.\r\n',
    );
  });
});

describe('POP3 USER/PASS and plaintext before TLS', () => {
  it('refuses USER, PLAIN and LOGIN in clear unless allowed, and lists only the others for AUTH', async () => {
    const h = start({ plaintextAllowed: false });
    expect(await h.say(`USER ${USER}`)).toBe('-ERR [AUTH] USER/PASS needs TLS first: use STLS\r\n');
    expect(await h.say(`PASS ${PASSWORD}`)).toBe('-ERR send USER first\r\n');
    expect(await h.say('AUTH PLAIN')).toBe('-ERR [AUTH] PLAIN needs TLS first: use STLS\r\n');
    expect(await h.say('auth login')).toBe('-ERR [AUTH] LOGIN needs TLS first: use STLS\r\n');
    expect(await h.say('AUTH')).toBe(
      '+OK methods follow\r\nSCRAM-SHA-256\r\nDIGEST-MD5\r\nCRAM-MD5\r\n.\r\n',
    );
    expect(h.failures).toBe(0);
    expect(h.session.state).toBe('authorization');
  });

  it('STLS: +OK, the service starts TLS, and USER/PASS work afterwards', async () => {
    const h = start({ plaintextAllowed: false });
    expect(await h.say('STLS')).toBe('+OK Begin TLS negotiation\r\n');
    expect(h.actions.at(-1)).toBe('starttls');
    h.session.tlsStarted();
    expect(await h.say('STLS')).toBe('-ERR TLS is already active\r\n');
    expect(await h.say(`USER ${USER}`, `PASS ${PASSWORD}`)).toBe(`+OK send PASS\r\n${WELCOME}`);
  });

  it('forgets a USER given in clear once TLS starts', async () => {
    const h = start({ plaintextAllowed: true });
    await h.say(`USER ${USER}`, 'STLS');
    h.session.tlsStarted();
    expect(await h.say(`PASS ${PASSWORD}`)).toBe('-ERR send USER first\r\n');
  });

  it('answers STLS with -ERR when no certificate is loaded', async () => {
    const h = start({ tls: 'unavailable' });
    expect(await h.say('STLS')).toBe('-ERR STLS is not available\r\n');
    expect(h.actions.at(-1)).toBe('continue');
  });

  it('fails a wrong password with [AUTH], counts it, and allows another try', async () => {
    const h = start();
    expect(await h.say(`USER ${USER}`, 'PASS wrong')).toBe(
      '+OK send PASS\r\n-ERR [AUTH] authentication failed\r\n',
    );
    expect(await h.say('USER nobody@example.org', 'PASS wrong')).toMatch(
      /-ERR \[AUTH\] authentication failed\r\n$/,
    );
    expect(h.failures).toBe(2);
    expect(h.session.state).toBe('authorization');
    expect(await h.say('PASS again')).toBe('-ERR send USER first\r\n');
    expect(await h.say(`USER ${USER}`, `PASS ${PASSWORD}`)).toBe(`+OK send PASS\r\n${WELCOME}`);
  });

  it('answers [SYS/TEMP] when the account store is down, and does not count it as a failure', async () => {
    const h = start({}, undefined, {
      lookupCredentials: async () => {
        throw new Error('connection refused');
      },
    });
    expect(await h.say(`USER ${USER}`, `PASS ${PASSWORD}`)).toMatch(/\r\n-ERR \[SYS\/TEMP\] /);
    expect(h.failures).toBe(0);
  });

  it('answers [LOGIN-DELAY] when the account logged in too recently, and stays in AUTHORIZATION', async () => {
    const soon = start({ loginDelaySeconds: 60 }, undefined, { openMaildrop: async () => 'too-soon' });
    expect(await soon.say(`USER ${USER}`, `PASS ${PASSWORD}`)).toMatch(
      /\r\n-ERR \[LOGIN-DELAY\] at most one login every 60 seconds\r\n$/,
    );
    expect(await soon.say('STAT')).toMatch(/^-ERR /);
  });

  it('answers [IN-USE] when the maildrop is locked, [SYS/TEMP] when it cannot be opened', async () => {
    const busy = start({}, undefined, { openMaildrop: async () => 'in-use' });
    expect(await busy.say(`USER ${USER}`, `PASS ${PASSWORD}`)).toMatch(/\r\n-ERR \[IN-USE\] [^\r\n]+\r\n$/);
    expect(busy.session.state).toBe('authorization');
    expect(await busy.say('STAT')).toBe('-ERR log in first\r\n');
    const down = start({}, undefined, { openMaildrop: async () => 'temp' });
    expect(await down.say(`USER ${USER}`, `PASS ${PASSWORD}`)).toMatch(
      /\r\n-ERR \[SYS\/TEMP\] [^\r\n]+\r\n$/,
    );
    expect(down.session.state).toBe('authorization');
    const thrown = start({}, undefined, {
      openMaildrop: async () => {
        throw new Error('bug');
      },
    });
    expect(await thrown.say(`USER ${USER}`, `PASS ${PASSWORD}`)).toMatch(/\r\n-ERR \[SYS\/TEMP\] /);
    expect(thrown.session.state).toBe('authorization');
  });

  it('tells the service who logged in, and a failing authSucceeded hook does not hide the login', async () => {
    const seen: string[] = [];
    const h = start({}, undefined, {
      authSucceeded: (identity, mechanism) => seen.push(`${identity.accountId} ${mechanism}`),
    });
    await h.say(`USER ${USER}`, `PASS ${PASSWORD}`);
    expect(seen).toEqual(['1 USER']);
    expect(h.session.identity).toEqual({ accountId: '1', address: USER });
    const broken = start({}, undefined, {
      authSucceeded: () => {
        throw new Error('metrics down');
      },
    });
    expect(await broken.say(`USER ${USER}`, `PASS ${PASSWORD}`)).toBe(`+OK send PASS\r\n${WELCOME}`);
    expect(broken.session.state).toBe('transaction');
  });
});

describe('POP3 AUTH (RFC 5034) through the real SASL engine', () => {
  it('lists the mechanisms for a bare AUTH, one a line', async () => {
    const h = start();
    expect(await h.say('AUTH')).toBe(
      '+OK methods follow\r\nSCRAM-SHA-256\r\nDIGEST-MD5\r\nCRAM-MD5\r\nPLAIN\r\nLOGIN\r\n.\r\n',
    );
  });

  it('PLAIN with an initial response, and with an empty challenge first', async () => {
    const ir = b64(`\u0000${USER}\u0000${PASSWORD}`);
    const h = start();
    expect(await h.say(`AUTH PLAIN ${ir}`)).toBe(WELCOME);
    const stepwise = start();
    expect(await stepwise.say('AUTH plain')).toBe('+ \r\n');
    expect(stepwise.session.inSasl).toBe(true);
    expect(await stepwise.say(ir)).toBe(WELCOME);
    expect(stepwise.session.inSasl).toBe(false);
  });

  it('PLAIN with "=" sends an empty initial response, which PLAIN refuses with [AUTH]', async () => {
    const h = start();
    expect(await h.say('AUTH PLAIN =')).toBe('-ERR [AUTH] authentication failed\r\n');
    expect(h.failures).toBe(1);
    expect(h.session.inSasl).toBe(false);
  });

  it('LOGIN step by step', async () => {
    const h = start();
    expect(challenge(await h.say('AUTH LOGIN'))).toBe('Username:');
    expect(challenge(await h.say(b64(USER)))).toBe('Password:');
    expect(await h.say(b64(PASSWORD))).toBe(WELCOME);
  });

  it('CRAM-MD5 (RFC 2195): the digest of the challenge logs in, a wrong one fails', async () => {
    const h = start();
    const text = challenge(await h.say('AUTH CRAM-MD5'));
    expect(text).toMatch(/^<.+@pop\.example\.org>$/);
    const digest = createHmac('md5', PASSWORD).update(text).digest('hex');
    expect(await h.say(b64(`${USER} ${digest}`))).toBe(WELCOME);
    const wrong = start();
    const other = challenge(await wrong.say('AUTH CRAM-MD5'));
    const bad = createHmac('md5', 'not the password').update(other).digest('hex');
    expect(await wrong.say(b64(`${USER} ${bad}`))).toBe('-ERR [AUTH] authentication failed\r\n');
    expect(wrong.failures).toBe(1);
  });

  /** The client side of SCRAM-SHA-256 (RFC 5802 §3, RFC 7677) from the password. */
  function scramClientFinal(password: string, clientFirstBare: string, serverFirst: string) {
    const attributes = new Map(serverFirst.split(',').map((a) => [a.slice(0, 1), a.slice(2)] as const));
    const salted = pbkdf2Sync(
      password,
      Buffer.from(attributes.get('s')!, 'base64'),
      Number(attributes.get('i')),
      32,
      'sha256',
    );
    const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const withoutProof = `c=${b64('n,,')},r=${attributes.get('r')}`;
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(storedKey, authMessage);
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
    return {
      clientFinal: `${withoutProof},p=${proof.toString('base64')}`,
      serverFinal: `v=${hmac(hmac(salted, 'Server Key'), authMessage).toString('base64')}`,
    };
  }

  it('SCRAM-SHA-256: server-final as one more challenge, an empty line, then +OK', async () => {
    await credentials;
    const h = start({ plaintextAllowed: false });
    const bare = `n=${USER},r=rOprNGfwEbeRWgbNEkqO`;
    const serverFirst = challenge(await h.say(`AUTH SCRAM-SHA-256 ${b64(`n,,${bare}`)}`));
    expect(serverFirst).toMatch(/^r=rOprNGfwEbeRWgbNEkqO[^,]+,s=[^,]+,i=4096$/);
    const { clientFinal, serverFinal } = scramClientFinal(PASSWORD, bare, serverFirst);
    expect(challenge(await h.say(b64(clientFinal)))).toBe(serverFinal);
    expect(h.session.state).toBe('authorization');
    expect(await h.say('')).toBe(WELCOME);
    expect(h.session.state).toBe('transaction');
  });

  it('SCRAM-SHA-256 without an initial response, and with a wrong password', async () => {
    const h = start();
    expect(await h.say('AUTH SCRAM-SHA-256')).toBe('+ \r\n');
    const bare = `n=${USER},r=abcdefghijklmnop`;
    const serverFirst = challenge(await h.say(b64(`n,,${bare}`)));
    const { clientFinal } = scramClientFinal('not the password', bare, serverFirst);
    expect(await h.say(b64(clientFinal))).toBe('-ERR [AUTH] authentication failed\r\n');
    expect(h.failures).toBe(1);
    expect(h.session.inSasl).toBe(false);
  });

  it('cancels with "*" at a challenge and at the server-final step', async () => {
    const h = start();
    await h.say('AUTH CRAM-MD5');
    expect(await h.say('*')).toBe('-ERR authentication cancelled\r\n');
    expect(h.session.inSasl).toBe(false);
    const bare = `n=${USER},r=abcdefghijklmnop`;
    const serverFirst = challenge(await h.say(`AUTH SCRAM-SHA-256 ${b64(`n,,${bare}`)}`));
    await h.say(b64(scramClientFinal(PASSWORD, bare, serverFirst).clientFinal));
    expect(await h.say('*')).toBe('-ERR authentication cancelled\r\n');
    expect(h.session.state).toBe('authorization');
    expect(await h.say('NOOP')).toBe('-ERR log in first\r\n');
  });

  it('neither lists nor accepts CRAM-MD5 and DIGEST-MD5 when the operator turned them off', async () => {
    const h = start({
      plaintextAllowed: false,
      tls: 'active',
      saslMechanisms: ['SCRAM-SHA-256', 'PLAIN', 'LOGIN'],
    });
    expect(await h.say('CAPA')).toContain('\r\nSASL SCRAM-SHA-256 PLAIN LOGIN\r\n');
    expect(await h.say('AUTH')).toBe('+OK methods follow\r\nSCRAM-SHA-256\r\nPLAIN\r\nLOGIN\r\n.\r\n');
    expect(await h.say('AUTH CRAM-MD5')).toBe('-ERR unsupported authentication mechanism\r\n');
    expect(await h.say('AUTH DIGEST-MD5')).toBe('-ERR unsupported authentication mechanism\r\n');
    expect(h.session.inSasl).toBe(false);
  });

  it('answers bad base64, unknown mechanisms and extra arguments with -ERR', async () => {
    const h = start();
    expect(await h.say('AUTH PLAIN !!!!')).toBe('-ERR cannot decode the initial response\r\n');
    expect(await h.say('AUTH PLAIN abc')).toBe('-ERR cannot decode the initial response\r\n');
    expect(await h.say('AUTH NOSUCH')).toBe('-ERR unsupported authentication mechanism\r\n');
    expect(await h.say('AUTH PLAIN a b')).toBe('-ERR unsupported authentication mechanism\r\n');
    await h.say('AUTH LOGIN');
    expect(await h.say('not base64!')).toBe('-ERR cannot decode the response\r\n');
    expect(h.session.inSasl).toBe(false);
    // Back to commands: the next line is a command again.
    expect(await h.say('CAPA')).toMatch(/^\+OK Capability list follows\r\n/);
    expect(h.failures).toBe(0);
  });

  it('ends a waiting exchange when its response line was too long', async () => {
    const h = start();
    await h.say('AUTH LOGIN');
    h.session.lineTooLong();
    expect(h.output()).toMatch(/-ERR response too long, authentication cancelled\r\n$/);
    expect(h.session.inSasl).toBe(false);
    expect(await h.say('NOOP')).toBe('-ERR log in first\r\n');
  });

  it('logs in after failures, and after login AUTH is refused', async () => {
    const h = await loggedIn();
    expect(await h.say(`AUTH PLAIN ${b64(`\u0000${USER}\u0000${PASSWORD}`)}`)).toBe(
      '-ERR already logged in\r\n',
    );
  });
});
