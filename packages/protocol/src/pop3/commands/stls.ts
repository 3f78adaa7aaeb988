import { AUTHORIZATION, err, noArguments, pop3Command } from './context.js';

/** STLS (RFC 2595 §4): offered only before login, when a certificate is loaded. */
export const stls = pop3Command({
  verb: 'STLS',
  states: AUTHORIZATION,
  capabilities: (ctx) => (ctx.state === 'authorization' && ctx.tls === 'starttls' ? ['STLS'] : []),
  parse: noArguments,
  handle(_request, ctx) {
    if (ctx.tls !== 'starttls')
      return err(ctx.tls === 'active' ? 'TLS is already active' : 'STLS is not available');
    // Nothing learnt from the client in clear carries over into TLS (as RFC 3207 §4.2 has
    // SMTP servers do; RFC 2595 §4 asks the same of the client's capability cache).
    ctx.pendingUser = undefined;
    return { kind: 'ok', text: 'Begin TLS negotiation', after: 'starttls' };
  },
});
