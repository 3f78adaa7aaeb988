// The message as a Sieve run sees it: its header fields (which editheader, RFC 5293, may
// change, and the tests that follow then see the change: §2), the addresses in them, its
// body and MIME structure. Parsed lazily: a script that only tests the envelope never
// parses the message; and once: each field's address list is read at most once per run,
// however many tests ask for it.

import { MISSING_DOMAIN, MISSING_MAILBOX, parseAddressList } from '../mime/address-list.js';
import { decodeEncodedWords } from '../mime/encoded-words.js';
import { MAX_ENVELOPE_FIELD_CHARS } from '../mime/envelope.js';
import { findHeaderEnd, parseHeaderFields } from '../mime/header-parser.js';
import type { MimePart } from '../mime/mime-part.js';
import { parseMimeTree } from '../mime/mime-tree.js';
import type { SieveAddress } from './address-parts.js';
import { headerField } from './outgoing-message.js';

export interface MessageField {
  /** As written. */
  readonly name: string;
  /** Unfolded and trimmed, encoded words still encoded. */
  readonly value: string;
  /** The field's bytes as received, CRLF included; null for a field addheader wrote. */
  readonly raw: Uint8Array | null;
}

const LF = 0x0a;

/** Splits the header section into fields, keeping each one's bytes (continuation lines included). */
function splitFields(raw: Uint8Array, end: number): MessageField[] {
  const fields: MessageField[] = [];
  let pos = 0;
  while (pos < end) {
    const start = pos;
    do {
      const lf = raw.indexOf(LF, pos);
      pos = lf < 0 || lf >= end ? end : lf + 1;
    } while (pos < end && (raw[pos] === 0x20 || raw[pos] === 0x09));
    const parsed = parseHeaderFields(raw, start, pos)[0];
    // Junk without a colon is kept in place (so the edited message is the same bytes) but unnamed.
    fields.push({ name: parsed?.name ?? '', value: parsed?.value ?? '', raw: raw.subarray(start, pos) });
  }
  return fields;
}

export class MessageView {
  private fieldList: MessageField[] | null = null;
  /**
   * Per field: its addresses and its decoded value. A field is never changed in place
   * (editheader adds and removes whole fields), so what was read of it stays true.
   */
  private readonly addressCache = new WeakMap<MessageField, readonly SieveAddress[]>();
  private readonly decodedCache = new WeakMap<MessageField, string>();
  private headerEnd = -1;
  private tree: MimePart | null = null;
  private changed = false;

  constructor(readonly raw: Uint8Array) {}

  get size(): number {
    return this.raw.length;
  }

  /** Offset of the body: after the blank line, or the end when there is none. */
  get bodyStart(): number {
    this.fields();
    return this.headerEnd;
  }

  fields(): MessageField[] {
    if (this.fieldList === null) {
      const end = findHeaderEnd(this.raw, 0, this.raw.length);
      this.headerEnd = end < 0 ? this.raw.length : end;
      // The blank line that ends the header is not a field.
      let fieldsEnd = this.headerEnd;
      if (end >= 0) fieldsEnd = this.raw[end - 2] === 0x0d ? end - 2 : end - 1;
      this.fieldList = splitFields(this.raw, Math.max(0, fieldsEnd));
    }
    return this.fieldList;
  }

  /** The fields with this name (case-insensitive), in message order. */
  named(name: string): MessageField[] {
    const wanted = name.toLowerCase();
    return this.fields().filter((field) => field.name !== '' && field.name.toLowerCase() === wanted);
  }

  /** RFC 5228 §5.7: unfolded, RFC 2047 decoded (§2.7.2). */
  headerValues(name: string): string[] {
    return this.named(name).map((field) => {
      let decoded = this.decodedCache.get(field);
      if (decoded === undefined) {
        decoded = decodeEncodedWords(field.value);
        this.decodedCache.set(field, decoded);
      }
      return decoded;
    });
  }

  /** The addresses of one field (headerAddresses), read once per field however often asked. */
  addresses(field: MessageField): readonly SieveAddress[] {
    let list = this.addressCache.get(field);
    if (list === undefined) {
      list = headerAddresses(field.value);
      this.addressCache.set(field, list);
    }
    return list;
  }

  /** The MIME structure of the message as received (editheader does not change the body). */
  mime(): MimePart {
    this.tree ??= parseMimeTree(this.raw);
    return this.tree;
  }

  /** `value` as it is to be written: one line, 7-bit, non-ASCII text in encoded words. */
  addField(name: string, value: string, last: boolean): void {
    const list = this.fields();
    const field: MessageField = { name, value, raw: null };
    if (last) list.push(field);
    else list.unshift(field);
    this.changed = true;
  }

  removeField(field: MessageField): void {
    const list = this.fields();
    const at = list.indexOf(field);
    if (at >= 0) {
      list.splice(at, 1);
      this.changed = true;
    }
  }

  /** The message with the header as edited, or null when editheader changed nothing. */
  edited(): Uint8Array | null {
    if (!this.changed) return null;
    const parts: Uint8Array[] = [];
    for (const field of this.fields()) {
      parts.push(field.raw ?? Buffer.from(`${headerField(field.name, field.value)}\r\n`, 'utf8'));
    }
    parts.push(Buffer.from('\r\n'));
    // The body after the original blank line (the blank line is written above).
    if (this.headerEnd < this.raw.length || findHeaderEnd(this.raw, 0, this.raw.length) >= 0) {
      parts.push(this.raw.subarray(this.headerEnd));
    }
    return Buffer.concat(parts);
  }
}

/**
 * How much of a field's value the address test and vacation read: the same reach as IMAP's
 * ENVELOPE (over a thousand addresses), so a script sees the addresses a client sees. Past
 * it a field costs time for nothing: a 25 MB To field (which port 25 accepts) took seconds
 * to parse for every `address` test. Postfix cuts a whole header at 100 KiB
 * (header_size_limit) and Pigeonhole's vacation reads 256 addresses of a field; a message
 * that came through either never has more to read.
 */
export const MAX_ADDRESS_FIELD_CHARS = MAX_ENVELOPE_FIELD_CHARS;

/**
 * The addresses of a header value (RFC 5322 §3.4), groups flattened, their markers left
 * out. Pigeonhole's reading of broken values: an entry without a local part or a domain is
 * dropped; a value with no valid address at all (but not an empty group) is one invalid
 * address, its text as written. A value longer than MAX_ADDRESS_FIELD_CHARS is read up to
 * there, and the entry the cut falls in is dropped: cut short, "bob@example.org" would be
 * "bob@exam", and match what the whole one does not.
 */
export function headerAddresses(value: string): SieveAddress[] {
  const cut = value.length > MAX_ADDRESS_FIELD_CHARS;
  const text = cut ? value.slice(0, MAX_ADDRESS_FIELD_CHARS) : value;
  const parsed = parseAddressList(text);
  if (cut) {
    // The last mailbox entry, not a group marker the parser closed at the cut.
    const last = parsed.findLastIndex((address) => address.mailbox !== null && address.host !== null);
    if (last >= 0) parsed.splice(last, 1);
  }
  const out: SieveAddress[] = [];
  let invalid = false;
  for (const address of parsed) {
    // Group markers: start (mailbox = group name, no host) and end (all null).
    if (address.host === null || address.mailbox === null) continue;
    if (address.mailbox === MISSING_MAILBOX || address.host === MISSING_DOMAIN) {
      invalid = true;
      continue;
    }
    out.push({ localPart: address.mailbox, domain: address.host });
  }
  // Nothing parsed from text that is no (empty) group, like "<>": invalid as well.
  if (out.length === 0 && !invalid && text.trim() !== '' && !text.includes(':')) invalid = true;
  if (out.length === 0 && invalid) out.push({ localPart: text.trim(), domain: null, invalid: true });
  return out;
}
