/**
 * PLAIN (RFC 4616): one client message `[authzid] NUL authcid NUL passwd`, checked against the
 * scrypt verifier. Only over TLS: the engines refuse it before (isPlaintextMechanism).
 */
import { checkPassword } from './password-check.js';
import {
  decodeUtf8,
  malformed,
  prepareUsername,
  type SaslConversation,
  type SaslServerOptions,
} from './sasl-step.js';

export async function* plainMechanism(
  options: SaslServerOptions,
  initialResponse: Buffer | undefined,
): SaslConversation {
  // RFC 4422 §5 (2a): a client-first mechanism without an initial response gets an empty challenge.
  const message = initialResponse ?? (yield Buffer.alloc(0));
  const text = decodeUtf8(message);
  if (text === undefined) return malformed('PLAIN message is not UTF-8');
  // RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd, exactly two NULs.
  const fields = text.split('\0');
  if (fields.length !== 3) return malformed('PLAIN message must be authzid NUL authcid NUL password');
  const [authzid, authcid, password] = fields as [string, string, string];
  const username = prepareUsername(authcid);
  if (username === undefined) return malformed('PLAIN authcid is empty or has prohibited characters');
  if (password === '') return malformed('PLAIN password is empty');
  return checkPassword(options, username, password, authzid);
}
