// SORT keys (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO) and the ordering of messages by
// them. Each message's key is computed once (a column per criterion), then an index array
// is sorted with a comparator that only reads the columns: O(n log n), so 10,000 messages
// sort in a few milliseconds. Strings compare by i;ascii-casemap (RFC 5256 §1, I18NLEVEL=1):
// a–z as A–Z, then by code point (the order of their UTF-8 octets).

import type { EnvelopeAddress } from '../mime/address-list.js';
import { decodeEncodedWords } from '../mime/encoded-words.js';
import type { Envelope } from '../mime/envelope.js';
import { parseHeaderDate } from '../mime/header-date.js';
import { baseSubject } from './base-subject.js';
import type { ImapToken } from './command-tokens.js';

export type SortKey =
  | 'ARRIVAL'
  | 'CC'
  | 'DATE'
  | 'FROM'
  | 'SIZE'
  | 'SUBJECT'
  | 'TO'
  | 'DISPLAYFROM'
  | 'DISPLAYTO';

export interface SortCriterion {
  readonly key: SortKey;
  readonly reverse: boolean;
}

const SORT_KEYS = new Set<string>([
  'ARRIVAL',
  'CC',
  'DATE',
  'FROM',
  'SIZE',
  'SUBJECT',
  'TO',
  'DISPLAYFROM',
  'DISPLAYTO',
]);

/** What a message is sorted (and threaded) by: what the store keeps of it. */
export interface SortableMessage {
  readonly seq: number;
  readonly uid: number;
  readonly internalDate: Date;
  readonly size: number;
  readonly envelope: Envelope;
}

/**
 * sort-criteria = "(" sort-criterion *(SP sort-criterion) ")";
 * sort-criterion = ["REVERSE" SP] sort-key. A message (the BAD's text) when invalid.
 */
export function parseSortCriteria(token: ImapToken | undefined): SortCriterion[] | string {
  if (token?.type !== 'list' || token.items.length === 0) return 'sort criteria expected';
  const criteria: SortCriterion[] = [];
  let reverse = false;
  for (const item of token.items) {
    if (item.type !== 'atom') return 'sort key expected';
    const name = item.value.toUpperCase();
    if (name === 'REVERSE') {
      if (reverse) return 'REVERSE REVERSE';
      reverse = true;
      continue;
    }
    if (!SORT_KEYS.has(name)) return `unknown sort key ${item.value.slice(0, 40)}`;
    criteria.push({ key: name as SortKey, reverse });
    reverse = false;
  }
  if (reverse) return 'REVERSE needs a sort key';
  return criteria;
}

/** The messages in the criteria's order; equal ones in sequence number order (RFC 5256 §3). */
export function sortMessages<M extends SortableMessage>(
  messages: readonly M[],
  criteria: readonly SortCriterion[],
): M[] {
  const columns = criteria.map((c) => ({
    reverse: c.reverse,
    values: messages.map((m) => sortValue(m, c.key)),
  }));
  const order = messages.map((_, i) => i);
  order.sort((a, b) => {
    for (const { reverse, values } of columns) {
      const x = values[a]!;
      const y = values[b]!;
      const c = typeof x === 'number' ? x - (y as number) : compareCodePoints(x, y as string);
      if (c !== 0) return reverse ? -c : c;
    }
    return messages[a]!.seq - messages[b]!.seq;
  });
  return order.map((i) => messages[i]!);
}

function sortValue(message: SortableMessage, key: SortKey): number | string {
  const envelope = message.envelope;
  switch (key) {
    case 'ARRIVAL':
      return message.internalDate.getTime();
    case 'DATE':
      return sentDate(message);
    case 'SIZE':
      return message.size;
    case 'SUBJECT':
      return asciiCasemap(baseSubject(envelope.subject).text);
    case 'FROM':
      return asciiCasemap(envelope.from?.[0]?.mailbox ?? '');
    case 'TO':
      return asciiCasemap(envelope.to?.[0]?.mailbox ?? '');
    case 'CC':
      return asciiCasemap(envelope.cc?.[0]?.mailbox ?? '');
    case 'DISPLAYFROM':
      return asciiCasemap(displayName(envelope.from?.[0]));
    case 'DISPLAYTO':
      return asciiCasemap(displayName(envelope.to?.[0]));
  }
}

/**
 * RFC 5256 §2.2: the Date header's instant (its zone considered); the internal date when
 * the header is missing or cannot be parsed. Milliseconds since the epoch.
 */
export function sentDate(message: { readonly internalDate: Date; readonly envelope: Envelope }): number {
  const parsed = parseHeaderDate(message.envelope.date);
  return parsed ? Date.parse(parsed.sentAt) : message.internalDate.getTime();
}

/**
 * RFC 5957 §3: the first address's display name, encoded words decoded; when it has none
 * (or an empty one), its addr-spec, mailbox@host. No address: "".
 */
export function displayName(address: EnvelopeAddress | undefined): string {
  if (!address) return '';
  const name =
    address.name === null
      ? ''
      : decodeEncodedWords(address.name)
          .replace(/[ \t\r\n]+/g, ' ')
          .trim();
  if (name !== '') return name;
  if (address.mailbox === null) return '';
  return address.host === null ? address.mailbox : `${address.mailbox}@${address.host}`;
}

/** i;ascii-casemap's folding: only a–z change. */
export function asciiCasemap(text: string): string {
  return text.replace(/[a-z]+/g, (s) => s.toUpperCase());
}

/**
 * Code point order (UTF-8 octet order). JavaScript compares UTF-16 units, which puts
 * U+10000… (surrogates, D800–DFFF) before U+E000–U+FFFF; only that case is corrected.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) return fixUp(x) - fixUp(y);
    return x - y;
  }
  return a.length - b.length;
}

/** Surrogates above everything else of the BMP, as their code points are. */
function fixUp(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}
