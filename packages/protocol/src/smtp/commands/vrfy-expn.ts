import { reply } from '../reply.js';
import { command, syntax } from './arguments.js';
import { ANY_STATE, answer, refuse, smtpCommand } from './context.js';

// Address queries (RFC 5321 §3.5): an address harvester gets nothing from either.

export interface VrfyRequest {
  readonly verb: 'VRFY';
  readonly argument: string;
}

export interface ExpnRequest {
  readonly verb: 'EXPN';
  readonly argument: string;
}

export const vrfy = smtpCommand({
  verb: 'VRFY',
  states: ANY_STATE,
  parse: (argument) =>
    argument === '' ? syntax('VRFY address') : command<VrfyRequest>({ verb: 'VRFY', argument }),
  // RFC 5321 §3.5.3: 252 when the server will not say whether a user exists.
  handle: () => answer(reply(252, '2.5.2', 'Cannot VRFY user, but will accept message and attempt delivery')),
});

export const expn = smtpCommand({
  verb: 'EXPN',
  states: ANY_STATE,
  unlisted: true,
  parse: (argument) =>
    argument === '' ? syntax('EXPN mailing-list') : command<ExpnRequest>({ verb: 'EXPN', argument }),
  handle: () => refuse(reply(502, '5.5.1', 'EXPN not available')),
});
