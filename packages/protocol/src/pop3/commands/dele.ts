import { type MessageNumber, messageNumber } from '../maildrop.js';
import { err, ok, pop3Command, refusal, request, TRANSACTION } from './context.js';

/** DELE (RFC 1939 §5): only marks the message; QUIT removes it. */
export const dele = pop3Command({
  verb: 'DELE',
  states: TRANSACTION,
  parse: (line) =>
    line.args.length === 1
      ? request<{ readonly message: MessageNumber }>({ message: messageNumber(line.args[0]) })
      : refusal('DELE needs a message number'),
  handle({ message }, ctx) {
    const found = ctx.maildrop.find(message);
    if ('error' in found) return err(found.error);
    ctx.maildrop.markDeleted(found.index);
    return ok(`message ${found.index + 1} deleted`);
  },
});
