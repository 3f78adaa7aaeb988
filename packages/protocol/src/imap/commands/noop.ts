// NOOP (RFC 3501 §6.1.2) and CHECK (§6.4.1; RFC 9051 drops it, Tegami has nothing to
// checkpoint): both only give the session a chance to tell the client what changed.

import { ANY_STATE, defineCommand, ok, SELECTED } from './command-spec.js';

export const noop = defineCommand({
  name: 'NOOP',
  states: ANY_STATE,
  polls: true,
  parse: () => undefined,
  handle: async () => ok('NOOP completed'),
});

export const check = defineCommand({
  name: 'CHECK',
  states: SELECTED,
  polls: true,
  parse: () => undefined,
  handle: async () => ok('CHECK completed'),
});
