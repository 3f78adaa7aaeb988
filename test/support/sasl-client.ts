import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

// The client side of the SASL mechanisms Tegami offers (RFC 4616 PLAIN, LOGIN, RFC 2195
// CRAM-MD5, RFC 2831 DIGEST-MD5 with md5-sess, RFC 5802/7677 SCRAM-SHA-256), for tests that
// drive AUTH, AUTHENTICATE and POP3 AUTH by hand with any password, right or wrong.

export type SaslClientMechanism = 'PLAIN' | 'LOGIN' | 'CRAM-MD5' | 'DIGEST-MD5' | 'SCRAM-SHA-256';

export interface SaslClient {
  /** What goes with the command (SASL-IR), if the mechanism sends first. */
  readonly initial: Buffer | undefined;
  /** The response to a (decoded) server challenge. */
  respond(challenge: Buffer): Buffer;
}

export interface SaslClientOptions {
  readonly user: string;
  readonly password: string;
  /** The GSSAPI service name in DIGEST-MD5's digest-uri: smtp, pop, imap. */
  readonly service: string;
  /** DIGEST-MD5's realm: the account's domain. */
  readonly realm: string;
}

const md5 = (data: string | Buffer) => createHash('md5').update(data).digest();
const md5Hex = (data: string | Buffer) => md5(data).toString('hex');
const hmac256 = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

export function saslClient(mechanism: SaslClientMechanism, o: SaslClientOptions): SaslClient {
  switch (mechanism) {
    case 'PLAIN':
      return { initial: Buffer.from(`\0${o.user}\0${o.password}`), respond: () => Buffer.alloc(0) };
    case 'LOGIN':
      return {
        initial: undefined,
        respond: (challenge) => Buffer.from(challenge.toString() === 'Username:' ? o.user : o.password),
      };
    case 'CRAM-MD5':
      return {
        initial: undefined,
        respond: (challenge) =>
          Buffer.from(`${o.user} ${createHmac('md5', o.password).update(challenge).digest('hex')}`),
      };
    case 'DIGEST-MD5':
      return { initial: undefined, respond: (challenge) => digestMd5Response(challenge.toString(), o) };
    case 'SCRAM-SHA-256':
      return scramSha256(o);
  }
}

function digestMd5Response(challenge: string, o: SaslClientOptions): Buffer {
  // The second challenge is rspauth=…, answered with an empty response.
  if (challenge.startsWith('rspauth=')) return Buffer.alloc(0);
  const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
  const cnonce = randomBytes(12).toString('base64');
  const digestUri = `${o.service}/mail.test`;
  const a1 = Buffer.concat([md5(`${o.user}:${o.realm}:${o.password}`), Buffer.from(`:${nonce}:${cnonce}`)]);
  const response = md5Hex(
    `${md5Hex(a1)}:${nonce}:00000001:${cnonce}:auth:${md5Hex(`AUTHENTICATE:${digestUri}`)}`,
  );
  const quote = (text: string) => `"${text.replace(/(["\\])/g, '\\$1')}"`;
  return Buffer.from(
    [
      'charset=utf-8',
      `username=${quote(o.user)}`,
      `realm=${quote(o.realm)}`,
      `nonce=${quote(nonce)}`,
      'nc=00000001',
      `cnonce=${quote(cnonce)}`,
      `digest-uri=${quote(digestUri)}`,
      `response=${response}`,
      'qop=auth',
    ].join(','),
  );
}

function scramSha256(o: SaslClientOptions): SaslClient {
  const bare = `n=${o.user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${randomBytes(18).toString('base64')}`;
  return {
    initial: Buffer.from(`n,,${bare}`),
    respond(challenge) {
      const serverFirst = challenge.toString();
      // The server-final-message (v=… or e=…) is acknowledged with an empty response.
      if (!serverFirst.startsWith('r=')) return Buffer.alloc(0);
      const attributes = new Map(serverFirst.split(',').map((a) => [a.slice(0, 1), a.slice(2)] as const));
      const salted = pbkdf2Sync(
        o.password,
        Buffer.from(attributes.get('s')!, 'base64'),
        Number(attributes.get('i')),
        32,
        'sha256',
      );
      const clientKey = hmac256(salted, 'Client Key');
      const storedKey = createHash('sha256').update(clientKey).digest();
      const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${attributes.get('r')}`;
      const signature = hmac256(storedKey, `${bare},${serverFirst},${withoutProof}`);
      const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
      return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
    },
  };
}
