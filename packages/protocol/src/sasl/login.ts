/**
 * LOGIN (draft-murchison-sasl-login-00): the server prompts for the username, then for the
 * password, each sent in clear, then checks them against the scrypt verifier. Only over TLS.
 */
import { checkPassword } from './password-check.js';
import {
  decodeUtf8,
  malformed,
  prepareUsername,
  type SaslConversation,
  type SaslServerOptions,
} from './sasl-step.js';

// §2 of the draft: deployed clients require exactly these prompts, so servers MUST send them.
const USERNAME_PROMPT = Buffer.from('Username:');
const PASSWORD_PROMPT = Buffer.from('Password:');

export async function* loginMechanism(
  options: SaslServerOptions,
  initialResponse: Buffer | undefined,
): SaslConversation {
  // Many clients send the username as an initial response (`AUTH LOGIN dXNlcg==`); an empty
  // one (`AUTH LOGIN =`) carries no username, so it is prompted for as if none were sent.
  const usernameBytes =
    initialResponse !== undefined && initialResponse.length > 0 ? initialResponse : yield USERNAME_PROMPT;
  const rawUsername = decodeUtf8(usernameBytes);
  if (rawUsername === undefined) return malformed('LOGIN username is not UTF-8');
  const username = prepareUsername(rawUsername);
  if (username === undefined) return malformed('LOGIN username is empty or has prohibited characters');
  const password = decodeUtf8(yield PASSWORD_PROMPT);
  if (password === undefined) return malformed('LOGIN password is not UTF-8');
  // LOGIN has no authorization identity: the account acts as itself.
  return checkPassword(options, username, password, '');
}
