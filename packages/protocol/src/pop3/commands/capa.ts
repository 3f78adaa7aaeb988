import { AUTHORIZATION_OR_TRANSACTION, noArguments, ok, pop3Command } from './context.js';

/**
 * CAPA (RFC 2449 §5). The lines come from the whole table (each command names its own);
 * CAPA itself stands for the capabilities of the session rather than of one command.
 */
export const capa = pop3Command({
  verb: 'CAPA',
  states: AUTHORIZATION_OR_TRANSACTION,
  capabilities: (ctx) => [
    'RESP-CODES',
    'AUTH-RESP-CODE',
    'PIPELINING',
    // RFC 2449 §6.7: messages are never deleted behind the user's back.
    'EXPIRE NEVER',
    ...(ctx.loginDelaySeconds === undefined ? [] : [`LOGIN-DELAY ${ctx.loginDelaySeconds}`]),
    'IMPLEMENTATION Tegami',
  ],
  parse: noArguments,
  handle: (_request, ctx) => ok('Capability list follows', ctx.capabilities()),
});
