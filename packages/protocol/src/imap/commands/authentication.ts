// How a SASL exchange ends for IMAP (RFC 3501 §6.2.2, RFC 5530 response codes): LOGIN and
// AUTHENTICATE share it, so a password is checked and answered one way.

import type { SaslTurn } from '../../sasl/sasl-dialogue.js';
import type { SaslMechanismName } from '../../sasl/sasl-step.js';
import { bad, type ImapContext, type ImapReply, no, ok } from './command-spec.js';

/** `mechanism`: as the service logs and counts it (the LOGIN command is 'LOGIN', though PLAIN checks it). */
export async function authenticationOutcome(
  turn: Exclude<SaslTurn, { kind: 'challenge' }>,
  context: ImapContext,
  mechanism: SaslMechanismName = turn.mechanism,
): Promise<ImapReply> {
  if (turn.kind === 'success') {
    const opened = await context.logIn(turn.identity, mechanism).catch(() => 'temp' as const);
    if (opened === 'temp') return no('[UNAVAILABLE] the mail store cannot be reached now, try again later');
    if (opened === 'too-many') return no('[LIMIT] too many sessions of this user at once');
    return ok(`[CAPABILITY ${context.capabilities().join(' ')}] ${turn.identity.address} logged in`);
  }
  // The framing's own failures: the client cancelled or sent something that is not base64.
  if (turn.reason === 'cancelled' || turn.reason === 'undecodable') return bad(turn.message);
  if (turn.reason === 'temporary')
    return no('[UNAVAILABLE] authentication is unavailable now, try again later');
  await context.authFailed(mechanism);
  return no('[AUTHENTICATIONFAILED] authentication failed');
}
