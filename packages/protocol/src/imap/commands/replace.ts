// REPLACE and UID REPLACE (RFC 8508): a new version of a message (a draft saved again)
// appended to a mailbox and the old one expunged from the selected mailbox, in one store
// transaction: if the append fails (no such mailbox, over quota) the old message stays.
//
//   replace = "REPLACE" SP seq-number SP mailbox append-message     ; UID REPLACE: a UID
//
// The answer (RFC 8508 §3.3, its examples): an untagged OK with APPENDUID, then the
// selected mailbox's news (EXISTS when the target is this mailbox, the EXPUNGE or VANISHED
// of the old message), then the tagged OK.

import type { ImapToken } from '../command-tokens.js';
import { appendMessages } from './append.js';
import { parseAppendMessages } from './append-data.js';
import { bad, defineCommand, ImapReply, no, ok, SELECTED } from './command-spec.js';
import { mailboxName } from './mailbox-arguments.js';
import { OUT_OF_RANGE } from './message-set.js';

interface ReplaceRequest {
  readonly number: number;
  readonly target: ImapToken;
  readonly rest: readonly ImapToken[];
}

export const replace = defineCommand<ReplaceRequest>({
  name: 'REPLACE',
  states: SELECTED,
  uid: true,
  capabilities: (view) => ({ now: view.state === 'not-authenticated' ? [] : ['REPLACE'] }),
  parse(args, { uid }) {
    const [number, target, ...rest] = args;
    const value = number?.type === 'atom' && /^[1-9]\d{0,9}$/.test(number.value) ? Number(number.value) : 0;
    if (value < 1 || value > 4_294_967_295)
      return bad(uid ? 'UID REPLACE needs a UID' : 'REPLACE needs a message sequence number');
    if (!target || rest.length === 0) return bad('REPLACE needs a mailbox and a message');
    return { number: value, target, rest };
  },
  async handle({ number, target, rest }, context, { uid }) {
    const selected = context.selected!;
    const oldUid = uid ? number : selected.uidAt(number);
    // RFC 3501 §9 seq-number: past the end is a BAD, as for FETCH.
    if (oldUid === undefined) return bad(OUT_OF_RANGE);
    const targetName = mailboxName(target, context.utf8);
    if (targetName instanceof ImapReply) return targetName;
    const requests = parseAppendMessages(rest, context.utf8, true);
    if (requests instanceof ImapReply) return requests;
    // RFC 8508 §3.4: the old message must go, so a read-only mailbox cannot REPLACE.
    if (selected.readOnly) return no('[READ-ONLY] the mailbox is read-only');
    if (uid && (selected.seqOf(oldUid) === 0 || selected.isGone(oldUid)))
      return no('[NONEXISTENT] no message with that UID');
    if (!uid && selected.isGone(oldUid)) return no('[EXPUNGEISSUED] the message has been expunged');
    const messages = await appendMessages(requests, context);
    if (messages instanceof ImapReply) return messages;
    const result = await selected.box.replace(oldUid, targetName, messages[0]!);
    if (result === 'nonexistent') return no('[TRYCREATE] no such mailbox');
    if (result === 'over-quota') return no('[OVERQUOTA] the mailbox is over its quota');
    await context.write(`* OK [APPENDUID ${result.uidValidity} ${result.uid}] Replacement Message ready\r\n`);
    await context.announce(await selected.sync(true));
    return ok(`${uid ? 'UID REPLACE' : 'REPLACE'} completed`);
  },
});
