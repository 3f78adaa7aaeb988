// NOTIFY's arguments (RFC 5465 §8 grammar): tokens to a typed request, or the BAD that
// answers them. Events the server does not offer are not a syntax error: they come back
// in the request and the handler refuses them with NO [BADEVENT] (RFC 5465 §3.1).

import type { ImapToken } from '../command-tokens.js';
import { parseFetchItems } from '../fetch-items.js';
import { checkAstring, ImapSyntaxError } from '../wire-values.js';
import { bad, type ImapReply } from './command-spec.js';

/** The events RFC 5465 §5 defines, spelled as it spells them (the wire is case-insensitive). */
export const NOTIFY_EVENTS = [
  'MessageNew',
  'MessageExpunge',
  'FlagChange',
  'AnnotationChange',
  'MailboxName',
  'SubscriptionChange',
  'MailboxMetadataChange',
  'ServerMetadataChange',
] as const;

export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

export type NotifyFilter =
  /** The selected mailbox; 'selected-delayed' holds EXPUNGEs until they are allowed (RFC 5465 §6). */
  | { readonly kind: 'selected' | 'selected-delayed' }
  | { readonly kind: 'inboxes' | 'personal' | 'subscribed' }
  /** Mailbox names as the client sent them (decoded by the handler, which knows UTF8=ACCEPT). */
  | { readonly kind: 'subtree' | 'mailboxes'; readonly names: readonly string[] };

export interface NotifyGroup {
  readonly filter: NotifyFilter;
  /** Empty for NONE: no events for these mailboxes. */
  readonly events: readonly NotifyEvent[];
  /** Events named that RFC 5465 does not define (event-ext), as sent. */
  readonly unknown: readonly string[];
  /** MessageNew's fetch-att list (selected filters only), to FETCH each new message with. */
  readonly fetch?: ImapToken;
}

export type NotifyRequest =
  | { readonly kind: 'none' }
  | { readonly kind: 'set'; readonly status: boolean; readonly groups: readonly NotifyGroup[] };

const FILTERS: ReadonlySet<string> = new Set([
  'SELECTED',
  'SELECTED-DELAYED',
  'INBOXES',
  'PERSONAL',
  'SUBSCRIBED',
  'SUBTREE',
  'MAILBOXES',
]);
const EVENT_BY_NAME = new Map<string, NotifyEvent>(NOTIFY_EVENTS.map((e) => [e.toUpperCase(), e]));
/** An event-ext is an atom (RFC 5465 §8); the names of those the server refuses are echoed, so keep them short. */
const EVENT_EXT = /^[A-Za-z0-9_.-]{1,64}$/;

export function parseNotify(args: readonly ImapToken[]): NotifyRequest | ImapReply {
  const verb = args[0]?.type === 'atom' ? args[0].value.toUpperCase() : undefined;
  if (verb === 'NONE') return args.length === 1 ? { kind: 'none' } : bad('NOTIFY NONE takes no arguments');
  if (verb !== 'SET') return bad('NOTIFY needs SET or NONE');
  let rest = args.slice(1);
  const status = rest[0]?.type === 'atom' && rest[0].value.toUpperCase() === 'STATUS';
  if (status) rest = rest.slice(1);
  if (rest.length === 0) return bad('NOTIFY SET needs at least one event group');
  const groups: NotifyGroup[] = [];
  for (const token of rest) {
    const group = parseGroup(token);
    if ('status' in group) return group;
    const selected = group.filter.kind === 'selected' || group.filter.kind === 'selected-delayed';
    if (
      selected &&
      groups.some((g) => g.filter.kind === 'selected' || g.filter.kind === 'selected-delayed')
    ) {
      return bad('only one SELECTED or SELECTED-DELAYED filter');
    }
    groups.push(group);
  }
  return { kind: 'set', status, groups };
}

function parseGroup(token: ImapToken): NotifyGroup | ImapReply {
  if (token.type !== 'list' || token.items.length < 2) return bad('an event group is (filter events)');
  const [head, ...tail] = token.items;
  const filterName = head!.type === 'atom' ? head!.value.toUpperCase() : '';
  if (!FILTERS.has(filterName)) return bad('unknown NOTIFY filter');
  let filter: NotifyFilter;
  let eventsToken: ImapToken | undefined;
  if (filterName === 'SUBTREE' || filterName === 'MAILBOXES') {
    const names = mailboxNames(tail[0]);
    if (!Array.isArray(names)) return names as ImapReply;
    filter = { kind: filterName === 'SUBTREE' ? 'subtree' : 'mailboxes', names };
    if (tail.length !== 2) return bad('an event group is (filter mailboxes events)');
    eventsToken = tail[1];
  } else {
    filter = {
      kind: filterName.toLowerCase() as
        | 'selected'
        | 'selected-delayed'
        | 'inboxes'
        | 'personal'
        | 'subscribed',
    };
    if (tail.length !== 1) return bad('an event group is (filter events)');
    eventsToken = tail[0];
  }
  return parseEvents(filter, eventsToken!);
}

/** one-or-more-mailbox: a mailbox, or a parenthesised list of at least one. */
function mailboxNames(token: ImapToken | undefined): string[] | ImapReply {
  const tokens = token?.type === 'list' ? token.items : token ? [token] : [];
  if (tokens.length === 0) return bad('SUBTREE and MAILBOXES need at least one mailbox');
  const names: string[] = [];
  for (const item of tokens) {
    const checked = checkAstring(item, 'mailbox name');
    if ('problem' in checked) return bad(checked.problem);
    names.push(checked.text);
  }
  return names;
}

function parseEvents(filter: NotifyFilter, token: ImapToken): NotifyGroup | ImapReply {
  if (token.type === 'atom' && token.value.toUpperCase() === 'NONE')
    return { filter, events: [], unknown: [] };
  if (token.type !== 'list' || token.items.length === 0) return bad('events are NONE or a list of events');
  const selected = filter.kind === 'selected' || filter.kind === 'selected-delayed';
  const events: NotifyEvent[] = [];
  const unknown: string[] = [];
  let fetch: ImapToken | undefined;
  const items = token.items;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (item.type !== 'atom' || !EVENT_EXT.test(item.value)) return bad('an event is an atom');
    const event = EVENT_BY_NAME.get(item.value.toUpperCase());
    if (!event) {
      unknown.push(item.value);
      continue;
    }
    if (!events.includes(event)) events.push(event);
    const next = items[i + 1];
    if (event === 'MessageNew' && next?.type === 'list') {
      // RFC 5465 §5.2: fetch attributes only make sense where there are sequence numbers.
      if (!selected) return bad('MessageNew fetch attributes are for the selected mailbox only');
      if (next.items.length === 0) return bad('MessageNew fetch attributes are a non-empty list');
      try {
        parseFetchItems(next);
      } catch (err) {
        if (err instanceof ImapSyntaxError) return bad(`MessageNew fetch attributes: ${err.message}`);
        throw err;
      }
      fetch = next;
      i++;
    }
  }
  const has = (e: NotifyEvent) => events.includes(e);
  // RFC 5465 §5: MessageNew and MessageExpunge go together, and FlagChange and
  // AnnotationChange need both (sequence numbers would drift otherwise).
  if (has('MessageNew') !== has('MessageExpunge')) return bad('MessageNew and MessageExpunge go together');
  if ((has('FlagChange') || has('AnnotationChange')) && !has('MessageNew')) {
    return bad('FlagChange and AnnotationChange need MessageNew and MessageExpunge');
  }
  return { filter, events, unknown, ...(fetch && { fetch }) };
}
