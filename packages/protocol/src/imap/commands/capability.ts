// CAPABILITY (RFC 3501 §6.1.1): what the server offers in this state, derived from the
// command table by the dispatcher.

import { ANY_STATE, defineCommand, noArguments, ok } from './command-spec.js';

export const capability = defineCommand({
  name: 'CAPABILITY',
  states: ANY_STATE,
  parse: noArguments,
  async handle(_request, context) {
    await context.write(`* CAPABILITY ${context.capabilities().join(' ')}\r\n`);
    return ok('CAPABILITY completed');
  },
});
