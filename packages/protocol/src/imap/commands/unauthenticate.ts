// UNAUTHENTICATE (RFC 8437): back to the not-authenticated state on the same connection,
// so a client (a webmail's connection pool, a proxy) can log in as someone else without a
// new TCP and TLS handshake. The selected mailbox is closed without expunging, the account
// let go, ENABLEd extensions undone; TLS stays.

import { defineCommand, LOGGED_IN, noArguments, ok } from './command-spec.js';

export const unauthenticate = defineCommand({
  name: 'UNAUTHENTICATE',
  states: LOGGED_IN,
  capabilities: (view) => ({ now: view.state === 'not-authenticated' ? [] : ['UNAUTHENTICATE'] }),
  parse: noArguments,
  async handle(_request, context) {
    context.logOut();
    return ok('UNAUTHENTICATE completed');
  },
});
