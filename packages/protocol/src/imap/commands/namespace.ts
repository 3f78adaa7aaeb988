// NAMESPACE (RFC 2342): one personal namespace, no others.

import { defineCommand, LOGGED_IN, noArguments, ok } from './command-spec.js';

export const namespace = defineCommand({
  name: 'NAMESPACE',
  states: LOGGED_IN,
  capabilities: (view) => ({ now: view.state === 'not-authenticated' ? [] : ['NAMESPACE'] }),
  parse: noArguments,
  async handle(_request, context) {
    await context.write('* NAMESPACE (("" "/")) NIL NIL\r\n');
    return ok('NAMESPACE completed');
  },
});
