import { reply } from '../reply.js';
import { noArgument } from './arguments.js';
import { ANY_STATE, answer, smtpCommand } from './context.js';

/** RSET (RFC 5321 §4.1.1.5): the transaction is dropped; HELO and AUTH stand. */
export const rset = smtpCommand({
  verb: 'RSET',
  states: ANY_STATE,
  parse: noArgument('RSET'),
  handle(_command, ctx) {
    ctx.transaction = undefined;
    return answer(reply(250, '2.0.0', 'Ok'));
  },
});
