import { reply } from '../reply.js';
import { envelopeOf, MessageBytes, NUL_REFUSED, TOO_BIG } from '../transaction.js';
import { noArgument } from './arguments.js';
import { answer, close, refuse, smtpCommand } from './context.js';
import { needsTransaction } from './rcpt.js';

/** DATA (RFC 5321 §4.1.1.4): the message follows, up to the line with a lone ".". */
export const data = smtpCommand({
  verb: 'DATA',
  states: ['transaction'],
  outOfState: needsTransaction,
  parse: noArgument('DATA'),
  async handle(_command, ctx) {
    const tx = ctx.transaction!;
    if (tx.recipients.length === 0) return refuse(reply(554, '5.5.1', 'Error: no valid recipients'));
    ctx.send(reply(354, undefined, 'End data with <CR><LF>.<CR><LF>'));
    const message = new MessageBytes();
    const result = await ctx.readData(message, ctx.config.maxMessageBytes);
    ctx.transaction = undefined;
    switch (result.kind) {
      case 'eof':
        return close();
      case 'smuggling':
        return close(
          reply(550, '5.5.2', 'Error: bare CR or LF in message: refused (RFC 5321 section 2.3.8)'),
        );
      case 'too-big':
        return answer(TOO_BIG);
      case 'complete':
        // The whole message is read first: the client is in step for its next command.
        if (message.hasNul) return answer(NUL_REFUSED);
        return answer(await ctx.policy.deliver(ctx.client, envelopeOf(tx), message.bytes()));
    }
  },
});
