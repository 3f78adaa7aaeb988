// SEARCH and UID SEARCH (RFC 3501 §6.4.4) with ESEARCH (RFC 4731) and SAVE (RFC 5182);
// the criteria are parsed by search-keys.ts and matched by the store.

import { BadCharsetError, parseSearchCriteria, SEARCH_CHARSETS, searchCharset } from '../search-keys.js';
import { formatSequenceSet } from '../sequence-set.js';
import type { SearchNode } from '../session-types.js';
import { astringOf, ImapSyntaxError } from '../wire-values.js';
import { bad, defineCommand, no, ok, SELECTED } from './command-spec.js';
import { OUT_OF_RANGE, resolveMessageSet } from './message-set.js';

const RETURN_OPTIONS = ['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE'];
const badCharset = (text: string) => no(`[BADCHARSET (${SEARCH_CHARSETS.join(' ')})] ${text}`);

export const search = defineCommand({
  name: 'SEARCH',
  states: SELECTED,
  uid: true,
  holdsExpunges: true,
  capabilities: (view) => ({
    now: view.state === 'not-authenticated' ? [] : ['ESEARCH', 'SEARCHRES', 'WITHIN'],
  }),
  parse(args) {
    let at = 0;
    let returns: Set<string> | undefined;
    const first = args[0];
    if (first?.type === 'atom' && first.value.toUpperCase() === 'RETURN') {
      const list = args[1];
      if (list?.type !== 'list') return bad('RETURN needs a list');
      returns = new Set();
      for (const item of list.items) {
        if (item.type !== 'atom' || !RETURN_OPTIONS.includes(item.value.toUpperCase())) {
          return bad('unknown RETURN option');
        }
        returns.add(item.value.toUpperCase());
      }
      if (returns.size === 0) returns.add('ALL');
      at = 2;
    }
    const charsetToken = args[at];
    let charset: string | undefined;
    if (charsetToken?.type === 'atom' && charsetToken.value.toUpperCase() === 'CHARSET') {
      charset = astringOf(args[at + 1])?.toUpperCase();
      if (!charset) return bad('CHARSET needs a name');
      if (!searchCharset(charset)) return badCharset('unsupported charset');
      at += 2;
    }
    return { returns, keys: args.slice(at), charset };
  },
  async handle({ returns, keys, charset }, context, { uid, tag }) {
    const selected = context.selected!;
    let criteria: SearchNode;
    try {
      // Sets are resolved against the session's view as the keys are read.
      criteria = parseSearchCriteria(keys, {
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
    const matched = (await selected.box.search(criteria))
      .filter((u) => selected.seqOf(u) > 0)
      .sort((a, b) => a - b);
    const numbers = uid ? matched : matched.map((u) => selected.seqOf(u));
    if (returns || context.rev2) {
      const options = returns ?? new Set(['ALL']);
      const parts = [`(TAG "${tag}")`];
      if (uid) parts.push('UID');
      // Ascending: the ends are MIN and MAX (Math.min(...numbers) overflows the stack past ~120,000).
      if (options.has('MIN') && numbers.length > 0) parts.push(`MIN ${numbers[0]}`);
      if (options.has('MAX') && numbers.length > 0) parts.push(`MAX ${numbers.at(-1)}`);
      if (options.has('ALL') && numbers.length > 0) parts.push(`ALL ${formatSequenceSet(numbers)}`);
      if (options.has('COUNT')) parts.push(`COUNT ${numbers.length}`);
      if (options.has('SAVE')) context.savedResult = savedPart(matched, options);
      // RETURN (SAVE) alone asks for nothing to be returned (RFC 5182 §2.1): no ESEARCH.
      if (!(options.size === 1 && options.has('SAVE')))
        await context.write(`* ESEARCH ${parts.join(' ')}\r\n`);
    } else {
      await context.write(`* SEARCH${numbers.map((n) => ` ${n}`).join('')}\r\n`);
    }
    return ok(`${uid ? 'UID SEARCH' : 'SEARCH'} completed`);
  },
});

/**
 * What SAVE keeps (RFC 5182 §2.4): with MIN or MAX and neither ALL nor COUNT, only those
 * ends; otherwise every match. UIDs, ascending.
 */
function savedPart(matched: readonly number[], options: ReadonlySet<string>): number[] {
  const endsOnly = (options.has('MIN') || options.has('MAX')) && !options.has('ALL') && !options.has('COUNT');
  if (!endsOnly || matched.length === 0) return [...matched];
  const ends = new Set<number>();
  if (options.has('MIN')) ends.add(matched[0]!);
  if (options.has('MAX')) ends.add(matched.at(-1)!);
  return [...ends].sort((a, b) => a - b);
}
