// STARTTLS (RFC 3501 §6.2.1, RFC 2595): offered before login when a certificate is loaded
// and TLS is not on yet.

import { bad, defineCommand, NOT_AUTHENTICATED, noArguments, ok } from './command-spec.js';

export const starttls = defineCommand({
  name: 'STARTTLS',
  states: NOT_AUTHENTICATED,
  capabilities: (view) => ({
    now: view.state === 'not-authenticated' && view.tls === 'starttls' ? ['STARTTLS'] : [],
  }),
  parse: noArguments,
  async handle(_request, context) {
    if (context.tls !== 'starttls')
      return bad(context.tls === 'active' ? 'TLS is on already' : 'STARTTLS is not available');
    return { kind: 'connection', reply: ok('Begin TLS negotiation now'), next: 'starttls' };
  },
});
