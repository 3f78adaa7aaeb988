import { ANY_STATE, manageSieveCommand, ok, refusal, request, stringArgument } from './context.js';

/**
 * NOOP (RFC 5804 §2.13): with a string, echoed in a TAG response code, so a client can tell
 * where the answers to what it pipelined end (after STARTTLS, say).
 */
export const noop = manageSieveCommand({
  name: 'NOOP',
  states: ANY_STATE,
  parse(args) {
    if (args.length === 0) return request<string | undefined>(undefined);
    const tag = stringArgument(args[0]);
    if (args.length > 1 || tag === undefined) return refusal('NOOP takes one string at most');
    return request<string | undefined>(tag);
  },
  handle: (tag) => (tag === undefined ? ok('Done') : ok('Done', { tag })),
});
