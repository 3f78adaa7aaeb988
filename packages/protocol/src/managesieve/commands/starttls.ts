import { manageSieveCommand, NON_AUTHENTICATED, no, noArguments } from './context.js';

/**
 * STARTTLS (RFC 5804 §2.2): offered before login when a certificate is loaded. Once TLS is
 * up the session says its capabilities again, and nothing learnt in clear carries over.
 */
export const starttls = manageSieveCommand({
  name: 'STARTTLS',
  states: NON_AUTHENTICATED,
  capabilities: (ctx) =>
    ctx.state === 'non-authenticated' && ctx.tls === 'starttls' ? [{ name: 'STARTTLS' }] : [],
  parse: noArguments,
  handle(_request, ctx) {
    if (ctx.tls !== 'starttls')
      return no(ctx.tls === 'active' ? 'TLS is already active' : 'STARTTLS is not available');
    return {
      kind: 'response',
      response: { status: 'OK', text: 'Begin TLS negotiation now' },
      after: 'starttls',
    };
  },
});
