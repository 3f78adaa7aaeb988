// STARTTLS (RFC 3501 §6.2.1, RFC 2595): offered before login when a certificate is loaded
// and TLS is not on yet. Not once COMPRESS is on (after UNAUTHENTICATE): TLS would have to
// start inside a DEFLATE stream that cannot be stopped, where clients put TLS beneath it.

import { bad, defineCommand, NOT_AUTHENTICATED, noArguments, ok } from './command-spec.js';

export const starttls = defineCommand({
  name: 'STARTTLS',
  states: NOT_AUTHENTICATED,
  capabilities: (view) => ({
    now:
      view.state === 'not-authenticated' && view.tls === 'starttls' && !view.compressed ? ['STARTTLS'] : [],
  }),
  parse: noArguments,
  async handle(_request, context) {
    if (context.compressed) return bad('STARTTLS is not possible once COMPRESS is on');
    if (context.tls !== 'starttls')
      return bad(context.tls === 'active' ? 'TLS is on already' : 'STARTTLS is not available');
    return { kind: 'connection', reply: ok('Begin TLS negotiation now'), next: 'starttls' };
  },
});
