// Structured MIME header values: Content-Type (RFC 2045 §5.1),
// Content-Disposition (RFC 2183) and their parameters, with RFC 2231
// continuations.
//
// Two views are kept. `params` is what IMAP BODYSTRUCTURE serves: names as
// written, RFC 2231 continuations merged into one "name*" parameter whose
// value stays percent-encoded, the convention Dovecot follows, so that a
// client sees the same bytes from us as from Dovecot. `decodeParams` gives the
// decoded values (charset converted) for search and for the server's own use.

import { decodeCharset } from './charset.js';
import { decodeEncodedWords } from './encoded-words.js';

export interface MimeParam {
  name: string;
  value: string;
}

export interface ContentType {
  /** As written, e.g. "TEXT"; compare lower-cased. */
  type: string;
  subtype: string;
  params: MimeParam[];
}

export interface ContentDisposition {
  type: string;
  params: MimeParam[];
}

// RFC 2045 tspecials, plus space and controls: what ends a token.
const tspecials = new Set([...'()<>@,;:\\"/[]?= \t\r\n']);

class ValueScanner {
  pos = 0;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string {
    return this.text[this.pos] ?? '';
  }

  /** Skips whitespace and (nested) comments: CFWS in RFC 5322 terms. */
  skipCfws(): void {
    while (!this.done) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
        this.pos++;
      } else if (c === '(') {
        let depth = 0;
        while (!this.done) {
          const d = this.text[this.pos++];
          if (d === '\\') this.pos++;
          else if (d === '(') depth++;
          else if (d === ')' && --depth === 0) break;
        }
      } else {
        return;
      }
    }
  }

  token(): string {
    const start = this.pos;
    while (!this.done) {
      const c = this.text.charCodeAt(this.pos);
      if (c < 0x20 || c === 0x7f || tspecials.has(this.text[this.pos]!)) break;
      this.pos++;
    }
    return this.text.slice(start, this.pos);
  }

  quotedString(): string {
    this.pos++; // opening quote
    let out = '';
    while (!this.done) {
      const c = this.text[this.pos++]!;
      if (c === '"') return out;
      if (c === '\\' && !this.done) out += this.text[this.pos++];
      else out += c;
    }
    return out; // unterminated: keep what there is
  }
}

function parseParams(scanner: ValueScanner): MimeParam[] {
  const params: MimeParam[] = [];
  while (true) {
    scanner.skipCfws();
    if (scanner.done) break;
    if (scanner.peek() !== ';') {
      scanner.pos++; // junk between parameters: skip it and resynchronise
      continue;
    }
    scanner.pos++;
    scanner.skipCfws();
    const name = scanner.token();
    scanner.skipCfws();
    if (name === '' || scanner.peek() !== '=') continue;
    scanner.pos++;
    scanner.skipCfws();
    let value: string;
    if (scanner.peek() === '"') {
      value = scanner.quotedString();
    } else if (scanner.peek() === '=') {
      // unquoted encoded word (name==?utf-8?b?...?=): broken but common
      const start = scanner.pos;
      while (!scanner.done && !';\t \r\n'.includes(scanner.peek())) scanner.pos++;
      value = scanner.text.slice(start, scanner.pos);
    } else {
      value = scanner.token();
    }
    params.push({ name, value });
  }
  return mergeRfc2231Continuations(params);
}

/** Parses a Content-Type value; null when it has no valid type/subtype. */
export function parseContentType(value: string): ContentType | null {
  const scanner = new ValueScanner(value);
  scanner.skipCfws();
  const type = scanner.token();
  scanner.skipCfws();
  if (type === '' || scanner.peek() !== '/') return null;
  scanner.pos++;
  scanner.skipCfws();
  const subtype = scanner.token();
  if (subtype === '') return null;
  return { type, subtype, params: parseParams(scanner) };
}

/** Parses a Content-Disposition value; null when it has no disposition type. */
export function parseContentDisposition(value: string): ContentDisposition | null {
  const scanner = new ValueScanner(value);
  scanner.skipCfws();
  const type = scanner.token();
  if (type === '') return null;
  return { type, params: parseParams(scanner) };
}

/** Content-Language (RFC 3282): a comma-separated list of language tags. */
export function parseContentLanguage(value: string): string[] {
  const scanner = new ValueScanner(value);
  const tags: string[] = [];
  while (true) {
    scanner.skipCfws();
    const tag = scanner.token();
    if (tag === '') break;
    tags.push(tag);
    scanner.skipCfws();
    if (scanner.peek() !== ',') break;
    scanner.pos++;
  }
  return tags;
}

interface Section {
  key: string;
  index: number;
  extended: boolean;
  value: string;
}

/**
 * RFC 2231 §3/§4: name*0*=..., name*1=... are one parameter. Merged the way
 * Dovecot's rfc2231_parse does (its output is what BODYSTRUCTURE must match):
 * plain parameters first in their order, then each merged one as "name*"
 * (when any section was extended) with the non-extended sections' "%"
 * escaped so the whole value stays decodable. A set with a missing index is
 * left unmerged.
 */
export function mergeRfc2231Continuations(params: readonly MimeParam[]): MimeParam[] {
  const plain: MimeParam[] = [];
  const sections: Section[] = [];
  for (const param of params) {
    const match = /^([^*]+)\*(\d*)(\*?)$/.exec(param.name);
    // An index past what an unsigned int holds (Dovecot's limit) names no section: kept as
    // written, not renamed "a*2.2e+21" (issue 21, found by the mime-parameters fuzz target).
    if (!match || Number(match[2]) > 0xffff_ffff) {
      plain.push(param);
      continue;
    }
    const [, key, digits, star] = match;
    // "name*" alone is one extended section (RFC 2231 §4)
    const bareExtended = digits === '';
    sections.push({
      key: key!,
      index: bareExtended ? 0 : Number.parseInt(digits!, 10),
      extended: bareExtended ? true : star === '*',
      value: param.value,
    });
  }
  if (sections.length === 0) return plain;
  sections.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index));
  const merged: MimeParam[] = [];
  for (let i = 0; i < sections.length; ) {
    let j = i;
    let contiguous = true;
    let anyExtended = false;
    while (j < sections.length && sections[j]!.key.toLowerCase() === sections[i]!.key.toLowerCase()) {
      if (sections[j]!.index !== j - i) contiguous = false;
      if (sections[j]!.extended) anyExtended = true;
      j++;
    }
    const group = sections.slice(i, j);
    if (!contiguous) {
      for (const s of group)
        merged.push({ name: `${s.key}*${s.index}${s.extended ? '*' : ''}`, value: s.value });
    } else {
      let value = !group[0]!.extended && anyExtended ? "''" : '';
      for (const s of group) value += !s.extended && anyExtended ? s.value.replaceAll('%', '%25') : s.value;
      merged.push({ name: anyExtended ? `${group[0]!.key}*` : group[0]!.key, value });
    }
    i = j;
  }
  return [...plain, ...merged];
}

function percentDecode(text: string): Uint8Array {
  const bytes: number[] = [];
  const utf8 = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '%' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...utf8.encode(c));
    }
  }
  return Uint8Array.from(bytes);
}

/** Decodes an RFC 2231 extended value: charset'language'percent-encoded-octets. */
export function decodeRfc2231Value(value: string): string {
  const first = value.indexOf("'");
  const second = first < 0 ? -1 : value.indexOf("'", first + 1);
  if (second < 0) return decodeCharset(percentDecode(value), 'utf-8');
  return decodeCharset(percentDecode(value.slice(second + 1)), value.slice(0, first) || 'us-ascii');
}

/**
 * Parameter values decoded for use: names lower-cased, "name*" values
 * RFC 2231-decoded (which wins over a plain "name", RFC 2231 §4), plain values
 * with encoded words decoded (a common RFC 2047 misuse, e.g.
 * name="=?UTF-8?B?...?=").
 */
export function decodeParams(params: readonly MimeParam[]): Record<string, string> {
  // no prototype: a parameter named "__proto__" must stay a plain key
  const decoded: Record<string, string> = Object.create(null);
  const fromExtended = new Set<string>();
  for (const { name, value } of params) {
    const lower = name.toLowerCase();
    if (lower.endsWith('*') && !/\*\d+\*?$/.test(lower)) {
      const key = lower.slice(0, -1);
      decoded[key] = decodeRfc2231Value(value);
      fromExtended.add(key);
    } else if (!fromExtended.has(lower) && !(lower in decoded)) {
      decoded[lower] = decodeEncodedWords(value);
    }
  }
  return decoded;
}
