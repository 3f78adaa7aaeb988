import { isPlaintextMechanism, LEGACY_SASL_MECHANISMS, SASL_MECHANISMS } from '../../sasl/sasl-exchange.js';
import type { SaslMechanismName } from '../../sasl/sasl-step.js';
import type { ManageSieveSaslTurn } from '../sasl-turns.js';
import { decodeUtf8 } from '../script-names.js';
import {
  bye,
  type ManageSieveContext,
  type ManageSieveReply,
  manageSieveCommand,
  NON_AUTHENTICATED,
  no,
  ok,
  refusal,
  request,
  stringArgument,
} from './context.js';

export interface AuthenticateRequest {
  /** Upper-cased. */
  readonly mechanism: string;
  /** The initial response's text (base64), undefined when none was sent. */
  readonly initial: string | undefined;
}

/**
 * AUTHENTICATE (RFC 5804 §2.1): the mechanism as a string, an optional initial response,
 * then challenges and responses as strings until the outcome. The mechanisms and the login
 * policy are IMAP's: PLAIN and LOGIN only under TLS unless the operator allows them.
 */
export const authenticate = manageSieveCommand({
  name: 'AUTHENTICATE',
  states: NON_AUTHENTICATED,
  capabilities: (ctx) =>
    ctx.state === 'non-authenticated' ? [{ name: 'SASL', value: ctx.offeredMechanisms.join(' ') }] : [],
  parse(args) {
    const [mechanism, initial, ...extra] = args;
    // The mechanism is a string (§4 auth-type); some clients send it as an atom.
    const name = mechanism?.type === 'atom' ? mechanism.value : mechanism && decodeUtf8(mechanism.value);
    if (name === undefined || extra.length > 0) return refusal('AUTHENTICATE needs a mechanism');
    const response = initial === undefined ? undefined : stringArgument(initial);
    if (initial !== undefined && response === undefined) return refusal('cannot decode the initial response');
    return request<AuthenticateRequest>({ mechanism: name.toUpperCase(), initial: response });
  },
  async handle(req, ctx) {
    const mechanism = ctx.enabledMechanisms.find((m) => m === req.mechanism);
    if (!mechanism) {
      // CRAM-MD5 and DIGEST-MD5, turned off by the operator: too weak for this server.
      return LEGACY_SASL_MECHANISMS.includes(req.mechanism as SaslMechanismName)
        ? no(`${req.mechanism} is not allowed here`, 'AUTH-TOO-WEAK')
        : no(
            SASL_MECHANISMS.includes(req.mechanism as SaslMechanismName)
              ? `${req.mechanism} is not offered`
              : 'unsupported authentication mechanism',
          );
    }
    if (isPlaintextMechanism(mechanism) && !ctx.plaintextAllowed)
      return no(`${mechanism} needs TLS first: use STARTTLS`, 'ENCRYPT-NEEDED');
    return answerSaslTurn(ctx, await ctx.startSasl(mechanism).start(req.initial), mechanism);
  },
});

/** How a turn of the exchange is answered: a challenge, or the outcome (§2.1). */
export async function answerSaslTurn(
  ctx: ManageSieveContext,
  turn: ManageSieveSaslTurn,
  mechanism: SaslMechanismName,
): Promise<ManageSieveReply> {
  if (turn.kind === 'challenge') return { kind: 'challenge', base64: turn.base64 };
  if (turn.kind === 'success') {
    const scripts = await ctx.access.openScripts(turn.identity).catch(() => 'temp' as const);
    if (scripts === 'temp') return no('the script store cannot be reached now, try again later', 'TRYLATER');
    ctx.logIn(turn.identity, scripts, mechanism);
    return ok('Logged in', turn.finalData === undefined ? undefined : { sasl: turn.finalData });
  }
  switch (turn.reason) {
    case 'cancelled':
    case 'undecodable':
      // The client's framing, not a guess at a password: no failure counted.
      return no(turn.message);
    case 'temporary':
      return no('authentication is unavailable now, try again later', 'TRYLATER');
    default:
      if ((await ctx.authFailed(mechanism)) === 'close')
        return bye('Too many failed authentication attempts');
      return no('Authentication failed');
  }
}
