// The messages of an APPEND (RFC 3501 §6.3.11, extended by RFC 4466 §2.1) and of a
// REPLACE (RFC 8508), as the client sends them:
//
//   append          = "APPEND" SP mailbox 1*append-message         ; RFC 3502 MULTIAPPEND
//   append-message  = append-opts SP append-data
//   append-opts     = [SP flag-list] [SP date-time]
//   append-data     = literal / literal8                            ; RFC 3516
//                   / "UTF8" SP "(" literal8 ")"                    ; RFC 6855 §4
//                   / "CATENATE" SP "(" cat-part *(SP cat-part) ")" ; RFC 4469
//   cat-part        = "TEXT" SP literal / "URL" SP astring
//
// Pure parsing: the bytes of a CATENATE are put together later (catenate.ts), against the
// store.

import type { ImapToken } from '../command-tokens.js';
import { parseInternalDate } from '../response.js';
import { checkAstring } from '../wire-values.js';
import { bad, type ImapReply } from './command-spec.js';
import { validFlag } from './flags.js';

export type CatenatePart =
  | { readonly kind: 'text'; readonly data: Buffer }
  | { readonly kind: 'url'; readonly url: string };

export interface AppendMessageRequest {
  readonly flags: readonly string[];
  readonly internalDate: Date | undefined;
  readonly data:
    | { readonly kind: 'literal'; readonly raw: Buffer }
    | { readonly kind: 'catenate'; readonly parts: readonly CatenatePart[] };
}

/**
 * The append-messages in `args` (after the mailbox, or after REPLACE's message number and
 * mailbox); `one` when only one may be given (REPLACE, RFC 8508 §6).
 */
export function parseAppendMessages(
  args: readonly ImapToken[],
  utf8: boolean,
  one: boolean,
): AppendMessageRequest[] | ImapReply {
  const messages: AppendMessageRequest[] = [];
  let at = 0;
  while (at < args.length) {
    const flags: string[] = [];
    const list = args[at];
    if (list?.type === 'list') {
      for (const token of list.items) {
        if (token.type !== 'atom' || !validFlag(token.value)) return bad('invalid flag');
        // RFC 3501 §6.3.11: \Recent cannot be set; it is dropped, as Dovecot does.
        if (token.value.toLowerCase() !== '\\recent') flags.push(token.value);
      }
      at++;
    }
    let internalDate: Date | undefined;
    const maybeDate = args[at];
    if (maybeDate?.type === 'string' && !maybeDate.literal) {
      internalDate = parseInternalDate(maybeDate.value.toString('latin1'));
      if (!internalDate) return bad('invalid date-time');
      at++;
    }
    const data = appendData(args, at, utf8);
    if ('status' in data) return data;
    messages.push({ flags, internalDate, data: data.data });
    at = data.next;
  }
  if (messages.length === 0) return bad('APPEND needs a message');
  if (one && messages.length > 1) return bad('REPLACE takes one message');
  return messages;
}

function appendData(
  args: readonly ImapToken[],
  at: number,
  utf8: boolean,
): { data: AppendMessageRequest['data']; next: number } | ImapReply {
  const token = args[at];
  if (token?.type === 'string') return { data: { kind: 'literal', raw: token.value }, next: at + 1 };
  const inner = args[at + 1];
  const word = token?.type === 'atom' ? token.value.toUpperCase() : undefined;
  if (word === 'UTF8' && inner?.type === 'list') {
    const raw = utf8Literal(inner, utf8);
    return 'status' in raw ? raw : { data: { kind: 'literal', raw: raw.data }, next: at + 2 };
  }
  if (word === 'CATENATE' && inner?.type === 'list') {
    const parts = catenateParts(inner.items, utf8);
    return 'status' in parts ? parts : { data: { kind: 'catenate', parts }, next: at + 2 };
  }
  return bad('APPEND needs a message literal');
}

/** RFC 6855 §4: `UTF8 (~{n}…)`, only once UTF8=ACCEPT is enabled. */
function utf8Literal(list: ImapToken & { type: 'list' }, utf8: boolean): { data: Buffer } | ImapReply {
  if (!utf8) return bad('UTF8 needs ENABLE UTF8=ACCEPT');
  const only = list.items[0];
  if (list.items.length !== 1 || only?.type !== 'string') return bad('UTF8 takes one message');
  return { data: only.value };
}

function catenateParts(items: readonly ImapToken[], utf8: boolean): CatenatePart[] | ImapReply {
  if (items.length === 0) return bad('CATENATE needs at least one part');
  const parts: CatenatePart[] = [];
  for (let i = 0; i < items.length; i += 2) {
    const word = items[i];
    const value = items[i + 1];
    const kind = word?.type === 'atom' ? word.value.toUpperCase() : undefined;
    if (kind === 'TEXT' && value?.type === 'string') {
      parts.push({ kind: 'text', data: value.value });
    } else if (kind === 'UTF8' && value?.type === 'list') {
      // RFC 6855 §4: cat-part =/ "UTF8" SP "(" literal8 ")".
      const raw = utf8Literal(value, utf8);
      if ('status' in raw) return raw;
      parts.push({ kind: 'text', data: raw.data });
    } else if (kind === 'URL') {
      const url = checkAstring(value, 'URL');
      if ('problem' in url) return bad(url.problem);
      parts.push({ kind: 'url', url: url.text });
    } else {
      return bad('CATENATE parts are TEXT literals and URLs');
    }
  }
  return parts;
}
