import { ok, pop3Command, refusal, request, TRANSACTION } from './context.js';

/** STAT (RFC 1939 §5): the messages not marked deleted, and their octets. */
export const stat = pop3Command({
  verb: 'STAT',
  states: TRANSACTION,
  parse: (line) => (line.args.length > 0 ? refusal('STAT takes no arguments') : request(undefined)),
  handle: (_request, ctx) => ok(`${ctx.maildrop.live().length} ${ctx.maildrop.liveOctets()}`),
});
