import { decodeEncodedWords } from '../../packages/protocol/src/mime/encoded-words.js';
import type { SieveAction, SieveFlags, SieveResult } from '../../packages/protocol/src/sieve/types.js';

// One normal form for what a Sieve run decided, so that Tegami's SieveResult and
// Pigeonhole's sieve-test print (test/support/pigeonhole.ts) compare with toEqual: equal
// behaviour gives equal values, different behaviour does not.
//
// The choices, each for a reason:
// - A store is a store: `keep`, `fileinto "INBOX"` and `fileinto "inbox"` all store into INBOX
//   (Pigeonhole prints "store message in folder: INBOX" for each; RFC 3501 §5.1: INBOX is
//   case-insensitive). The implicit keep stays apart (`implicit-keep`), last, as both put it.
// - Flags (RFC 5232) are compared as a set of lower-cased names: IMAP flags and keywords are
//   case-insensitive, and Pigeonhole de-duplicates and lower-cases system flags. No flag
//   action and an empty flag list both store the message without flags.
// - Texts that sieve-test prints through Dovecot's str_sanitize(…, 128) (mailbox names,
//   reject reasons) get the same treatment on Tegami's side: control characters as '?', cut
//   to 125 bytes + "..." when longer than 128. A line break in a Sieve string is CRLF
//   (RFC 5228 §2.4.2), so "\n" and "\r\n" both become "??".
// - Vacation: the reason's line ends are compared as LF; the handle only when the script
//   names one (`forgetDerivedHandles`): a derived handle is each implementation's own key for
//   its reply database, invisible outside it. A vacation that must not be answered (RFC 5230
//   §4.5/§4.6) is no action at all on either side.
// - Errors: a compile error with the line of the first error; a run-time error (its line is
//   not always given by Pigeonhole) followed by the implicit keep (RFC 5228 §2.10.6), whose
//   flags are not compared.
// - editheader (RFC 5293): the stored message is compared with its header fields unfolded and
//   their encoded words decoded (RFC 2047: `=?utf-8?b?…?=` and `=?UTF-8?Q?…?=` folded
//   elsewhere say the same), the body byte for byte; line ends as LF.
// - duplicate (RFC 7352): how many ids the run would record (Pigeonhole prints a "track
//   duplicate" action for each; Tegami lists them in duplicateMarks).
// - notify (RFC 5435/5436, mailto): compared as Pigeonhole prints it — importance, the subject
//   (:message, else the URI's subject), :from, the recipients ("To: x", "Cc: x"), other URI
//   header fields and the URI's body — so Tegami's URI is taken apart here (RFC 6068).

export type NormalAction =
  | {
      readonly type: 'store';
      /** 'INBOX' for the INBOX in any case. */
      readonly mailbox: string;
      readonly flags: readonly string[];
      /** fileinto :create (RFC 5490). */
      readonly create: boolean;
      /** :copy (RFC 3894): the implicit keep is not cancelled. */
      readonly copy: boolean;
    }
  | { readonly type: 'implicit-keep'; readonly flags: readonly string[] }
  | { readonly type: 'redirect'; readonly address: string; readonly copy: boolean }
  | { readonly type: 'discard' }
  | { readonly type: 'reject'; readonly reason: string }
  | {
      readonly type: 'vacation';
      /** Who the reply goes to; null where only the result print was read. */
      readonly to: string | null;
      readonly seconds: number;
      readonly subject: string | null;
      readonly from: string | null;
      readonly handle: string | null;
      readonly reason: string;
    }
  | {
      readonly type: 'notify';
      /** The URI scheme: 'mailto'. */
      readonly method: string;
      readonly importance: number;
      readonly subject: string | null;
      readonly from: string | null;
      readonly recipients: readonly string[];
      readonly headers: readonly string[];
      readonly body: string | null;
    }
  | { readonly type: 'error'; readonly phase: 'compile'; readonly line: number | null }
  | { readonly type: 'error'; readonly phase: 'runtime' }
  /** A line of sieve-test's output the parser does not know: shows up in a failing diff. */
  | { readonly type: 'unparsed'; readonly text: string };

export interface NormalOutcome {
  readonly actions: readonly NormalAction[];
  /**
   * For scripts that use editheader (RFC 5293): the message as the first store action stores
   * it, line ends as LF (a maildir keeps LF); null when nothing is stored.
   */
  readonly storedMessage?: string | null;
  /** For scripts that use duplicate (RFC 7352): how many ids the run records as seen. */
  readonly duplicateMarks?: number;
}

/**
 * A stored message as compared (see the header comment): LF line ends, header fields
 * unfolded and decoded, whitespace runs in them as one space.
 */
export function comparableMessage(bytes: Uint8Array | string): string {
  const text = (typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('latin1')).replace(
    /\r\n/g,
    '\n',
  );
  const end = text.indexOf('\n\n');
  const header = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end);
  const fields = header
    .replace(/\n[ \t]+/g, ' ')
    .split('\n')
    .map((line) => {
      const colon = line.indexOf(':');
      if (colon < 0) return line;
      const value = decodeEncodedWords(Buffer.from(line.slice(colon + 1), 'latin1').toString('utf8'));
      return `${line.slice(0, colon)}: ${value.replace(/\s+/g, ' ').trim()}`;
    });
  return `${fields.join('\n')}${body}`;
}

/** Dovecot's str_sanitize(text, maxBytes): control characters as '?', long texts cut with "...". */
export function sanitise(text: string, maxBytes = 128): string {
  const clean = [...text].map((ch) => (ch.charCodeAt(0) < 0x20 ? '?' : ch)).join('');
  if (Buffer.byteLength(clean) <= maxBytes) return clean;
  let out = '';
  let bytes = 0;
  for (const ch of clean) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > maxBytes - 3) break;
    out += ch;
    bytes += n;
  }
  return `${out}...`;
}

/** A Sieve string's line breaks are CRLF (RFC 5228 §2.4.2), whatever the script file used. */
const crlf = (text: string) => text.replace(/\r?\n/g, '\r\n');

export function normalFlags(flags: SieveFlags | readonly string[] | undefined): string[] {
  return [...new Set((flags ?? []).filter((f) => f !== '').map((f) => f.toLowerCase()))].sort();
}

function canonicalMailbox(name: string): string {
  const printed = sanitise(name);
  return printed.toUpperCase() === 'INBOX' ? 'INBOX' : printed;
}

/** The mailbox a store or the implicit keep puts the message in. */
export function storeMailbox(a: Extract<NormalAction, { type: 'store' | 'implicit-keep' }>): string {
  return a.type === 'store' ? a.mailbox : 'INBOX';
}

/** A mailto URI (RFC 6068) taken apart as Pigeonhole's enotify mailto method prints it. */
export function mailtoParts(uri: string): {
  recipients: string[];
  headers: string[];
  subject: string | null;
  body: string | null;
} {
  const rest = uri.replace(/^mailto:/i, '');
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q + 1);
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const list = (s: string) =>
    s
      .split(',')
      .map((a) => decode(a).trim())
      .filter((a) => a !== '');
  const recipients = list(path).map((a) => `To: ${a}`);
  const headers: string[] = [];
  let subject: string | null = null;
  let body: string | null = null;
  for (const field of query.split('&')) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    const name = decode(eq < 0 ? field : field.slice(0, eq));
    const value = decode(eq < 0 ? '' : field.slice(eq + 1));
    const lower = name.toLowerCase();
    if (lower === 'to') recipients.push(...list(value).map((a) => `To: ${a}`));
    else if (lower === 'cc') recipients.push(...list(value).map((a) => `Cc: ${a}`));
    else if (lower === 'subject') subject = value;
    else if (lower === 'body') body = value.replace(/\r/g, '');
    else headers.push(`${name}: ${value}`);
  }
  return { recipients, headers, subject, body };
}

function normaliseAction(a: SieveAction): NormalAction {
  switch (a.type) {
    case 'keep':
      return a.implicit
        ? { type: 'implicit-keep', flags: normalFlags(a.flags) }
        : { type: 'store', mailbox: 'INBOX', flags: normalFlags(a.flags), create: false, copy: false };
    case 'fileinto':
      return {
        type: 'store',
        mailbox: canonicalMailbox(a.mailbox),
        flags: normalFlags(a.flags),
        create: a.create,
        copy: a.copy,
      };
    case 'redirect':
      return { type: 'redirect', address: a.address, copy: a.copy };
    case 'discard':
      return { type: 'discard' };
    case 'reject':
      return { type: 'reject', reason: sanitise(crlf(a.reason)) };
    case 'vacation':
      return {
        type: 'vacation',
        to: a.to,
        seconds: a.seconds,
        subject: a.subject,
        from: a.from,
        handle: a.handle,
        reason: a.reason.replace(/\r/g, ''),
      };
    case 'notify': {
      const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(a.method)?.[1]?.toLowerCase() ?? a.method;
      const parts = mailtoParts(a.method);
      return {
        type: 'notify',
        method: scheme,
        importance: a.importance,
        subject: a.message ?? parts.subject,
        from: a.from,
        recipients: parts.recipients,
        headers: parts.headers,
        body: parts.body,
      };
    }
  }
}

/** Tegami's result in the normal form; `message` is what the run was given (for editheader). */
export function normaliseTegami(
  result: SieveResult,
  options: { message?: Uint8Array; editheader?: boolean; duplicate?: boolean } = {},
): NormalOutcome {
  if (result.error !== null) {
    return {
      actions: [
        { type: 'error', phase: 'runtime' },
        { type: 'implicit-keep', flags: [] },
      ],
    };
  }
  const actions = result.actions.map(normaliseAction);
  const stores = actions.some((a) => a.type === 'store' || a.type === 'implicit-keep');
  const bytes = result.editedMessage ?? options.message;
  return {
    actions,
    ...(options.editheader ? { storedMessage: stores && bytes ? comparableMessage(bytes) : null } : {}),
    ...(options.duplicate ? { duplicateMarks: result.duplicateMarks.length } : {}),
  };
}

/** A compile error thrown by compileSieve, in the normal form. */
export function normaliseCompileError(error: unknown): NormalOutcome {
  const line =
    typeof error === 'object' && error !== null && 'position' in error
      ? ((error as { position: { line: number } | null }).position?.line ?? null)
      : null;
  return { actions: [{ type: 'error', phase: 'compile', line }] };
}

/** Vacation handles compared only where the script names one (see the header comment). */
export function forgetDerivedHandles(outcome: NormalOutcome, script: string): NormalOutcome {
  if (/:handle\b/i.test(script)) return outcome;
  return {
    ...outcome,
    actions: outcome.actions.map((a) => (a.type === 'vacation' ? { ...a, handle: null } : a)),
  };
}
