/**
 * What the Postgres store refuses by throwing, for the in-memory store (memory-mail-store.ts)
 * to refuse alike. In the service such a throw is answered
 * `NO [SERVERBUG]` and logged, so the engine must never pass these values on; with the
 * same refusals here, the engine tests and the property test over the command grammar
 * (session.test.ts) find the values that would reach it.
 *
 * The rules, and where the real store has them:
 * - mailbox names: packages/store mailboxes.ts mailboxName (mailboxNameProblem), and the
 *   unique btree index on (account_id, name), whose entries hold at most 2,704 octets;
 * - text values: Postgres `text` holds no NUL;
 * - integers: `bigint` holds at most 2^63 - 1, and a JS number past 2^53 is sent as
 *   "1e+21" or rounded;
 * - dates: `date` has no year 0, and a Date outside years 1-9999 is not sent as one;
 * - SEARCH: imap-search.ts compiles at most 10,000 nodes.
 */
import { mailboxNameProblem, type SearchNode } from '@tegami/protocol';

const MAX_BIGINT = 9_223_372_036_854_775_807n;
const MAX_INDEX_ENTRY = 2_690;
const MAX_SEARCH_NODES = 10_000;

export class StoreRefusal extends Error {}

function refuse(what: string): never {
  throw new StoreRefusal(`the Postgres store would refuse ${what}`);
}

/**
 * A name as packages/store mailboxName stores it, for lookups: INBOX in any case is INBOX
 * (RFC 3501 §5.1), so `inbox/Work` is `INBOX/Work`.
 */
export function storedName(name: string): string {
  if (!validName(name)) refuse(`the mailbox name ${JSON.stringify(name.slice(0, 80))}`);
  const slash = name.indexOf('/');
  const first = slash === -1 ? name : name.slice(0, slash);
  return first.toUpperCase() === 'INBOX' ? `INBOX${name.slice(first.length)}` : name;
}

/** Whether mailboxName takes the name; where the store catches its StoreError('invalid') (CREATE, RENAME, SUBSCRIBE). */
export function validName(name: string): boolean {
  return mailboxNameProblem(name) === undefined;
}

/** Whether the store takes the name for a new or renamed mailbox; an over-long one fails in the index. */
export function creatableName(name: string): boolean {
  if (!validName(name)) return false;
  if (Buffer.byteLength(name, 'utf8') > MAX_INDEX_ENTRY) refuse('a mailbox name over the index entry size');
  return true;
}

export function storedText(value: string): string {
  if (value.includes('\u0000')) refuse('NUL in text');
  return value;
}

function storedInteger(value: number | bigint): void {
  if (typeof value === 'number' && (!Number.isSafeInteger(value) || value < 0)) refuse(`the number ${value}`);
  if (typeof value === 'bigint' && (value < 0n || value > MAX_BIGINT)) refuse(`the bigint ${value}`);
}

export function storedDate(date: Date): Date {
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 1 || year > 9999) refuse(`the date ${String(date)}`);
  return date;
}

/** Checks criteria as imap-search.ts compiles them. */
export function storedSearch(criteria: SearchNode): SearchNode {
  let nodes = 0;
  const check = (node: SearchNode): void => {
    if (++nodes > MAX_SEARCH_NODES) refuse('a search of more than 10,000 nodes');
    switch (node.op) {
      case 'and':
        node.nodes.forEach(check);
        return;
      case 'or':
        check(node.left);
        check(node.right);
        return;
      case 'not':
        check(node.node);
        return;
      case 'uids':
        for (const uid of node.uids) storedInteger(uid);
        return;
      case 'flag':
        storedText(node.flag);
        return;
      case 'date':
        storedDate(node.day);
        return;
      case 'size':
        storedInteger(node.size);
        return;
      case 'header':
        storedText(node.name);
        storedText(node.value);
        return;
      case 'text':
        storedText(node.value);
        return;
      case 'modseq':
        storedInteger(node.modseq);
        return;
      case 'threadid':
        throw new Error('THREADID is resolved by the IMAP engine before the store is asked');
      case 'all':
        return;
    }
  };
  check(criteria);
  return criteria;
}
