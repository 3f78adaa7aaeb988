// APPEND (RFC 3501 §6.3.11) with UIDPLUS's APPENDUID (RFC 4315), APPENDLIMIT (RFC 7889),
// UTF8 message data (RFC 6855 §4), MULTIAPPEND (RFC 3502: several messages, all stored
// or none) and CATENATE (RFC 4469: messages built from literals and URLs of stored ones).
//
// Memory: the command reader holds one APPEND, all its literals together, to
// APPENDLIMIT + the command size (64 KiB) (command-limits.ts). The messages built from it
// (CATENATE's URL parts included) are held to the same total, so a MULTIAPPEND of many
// small messages, or of many CATENATEs of big stored ones, is refused with [TOOBIG] rather
// than grown without end.

import { COMMAND_BYTES } from '../command-limits.js';
import { formatSequenceSet } from '../sequence-set.js';
import type { AppendMessage } from '../session-types.js';
import { type AppendMessageRequest, parseAppendMessages } from './append-data.js';
import { catenate } from './catenate.js';
import { bad, defineCommand, type ImapContext, ImapReply, LOGGED_IN, no, ok } from './command-spec.js';
import { mailboxName } from './mailbox-arguments.js';

export const append = defineCommand({
  name: 'APPEND',
  states: LOGGED_IN,
  capabilities: (view) => ({
    now:
      view.state === 'not-authenticated'
        ? []
        : [`APPENDLIMIT=${view.options.maxMessageSize}`, 'MULTIAPPEND', 'CATENATE'],
  }),
  parse: (args) => (args.length < 2 ? bad('APPEND needs a mailbox and a message') : args),
  async handle(args, context) {
    // The mailbox is looked at first: a name that cannot be is answered before the rest.
    const name = mailboxName(args[0], context.utf8);
    if (name instanceof ImapReply) return name;
    const requests = parseAppendMessages(args.slice(1), context.utf8, false);
    if (requests instanceof ImapReply) return requests;
    const messages = await appendMessages(requests, context);
    if (messages instanceof ImapReply) return messages;
    const [only] = messages;
    const result =
      messages.length === 1 && only
        ? await context.account.append(name, only)
        : await context.account.appendMessages(name, messages);
    if (result === 'nonexistent') return no('[TRYCREATE] no such mailbox');
    if (result === 'over-quota') return no('[OVERQUOTA] the mailbox is over its quota');
    if (context.selected) context.selected.dirty = true;
    const uids = 'uids' in result ? result.uids : [result.uid];
    return ok(`[APPENDUID ${result.uidValidity} ${formatSequenceSet(uids)}] APPEND completed`);
  },
});

/** The most octets the messages of one APPEND (or REPLACE) may hold together, once built. */
export function appendTotalLimit(context: ImapContext): number {
  return context.options.maxMessageSize + (context.options.maxCommandSize ?? COMMAND_BYTES);
}

/**
 * The messages' bytes, CATENATEs put together: NO [TOOBIG] for one over APPENDLIMIT or
 * for all of them over appendTotalLimit, NO [BADURL] for a URL naming nothing.
 */
export async function appendMessages(
  requests: readonly AppendMessageRequest[],
  context: ImapContext,
): Promise<AppendMessage[] | ImapReply> {
  const limit = context.options.maxMessageSize;
  const totalLimit = appendTotalLimit(context);
  const messages: AppendMessage[] = [];
  let total = 0;
  for (const request of requests) {
    const raw =
      request.data.kind === 'literal' ? request.data.raw : await catenate(request.data.parts, context, limit);
    if (raw instanceof ImapReply) return raw;
    if (raw.length === 0) return no('an empty message cannot be appended');
    if (raw.length > limit) return no('[TOOBIG] the message is too large');
    total += raw.length;
    if (total > totalLimit)
      return no(`[TOOBIG] the messages of one APPEND may hold ${totalLimit} octets together`);
    messages.push({
      raw,
      flags: request.flags,
      ...(request.internalDate && { internalDate: request.internalDate }),
    });
  }
  return messages;
}
