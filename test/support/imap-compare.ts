import { formatImapValue, type ImapValue, imapValuesEqual, isImapString } from './imap-client.js';

// Structural comparison of IMAP FETCH values (ENVELOPE, BODYSTRUCTURE, ...) from two
// servers, with readable locations ("part 1.2 subtype", "envelope from[0].name") and the
// normalisations RFC 3501 leaves free (explained in test/imap-mime-dovecot.test.ts; used
// there and by test/imap-differential.test.ts):
// strings quoted or literal, NIL in any case, spacing between list elements, and the case
// of media type/subtype, Content-Transfer-Encoding and parameter names. Sizes are skipped
// for messages with a bare LF (Dovecot counts each as CRLF, Tegami serves bytes as stored).

export interface Difference {
  readonly message: string;
  readonly item: string;
  /** Where in the item, e.g. "part 1.2 subtype" or "envelope from[0].name". */
  readonly where: string;
  readonly dovecot: string;
  readonly tegami: string;
}

export const show = (value: ImapValue | undefined): string =>
  value === undefined ? '(absent)' : formatImapValue(value);

/** An LF not preceded by CR anywhere in the message. */
export function hasBareLf(raw: Buffer): boolean {
  for (let i = raw.indexOf(0x0a); i >= 0; i = raw.indexOf(0x0a, i + 1)) {
    if (i === 0 || raw[i - 1] !== 0x0d) return true;
  }
  return false;
}

/** A string with A-Z lower-cased (ASCII only), anything else unchanged. */
function asciiLower(value: ImapValue | undefined): ImapValue | undefined {
  if (value === undefined || value === null || !isImapString(value)) return value;
  return { string: Buffer.from(value.string.map((b) => (b >= 0x41 && b <= 0x5a ? b + 0x20 : b))) };
}

/** A body parameter list ("name" "value" ...) with the names lower-cased, values unchanged. */
function lowerParamNames(value: ImapValue | undefined): ImapValue | undefined {
  if (!Array.isArray(value)) return value;
  return value.map((v, i) => (i % 2 === 0 ? (asciiLower(v) ?? null) : v));
}

/** A copy of a body with the case-insensitive fields lower-cased (see the normalisations above). */
export function foldBodyCase(body: ImapValue[], multipartParts: number): ImapValue[] {
  const out = [...body];
  const fold = (i: number, f: (v: ImapValue | undefined) => ImapValue | undefined) => {
    if (i < out.length) out[i] = f(out[i]) ?? null;
  };
  if (multipartParts > 0) {
    fold(multipartParts, asciiLower); // subtype
    fold(multipartParts + 1, lowerParamNames);
  } else {
    fold(0, asciiLower); // type
    fold(1, asciiLower); // subtype
    fold(2, lowerParamNames);
    fold(5, asciiLower); // encoding
  }
  return out;
}

export class Comparison {
  readonly differences: Difference[] = [];

  constructor(
    private readonly message: string,
    private readonly item: string,
    /** Skip body part sizes: the message has a bare LF (see the normalisations above). */
    private readonly skipSizes = false,
  ) {}

  report(where: string, dovecot: ImapValue | undefined, tegami: ImapValue | undefined): void {
    this.differences.push({
      message: this.message,
      item: this.item,
      where,
      dovecot: show(dovecot),
      tegami: show(tegami),
    });
  }

  /** Compares two values; lists of equal length element by element, labelling each with names[i]. */
  values(where: string, d: ImapValue | undefined, t: ImapValue | undefined, names?: readonly string[]): void {
    if (d === undefined || t === undefined) {
      if (d !== t) this.report(where, d, t);
      return;
    }
    if (imapValuesEqual(d, t)) return;
    if (Array.isArray(d) && Array.isArray(t) && d.length === t.length) {
      d.forEach((v, i) => {
        this.values(`${where}${names ? ` ${names[i] ?? i}` : `[${i}]`}`, v, t[i]);
      });
      return;
    }
    this.report(where, d, t);
  }

  /** fields of two lists side by side by name, absent ones reported as such. */
  fields(
    where: string,
    names: readonly string[],
    d: ImapValue[],
    t: ImapValue[],
    [df, tf]: [number, number],
    section: string,
  ): void {
    const count = Math.max(names.length, d.length - df, t.length - tf);
    for (let i = 0; i < count; i++) {
      const name = names[i] ?? `extra[${i}]`;
      const dv = d[df + i];
      const tv = t[tf + i];
      if (name === 'size' && this.skipSizes) continue;
      if (name === 'envelope') this.envelope(`${where} envelope`, dv, tv);
      else if (name === 'body') this.body(`${where} body`, dv, tv, section);
      else this.values(`${where} ${name}`, dv, tv);
    }
  }

  envelope(where: string, d: ImapValue | undefined, t: ImapValue | undefined): void {
    const names = [
      'date',
      'subject',
      'from',
      'sender',
      'reply-to',
      'to',
      'cc',
      'bcc',
      'in-reply-to',
      'message-id',
    ];
    if (!Array.isArray(d) || !Array.isArray(t)) {
      this.values(where, d, t);
      return;
    }
    for (let i = 0; i < Math.max(names.length, d.length, t.length); i++) {
      const label = `${where} ${names[i] ?? `extra[${i}]`}`;
      const dv = d[i];
      const tv = t[i];
      if (i >= 2 && i <= 7 && Array.isArray(dv) && Array.isArray(tv) && dv.length === tv.length) {
        dv.forEach((address, n) => {
          this.values(`${label}[${n}]`, address, tv[n], ['name', 'adl', 'mailbox', 'host']);
        });
      } else this.values(label, dv, tv);
    }
  }

  /**
   * A body structure (RFC 3501 §9 "body"), labelled by IMAP section: "part 1.2 subtype".
   * Parts of a multipart are compared only when both sides have as many.
   */
  body(where: string, dBody: ImapValue | undefined, tBody: ImapValue | undefined, section: string): void {
    if (!Array.isArray(dBody) || !Array.isArray(tBody) || dBody.length === 0 || tBody.length === 0) {
      this.values(where, dBody, tBody);
      return;
    }
    const dParts = dBody.findIndex((v) => !Array.isArray(v));
    const tParts = tBody.findIndex((v) => !Array.isArray(v));
    const d = foldBodyCase(dBody, dParts);
    const t = foldBodyCase(tBody, tParts);
    const dMulti = dParts > 0;
    const tMulti = tParts > 0;
    if (dMulti !== tMulti) {
      this.report(`${where} (multipart on one side only)`, d, t);
      return;
    }
    const sub = (i: number) => (section === '' ? String(i + 1) : `${section}.${i + 1}`);
    if (dMulti) {
      if (dParts !== tParts) {
        this.report(`${where} (${dParts} parts vs ${tParts})`, d, t);
        return;
      }
      for (let i = 0; i < dParts; i++) this.body(`part ${sub(i)}`, d[i], t[i], sub(i));
      const names = ['subtype', 'params', 'disposition', 'language', 'location'];
      this.fields(where, names, d, t, [dParts, tParts], section);
      return;
    }
    const lower = (v: ImapValue | undefined) =>
      v !== undefined && v !== null && isImapString(v) ? v.string.toString('latin1').toLowerCase() : '';
    const dType = `${lower(d[0])}/${lower(d[1])}`;
    const tType = `${lower(t[0])}/${lower(t[1])}`;
    if (dType !== tType) {
      // Different kinds of part have different fields: no point comparing them one by one.
      this.report(`${where} (type ${dType} vs ${tType})`, d, t);
      return;
    }
    const basic = ['type', 'subtype', 'params', 'id', 'description', 'encoding', 'size'];
    const ext = ['md5', 'disposition', 'language', 'location'];
    const names =
      dType === 'message/rfc822'
        ? [...basic, 'envelope', 'body', 'lines', ...ext]
        : d[0] !== null && isImapString(d[0]!) && lower(d[0]) === 'text'
          ? [...basic, 'lines', ...ext]
          : [...basic, ...ext];
    // A single-part message body is section 1; a message/rfc822 part's body parts are S.1, S.2...
    this.fields(where, names, d, t, [0, 0], section === '' ? '1' : section);
  }
}
