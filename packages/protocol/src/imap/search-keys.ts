// SEARCH criteria (RFC 3501 §6.4.4, RFC 9051 §6.4.4) from command tokens to a SearchNode
// tree. Sequence sets, UID sets, `$`, RECENT, NEW and OLD are session knowledge, so the
// session resolves them (to UIDs) through the context; text values are normalised the way
// the stored search text was, so matching is case- and width-insensitive in any charset.

import { decodeCharset, knownCharset } from '../mime/charset.js';
import { normaliseForSearch } from '../mime/search-text.js';
import type { ImapToken } from './command-reader.js';
import { isObjectId } from './object-ids.js';
import { parseSearchDate } from './response.js';
import type { SearchNode } from './session-types.js';
import {
  astringText,
  clampToSafe,
  ImapSyntaxError,
  isAtom,
  parseNumber,
  parseNumber64,
} from './wire-values.js';

export interface SearchContext {
  /** A sequence set (`uid` false) or UID set as the UIDs it names now; undefined if invalid. */
  resolveSet(text: string, uid: boolean): readonly number[] | undefined;
  /** UIDs that are \Recent in this session. */
  recentUids(): readonly number[];
  /**
   * SEARCH CHARSET's charset, upper case; the strings searched for are in it. Absent, or
   * UTF-8 or US-ASCII: they must be valid UTF-8.
   */
  readonly charset?: string;
}

export class SearchSyntaxError extends ImapSyntaxError {}
export class BadCharsetError extends Error {}

/**
 * The charsets BADCHARSET names (RFC 3501 §7.1): UTF-8 and those Japanese and European
 * clients send. Any charset the MIME layer decodes is taken (searchCharset).
 */
export const SEARCH_CHARSETS = [
  'UTF-8',
  'US-ASCII',
  'ISO-2022-JP',
  'SHIFT_JIS',
  'EUC-JP',
  'ISO-8859-1',
  'WINDOWS-1252',
];

/** Whether SEARCH takes strings in this charset (its name in any case). */
export function searchCharset(name: string): boolean {
  return SEARCH_CHARSETS.includes(name.toUpperCase()) || knownCharset(name);
}

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

const DATE_KEYS: Record<
  string,
  { field: 'internal' | 'sent' | 'saved'; compare: 'before' | 'on' | 'since' }
> = {
  BEFORE: { field: 'internal', compare: 'before' },
  ON: { field: 'internal', compare: 'on' },
  SINCE: { field: 'internal', compare: 'since' },
  SENTBEFORE: { field: 'sent', compare: 'before' },
  SENTON: { field: 'sent', compare: 'on' },
  SENTSINCE: { field: 'sent', compare: 'since' },
  // SAVEDATE (RFC 8514 §4.2): the day the message was saved into this mailbox.
  SAVEDBEFORE: { field: 'saved', compare: 'before' },
  SAVEDON: { field: 'saved', compare: 'on' },
  SAVEDSINCE: { field: 'saved', compare: 'since' },
};

/**
 * Parses the criteria (after any CHARSET and RETURN options): the keys are ANDed. Throws
 * ImapSyntaxError (tagged BAD) or BadCharsetError (NO [BADCHARSET]).
 */
export function parseSearchCriteria(tokens: readonly ImapToken[], context: SearchContext): SearchNode {
  const reader = new TokenCursor(tokens, context.charset);
  const nodes: SearchNode[] = [];
  while (!reader.done()) nodes.push(parseKey(reader, context, 0));
  if (nodes.length === 0) throw new SearchSyntaxError('search criteria missing');
  const criteria: SearchNode = nodes.length === 1 ? nodes[0]! : { op: 'and', nodes };
  if (countNodes(criteria) > MAX_SEARCH_NODES) throw new SearchSyntaxError('too many search keys');
  return criteria;
}

const MAX_DEPTH = 64;
/**
 * Most nodes in one SEARCH: the store compiles each into SQL with a parameter or two, and
 * refuses past 10,000 (packages/store imap-search.ts). One line of 64 KiB holds 13,000
 * `SEEN` keys; no client sends more than a few dozen.
 */
export const MAX_SEARCH_NODES = 1_000;

function countNodes(node: SearchNode): number {
  switch (node.op) {
    case 'and':
      return node.nodes.reduce((n, child) => n + countNodes(child), 1);
    case 'or':
      return 1 + countNodes(node.left) + countNodes(node.right);
    case 'not':
      return 1 + countNodes(node.node);
    default:
      return 1;
  }
}

class TokenCursor {
  private at = 0;
  constructor(
    private readonly tokens: readonly ImapToken[],
    private readonly charset?: string,
  ) {}
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
  /**
   * astring as text: valid UTF-8 without NUL (whatever the CHARSET: US-ASCII is a subset,
   * and invalid UTF-8 is BAD, as Dovecot answers), never a literal8.
   */
  text(): string {
    return astringText(this.next());
  }
  /**
   * A string searched for: text() when the charset is UTF-8 (or US-ASCII, a subset);
   * otherwise its octets decoded from SEARCH CHARSET's charset (ISO-2022-JP, Shift_JIS,
   * EUC-JP, ISO-8859-x, …), as old clients send them.
   */
  searched(): string {
    if (this.charset === undefined || this.charset === 'UTF-8' || this.charset === 'US-ASCII')
      return this.text();
    const token = this.next();
    if (token.type === 'list') throw new SearchSyntaxError('string expected');
    if (token.type === 'string' && token.binary) throw new SearchSyntaxError('literal8 is not a string');
    const bytes = token.type === 'string' ? token.value : Buffer.from(token.value, 'latin1');
    const decoded = decodeCharset(bytes, this.charset);
    if (decoded.includes('\0')) throw new SearchSyntaxError('NUL in a search string');
    return decoded;
  }
  /** LARGER and SMALLER take a number64 (RFC 9051 §9); sizes past 2^53 compare alike. */
  size(): number {
    const value = parseNumber64(this.atom());
    if (value === undefined) throw new SearchSyntaxError('number expected (0 to 9223372036854775807)');
    return clampToSafe(value);
  }
}

/** A keyword is an atom (RFC 9051 §9 flag-keyword), not a system flag. */
function keywordOf(text: string): string {
  if (text.startsWith('\\')) throw new SearchSyntaxError('a keyword is not a system flag');
  if (!isAtom(text)) throw new SearchSyntaxError('invalid keyword');
  return text;
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
  if (header) return { op: 'header', name: header, value: normaliseForSearch(reader.searched()) };
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
      return { op: 'text', where: 'body', value: normaliseForSearch(reader.searched()) };
    case 'TEXT':
      return { op: 'text', where: 'text', value: normaliseForSearch(reader.searched()) };
    case 'HEADER': {
      const name = reader.text().toLowerCase();
      // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
      if (name === '' || /[\x00-\x20\x7f:]/.test(name)) throw new SearchSyntaxError('invalid header name');
      return { op: 'header', name, value: normaliseForSearch(reader.searched()) };
    }
    case 'KEYWORD':
    case 'UNKEYWORD':
      return { op: 'flag', flag: keywordOf(reader.atom()), set: key === 'KEYWORD' };
    case 'LARGER':
    case 'SMALLER':
      return { op: 'size', compare: key === 'LARGER' ? 'larger' : 'smaller', size: reader.size() };
    case 'OLDER':
    case 'YOUNGER': {
      // WITHIN (RFC 5032): interval = nz-number of seconds.
      const seconds = parseNumber(reader.atom());
      if (seconds === undefined || seconds === 0)
        throw new SearchSyntaxError('interval expected (1 to 4294967295 seconds)');
      return { op: 'age', compare: key === 'OLDER' ? 'older' : 'younger', seconds };
    }
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
    // RFC 8514 §4.2: every mailbox here keeps save dates, so every message matches.
    case 'SAVEDATESUPPORTED':
      return { op: 'all' };
    // RFC 8474 §6: EMAILID and THREADID take an objectid.
    case 'EMAILID':
      return { op: 'emailid', emailId: objectIdOf(reader.atom()) };
    case 'THREADID':
      return { op: 'threadid', threadId: objectIdOf(reader.atom()) };
    case 'MODSEQ': {
      // RFC 7162 §3.1.5: MODSEQ [entry-name entry-type-req] mod-sequence-valzer. The entry
      // ("/flags/\\seen", a quoted string) is read and not used: one MODSEQ per message here.
      let value = reader.next();
      if (value.type !== 'atom' || !/^\d+$/.test(value.value)) {
        astringText(value, 'MODSEQ entry name');
        if (!/^(priv|shared|all)$/i.test(reader.atom()))
          throw new SearchSyntaxError('invalid MODSEQ entry type');
        value = reader.next();
      }
      const modseq = value.type === 'atom' ? parseNumber64(value.value) : undefined;
      if (modseq === undefined) throw new SearchSyntaxError('invalid MODSEQ (0 to 9223372036854775807)');
      return { op: 'modseq', modseq };
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

function objectIdOf(text: string): string {
  if (!isObjectId(text)) throw new SearchSyntaxError('invalid objectid');
  return text;
}

const FLAG_NODE_UNSEEN: SearchNode = { op: 'flag', flag: '\\Seen', set: false };
