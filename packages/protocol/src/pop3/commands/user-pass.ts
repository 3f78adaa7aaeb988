import { AUTHORIZATION, err, ok, pop3Command, request } from './context.js';
import { answerSaslTurn } from './login.js';

/** USER (RFC 1939 §7): offered only where a password may travel (TLS, or allowed in clear). */
export const user = pop3Command({
  verb: 'USER',
  states: AUTHORIZATION,
  capabilities: (ctx) => (ctx.state === 'authorization' && ctx.plaintextAllowed ? ['USER'] : []),
  parse: (line) => request({ name: line.rest }),
  handle({ name }, ctx) {
    if (!ctx.plaintextAllowed) return err('[AUTH] USER/PASS needs TLS first: use STLS');
    if (name === '') return err('USER needs a name');
    ctx.pendingUser = name;
    return ok('send PASS');
  },
});

/** PASS (RFC 1939 §7): the rest of the line, spaces and all, is the password. */
export const pass = pop3Command({
  verb: 'PASS',
  states: AUTHORIZATION,
  parse: (line) => request({ password: line.rest }),
  async handle({ password }, ctx) {
    const name = ctx.pendingUser;
    ctx.pendingUser = undefined;
    if (!name) return err('send USER first');
    // USER/PASS is PLAIN by another name: one check of the password, one code path.
    const plain = Buffer.from(`\u0000${name}\u0000${password}`, 'utf8').toString('base64');
    const turn = await ctx.startSasl('PLAIN').start(plain);
    return answerSaslTurn(ctx, turn, 'USER');
  },
});
