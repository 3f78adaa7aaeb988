// SEARCH criteria (RFC 3501 §6.4.4, RFC 9051 §6.4.4) from command tokens to a SearchNode
// tree. Sequence sets, UID sets, `$`, RECENT, NEW and OLD are session knowledge, so the
// session resolves them (to UIDs) through the context; text values are normalised the way
// the stored search text was, so matching is case- and width-insensitive in any charset.

import { normaliseForSearch } from '../mime/search-text.js';
import type { ImapToken } from './command-reader.js';
import { parseSearchDate } from './response.js';
import type { SearchNode } from './session-types.js';

export interface SearchContext {
  /** A sequence set (`uid` false) or UID set as the UIDs it names now; undefined if invalid. */
  resolveSet(text: string, uid: boolean): readonly number[] | undefined;
  /** UIDs that are \Recent in this session. */
  recentUids(): readonly number[];
}

export class SearchSyntaxError extends Error {}
export class BadCharsetError extends Error {}

export const SEARCH_CHARSETS = ['UTF-8', 'US-ASCII'];

const FLAG_KEYS: Record<string, { flag: string; set: boolean }> = {
  ANSWERED: { flag: '\\Answered', set: true },
  DELETED: { flag: '\\Deleted', set: true },
  DRAFT: { flag: '\\Draft', set: true },
  FLAGGED: { flag: '\\Flagged', set: true },
  SEEN: { flag: '\\Seen', set: true },
  UNANSWERED: { flag: '\\Answered', set: false },
  UNDELETED: { flag: '\\Deleted', set: false },
  UNDRAFT: { flag: '\\Draft', set: false },
  UNFLAGGED: { flag: '\\Flagged', set: false },
  UNSEEN: { flag: '\\Seen', set: false },
};

const HEADER_KEYS: Record<string, string> = {
  BCC: 'bcc',
  CC: 'cc',
  FROM: 'from',
  SUBJECT: 'subject',
  TO: 'to',
};

const DATE_KEYS: Record<string, { field: 'internal' | 'sent'; compare: 'before' | 'on' | 'since' }> = {
  BEFORE: { field: 'internal', compare: 'before' },
  ON: { field: 'internal', compare: 'on' },
  SINCE: { field: 'internal', compare: 'since' },
  SENTBEFORE: { field: 'sent', compare: 'before' },
  SENTON: { field: 'sent', compare: 'on' },
  SENTSINCE: { field: 'sent', compare: 'since' },
};

/**
 * Parses the criteria (after any CHARSET and RETURN options): the keys are ANDed. Throws
 * SearchSyntaxError (tagged BAD) or BadCharsetError (NO [BADCHARSET]).
 */
export function parseSearchCriteria(tokens: readonly ImapToken[], context: SearchContext): SearchNode {
  const reader = new TokenCursor(tokens);
  const nodes: SearchNode[] = [];
  while (!reader.done()) nodes.push(parseKey(reader, context, 0));
  if (nodes.length === 0) throw new SearchSyntaxError('search criteria missing');
  return nodes.length === 1 ? nodes[0]! : { op: 'and', nodes };
}

const MAX_DEPTH = 64;

class TokenCursor {
  private at = 0;
  constructor(private readonly tokens: readonly ImapToken[]) {}
  done(): boolean {
    return this.at >= this.tokens.length;
  }
  next(): ImapToken {
    const token = this.tokens[this.at++];
    if (!token) throw new SearchSyntaxError('search key incomplete');
    return token;
  }
  atom(): string {
    const token = this.next();
    if (token.type !== 'atom') throw new SearchSyntaxError('atom expected');
    return token.value;
  }
  /** astring: an atom or a string, as UTF-8 text. */
  text(): string {
    const token = this.next();
    if (token.type === 'atom') return token.value;
    if (token.type === 'string') return token.value.toString('utf8');
    throw new SearchSyntaxError('string expected');
  }
  number(): number {
    const value = this.atom();
    if (!/^\d{1,20}$/.test(value)) throw new SearchSyntaxError('number expected');
    return Number(value);
  }
}

function parseKey(reader: TokenCursor, context: SearchContext, depth: number): SearchNode {
  if (depth > MAX_DEPTH) throw new SearchSyntaxError('search keys nested too deep');
  const token = reader.next();
  if (token.type === 'list') {
    const inner = new TokenCursor(token.items);
    const nodes: SearchNode[] = [];
    while (!inner.done()) nodes.push(parseKey(inner, context, depth + 1));
    if (nodes.length === 0) throw new SearchSyntaxError('empty search key list');
    return nodes.length === 1 ? nodes[0]! : { op: 'and', nodes };
  }
  if (token.type !== 'atom') throw new SearchSyntaxError('search key expected');
  const key = token.value.toUpperCase();
  const flag = FLAG_KEYS[key];
  if (flag) return { op: 'flag', ...flag };
  const header = HEADER_KEYS[key];
  if (header) return { op: 'header', name: header, value: normaliseForSearch(reader.text()) };
  const date = DATE_KEYS[key];
  if (date) {
    const day = parseSearchDate(reader.text());
    if (!day) throw new SearchSyntaxError('invalid date');
    return { op: 'date', ...date, day };
  }
  switch (key) {
    case 'ALL':
      return { op: 'all' };
    case 'BODY':
      return { op: 'text', where: 'body', value: normaliseForSearch(reader.text()) };
    case 'TEXT':
      return { op: 'text', where: 'text', value: normaliseForSearch(reader.text()) };
    case 'HEADER': {
      const name = reader.text().toLowerCase();
      // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
      if (name === '' || /[\x00-\x20\x7f:]/.test(name)) throw new SearchSyntaxError('invalid header name');
      return { op: 'header', name, value: normaliseForSearch(reader.text()) };
    }
    case 'KEYWORD':
    case 'UNKEYWORD': {
      const keyword = reader.atom();
      if (keyword.startsWith('\\')) throw new SearchSyntaxError('a keyword is not a system flag');
      return { op: 'flag', flag: keyword, set: key === 'KEYWORD' };
    }
    case 'LARGER':
    case 'SMALLER':
      return { op: 'size', compare: key === 'LARGER' ? 'larger' : 'smaller', size: reader.number() };
    case 'NOT':
      return { op: 'not', node: parseKey(reader, context, depth + 1) };
    case 'OR':
      return {
        op: 'or',
        left: parseKey(reader, context, depth + 1),
        right: parseKey(reader, context, depth + 1),
      };
    case 'RECENT':
      return { op: 'uids', uids: context.recentUids() };
    case 'NEW':
      return { op: 'and', nodes: [{ op: 'uids', uids: context.recentUids() }, FLAG_NODE_UNSEEN] };
    case 'OLD':
      return { op: 'not', node: { op: 'uids', uids: context.recentUids() } };
    case 'UID': {
      const uids = context.resolveSet(reader.atom(), true);
      if (!uids) throw new SearchSyntaxError('invalid UID set');
      return { op: 'uids', uids };
    }
    case 'MODSEQ': {
      // RFC 7162 §3.1.5: MODSEQ [entry-name entry-type-req] mod-sequence-valzer
      let value = reader.atom();
      if (!/^\d+$/.test(value)) {
        reader.atom();
        value = reader.atom();
      }
      if (!/^\d{1,20}$/.test(value)) throw new SearchSyntaxError('invalid MODSEQ');
      return { op: 'modseq', modseq: BigInt(value) };
    }
    default: {
      if (/^[\d*$:,]+$/.test(key)) {
        const uids = context.resolveSet(token.value, false);
        if (!uids) throw new SearchSyntaxError('invalid sequence set');
        return { op: 'uids', uids };
      }
      throw new SearchSyntaxError(`unknown search key ${token.value.slice(0, 40)}`);
    }
  }
}

const FLAG_NODE_UNSEEN: SearchNode = { op: 'flag', flag: '\\Seen', set: false };
