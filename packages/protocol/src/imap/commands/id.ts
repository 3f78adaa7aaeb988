// ID (RFC 2971): the server names itself; what the client says of itself is not kept.

import { ANY_STATE, defineCommand, ok } from './command-spec.js';

export const id = defineCommand({
  name: 'ID',
  states: ANY_STATE,
  capabilities: () => ({ always: ['ID'] }),
  parse: () => undefined,
  async handle(_request, context) {
    await context.write(`* ID ("name" "Tegami" "vendor" "Tegami")\r\n`);
    return ok('ID completed');
  },
});
