// What SEARCH, SORT and THREAD share: RETURN options (RFC 4731 ESEARCH, RFC 5267 ESORT),
// the search keys read against the session's view (search-keys.ts), and the ESEARCH answer
// with RFC 5182's SAVE.

import type { ImapToken } from '../command-tokens.js';
import { BadCharsetError, parseSearchCriteria, SEARCH_CHARSETS } from '../search-keys.js';
import { formatSequenceSet } from '../sequence-set.js';
import type { SearchNode } from '../session-types.js';
import { referencesField, threadIdOf } from '../thread-ids.js';
import { ImapSyntaxError } from '../wire-values.js';
import { bad, type ImapContext, type ImapReply, no } from './command-spec.js';
import { OUT_OF_RANGE, resolveMessageSet } from './message-set.js';

const RETURN_OPTIONS = new Set(['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE']);

export const badCharset = (text: string) => no(`[BADCHARSET (${SEARCH_CHARSETS.join(' ')})] ${text}`);

/**
 * `RETURN (…)` at the start of the arguments: the options and where the rest begins;
 * no options (undefined) when there is no RETURN. `RETURN ()` is `RETURN (ALL)` (RFC 4731 §3.1).
 */
export function parseReturnOptions(
  args: readonly ImapToken[],
): { readonly returns: ReadonlySet<string> | undefined; readonly at: number } | ImapReply {
  const first = args[0];
  if (first?.type !== 'atom' || first.value.toUpperCase() !== 'RETURN') return { returns: undefined, at: 0 };
  const list = args[1];
  if (list?.type !== 'list') return bad('RETURN needs a list');
  const returns = new Set<string>();
  for (const item of list.items) {
    if (item.type !== 'atom' || !RETURN_OPTIONS.has(item.value.toUpperCase()))
      return bad('unknown RETURN option');
    returns.add(item.value.toUpperCase());
  }
  if (returns.size === 0) returns.add('ALL');
  return { returns, at: 2 };
}

/** The search keys as criteria, sets resolved against the session's view as they are read. */
export function searchCriteria(
  context: ImapContext,
  keys: readonly ImapToken[],
  charset: string | undefined,
): SearchNode | ImapReply {
  const selected = context.selected!;
  try {
    return parseSearchCriteria(keys, {
      resolveSet: (text, isUid) => {
        const uids = resolveMessageSet(selected, context.savedResult, text, isUid, 'match-nothing');
        if (uids === 'out-of-range') throw new ImapSyntaxError(OUT_OF_RANGE);
        return uids === 'invalid' ? undefined : uids;
      },
      recentUids: () => selected.recentUids(),
      ...(charset !== undefined && { charset }),
    });
  } catch (err) {
    if (err instanceof ImapSyntaxError) return bad(err.message);
    if (err instanceof BadCharsetError) return badCharset(err.message);
    throw err;
  }
}

/** Messages described at a time when THREADIDs are worked out. */
const THREAD_BATCH = 1_000;

/**
 * THREADID keys (RFC 8474 §6) as the UIDs of the view's messages in each thread. The store
 * keeps no THREADID (thread-ids.ts works it out from the envelope, the References field
 * and the EMAILID), so the engine describes the view's messages, from the facts cache
 * where there is one, and hands the store plain UID sets. Criteria without THREADID come
 * back as they are, at no cost.
 */
export async function resolveThreadIds(context: ImapContext, criteria: SearchNode): Promise<SearchNode> {
  const wanted = new Set<string>();
  const collect = (node: SearchNode): void => {
    if (node.op === 'threadid') wanted.add(node.threadId);
    else if (node.op === 'and') node.nodes.forEach(collect);
    else if (node.op === 'or') {
      collect(node.left);
      collect(node.right);
    } else if (node.op === 'not') collect(node.node);
  };
  collect(criteria);
  if (wanted.size === 0) return criteria;
  const selected = context.selected!;
  const members = new Map<string, number[]>([...wanted].map((id) => [id, []]));
  const all = [...selected.allUids()];
  for (let start = 0; start < all.length; start += THREAD_BATCH) {
    const batch = all.slice(start, start + THREAD_BATCH);
    const found = selected.box.describe
      ? (await selected.box.describe(batch, true)).map((f) => ({ ...f, raw: f.header }))
      : await selected.box.fetch(batch, { metadata: true, raw: true, header: true, emailId: true });
    for (const message of found) {
      if (!message.metadata || !message.raw || message.emailId === undefined) continue;
      const id = threadIdOf(
        message.metadata.envelope,
        referencesField(message.raw, message.metadata),
        message.emailId,
      );
      members.get(id)?.push(message.uid);
    }
  }
  const replace = (node: SearchNode): SearchNode => {
    switch (node.op) {
      case 'threadid':
        return { op: 'uids', uids: members.get(node.threadId)! };
      case 'and':
        return { op: 'and', nodes: node.nodes.map(replace) };
      case 'or':
        return { op: 'or', left: replace(node.left), right: replace(node.right) };
      case 'not':
        return { op: 'not', node: replace(node.node) };
      default:
        return node;
    }
  };
  return replace(criteria);
}

/**
 * The ESEARCH answer to RETURN options, and SAVE done (RFC 5182): `numbers` are what the
 * client is told (UIDs or sequence numbers) and `uids` the same messages' UIDs, both in
 * answer order (ascending for SEARCH, sort order for SORT), so MIN and MAX are the first
 * and last. '' when nothing is to be sent: RETURN (SAVE) alone (RFC 5182 §2.1).
 */
export function esearchAnswer(
  context: ImapContext,
  { tag, uid }: { readonly tag: string; readonly uid: boolean },
  returns: ReadonlySet<string>,
  numbers: readonly number[],
  uids: readonly number[],
  extra: readonly string[] = [],
): string {
  const parts = [`(TAG "${tag}")`];
  if (uid) parts.push('UID');
  if (returns.has('MIN') && numbers.length > 0) parts.push(`MIN ${numbers[0]}`);
  if (returns.has('MAX') && numbers.length > 0) parts.push(`MAX ${numbers.at(-1)}`);
  // Only ascending runs become ranges: a range is read low to high.
  if (returns.has('ALL') && numbers.length > 0) parts.push(`ALL ${formatSequenceSet(numbers)}`);
  if (returns.has('COUNT')) parts.push(`COUNT ${numbers.length}`);
  if (returns.has('SAVE')) context.savedResult = savedPart(uids, returns);
  if (returns.size === 1 && returns.has('SAVE')) return '';
  return `* ESEARCH ${[...parts, ...extra].join(' ')}\r\n`;
}

/**
 * What SAVE keeps (RFC 5182 §2.4): with MIN or MAX and neither ALL nor COUNT, only those
 * ends (the first and last in answer order); otherwise every match. UIDs, ascending.
 */
function savedPart(uids: readonly number[], returns: ReadonlySet<string>): number[] {
  const endsOnly = (returns.has('MIN') || returns.has('MAX')) && !returns.has('ALL') && !returns.has('COUNT');
  if (!endsOnly || uids.length === 0) return [...uids].sort((a, b) => a - b);
  const ends = new Set<number>();
  if (returns.has('MIN')) ends.add(uids[0]!);
  if (returns.has('MAX')) ends.add(uids.at(-1)!);
  return [...ends].sort((a, b) => a - b);
}
