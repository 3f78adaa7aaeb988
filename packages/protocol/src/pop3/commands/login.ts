import type { SaslTurn } from '../../sasl/sasl-dialogue.js';
import type { SaslIdentity } from '../../sasl/sasl-exchange.js';
import { err, ok, type Pop3CommandContext, type Pop3Reply } from './context.js';

/**
 * How a SASL turn is answered in POP3 (RFC 5034 §4, RFC 3206 response codes): shared by
 * AUTH and by USER/PASS, which is PLAIN by another name. `mechanism` names the login in
 * the service's bookkeeping ("USER" for USER/PASS).
 */
export async function answerSaslTurn(
  ctx: Pop3CommandContext,
  turn: SaslTurn,
  mechanism: string,
): Promise<Pop3Reply> {
  if (turn.kind === 'challenge') return { kind: 'challenge', base64: turn.base64 };
  if (turn.kind === 'success') return openMaildrop(ctx, turn.identity, mechanism);
  switch (turn.reason) {
    case 'cancelled':
    case 'undecodable':
      // The client's framing, not a guess at a password: no failure counted.
      return err(turn.message);
    case 'temporary':
      return err('[SYS/TEMP] authentication is unavailable now, try again later');
    default:
      await ctx.storage.authFailed?.(mechanism);
      return err('[AUTH] authentication failed');
  }
}

async function openMaildrop(
  ctx: Pop3CommandContext,
  identity: SaslIdentity,
  mechanism: string,
): Promise<Pop3Reply> {
  const opened = await ctx.storage.openMaildrop(identity);
  if (opened === 'in-use') return err('[IN-USE] the maildrop is in use by another session');
  if (opened === 'too-soon')
    return err(`[LOGIN-DELAY] at most one login every ${ctx.loginDelaySeconds ?? 0} seconds`);
  if (opened === 'temp') return err('[SYS/TEMP] the maildrop cannot be opened now, try again later');
  ctx.enterTransaction(identity, opened);
  try {
    ctx.storage.authSucceeded?.(identity, mechanism);
  } catch {
    // Bookkeeping only: the maildrop is open, and the client must hear so.
  }
  return ok(`${identity.address} has ${opened.length} messages`);
}
