// SEARCH and UID SEARCH (RFC 3501 §6.4.4) with ESEARCH (RFC 4731), SAVE (RFC 5182) and
// MODSEQ (RFC 7162); the criteria are parsed by search-keys.ts and matched by the store.

import { searchCharset } from '../search-keys.js';
import type { OpenMailbox, SearchNode } from '../session-types.js';
import { astringOf } from '../wire-values.js';
import { bad, defineCommand, ImapReply, ok, SELECTED } from './command-spec.js';
import { enableCondstore } from './condstore.js';
import {
  badCharset,
  esearchAnswer,
  parseReturnOptions,
  resolveThreadIds,
  searchCriteria,
} from './search-results.js';

export const search = defineCommand({
  name: 'SEARCH',
  states: SELECTED,
  uid: true,
  holdsExpunges: true,
  capabilities: (view) => ({
    // SAVEDATE (RFC 8514): FETCH SAVEDATE and the SAVED* search keys.
    now: view.state === 'not-authenticated' ? [] : ['ESEARCH', 'SEARCHRES', 'WITHIN', 'SAVEDATE'],
  }),
  parse(args) {
    const returnOptions = parseReturnOptions(args);
    if (returnOptions instanceof ImapReply) return returnOptions;
    const { returns } = returnOptions;
    let at = returnOptions.at;
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
  async handle({ returns, keys, charset }, context, form) {
    const { uid } = form;
    const selected = context.selected!;
    const parsed = searchCriteria(context, keys, charset);
    if (parsed instanceof ImapReply) return parsed;
    const criteria = await resolveThreadIds(context, parsed);
    const matched = (await selected.box.search(criteria))
      .filter((u) => selected.seqOf(u) > 0)
      .sort((a, b) => a - b);
    const numbers = uid ? matched : matched.map((u) => selected.seqOf(u));
    // RFC 7162 §3.1.5: a SEARCH with MODSEQ turns CONDSTORE on and answers with the highest
    // MODSEQ of the messages found.
    let highest: bigint | undefined;
    if (usesModseq(criteria)) {
      await enableCondstore(context);
      highest = await highestModseq(selected.box, matched);
    }
    if (returns || context.rev2) {
      const modseq = highest === undefined ? [] : [`MODSEQ ${highest}`];
      const answer = esearchAnswer(context, form, returns ?? new Set(['ALL']), numbers, matched, modseq);
      if (answer) await context.write(answer);
    } else {
      const modseq = highest === undefined ? '' : ` (MODSEQ ${highest})`;
      await context.write(`* SEARCH${numbers.map((n) => ` ${n}`).join('')}${modseq}\r\n`);
    }
    return ok(`${uid ? 'UID SEARCH' : 'SEARCH'} completed`);
  },
});

function usesModseq(node: SearchNode): boolean {
  switch (node.op) {
    case 'modseq':
      return true;
    case 'and':
      return node.nodes.some(usesModseq);
    case 'or':
      return usesModseq(node.left) || usesModseq(node.right);
    case 'not':
      return usesModseq(node.node);
    default:
      return false;
  }
}

/** The highest MODSEQ of these messages; undefined when there are none (no MODSEQ is sent then). */
async function highestModseq(box: OpenMailbox, uids: readonly number[]): Promise<bigint | undefined> {
  let highest: bigint | undefined;
  for (let start = 0; start < uids.length; start += 5000) {
    const batch = await box.fetch(uids.slice(start, start + 5000), { metadata: false, raw: false });
    for (const message of batch)
      if (highest === undefined || message.modseq > highest) highest = message.modseq;
  }
  return highest;
}
