import { reply } from '../reply.js';
import { noArgument } from './arguments.js';
import { ANY_STATE, close, smtpCommand } from './context.js';

/** QUIT (RFC 5321 §4.1.1.10): any transaction is abandoned, not delivered. */
export const quit = smtpCommand({
  verb: 'QUIT',
  states: ANY_STATE,
  parse: noArgument('QUIT'),
  handle: () => close(reply(221, '2.0.0', 'Bye')),
});
