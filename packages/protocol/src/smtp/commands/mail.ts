import { type MailParams, parseMailParams } from '../params.js';
import { type ReversePath, readReversePath } from '../path.js';
import { reply, type SmtpReply } from '../reply.js';
import type { SmtpSessionConfig } from '../session-config.js';
import { afterPrefix, badPath, command, paramTokens, syntax } from './arguments.js';
import { answer, refuse, smtpCommand } from './context.js';

/** `"MAIL FROM:" Reverse-path [SP Mail-parameters]` (RFC 5321 §4.1.1.2). */
export interface MailRequest {
  readonly verb: 'MAIL';
  readonly from: ReversePath;
  readonly params: MailParams;
}

/** MAIL opens a transaction; the parameters it takes are the extensions EHLO names for it. */
export const mail = smtpCommand({
  verb: 'MAIL',
  states: ['greeted'],
  outOfState: (state) =>
    state === 'connected'
      ? reply(503, '5.5.1', 'Error: send HELO/EHLO first')
      : reply(503, '5.5.1', 'Error: nested MAIL command'),
  ehloKeywords: (ctx) => [
    `SIZE ${ctx.config.maxMessageBytes}`,
    '8BITMIME',
    'SMTPUTF8',
    // RFC 8689 §2: a MAIL FROM may carry REQUIRETLS only over TLS, so the keyword is only
    // offered there (after STARTTLS, or from the first byte on 465).
    ...(ctx.tls ? ['REQUIRETLS'] : []),
    'DSN',
  ],
  parse(argument) {
    const path = afterPrefix(argument, 'FROM:');
    if (path === undefined || !path.startsWith('<')) return syntax('MAIL FROM:<address>');
    const read = readReversePath(path);
    if (!read.ok) return badPath(read.problem, '5.1.7', 'sender');
    const tokens = paramTokens(path.slice(read.end));
    if (tokens === undefined) return syntax('MAIL FROM:<address> [parameters]');
    const params = parseMailParams(tokens);
    if (!params.ok) return params;
    return command<MailRequest>({ verb: 'MAIL', from: read.path, params: params.params });
  },
  async handle({ from, params }, ctx) {
    if (ctx.config.role === 'submission' && !ctx.authenticated) {
      return refuse(reply(530, '5.7.0', 'Authentication required'));
    }
    if (params.size !== undefined && params.size > ctx.config.maxMessageBytes) {
      return refuse(reply(552, '5.3.4', 'Message size exceeds fixed maximum message size'));
    }
    if (params.body === 'BINARYMIME') return refuse(reply(555, '5.5.4', 'BODY=BINARYMIME not supported'));
    if (from.kind === 'mailbox' && from.mailbox.utf8 && !params.smtputf8) {
      return refuse(reply(553, '5.6.7', 'Non-ASCII address requires the SMTPUTF8 parameter'));
    }
    if (params.requireTls && !ctx.tls) return refuse(requireTlsRefusal(ctx.config.tls));
    const refusal = await ctx.policy.checkSender(ctx.client, from, params);
    if (refusal) return refuse(refusal);
    ctx.transaction = { from, mailParams: params, recipients: [], chunkBytes: 0 };
    return answer(reply(250, '2.1.0', 'Ok'));
  },
});

/**
 * REQUIRETLS outside TLS, where it is not offered (RFC 8689 §2: the session itself MUST use
 * TLS). 530 5.7.10 ("Encryption needed", RFC 3207's "issue STARTTLS first") tells a client
 * that can upgrade what to do; where no TLS exists the parameter is simply unsupported.
 */
function requireTlsRefusal(tls: SmtpSessionConfig['tls']): SmtpReply {
  return tls === 'starttls'
    ? reply(530, '5.7.10', 'REQUIRETLS needs a TLS session: issue STARTTLS first')
    : reply(555, '5.5.4', 'REQUIRETLS not supported: this service has no TLS');
}
