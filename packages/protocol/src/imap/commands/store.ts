// STORE and UID STORE (RFC 3501 §6.4.6): set, add or remove flags; every message named
// gets its flags back unless .SILENT.

import type { FlagOperation } from '../session-types.js';
import { bad, defineCommand, no, ok, SELECTED } from './command-spec.js';
import { flagList, validFlag } from './flags.js';
import { OUT_OF_RANGE, resolveMessageSet } from './message-set.js';

export const store = defineCommand({
  name: 'STORE',
  states: SELECTED,
  uid: true,
  holdsExpunges: true,
  parse(args) {
    if (args.length < 3 || args[0]?.type !== 'atom' || args[1]?.type !== 'atom') {
      return bad('STORE needs a sequence set, an item and flags');
    }
    const m = /^([+-]?)FLAGS(\.SILENT)?$/i.exec(args[1].value);
    if (!m) return bad('unknown STORE item');
    const operation: FlagOperation = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'replace';
    const flagTokens = args.length === 3 && args[2]!.type === 'list' ? args[2]!.items : args.slice(2);
    const flags: string[] = [];
    for (const token of flagTokens) {
      if (token.type !== 'atom' || !validFlag(token.value)) return bad('invalid flag');
      // \Recent is the server's to set (RFC 3501 §2.3.2).
      if (token.value.toLowerCase() === '\\recent') continue;
      flags.push(token.value);
    }
    return { set: args[0].value, operation, silent: m[2] !== undefined, flags };
  },
  async handle({ set, operation, silent, flags }, context, { uid }) {
    const selected = context.selected!;
    const uids = resolveMessageSet(selected, context.savedResult, set, uid);
    if (uids === 'invalid') return bad('invalid sequence set');
    if (uids === 'out-of-range') return bad(OUT_OF_RANGE);
    if (selected.readOnly) return no('[READ-ONLY] the mailbox is read-only');
    const live = uids.filter((u) => !selected.isGone(u));
    const changed = live.length > 0 ? await selected.box.store(live, operation, flags) : [];
    const changedBy = new Map(changed.map((c) => [c.uid, c.flags]));
    for (const c of changed) selected.noteFlags(c.uid, c.flags);
    // A new keyword is announced in FLAGS, .SILENT or not: the client's list of the
    // mailbox's flags (and other sessions', at their next sync) has it from now on.
    const news = selected.keywordNews(changedBy.values());
    if (silent && news) await context.write(news);
    if (!silent) {
      // Every message named gets its flags back, changed or not (RFC 3501 §6.4.6).
      const lines: string[] = [news];
      for (const u of live) {
        const seq = selected.seqOf(u);
        const flagsNow = changedBy.get(u) ?? selected.flagsOf(u);
        const shown = flagList(selected, context.rev2, { uid: u, flags: flagsNow });
        lines.push(`* ${seq} FETCH (${uid ? `UID ${u} ` : ''}FLAGS (${shown}))\r\n`);
      }
      if (lines.length > 1 || lines[0]) await context.write(lines.join(''));
    }
    return ok(`${uid ? 'UID STORE' : 'STORE'} completed`);
  },
});
