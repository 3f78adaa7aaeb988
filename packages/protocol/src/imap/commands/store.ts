// STORE and UID STORE (RFC 3501 §6.4.6): set, add or remove flags; every message named
// gets its flags back unless .SILENT. With CONDSTORE (RFC 7162 §3.1.3) the answers carry
// MODSEQ, and (UNCHANGEDSINCE n) changes only messages not changed since n, naming the
// others in [MODIFIED …].

import { formatSequenceSet } from '../sequence-set.js';
import type { CheckedStoreResult, FlagOperation } from '../session-types.js';
import { bad, defineCommand, type ImapContext, no, ok, SELECTED } from './command-spec.js';
import { enableCondstore, parseModseq } from './condstore.js';
import { flagList, validFlag } from './flags.js';
import { OUT_OF_RANGE, resolveMessageSet } from './message-set.js';

interface StoreRequest {
  readonly set: string;
  readonly operation: FlagOperation;
  readonly silent: boolean;
  readonly flags: readonly string[];
  readonly unchangedSince: bigint | undefined;
}

export const store = defineCommand<StoreRequest>({
  name: 'STORE',
  states: SELECTED,
  uid: true,
  holdsExpunges: true,
  parse(args) {
    let unchangedSince: bigint | undefined;
    let rest = args;
    // RFC 7162 §3.1.3: `STORE set (UNCHANGEDSINCE n) item flags`.
    if (args[1]?.type === 'list') {
      const modifiers = args[1].items;
      const name = modifiers[0]?.type === 'atom' ? modifiers[0].value.toUpperCase() : '';
      const value = modifiers[1]?.type === 'atom' ? modifiers[1].value : undefined;
      if (modifiers.length !== 2 || name !== 'UNCHANGEDSINCE') return bad('unknown STORE modifier');
      unchangedSince = parseModseq(value, true);
      if (unchangedSince === undefined)
        return bad('UNCHANGEDSINCE needs a MODSEQ (0 to 9223372036854775807)');
      rest = [args[0]!, ...args.slice(2)];
    }
    if (rest.length < 3 || rest[0]?.type !== 'atom' || rest[1]?.type !== 'atom') {
      return bad('STORE needs a sequence set, an item and flags');
    }
    const m = /^([+-]?)FLAGS(\.SILENT)?$/i.exec(rest[1].value);
    if (!m) return bad('unknown STORE item');
    const operation: FlagOperation = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'replace';
    const flagTokens = rest.length === 3 && rest[2]!.type === 'list' ? rest[2]!.items : rest.slice(2);
    const flags: string[] = [];
    for (const token of flagTokens) {
      if (token.type !== 'atom' || !validFlag(token.value)) return bad('invalid flag');
      // \Recent is the server's to set (RFC 3501 §2.3.2).
      if (token.value.toLowerCase() === '\\recent') continue;
      flags.push(token.value);
    }
    return { set: rest[0].value, operation, silent: m[2] !== undefined, flags, unchangedSince };
  },
  async handle(request, context, { uid }) {
    const { set, operation, silent, flags } = request;
    const selected = context.selected!;
    const uids = resolveMessageSet(selected, context.savedResult, set, uid);
    if (uids === 'invalid') return bad('invalid sequence set');
    if (uids === 'out-of-range') return bad(OUT_OF_RANGE);
    if (selected.readOnly) return no('[READ-ONLY] the mailbox is read-only');
    if (request.unchangedSince !== undefined) await enableCondstore(context);
    const live = uids.filter((u) => !selected.isGone(u));
    if (context.condstore) return conditionalStore(context, request, live, uid);
    const changed = live.length > 0 ? await selected.box.store(live, operation, flags) : [];
    const changedBy = new Map(changed.map((c) => [c.uid, c.flags]));
    for (const c of changed) selected.noteFlags(c.uid, c.flags, c.modseq);
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

/**
 * STORE of a CONDSTORE session (RFC 7162 §3.1.3): every message the store changed is told
 * with its new MODSEQ, .SILENT or not (the client cannot know it otherwise); without
 * .SILENT, the unchanged ones with their flags and MODSEQ as well. Messages changed since
 * UNCHANGEDSINCE are left alone and listed in the tagged OK's [MODIFIED].
 */
async function conditionalStore(
  context: ImapContext,
  { operation, silent, flags, unchangedSince }: StoreRequest,
  live: readonly number[],
  uid: boolean,
): Promise<ReturnType<typeof ok>> {
  const selected = context.selected!;
  const results: readonly CheckedStoreResult[] =
    live.length > 0 ? await selected.box.storeChecked(live, operation, flags, unchangedSince) : [];
  const modified: number[] = [];
  const lines: string[] = [];
  for (const result of results) {
    if (result.outcome === 'changed') selected.noteFlags(result.uid, result.flags, result.modseq);
  }
  lines.push(selected.keywordNews(results.filter((r) => r.outcome === 'changed').map((r) => r.flags)));
  for (const result of results) {
    const seq = selected.seqOf(result.uid);
    if (seq === 0) continue;
    if (result.outcome === 'modified') {
      modified.push(uid ? result.uid : seq);
      continue;
    }
    // With QRESYNC every FETCH names its UID (RFC 7162 §3.2.4).
    const uidItem = uid || context.qresync ? `UID ${result.uid} ` : '';
    if (silent) {
      if (result.outcome === 'changed')
        lines.push(`* ${seq} FETCH (${uidItem}MODSEQ (${result.modseq}))\r\n`);
      continue;
    }
    const shown = flagList(selected, context.rev2, result);
    lines.push(`* ${seq} FETCH (${uidItem}FLAGS (${shown}) MODSEQ (${result.modseq}))\r\n`);
  }
  const text = lines.join('');
  if (text) await context.write(text);
  const name = uid ? 'UID STORE' : 'STORE';
  if (modified.length === 0) return ok(`${name} completed`);
  // Sequence numbers ascend with UIDs, so both lists are already in order.
  return ok(`[MODIFIED ${formatSequenceSet(modified)}] ${name} conditional store failed for some`);
}
