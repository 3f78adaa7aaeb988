// LOGOUT (RFC 3501 §6.1.3): BYE, then the tagged OK, then the connection closes.

import { ANY_STATE, defineCommand, ok } from './command-spec.js';

export const logout = defineCommand({
  name: 'LOGOUT',
  states: ANY_STATE,
  parse: () => undefined,
  async handle(_request, context) {
    await context.write(`* BYE ${context.options.hostname} IMAP server logging out\r\n`);
    return { kind: 'connection', reply: ok('LOGOUT completed'), next: 'close' };
  },
});
