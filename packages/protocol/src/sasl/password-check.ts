/**
 * The check PLAIN and LOGIN share: a cleartext password against the account's scrypt verifier.
 */
import { scryptCost, verifyScrypt } from './password-secrets.js';
import {
  authorize,
  invalidCredentials,
  lookupCredentials,
  type SaslOutcome,
  type SaslServerOptions,
} from './sasl-step.js';

/**
 * Checked when the user does not exist, so an unknown user costs one scrypt run like a known
 * one and the answer's timing does not tell which usernames exist. Its parameters are those
 * derivePasswordSecrets uses now (a test holds them equal); its hash matches no password we accept.
 */
export function unknownUserVerifier(): string {
  return `$scrypt$ln=${scryptCost()},r=8,p=1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;
}

export async function checkPassword(
  options: SaslServerOptions,
  username: string,
  password: string,
  authzid: string,
): Promise<SaslOutcome> {
  const found = await lookupCredentials(options, username);
  if (!found.ok) return found.failure;
  const { credentials } = found;
  // The store's lookup may give the account a check of its own (the verified-credential
  // cache, a rehash at a new cost); it always ends in the same scrypt check when not cached.
  const verified = credentials
    ? await (credentials.verifyPassword ?? ((p: string) => verifyScrypt(credentials.scrypt, p)))(password)
    : await verifyScrypt(unknownUserVerifier(), password);
  if (!credentials || !verified) return invalidCredentials();
  return authorize(credentials, authzid);
}
