import { reply } from '../reply.js';
import { command } from './arguments.js';
import { ANY_STATE, answer, smtpCommand } from './context.js';

/** NOOP (RFC 5321 §4.1.1.9): the parameter, if any, is ignored. */
export const noop = smtpCommand({
  verb: 'NOOP',
  states: ANY_STATE,
  parse: () => command({ verb: 'NOOP' as const }),
  handle: () => answer(reply(250, '2.0.0', 'Ok')),
});
