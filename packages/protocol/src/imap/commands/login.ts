// LOGIN (RFC 3501 §6.2.3): PLAIN by another name, refused without TLS unless allowed
// (LOGINDISABLED, RFC 3501 §6.2.3 and §11.1).

import { astringOf } from '../wire-values.js';
import { authenticationOutcome } from './authentication.js';
import { bad, defineCommand, NOT_AUTHENTICATED, no } from './command-spec.js';

export const login = defineCommand({
  name: 'LOGIN',
  states: NOT_AUTHENTICATED,
  capabilities: (view) => ({
    now: view.state === 'not-authenticated' && !view.plaintextOk ? ['LOGINDISABLED'] : [],
  }),
  parse(args) {
    if (args.length !== 2) return bad('LOGIN needs a user name and a password');
    const [user, password] = args.map(astringOf);
    if (user === undefined || password === undefined) return bad('LOGIN needs a user name and a password');
    return { user, password };
  },
  async handle({ user, password }, context) {
    if (!context.capabilityView().plaintextOk)
      return no('[PRIVACYREQUIRED] LOGIN is disabled until STARTTLS');
    // One check of the password, one code path: the PLAIN exchange with the same credentials.
    const dialogue = context.saslDialogue('PLAIN');
    const turn = await dialogue.start(
      Buffer.from(`\u0000${user}\u0000${password}`, 'utf8').toString('base64'),
    );
    if (turn.kind === 'challenge') throw new Error('PLAIN with an initial response does not challenge');
    return authenticationOutcome(turn, context, 'LOGIN');
  },
});
