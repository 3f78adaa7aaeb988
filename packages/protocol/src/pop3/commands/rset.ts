import { noArguments, ok, pop3Command, TRANSACTION } from './context.js';

/** RSET (RFC 1939 §5): every deletion mark is taken back. */
export const rset = pop3Command({
  verb: 'RSET',
  states: TRANSACTION,
  parse: noArguments,
  handle(_request, ctx) {
    ctx.maildrop.unmarkAll();
    return ok(`maildrop has ${ctx.maildrop.entries.length} messages`);
  },
});
