/**
 * The check PLAIN and LOGIN share: a cleartext password against the account's scrypt verifier.
 */
import { verifyScrypt } from './password-secrets.js';
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
 * derivePasswordSecrets uses (a test holds them equal); its hash matches no password we accept.
 */
export const UNKNOWN_USER_VERIFIER = `$scrypt$ln=15,r=8,p=1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;

export async function checkPassword(
  options: SaslServerOptions,
  username: string,
  password: string,
  authzid: string,
): Promise<SaslOutcome> {
  const found = await lookupCredentials(options, username);
  if (!found.ok) return found.failure;
  const { credentials } = found;
  const verified = await verifyScrypt(credentials?.scrypt ?? UNKNOWN_USER_VERIFIER, password);
  if (!credentials || !verified) return invalidCredentials();
  return authorize(credentials, authzid);
}
