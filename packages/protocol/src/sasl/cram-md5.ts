/**
 * CRAM-MD5 (RFC 2195): the server sends a unique msg-id-like challenge, the client answers
 * `username SP hex(HMAC-MD5(password, challenge))`. The server holds no password: it resumes
 * HMAC-MD5 (RFC 2104) from the inner and outer MD5 states stored with the account.
 */
import { timingSafeEqual } from 'node:crypto';
import { decodeMd5State, md5Finish } from './md5-state.js';
import { cramMd5Contexts } from './password-secrets.js';
import {
  authorize,
  decodeUtf8,
  invalidCredentials,
  lookupCredentials,
  malformed,
  prepareUsername,
  randomSource,
  type SaslConversation,
  type SaslServerOptions,
} from './sasl-step.js';

// An unknown user's digest is computed too, against contexts that match no password we accept.
const UNKNOWN_USER_CONTEXTS = cramMd5Contexts('\0');

export async function* cramMd5Mechanism(
  options: SaslServerOptions,
  initialResponse: Buffer | undefined,
): SaslConversation {
  // RFC 4422 §4 (3a): CRAM-MD5 is server-first, an initial response has nothing to answer.
  if (initialResponse !== undefined) return malformed('CRAM-MD5 takes no initial response');
  // RFC 2195 §2: "<random digits.timestamp@hostname>", unique for every exchange.
  const random = randomSource(options)(8).readBigUInt64BE(0);
  const seconds = Math.floor((options.now?.() ?? new Date()).getTime() / 1000);
  const challenge = Buffer.from(`<${random}.${seconds}@${options.hostname}>`);

  const text = decodeUtf8(yield challenge);
  if (text === undefined) return malformed('CRAM-MD5 response is not UTF-8');
  // The digest is the last word: everything before the last space is the username.
  const space = text.lastIndexOf(' ');
  const digestHex = text.slice(space + 1);
  if (space < 0 || !/^[0-9a-fA-F]{32}$/.test(digestHex)) {
    return malformed('CRAM-MD5 response must be a username, a space and 32 hex digits');
  }
  const username = prepareUsername(text.slice(0, space));
  if (username === undefined) return malformed('CRAM-MD5 username is empty or has prohibited characters');

  const found = await lookupCredentials(options, username);
  if (!found.ok) return found.failure;
  const { credentials } = found;
  // An account without CRAM-MD5 secrets (none stored, or unreadable) fails like an unknown user.
  const known = credentials?.cramMd5;
  const { inner, outer } = known ?? UNKNOWN_USER_CONTEXTS;
  // HMAC = MD5(K⊕opad ‖ MD5(K⊕ipad ‖ challenge)); the stored states have absorbed the pads.
  const innerDigest = md5Finish(decodeMd5State(inner), 64, challenge);
  const expected = md5Finish(decodeMd5State(outer), 64, innerDigest);
  const matches = timingSafeEqual(expected, Buffer.from(digestHex, 'hex'));
  if (!credentials || !known || !matches) return invalidCredentials();
  return authorize(credentials, '');
}
