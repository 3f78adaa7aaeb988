// AUTHENTICATE (RFC 3501 §6.2.2) with SASL-IR (RFC 4959): the framing (base64, "=", "*",
// success data as a last challenge) is the SASL dialogue all three protocols share.

import type { SaslDialogue, SaslTurn } from '../../sasl/sasl-dialogue.js';
import { isPlaintextMechanism, SASL_MECHANISMS, type SaslMechanismName } from '../../sasl/sasl-exchange.js';
import { authenticationOutcome } from './authentication.js';
import {
  bad,
  defineCommand,
  type ImapContext,
  type ImapOutcome,
  type ImapReply,
  NOT_AUTHENTICATED,
  no,
} from './command-spec.js';

export const authenticate = defineCommand({
  name: 'AUTHENTICATE',
  states: NOT_AUTHENTICATED,
  capabilities: (view) => ({
    always: ['SASL-IR'],
    now: view.state === 'not-authenticated' ? view.mechanisms.map((m) => `AUTH=${m}`) : [],
  }),
  parse(args) {
    const [mechanism, initial, ...extra] = args;
    if (mechanism?.type !== 'atom' || extra.length > 0) return bad('AUTHENTICATE needs a mechanism');
    // An initial response that is not an atom cannot be base64.
    if (initial !== undefined && initial.type !== 'atom') return bad('cannot decode the initial response');
    return { mechanism: mechanism.value.toUpperCase() as SaslMechanismName, initial: initial?.value };
  },
  async handle({ mechanism, initial }, context): Promise<ImapOutcome> {
    const enabled = context.options.saslMechanisms ?? SASL_MECHANISMS;
    if (!enabled.includes(mechanism)) return no('unsupported authentication mechanism');
    if (isPlaintextMechanism(mechanism) && !context.capabilityView().plaintextOk)
      return no('[PRIVACYREQUIRED] use STARTTLS first');
    const dialogue = context.saslDialogue(mechanism);
    const turn = await dialogue.start(initial);
    if (turn.kind !== 'challenge')
      return { kind: 'dialogue-over', reply: await authenticationOutcome(turn, context) };
    await context.write(`+ ${turn.base64}\r\n`);
    return { kind: 'dialogue', dialogue: saslLines(dialogue, context) };
  },
});

/** The client's responses, one line each, until the exchange ends. */
function saslLines(dialogue: SaslDialogue, context: ImapContext) {
  return {
    async line(text: string | undefined): Promise<ImapReply | undefined> {
      const turn: SaslTurn =
        text === undefined ? dialogue.abandon('response too long') : await dialogue.answer(text);
      if (turn.kind === 'challenge') {
        await context.write(`+ ${turn.base64}\r\n`);
        return undefined;
      }
      return authenticationOutcome(turn, context);
    },
  };
}
