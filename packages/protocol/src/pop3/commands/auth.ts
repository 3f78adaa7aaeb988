import { isPlaintextMechanism } from '../../sasl/sasl-exchange.js';
import { AUTHORIZATION, err, ok, pop3Command, refusal, request } from './context.js';
import { answerSaslTurn } from './login.js';

export type AuthRequest =
  | { readonly kind: 'list' }
  /** The mechanism upper-cased; the initial response as sent (RFC 5034 §4: "=" is empty). */
  | { readonly kind: 'start'; readonly mechanism: string; readonly initialResponse: string | undefined };

/** AUTH (RFC 5034): the framing is SaslDialogue's; this says how POP3 shows its turns. */
export const auth = pop3Command({
  verb: 'AUTH',
  states: AUTHORIZATION,
  capabilities: (ctx) => (ctx.state === 'authorization' ? [`SASL ${ctx.offeredMechanisms.join(' ')}`] : []),
  parse(line) {
    const [mechanism, initialResponse, ...extra] = line.args;
    if (mechanism === undefined) return request<AuthRequest>({ kind: 'list' });
    if (extra.length > 0) return refusal('unsupported authentication mechanism');
    return request<AuthRequest>({ kind: 'start', mechanism: mechanism.toUpperCase(), initialResponse });
  },
  async handle(req, ctx) {
    // RFC 5034 §4 leaves the list to CAPA; many clients still ask this way.
    if (req.kind === 'list') return ok('methods follow', ctx.offeredMechanisms);
    const mechanism = ctx.enabledMechanisms.find((m) => m === req.mechanism);
    if (!mechanism) return err('unsupported authentication mechanism');
    if (isPlaintextMechanism(mechanism) && !ctx.plaintextAllowed)
      return err(`[AUTH] ${mechanism} needs TLS first: use STLS`);
    const turn = await ctx.startSasl(mechanism).start(req.initialResponse);
    return answerSaslTurn(ctx, turn, mechanism);
  },
});
