import { parseRcptParams, type RcptParams } from '../params.js';
import { type ForwardPath, readForwardPath } from '../path.js';
import { reply, type SmtpReply } from '../reply.js';
import type { MailboxPath } from '../session-config.js';
import { afterPrefix, badPath, command, paramTokens, syntax } from './arguments.js';
import { answer, refuse, refuseIfPermanent, type SmtpState, smtpCommand } from './context.js';

/** `"RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path ) [SP Rcpt-parameters]`. */
export interface RcptRequest {
  readonly verb: 'RCPT';
  readonly to: ForwardPath;
  readonly params: RcptParams;
}

/** RCPT and DATA need a transaction, and one whose body is not arriving in BDAT chunks. */
export function needsTransaction(state: SmtpState): SmtpReply {
  return state === 'chunking'
    ? reply(503, '5.5.1', 'Error: BDAT in progress')
    : reply(503, '5.5.1', 'Error: need MAIL command');
}

export const rcpt = smtpCommand({
  verb: 'RCPT',
  states: ['transaction'],
  outOfState: needsTransaction,
  parse(argument) {
    const path = afterPrefix(argument, 'TO:');
    if (path === undefined || !path.startsWith('<')) return syntax('RCPT TO:<address>');
    const read = readForwardPath(path);
    if (!read.ok) return badPath(read.problem, '5.1.3', 'recipient');
    const tokens = paramTokens(path.slice(read.end));
    if (tokens === undefined) return syntax('RCPT TO:<address> [parameters]');
    const params = parseRcptParams(tokens);
    if (!params.ok) return params;
    return command<RcptRequest>({ verb: 'RCPT', to: read.path, params: params.params });
  },
  async handle({ to: path, params }, ctx) {
    const tx = ctx.transaction!;
    if (tx.recipients.length >= ctx.config.maxRecipients) {
      return answer(reply(452, '4.5.3', 'Error: too many recipients'));
    }
    if (path.kind === 'mailbox' && path.mailbox.utf8 && !tx.mailParams.smtputf8) {
      return refuse(reply(553, '5.6.7', 'Non-ASCII address requires the SMTPUTF8 parameter'));
    }
    let to: MailboxPath;
    if (path.kind === 'postmaster') {
      // RFC 5321 §4.1.1.3: <Postmaster> with no domain is this host's postmaster. The
      // service names the local domain whose postmaster that is; it is never relayed.
      const domain = await ctx.policy.postmasterDomain(ctx.client);
      if (typeof domain !== 'string') return refuseIfPermanent(domain);
      to = {
        kind: 'mailbox',
        mailbox: { localPart: 'postmaster', domain, text: `postmaster@${domain}`, utf8: false },
      };
    } else {
      to = path;
    }
    const refusal = await ctx.policy.checkRecipient(ctx.client, to, params);
    if (refusal) return refuseIfPermanent(refusal);
    const address = `${to.mailbox.localPart}@${to.mailbox.domain}`;
    tx.recipients.push({ to, params, address });
    return answer(reply(250, '2.1.5', 'Ok'));
  },
});
