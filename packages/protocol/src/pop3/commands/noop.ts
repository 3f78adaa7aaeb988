import { noArguments, ok, pop3Command, TRANSACTION } from './context.js';

/** NOOP (RFC 1939 §5): only in TRANSACTION, arguments ignored. */
export const noop = pop3Command({
  verb: 'NOOP',
  states: TRANSACTION,
  parse: noArguments,
  handle: () => ok(''),
});
