// APPEND (RFC 3501 §6.3.11) with UIDPLUS's APPENDUID (RFC 4315), APPENDLIMIT (RFC 7889)
// and UTF8 message data (RFC 6855 §4). MULTIAPPEND and CATENATE are not offered.

import type { ImapToken } from '../command-tokens.js';
import { parseInternalDate } from '../response.js';
import { bad, defineCommand, ImapReply, LOGGED_IN, no, ok } from './command-spec.js';
import { validFlag } from './flags.js';
import { mailboxName } from './mailbox-arguments.js';

interface AppendRequest {
  readonly flags: readonly string[];
  readonly internalDate: Date | undefined;
  readonly raw: Buffer;
}

export const append = defineCommand({
  name: 'APPEND',
  states: LOGGED_IN,
  capabilities: (view) => ({
    now: view.state === 'not-authenticated' ? [] : [`APPENDLIMIT=${view.options.maxMessageSize}`],
  }),
  parse: (args) => (args.length < 2 ? bad('APPEND needs a mailbox and a message') : args),
  async handle(args, context) {
    // The mailbox is looked at first: a name that cannot be is answered before the rest.
    const name = mailboxName(args[0], context.utf8);
    if (name instanceof ImapReply) return name;
    const request = appendRequest(args, context.utf8);
    if (request instanceof ImapReply) return request;
    if (request.raw.length === 0) return no('an empty message cannot be appended');
    if (request.raw.length > context.options.maxMessageSize) return no('[TOOBIG] the message is too large');
    const result = await context.account.append(name, {
      raw: request.raw,
      flags: request.flags,
      ...(request.internalDate && { internalDate: request.internalDate }),
    });
    if (result === 'nonexistent') return no('[TRYCREATE] no such mailbox');
    if (result === 'over-quota') return no('[OVERQUOTA] the mailbox is over its quota');
    if (context.selected) context.selected.dirty = true;
    return ok(`[APPENDUID ${result.uidValidity} ${result.uid}] APPEND completed`);
  },
});

/** The arguments after the mailbox: flags, date-time, and one message. */
function appendRequest(args: readonly ImapToken[], utf8: boolean): AppendRequest | ImapReply {
  let at = 1;
  const flags: string[] = [];
  const list = args[at];
  if (list?.type === 'list') {
    for (const token of list.items) {
      if (token.type !== 'atom' || !validFlag(token.value)) return bad('invalid flag');
      if (token.value.toLowerCase() !== '\\recent') flags.push(token.value);
    }
    at++;
  }
  let internalDate: Date | undefined;
  const maybeDate = args[at];
  if (maybeDate?.type === 'string' && !maybeDate.literal) {
    internalDate = parseInternalDate(maybeDate.value.toString('latin1'));
    if (!internalDate) return bad('invalid date-time');
    at++;
  }
  let message = args[at];
  // RFC 6855 §4 (UTF8=ACCEPT): APPEND … UTF8 (~{n}…), a message with UTF-8 headers.
  const utf8Data = args[at + 1];
  if (message?.type === 'atom' && message.value.toUpperCase() === 'UTF8' && utf8Data?.type === 'list') {
    if (!utf8) return bad('UTF8 needs ENABLE UTF8=ACCEPT');
    if (utf8Data.items.length !== 1) return bad('UTF8 takes one message');
    message = utf8Data.items[0];
    if (args.length !== at + 2) return bad('APPEND needs one message');
    at = args.length - 1;
  }
  // MULTIAPPEND is not offered.
  if (message?.type !== 'string' || args.length !== at + 1) return bad('APPEND needs one message literal');
  return { flags, internalDate, raw: message.value };
}
