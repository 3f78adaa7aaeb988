import { AUTHENTICATED, manageSieveCommand, noArguments, ok } from './context.js';

/**
 * UNAUTHENTICATE (RFC 5804 §2.14.1): back to the non-authenticated state on the same
 * connection, TLS kept, so a client can log in as someone else without a new handshake.
 */
export const unauthenticate = manageSieveCommand({
  name: 'UNAUTHENTICATE',
  states: AUTHENTICATED,
  capabilities: () => [{ name: 'UNAUTHENTICATE' }],
  parse: noArguments,
  handle(_request, ctx) {
    ctx.logOut();
    return ok('Unauthenticate completed');
  },
});
