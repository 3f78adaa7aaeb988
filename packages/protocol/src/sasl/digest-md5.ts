/**
 * DIGEST-MD5 (RFC 2831) for authentication only: qop=auth, charset=utf-8, algorithm=md5-sess.
 * The server keeps HA1 = MD5(username:realm:password) (§2.1.2.1), where the username is the
 * account's full lower-case address and the realm its domain, so a client must log in with
 * exactly those. RFC 6331 made the mechanism historic; it is offered for old clients.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { parseDirectives, quote } from './digest-md5-directives.js';
import {
  authorize,
  decodeUtf8,
  invalidCredentials,
  lookupCredentials,
  malformed,
  randomSource,
  type SaslConversation,
  type SaslFailure,
  type SaslServerOptions,
} from './sasl-step.js';

// An unknown user's response is computed too, against an HA1 that matches no password.
const UNKNOWN_USER_HA1 = Buffer.alloc(16);

export async function* digestMd5Mechanism(
  options: SaslServerOptions,
  initialResponse: Buffer | undefined,
): SaslConversation {
  // Server-first; the initial response of "subsequent authentication" (§2.2) is not offered.
  if (initialResponse !== undefined) return malformed('DIGEST-MD5 takes no initial response');
  // §2.1.1: a fresh nonce of at least 64 bits; base64 never needs escaping in a quoted-string.
  const nonce = randomSource(options)(16).toString('base64');
  const challenge = [
    ...options.realms.map((realm) => `realm=${quote(realm)}`),
    `nonce=${quote(nonce)}`,
    'qop="auth"',
    'charset=utf-8',
    'algorithm=md5-sess',
  ].join(',');

  const response = readDigestResponse(yield Buffer.from(challenge, 'utf8'), nonce, options.service);
  if ('kind' in response) return response;

  const found = await lookupCredentials(options, response.username);
  if (!found.ok) return found.failure;
  const { credentials } = found;
  // An account without a DIGEST-MD5 secret (none stored, or unreadable) fails like an unknown user.
  const known = credentials?.digestMd5;
  const expected = responseValue(known?.ha1 ?? UNKNOWN_USER_HA1, response, 'AUTHENTICATE');
  const matches = timingSafeEqual(Buffer.from(expected), Buffer.from(response.response.toLowerCase()));
  // The realm is inside HA1: a client that chose another realm cannot have matched anyway.
  if (!credentials || !known || !matches || response.realm !== known.realm) return invalidCredentials();
  const outcome = authorize(credentials, response.authzid ?? '');
  if (outcome.kind === 'failure') return outcome;

  // §2.1.3: the server proves it knows HA1 too; the client answers with an empty response.
  const rspauth = responseValue(known.ha1, response, '');
  const last = yield Buffer.from(`rspauth=${rspauth}`);
  if (last.length !== 0) return malformed('DIGEST-MD5 expects an empty response to rspauth');
  return outcome;
}

/** A digest-response (§2.1.2), its text values decoded; the raw ones keep their bytes (latin1). */
interface DigestResponse {
  readonly username: string;
  readonly realm: string;
  readonly authzid: string | undefined;
  readonly raw: {
    readonly nonce: string;
    readonly cnonce: string;
    readonly nc: string;
    readonly qop: string;
    readonly digestUri: string;
    readonly authzid: string | undefined;
  };
  readonly response: string;
}

function readDigestResponse(message: Buffer, nonce: string, service: string): DigestResponse | SaslFailure {
  const directives = parseDirectives(message.toString('latin1'));
  if (!directives) return malformed('DIGEST-MD5 response is not a list of directives');
  const get = (name: string) => directives.get(name);
  // §2.1.2: each of these is required, exactly once (parseDirectives refuses repeats).
  for (const name of ['username', 'nonce', 'cnonce', 'nc', 'digest-uri', 'response']) {
    if (!get(name)) return malformed(`DIGEST-MD5 response lacks ${name}`);
  }
  const charset = get('charset');
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8') return malformed('charset must be utf-8');
  // §2.1.2: with charset=utf-8 the strings are UTF-8, without it ISO 8859-1 (the latin1 text).
  const text = (value: string | undefined) =>
    value === undefined || charset === undefined ? value : decodeUtf8(Buffer.from(value, 'latin1'));
  const username = text(get('username'));
  const realm = text(get('realm') ?? '');
  const authzid = text(get('authzid'));
  if (
    username === undefined ||
    realm === undefined ||
    (get('authzid') !== undefined && authzid === undefined)
  ) {
    return malformed('DIGEST-MD5 response is not UTF-8');
  }
  if (get('nonce') !== nonce) return malformed('DIGEST-MD5 nonce does not match the challenge');
  // No nonce is reused, so this is the first and only response to it.
  if (get('nc') !== '00000001') return malformed('DIGEST-MD5 nonce-count must be 00000001');
  const qop = get('qop') ?? 'auth';
  if (qop.toLowerCase() !== 'auth') return malformed('only qop=auth is offered');
  // §2.1.2 digest-uri = serv-type "/" host [ "/" serv-name ]: the service must be ours (a
  // response made for another service is not replayable here); any host is accepted.
  const digestUri = get('digest-uri')!;
  const slash = digestUri.indexOf('/');
  if (slash <= 0 || digestUri.slice(0, slash).toLowerCase() !== service || slash === digestUri.length - 1) {
    return malformed(`DIGEST-MD5 digest-uri must be ${service}/<host>`);
  }
  const response = get('response')!;
  if (!/^[0-9a-fA-F]{32}$/.test(response)) return malformed('DIGEST-MD5 response must be 32 hex digits');
  return {
    username,
    realm,
    authzid,
    raw: { nonce, cnonce: get('cnonce')!, nc: '00000001', qop, digestUri, authzid: get('authzid') },
    response,
  };
}

/**
 * §2.1.2.1 response-value with algorithm=md5-sess and qop=auth:
 *   A1 = { HA1, ":", nonce, ":", cnonce [, ":", authzid] }
 *   A2 = { "AUTHENTICATE:", digest-uri }   (rspauth, §2.1.3: { ":", digest-uri })
 *   HEX(KD(HEX(H(A1)), { nonce, ":", nc, ":", cnonce, ":", qop, ":", HEX(H(A2)) }))
 */
function responseValue(ha1: Buffer, response: DigestResponse, a2Method: string): string {
  const { nonce, cnonce, nc, qop, digestUri, authzid } = response.raw;
  const authzidPart = authzid === undefined ? '' : `:${authzid}`;
  const a1 = Buffer.concat([ha1, Buffer.from(`:${nonce}:${cnonce}${authzidPart}`, 'latin1')]);
  const a2 = `${a2Method}:${digestUri}`;
  return md5Hex(`${md5Hex(a1)}:${nonce}:${nc}:${cnonce}:${qop}:${md5Hex(a2)}`);
}

function md5Hex(data: Buffer | string): string {
  return createHash('md5')
    .update(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)
    .digest('hex');
}
