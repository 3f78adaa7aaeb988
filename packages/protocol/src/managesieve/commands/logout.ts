import { ANY_STATE, manageSieveCommand, noArguments } from './context.js';

/** LOGOUT (RFC 5804 §2.3): OK, then the server closes the connection. */
export const logout = manageSieveCommand({
  name: 'LOGOUT',
  states: ANY_STATE,
  parse: noArguments,
  handle: () => ({ kind: 'response', response: { status: 'OK', text: 'Logout completed' }, after: 'close' }),
});
