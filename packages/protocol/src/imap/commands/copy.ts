// COPY and MOVE, and their UID forms (RFC 3501 §6.4.7, RFC 6851 MOVE, RFC 4315 COPYUID).

import { formatSequenceSet } from '../sequence-set.js';
import { bad, defineCommand, ImapReply, no, ok, SELECTED } from './command-spec.js';
import { mailboxName } from './mailbox-arguments.js';
import { OUT_OF_RANGE, resolveMessageSet } from './message-set.js';
import { syncAfterChange } from './sync-after-change.js';

function copyCommand(name: 'COPY' | 'MOVE') {
  const move = name === 'MOVE';
  return defineCommand({
    name,
    states: SELECTED,
    uid: true,
    ...(move && { capabilities: (view) => ({ now: view.state === 'not-authenticated' ? [] : ['MOVE'] }) }),
    parse: (args) =>
      args.length !== 2 || args[0]?.type !== 'atom'
        ? bad('needs a sequence set and a mailbox')
        : { set: args[0].value, target: args[1]! },
    async handle({ set, target }, context, { uid }) {
      const selected = context.selected!;
      const uids = resolveMessageSet(selected, context.savedResult, set, uid);
      if (uids === 'invalid') return bad('invalid sequence set');
      if (uids === 'out-of-range') return bad(OUT_OF_RANGE);
      const targetName = mailboxName(target, context.utf8);
      if (targetName instanceof ImapReply) return targetName;
      if (move && selected.readOnly) return no('[READ-ONLY] the mailbox is read-only');
      const live = uids.filter((u) => !selected.isGone(u));
      if (live.length === 0) return ok(`${name} completed (nothing to do)`);
      const result = await selected.box.copy(live, targetName, move);
      if (result === 'nonexistent') return no('[TRYCREATE] no such mailbox');
      if (result === 'over-quota') return no('[OVERQUOTA] the mailbox is over its quota');
      const copyuid = `COPYUID ${result.uidValidity} ${formatSequenceSet(result.source)} ${formatSequenceSet(result.target)}`;
      if (move) {
        // RFC 6851 §4.3: COPYUID in an untagged OK, then EXPUNGEs, then the tagged OK.
        await context.write(`* OK [${copyuid}] moved\r\n`);
        // Moved (committed): the answer is OK whatever the sync meets (sync-after-change.ts).
        const update = await syncAfterChange(selected);
        if (update) await context.announce(update, 'tagged');
        // As after EXPUNGE: VANISHED has no MODSEQ (RFC 7162 §3.2.10).
        const highest =
          context.qresync && update && update.vanished.length > 0
            ? `[HIGHESTMODSEQ ${selected.highestModseq}] `
            : '';
        return ok(`${highest}${uid ? 'UID MOVE' : 'MOVE'} completed`);
      }
      return ok(`[${copyuid}] ${uid ? 'UID COPY' : 'COPY'} completed`);
    },
  });
}

export const copy = copyCommand('COPY');
export const move = copyCommand('MOVE');
