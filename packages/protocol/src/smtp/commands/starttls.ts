import { reply } from '../reply.js';
import { noArgument } from './arguments.js';
import { ANY_STATE, close, refuse, smtpCommand } from './context.js';

/** STARTTLS (RFC 3207): offered until TLS is on, where the service has a certificate. */
export const starttls = smtpCommand({
  verb: 'STARTTLS',
  states: ANY_STATE,
  ehloKeywords: (ctx) => (ctx.config.tls === 'starttls' && !ctx.tls ? ['STARTTLS'] : []),
  parse: noArgument('STARTTLS'),
  async handle(_command, ctx) {
    if (ctx.config.tls !== 'starttls') return refuse(reply(502, '5.5.1', 'Error: STARTTLS not available'));
    if (ctx.tls) return refuse(reply(503, '5.5.1', 'Error: TLS already active'));
    ctx.send(reply(220, '2.0.0', 'Ready to start TLS'));
    return (await ctx.startTls()) ? { kind: 'said' } : close();
  },
});
