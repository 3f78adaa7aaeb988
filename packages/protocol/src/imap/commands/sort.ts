// SORT and UID SORT (RFC 5256 §3) with the DISPLAYFROM and DISPLAYTO keys (SORT=DISPLAY,
// RFC 5957) and ESORT (RFC 5267 §3): `SORT RETURN (MIN MAX ALL COUNT SAVE)` answered with
// ESEARCH, where MIN and MAX are the first and last messages in the sort order and ALL
// lists them in that order. The keys are in sort-keys.ts.
//
//   sort = ["UID" SP] "SORT" [SP sort-return-opts] SP sort-criteria SP search-criteria

import { parseSortCriteria, type SortCriterion, sortMessages } from '../sort-keys.js';
import { bad, defineCommand, ImapReply, ok, SELECTED } from './command-spec.js';
import { esearchAnswer, parseReturnOptions } from './search-results.js';
import { type CharsetAndKeys, charsetAndKeys, matchingMessages } from './sorted-messages.js';

interface SortRequest extends CharsetAndKeys {
  /** RETURN's options (ESORT); undefined: a plain `* SORT` answer. */
  readonly returns: ReadonlySet<string> | undefined;
  readonly criteria: readonly SortCriterion[];
}

export const sort = defineCommand({
  name: 'SORT',
  states: SELECTED,
  uid: true,
  holdsExpunges: true,
  capabilities: (view) => ({
    now: view.state === 'not-authenticated' ? [] : ['SORT', 'SORT=DISPLAY', 'ESORT'],
  }),
  parse(args): SortRequest | ImapReply {
    const returnOptions = parseReturnOptions(args);
    if (returnOptions instanceof ImapReply) return returnOptions;
    const { returns, at } = returnOptions;
    const criteria = parseSortCriteria(args[at]);
    if (typeof criteria === 'string') return bad(criteria);
    const rest = charsetAndKeys(args, at + 1);
    if (!('charset' in rest)) return rest;
    return { ...rest, returns, criteria };
  },
  async handle(request, context, form) {
    const { uid } = form;
    const messages = await matchingMessages(context, request, false);
    if (!Array.isArray(messages)) return messages;
    const sorted = sortMessages(messages, request.criteria);
    const numbers = sorted.map((m) => (uid ? m.uid : m.seq));
    const done = ok(`${uid ? 'UID SORT' : 'SORT'} completed`);
    const returns = request.returns;
    if (!returns) {
      await context.write(`* SORT${numbers.map((n) => ` ${n}`).join('')}\r\n`);
      return done;
    }
    const answer = esearchAnswer(
      context,
      form,
      returns,
      numbers,
      sorted.map((m) => m.uid),
    );
    if (answer) await context.write(answer);
    return done;
  },
});
