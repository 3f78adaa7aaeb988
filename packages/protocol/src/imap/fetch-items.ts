// FETCH data items (RFC 3501 §6.4.5, RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ,
// RFC 8474 EMAILID and THREADID, RFC 8514 SAVEDATE)
// from command tokens. What each item needs from the store is worked out here too, so a
// FETCH of flags never reads a blob and a FETCH of ENVELOPE never reads more than metadata.

import type { ImapToken } from './command-reader.js';
import { parseSectionSpec, type SectionSpec } from './fetch-section.js';
import { clampToSafe, ImapSyntaxError, parseNumber64, parseNzNumber } from './wire-values.js';

/**
 * `<origin.octets>`: number64s (RFC 9051 §9 partial). Past 2^53 the values are clamped
 * (no message is that large, so nothing changes); `origin` is the offset as the response
 * echoes it, exactly as asked.
 */
export interface Partial {
  readonly offset: number;
  readonly length: number | undefined;
  readonly origin: string;
}

export type FetchItem =
  | {
      readonly kind:
        | 'flags'
        | 'uid'
        | 'internaldate'
        | 'size'
        | 'envelope'
        | 'body'
        | 'bodystructure'
        | 'modseq'
        /** PREVIEW (RFC 8970); `(LAZY)` is taken and changes nothing: it is always computed. */
        | 'preview'
        | 'emailid'
        /** THREADID (RFC 8474 §5.2): named by the thread's root Message-ID (thread-ids.ts). */
        | 'threadid'
        | 'savedate';
    }
  | {
      readonly kind: 'section';
      /** What the response names it: BODY[…], RFC822, RFC822.HEADER or RFC822.TEXT. */
      readonly name: 'BODY' | 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT';
      readonly peek: boolean;
      readonly spec: SectionSpec;
      /** The section text between the brackets, echoed in the response. */
      readonly specText: string;
      readonly partial: Partial | undefined;
    }
  | {
      readonly kind: 'binary' | 'binary-size';
      readonly peek: boolean;
      readonly part: readonly number[];
      readonly partial: Partial | undefined;
    };

export class FetchSyntaxError extends ImapSyntaxError {}

const MACROS: Record<string, readonly string[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

const SIMPLE: Record<string, FetchItem> = {
  FLAGS: { kind: 'flags' },
  UID: { kind: 'uid' },
  INTERNALDATE: { kind: 'internaldate' },
  'RFC822.SIZE': { kind: 'size' },
  ENVELOPE: { kind: 'envelope' },
  BODY: { kind: 'body' },
  BODYSTRUCTURE: { kind: 'bodystructure' },
  MODSEQ: { kind: 'modseq' },
  PREVIEW: { kind: 'preview' },
  EMAILID: { kind: 'emailid' },
  THREADID: { kind: 'threadid' },
  SAVEDATE: { kind: 'savedate' },
};

const WHOLE: SectionSpec = { part: [] };

/** The items of a FETCH: one atom, a macro, or a parenthesised list. */
export function parseFetchItems(token: ImapToken): FetchItem[] {
  if (token.type === 'atom') {
    const macro = MACROS[token.value.toUpperCase()];
    if (macro) return macro.map((name) => parseItem(name));
    return [parseItem(token.value)];
  }
  if (token.type === 'list' && token.items.length > 0) {
    const items: FetchItem[] = [];
    for (let i = 0; i < token.items.length; i++) {
      const item = token.items[i]!;
      if (item.type !== 'atom') throw new FetchSyntaxError('invalid fetch item');
      const parsed = parseItem(item.value);
      items.push(parsed);
      // PREVIEW (LAZY) (RFC 8970 §3): the modifiers are a list after the item.
      const next = token.items[i + 1];
      if (parsed.kind === 'preview' && next?.type === 'list') {
        if (!next.items.every((m) => m.type === 'atom' && m.value.toUpperCase() === 'LAZY'))
          throw new FetchSyntaxError('PREVIEW takes only LAZY');
        i++;
      }
    }
    return items;
  }
  throw new FetchSyntaxError('fetch items expected');
}

function parseItem(text: string): FetchItem {
  const upper = text.toUpperCase();
  const simple = SIMPLE[upper];
  if (simple) return simple;
  if (upper === 'RFC822')
    return { kind: 'section', name: 'RFC822', peek: false, spec: WHOLE, specText: '', partial: undefined };
  if (upper === 'RFC822.HEADER') {
    return {
      kind: 'section',
      name: 'RFC822.HEADER',
      peek: true,
      spec: { part: [], text: 'HEADER' },
      specText: 'HEADER',
      partial: undefined,
    };
  }
  if (upper === 'RFC822.TEXT') {
    return {
      kind: 'section',
      name: 'RFC822.TEXT',
      peek: false,
      spec: { part: [], text: 'TEXT' },
      specText: 'TEXT',
      partial: undefined,
    };
  }
  const m = /^(BODY|BODY\.PEEK|BINARY|BINARY\.PEEK|BINARY\.SIZE)\[([^\]]*)\](?:<(\d+)(?:\.(\d+))?>)?$/i.exec(
    text,
  );
  if (!m) throw new FetchSyntaxError(`unknown fetch item ${text.slice(0, 40)}`);
  const kind = m[1]!.toUpperCase();
  const specText = m[2]!;
  let partial: Partial | undefined;
  if (m[3] !== undefined) {
    if (kind === 'BINARY.SIZE') throw new FetchSyntaxError('BINARY.SIZE takes no partial');
    // RFC 3501 §6.4.5: <origin.octets>; RFC 9051 requires octets, rev1 clients send it too.
    const offset = parseNumber64(m[3]);
    const length = m[4] === undefined ? undefined : parseNumber64(m[4]);
    if (offset === undefined || (m[4] !== undefined && length === undefined)) {
      throw new FetchSyntaxError('partial out of range');
    }
    partial = {
      offset: clampToSafe(offset),
      length: length === undefined ? undefined : clampToSafe(length),
      origin: offset.toString(),
    };
  }
  if (kind.startsWith('BINARY')) {
    // RFC 3516: section-binary is a part number only, each an nz-number (RFC 9051 §9).
    if (!/^(\d+(\.\d+)*)?$/.test(specText)) throw new FetchSyntaxError('invalid binary section');
    const part: number[] = [];
    for (const digits of specText === '' ? [] : specText.split('.')) {
      const n = parseNzNumber(digits);
      if (n === undefined) throw new FetchSyntaxError('invalid binary section');
      part.push(n);
    }
    return {
      kind: kind === 'BINARY.SIZE' ? 'binary-size' : 'binary',
      peek: kind !== 'BINARY',
      part,
      partial,
    };
  }
  const spec = parseSectionSpec(specText);
  if (!spec) throw new FetchSyntaxError(`invalid section ${specText.slice(0, 40)}`);
  return { kind: 'section', name: 'BODY', peek: kind === 'BODY.PEEK', spec, specText, partial };
}

/**
 * Whether the items need the stored metadata (MIME tree, envelope) or the raw message;
 * `header` when every section asked is the top-level header (BODY[HEADER], HEADER.FIELDS
 * and .NOT), which the header's bytes alone answer.
 */
export function fetchNeeds(items: readonly FetchItem[]): {
  metadata: boolean;
  raw: boolean;
  header: boolean;
  /** Present (true) only for FETCH EMAILID. */
  emailId?: true;
} {
  let metadata = false;
  let raw = false;
  let header = true;
  let emailId = false;
  for (const item of items) {
    if (item.kind === 'emailid') emailId = true;
    // THREADID: from the envelope, the References field (the header) and the EMAILID.
    if (item.kind === 'threadid') {
      emailId = true;
      metadata = true;
      raw = true;
    }
    if (item.kind === 'envelope' || item.kind === 'body' || item.kind === 'bodystructure') metadata = true;
    if (item.kind === 'binary-size') metadata = true;
    if (item.kind === 'preview') {
      metadata = true;
      raw = true;
      header = false;
    }
    if (item.kind === 'section' || item.kind === 'binary') {
      metadata = true;
      raw = true;
      if (item.kind !== 'section' || !isTopLevelHeader(item.spec)) header = false;
    }
  }
  return { metadata, raw, header: raw && header, ...(emailId && { emailId: true as const }) };
}

function isTopLevelHeader(spec: SectionSpec): boolean {
  return (
    spec.part.length === 0 &&
    (spec.text === 'HEADER' || spec.text === 'HEADER.FIELDS' || spec.text === 'HEADER.FIELDS.NOT')
  );
}

/** Whether the FETCH sets \Seen (a non-PEEK body item, RFC 3501 §6.4.5). */
export function fetchSetsSeen(items: readonly FetchItem[]): boolean {
  return items.some((item) => (item.kind === 'section' || item.kind === 'binary') && !item.peek);
}
