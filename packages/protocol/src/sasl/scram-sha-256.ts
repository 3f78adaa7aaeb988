/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding. The server keeps StoredKey and
 * ServerKey: it checks the client's proof of SaltedPassword without learning it, and proves
 * in turn that it holds ServerKey.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SCRAM_ITERATIONS } from './password-secrets.js';
import {
  authorize,
  decodeUtf8,
  invalidCredentials,
  lookupCredentials,
  malformed,
  randomSource,
  type SaslConversation,
  type SaslServerOptions,
} from './sasl-step.js';
import { parseClientFinal, parseClientFirst, serverError } from './scram-messages.js';

const SERVER_NONCE_LENGTH = 24;

export async function* scramSha256Mechanism(
  options: SaslServerOptions,
  initialResponse: Buffer | undefined,
): SaslConversation {
  // §5: the client speaks first; without an initial response it is sent an empty challenge.
  const firstText = decodeUtf8(initialResponse ?? (yield Buffer.alloc(0)));
  if (firstText === undefined) return malformed('SCRAM client-first-message is not UTF-8');
  const first = parseClientFirst(firstText);
  if ('kind' in first) return first;

  const found = await lookupCredentials(options, first.username);
  if (!found.ok) return found.failure;
  const { credentials } = found;
  const keys = credentials?.scramSha256 ?? unknownUserKeys(options, first.username);
  // §5.1 r: the server appends its own nonce to the client's.
  const nonce = first.clientNonce + printableNonce(randomSource(options)(SERVER_NONCE_LENGTH));
  const serverFirst = `r=${nonce},s=${keys.salt.toString('base64')},i=${keys.iterations}`;

  const finalText = decodeUtf8(yield Buffer.from(serverFirst));
  if (finalText === undefined) return malformed('SCRAM client-final-message is not UTF-8');
  const final = parseClientFinal(finalText);
  if ('kind' in final) return final;
  // §5.1 c: without channel binding the data is exactly the gs2 header of the first message.
  if (!final.channelBinding.equals(Buffer.from(first.gs2Header))) {
    return malformed(
      'SCRAM channel binding does not repeat the gs2 header',
      serverError('channel-bindings-dont-match'),
    );
  }
  if (final.nonce !== nonce) return malformed('SCRAM nonce does not match', serverError('other-error'));
  if (final.proof.length !== keys.storedKey.length) {
    return malformed('SCRAM proof has the wrong length', serverError('invalid-proof'));
  }

  // §3: AuthMessage = client-first-message-bare "," server-first-message "," client-final-without-proof;
  // ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage), and H(ClientKey) must be StoredKey.
  const authMessage = `${first.bare},${serverFirst},${final.withoutProof}`;
  const clientSignature = hmac(keys.storedKey, authMessage);
  const clientKey = Buffer.from(final.proof.map((byte, i) => byte ^ clientSignature[i]!));
  const matches = timingSafeEqual(createHash('sha256').update(clientKey).digest(), keys.storedKey);
  // RFC 5802 §7 would allow e=unknown-user; invalid-proof for both keeps users unguessable.
  if (!credentials || !matches) return invalidCredentials(serverError('invalid-proof'));

  const serverFinal = Buffer.from(`v=${hmac(keys.serverKey, authMessage).toString('base64')}`);
  const outcome = authorize(credentials, first.authzid, serverFinal);
  return outcome.kind === 'failure' ? { ...outcome, finalData: serverError('other-error') } : outcome;
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

// Unless the deployment sets one key for all replicas: stable for the life of the process.
const PROCESS_SALT_KEY = randomBytes(32);

/**
 * An unknown user still gets a server-first-message, with the iteration count real accounts
 * have and a salt that is the same on every try (a keyed hash of the name), so the salt does
 * not tell which users exist (RFC 5802 §9). Its StoredKey matches no proof.
 */
function unknownUserKeys(options: SaslServerOptions, username: string) {
  const key = options.unknownUserSaltKey ?? PROCESS_SALT_KEY;
  return {
    salt: createHmac('sha256', key).update(username.toLowerCase(), 'utf8').digest().subarray(0, 16),
    iterations: SCRAM_ITERATIONS,
    storedKey: Buffer.alloc(32),
    serverKey: Buffer.alloc(32),
  };
}

/**
 * The server nonce in RFC 5802 §7 printable characters (visible ASCII but ","): a random
 * byte that is one already is kept, the others are folded into that range, which leaves
 * more than six bits of entropy per character.
 */
function printableNonce(bytes: Buffer): string {
  const isPrintable = (byte: number) => byte >= 0x21 && byte <= 0x7e && byte !== 0x2c;
  return String.fromCharCode(
    ...Array.from(bytes, (byte) => {
      if (isPrintable(byte)) return byte;
      const folded = 0x21 + (byte % 93);
      return folded >= 0x2c ? folded + 1 : folded;
    }),
  );
}
