import { reply } from '../reply.js';
import { command } from './arguments.js';
import { ANY_STATE, answer, smtpCommand } from './context.js';

export interface HelpRequest {
  readonly verb: 'HELP';
  readonly topic?: string;
}

/** HELP (RFC 5321 §4.1.1.8): the commands of the table, whatever the topic. */
export const help = smtpCommand({
  verb: 'HELP',
  states: ANY_STATE,
  ehloKeywords: () => ['HELP'],
  parse: (argument) =>
    command<HelpRequest>(argument === '' ? { verb: 'HELP' } : { verb: 'HELP', topic: argument }),
  handle: (_command, ctx) => answer(reply(214, '2.0.0', `Commands: ${ctx.helpVerbs().join(' ')}`)),
});
