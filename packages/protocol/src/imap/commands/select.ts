// SELECT and EXAMINE (RFC 3501 §6.3.1-2, RFC 9051 §6.3.2-3): open a mailbox read-write
// (claiming \Recent) or read-only, and tell the client what it holds. With (CONDSTORE) or
// (QRESYNC (…)) (RFC 7162 §3.1.8, §3.2.5), also its HIGHESTMODSEQ and, for QRESYNC, what
// changed since the state the client has cached: VANISHED (EARLIER) and FETCHes.

import type { ImapToken } from '../command-tokens.js';
import { MAILBOX_DELIMITER } from '../mailbox-names.js';
import { SelectedMailbox } from '../selected-mailbox.js';
import { type NumberRange, parseSequenceSet, resolveSequenceSet } from '../sequence-set.js';
import { parseNumber } from '../wire-values.js';
import { bad, defineCommand, type ImapContext, ImapReply, LOGGED_IN, no, ok } from './command-spec.js';
import { enableCondstore, formatRanges, parseModseq, vanishedEarlier } from './condstore.js';
import { flagList } from './flags.js';
import { astringArgument, mailboxName, wireName } from './mailbox-arguments.js';

/** RFC 7162 §3.2.5: what the client last knew of the mailbox. */
interface QresyncParameter {
  readonly uidValidity: number;
  readonly modseq: bigint;
  /** The UIDs the client knows (`known-uids`); all when absent. */
  readonly knownUids: readonly NumberRange[] | undefined;
}

interface SelectRequest {
  readonly name: ImapToken;
  readonly condstore: boolean;
  readonly qresync: QresyncParameter | undefined;
}

/** RFC 7162 §7 `select-param`s: CONDSTORE, and QRESYNC with its list. */
function parseSelectParameters(list: ImapToken): Omit<SelectRequest, 'name'> | ImapReply {
  if (list.type !== 'list' || list.items.length === 0) return bad('SELECT parameters are a list');
  let condstore = false;
  let qresync: QresyncParameter | undefined;
  const items = list.items;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const name = item.type === 'atom' ? item.value.toUpperCase() : '';
    if (name === 'CONDSTORE') condstore = true;
    else if (name === 'QRESYNC' && items[i + 1]?.type === 'list' && !qresync) {
      const parsed = parseQresync(items[++i]!);
      if (parsed instanceof ImapReply) return parsed;
      qresync = parsed;
    } else return bad('unknown SELECT parameter');
  }
  return { condstore, qresync };
}

/** `(uidvalidity mod-sequence-value [known-uids] [(seq-match-data)])`. */
function parseQresync(token: ImapToken): QresyncParameter | ImapReply {
  const items = token.type === 'list' ? token.items : [];
  const [validity, modseqToken, ...rest] = items;
  const uidValidity = validity?.type === 'atom' ? parseNumber(validity.value) : undefined;
  const modseq = modseqToken?.type === 'atom' ? parseModseq(modseqToken.value) : undefined;
  if (!uidValidity || modseq === undefined) return bad('QRESYNC needs a UIDVALIDITY and a MODSEQ');
  let knownUids: NumberRange[] | undefined;
  let at = 0;
  if (rest[at]?.type === 'atom') {
    const set = parseSequenceSet((rest[at] as { value: string }).value);
    // known-uids is a sequence-set of UIDs with no `*` (RFC 7162 §7).
    if (!set || set.savedResult || set.ranges.some((r) => r.from === '*' || r.to === '*'))
      return bad('invalid known UIDs');
    knownUids = resolveSequenceSet(set, 0);
    at++;
  }
  const matchData = rest[at];
  if (matchData !== undefined) {
    // seq-match-data: checked, not used. It lets a server narrow VANISHED when its
    // expunge history is gone; this one then reports every missing UID, which §3.2.5.2 allows.
    const pair = matchData.type === 'list' ? matchData.items : [];
    const valid =
      pair.length === 2 &&
      pair.every(
        (p) => p.type === 'atom' && parseSequenceSet(p.value) && !parseSequenceSet(p.value)!.savedResult,
      );
    if (!valid) return bad('invalid sequence match data');
    at++;
  }
  if (at !== rest.length) return bad('too many QRESYNC arguments');
  return { uidValidity, modseq, knownUids };
}

function selectCommand(name: 'SELECT' | 'EXAMINE', readOnly: boolean) {
  return defineCommand<SelectRequest>({
    name,
    states: LOGGED_IN,
    parse(args) {
      if (args.length < 1 || args.length > 2) return bad('SELECT needs a mailbox name');
      // A command that is not even valid (BAD) changes nothing.
      const wire = astringArgument(args[0], 'mailbox name');
      if (wire instanceof ImapReply) return wire;
      if (args.length === 1) return { name: args[0]!, condstore: false, qresync: undefined };
      const parameters = parseSelectParameters(args[1]!);
      return parameters instanceof ImapReply ? parameters : { name: args[0]!, ...parameters };
    },
    async handle(request, context) {
      // RFC 7162 §3.2.5: QRESYNC only once the client has enabled it.
      if (request.qresync && !context.qresync) return bad('QRESYNC is not enabled');
      const hadSelected = context.selected !== undefined;
      // A failed SELECT leaves no mailbox selected (RFC 3501 §6.3.1).
      context.select(undefined);
      if (hadSelected && (context.rev2 || context.qresync))
        await context.write('* OK [CLOSED] previous mailbox closed\r\n');
      const mailbox = mailboxName(request.name, context.utf8);
      if (mailbox instanceof ImapReply) return mailbox;
      const box = await context.account.open(mailbox, readOnly);
      if (!box) return no('[NONEXISTENT] no such mailbox');
      const selected = await SelectedMailbox.open(box);
      // Enabled before the mailbox is selected: no extra HIGHESTMODSEQ, it is said below.
      if (request.condstore) await enableCondstore(context);
      context.select(selected);
      const lines = [selected.flagsResponses(), `* ${selected.exists} EXISTS\r\n`];
      if (!context.rev2) {
        lines.push(`* ${selected.recentCount} RECENT\r\n`);
        const unseen = selected.firstUnseenSeq();
        if (unseen !== undefined) lines.push(`* OK [UNSEEN ${unseen}] first unseen message\r\n`);
      }
      lines.push(
        `* OK [UIDVALIDITY ${selected.uidValidity}] UIDs valid\r\n`,
        `* OK [UIDNEXT ${selected.uidNext}] predicted next UID\r\n`,
      );
      // RFC 8474 §4.1: the mailbox's MAILBOXID, which RENAME keeps.
      if (box.mailboxId) lines.push(`* OK [MAILBOXID (${box.mailboxId})] Ok\r\n`);
      // Every SELECT says it, CONDSTORE on or not (RFC 7162 §3.1.2.1; Dovecot does the same):
      // every mailbox here has MODSEQs.
      lines.push(`* OK [HIGHESTMODSEQ ${selected.highestModseq}] Highest\r\n`);
      if (context.rev2) lines.push(`* LIST () "${MAILBOX_DELIMITER}" ${wireName(mailbox, context.utf8)}\r\n`);
      await context.write(lines.join(''));
      if (request.qresync && request.qresync.uidValidity === selected.uidValidity)
        await resynchronise(context, selected, request.qresync);
      // The box's own answer: SELECT of a mailbox shared without write rights is read-only (RFC 4314 §4).
      return ok(`[${selected.readOnly ? 'READ-ONLY' : 'READ-WRITE'}] ${name} completed`);
    },
  });
}

/**
 * RFC 7162 §3.2.5.2: the UIDs of the client's known ones that are gone, as VANISHED
 * (EARLIER), then a FETCH (UID FLAGS MODSEQ) for each message of them that changed since
 * its MODSEQ. A UIDVALIDITY that does not match means the cache is void: the caller sends
 * nothing more, and the client starts over.
 */
async function resynchronise(
  context: ImapContext,
  selected: SelectedMailbox,
  qresync: QresyncParameter,
): Promise<void> {
  const known = qresync.knownUids ?? [{ from: 1, to: 4_294_967_295 }];
  const history = await selected.box.history(qresync.modseq);
  const vanished = vanishedEarlier(selected, history, known);
  const lines: string[] = [];
  if (vanished.length > 0) lines.push(`* VANISHED (EARLIER) ${formatRanges(vanished)}\r\n`);
  const changed = history.changed.filter((m) => inRanges(known, m.uid) && selected.seqOf(m.uid) > 0);
  const news = selected.keywordNews(changed.map((m) => m.flags));
  if (news) lines.unshift(news);
  for (const message of changed) {
    const flags = flagList(selected, context.rev2, message);
    lines.push(
      `* ${selected.seqOf(message.uid)} FETCH (UID ${message.uid} FLAGS (${flags}) MODSEQ (${message.modseq}))\r\n`,
    );
  }
  if (lines.length > 0) await context.write(lines.join(''));
}

/** Whether the UID is in the sorted, disjoint ranges (binary search). */
export function inRanges(ranges: readonly NumberRange[], uid: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const range = ranges[mid]!;
    if (uid < range.from) hi = mid - 1;
    else if (uid > range.to) lo = mid + 1;
    else return true;
  }
  return false;
}

export const select = selectCommand('SELECT', false);
export const examine = selectCommand('EXAMINE', true);
