// EXPUNGE (RFC 3501 §6.4.3) and UID EXPUNGE (RFC 4315 UIDPLUS).

import { bad, defineCommand, no, ok, SELECTED } from './command-spec.js';
import { resolveMessageSet } from './message-set.js';
import { syncAfterChange } from './sync-after-change.js';

export const expunge = defineCommand({
  name: 'EXPUNGE',
  states: SELECTED,
  uid: true,
  capabilities: (view) => ({ now: view.state === 'not-authenticated' ? [] : ['UIDPLUS'] }),
  parse(args, { uid }) {
    if (uid) {
      if (args.length !== 1 || args[0]?.type !== 'atom') return bad('UID EXPUNGE needs a UID set');
      return { set: args[0].value };
    }
    return args.length > 0 ? bad('EXPUNGE takes no arguments') : { set: undefined };
  },
  async handle({ set }, context, { uid }) {
    const selected = context.selected!;
    let uids: readonly number[] = [...selected.allUids()];
    if (set !== undefined) {
      const named = resolveMessageSet(selected, context.savedResult, set, true);
      if (typeof named === 'string') return bad('invalid UID set');
      uids = named;
    }
    if (selected.readOnly) return no('[READ-ONLY] the mailbox is read-only');
    // The store decides what has \Deleted now: another session may have set or cleared it.
    const live = uids.filter((u) => !selected.isGone(u));
    if (live.length > 0) await selected.box.expunge(live);
    // Committed: from here on the answer is OK (sync-after-change.ts).
    const update = await syncAfterChange(selected);
    if (update) await context.announce(update, 'tagged');
    // RFC 7162 §3.2.10: VANISHED carries no MODSEQ, so a QRESYNC client learns the
    // mailbox's new one here.
    const highest =
      context.qresync && update && update.vanished.length > 0
        ? `[HIGHESTMODSEQ ${selected.highestModseq}] `
        : '';
    return ok(`${highest}${uid ? 'UID EXPUNGE' : 'EXPUNGE'} completed`);
  },
});
