import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatBodyStructure, formatEnvelope, parseMessage } from '@tegami/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DovecotImap, startDovecotImap } from './support/dovecot-imap.js';
import { generateMessages } from './support/generated-messages.js';
import {
  formatImapValue,
  ImapTestClient,
  type ImapValue,
  imapValuesEqual,
  isImapAtom,
  isImapString,
  parseFetchResponse,
  parseImapValues,
} from './support/imap-client.js';

// Differential test of Tegami's MIME layer against Dovecot (Debian's dovecot-imapd, run
// privately by support/dovecot-imap.ts): every corpus message and a few hundred generated
// ones are APPENDed to Dovecot, and its FETCH ENVELOPE, BODYSTRUCTURE and RFC822.SIZE are
// compared with what Tegami computes from the same bytes (formatEnvelope,
// formatBodyStructure(root, true), parseMessage().size).
//
// Both sides are parsed into value trees (support/imap-client.ts) and compared
// structurally. Normalisations, all of them freedoms RFC 3501 gives the server:
// - a string may be sent quoted or as a literal (§4.3): both parse to the same octets;
// - NIL is an atom and case-insensitive (§9 "nil"): any case parses to NIL;
// - spacing between list elements: Dovecot and Tegami write no space between the
//   addresses of an address list or the parts of a multipart ("((...)(...))", as RFC
//   3501's own examples), and the grammar has no whitespace there; the parser accepts
//   both.
// - the case of a body's media type and subtype, its Content-Transfer-Encoding and the
//   attribute names of its Content-Type parameters (the "params" list), in single parts
//   and multiparts: RFC 2045 §5.1 and §6.1 make them case-insensitive, and RFC 3501
//   §7.4.2 passes them on as strings the client compares without case. Dovecot writes
//   them as the message does, except for a single-part top-level text/plain 7bit
//   us-ascii message, which it always writes in lower case ("text" "plain" ("charset"
//   "us-ascii") NIL NIL "7bit"); Tegami writes them as the message does. Both sides are
//   compared lower-cased (ASCII). Parameter values, disposition and everything else keep
//   their case.
// Nothing else is normalised: parameter values, disposition, envelope and header values
// must match octet for octet.
//
// One comparison is skipped: for a message with a bare LF (an LF not preceded by CR,
// e.g. corpus/malformed.eml), RFC822.SIZE and the body parts' size fields. Dovecot
// counts each bare LF as CRLF there (the size of the message as IMAP would send it
// canonicalised), while Tegami serves BODY[] and RFC822.SIZE byte for byte from the
// stored blob, a deliberate rule, so its sizes are one octet smaller per bare LF. Line
// counts do not depend on it and are still compared.
//
// Every difference is collected (message, item, where in the item, both values) and the
// single assertion is that there are none.

const corpusDir = new URL('../../shared/corpus/', import.meta.url);

interface Sample {
  readonly name: string;
  readonly raw: Buffer;
}

interface Difference {
  readonly message: string;
  readonly item: string;
  /** Where in the item, e.g. "part 1.2 subtype" or "envelope from[0].name". */
  readonly where: string;
  readonly dovecot: string;
  readonly tegami: string;
}

function corpus(): Sample[] {
  const dir = fileURLToPath(corpusDir);
  if (!existsSync(dir)) throw new Error(`the shared corpus is not at ${dir}`);
  return readdirSync(dir)
    .filter((file) => file.endsWith('.eml'))
    .sort()
    .map((file) => ({ name: `corpus/${file}`, raw: readFileSync(new URL(file, corpusDir)) }));
}

const samples: Sample[] = [
  ...corpus(),
  ...generateMessages(300, 1).map((raw, i) => ({ name: `generated[${i}]`, raw })),
];

// --- Structural comparison with readable locations --------------------------------------

const show = (value: ImapValue | undefined): string =>
  value === undefined ? '(absent)' : formatImapValue(value);

/** An LF not preceded by CR anywhere in the message. */
function hasBareLf(raw: Buffer): boolean {
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
function foldBodyCase(body: ImapValue[], multipartParts: number): ImapValue[] {
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

class Comparison {
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

function parseOne(text: string): ImapValue {
  const values = parseImapValues(Buffer.from(text, 'utf8'));
  if (values.length !== 1) throw new Error(`expected one value, got ${values.length}`);
  return values[0]!;
}

/** Tegami's side for one message, each item parsed like Dovecot's; a parse failure is a difference too. */
function compareMessage(sample: Sample, dovecot: Map<string, ImapValue>): Difference[] {
  const parsed = parseMessage(sample.raw);
  const skipSizes = hasBareLf(sample.raw);
  const out: Difference[] = [];
  const items: [string, () => string][] = [
    ['ENVELOPE', () => formatEnvelope(parsed.envelope)],
    ['BODYSTRUCTURE', () => formatBodyStructure(parsed.root, true)],
    ...(skipSizes ? [] : [['RFC822.SIZE', () => String(parsed.size)] as [string, () => string]]),
  ];
  for (const [item, tegamiText] of items) {
    const comparison = new Comparison(sample.name, item, skipSizes);
    let tegami: ImapValue;
    let text = '';
    try {
      text = tegamiText();
      tegami = parseOne(text);
    } catch (err) {
      comparison.report(`(Tegami's value does not parse: ${(err as Error).message})`, dovecot.get(item), {
        string: Buffer.from(text, 'utf8'),
      });
      out.push(...comparison.differences);
      continue;
    }
    const theirs = dovecot.get(item);
    if (item === 'ENVELOPE') comparison.envelope('envelope', theirs, tegami);
    else if (item === 'BODYSTRUCTURE') comparison.body('root', theirs, tegami, '');
    else comparison.values('size', theirs, tegami);
    out.push(...comparison.differences);
  }
  return out;
}

function formatDifference(d: Difference): string {
  return `${d.message} ${d.item} ${d.where}:\n    dovecot: ${d.dovecot}\n    tegami:  ${d.tegami}`;
}

// --- The test ---------------------------------------------------------------------------

describe('IMAP MIME metadata against Dovecot', () => {
  let dovecot: DovecotImap;
  let client: ImapTestClient;
  /** Dovecot's FETCH items per sample index; missing when APPEND or FETCH failed. */
  const fetched = new Map<number, Map<string, ImapValue>>();
  const appendFailures: Difference[] = [];

  beforeAll(async () => {
    dovecot = await startDovecotImap();
    client = await ImapTestClient.connect(dovecot.port);
    await client.login(dovecot.user, dovecot.password);
    const uids = new Map<number, number>();
    for (const [index, sample] of samples.entries()) {
      const { tagged } = await client.append('INBOX', sample.raw);
      const uid = /^\S+ OK \[APPENDUID \d+ (\d+)\]/i.exec(tagged);
      if (uid) uids.set(Number(uid[1]), index);
      else {
        appendFailures.push({
          message: sample.name,
          item: 'APPEND',
          where: '',
          dovecot: tagged,
          tegami: '(accepted)',
        });
      }
    }
    const selected = await client.command('SELECT INBOX');
    if (!/^\S+ OK/.test(selected.tagged)) throw new Error(`SELECT failed: ${selected.tagged}`);
    const { tagged, untagged } = await client.command('FETCH 1:* (UID ENVELOPE BODYSTRUCTURE RFC822.SIZE)');
    if (!/^\S+ OK/.test(tagged)) throw new Error(`FETCH failed: ${tagged}`);
    for (const response of untagged) {
      const fetch = parseFetchResponse(response);
      if (!fetch) continue;
      const uid = fetch.items.get('UID');
      const index = uid && isImapAtom(uid) ? uids.get(Number(uid.atom)) : undefined;
      if (index === undefined)
        throw new Error(`FETCH for an unknown message: ${response.toString('latin1')}`);
      fetched.set(index, fetch.items);
    }
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await dovecot?.stop();
  });

  it('reads the shared corpus, malformed.eml included', () => {
    const names = samples.filter((s) => s.name.startsWith('corpus/')).map((s) => s.name);
    expect(names).toContain('corpus/malformed.eml');
    expect(names.length).toBeGreaterThanOrEqual(6);
  });

  it('gives the same ENVELOPE, BODYSTRUCTURE and RFC822.SIZE as Dovecot for every message', () => {
    const differences: Difference[] = [...appendFailures];
    for (const [index, sample] of samples.entries()) {
      const items = fetched.get(index);
      if (!items) {
        if (!appendFailures.some((f) => f.message === sample.name)) {
          differences.push({
            message: sample.name,
            item: 'FETCH',
            where: '',
            dovecot: '(no FETCH response)',
            tegami: '',
          });
        }
        continue;
      }
      differences.push(...compareMessage(sample, items));
    }
    if (differences.length > 0) {
      // A summary by kind of difference first: the item and the field, without the part number.
      const kinds = new Map<string, number>();
      for (const d of differences) {
        const kind = `${d.item} ${d.where.replace(/^part [\d.]+/, 'part').replace(/\[\d+\]/g, '[]')}`;
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
      const summary = [...kinds]
        .sort((a, b) => b[1] - a[1])
        .map(([kind, n]) => `${String(n).padStart(5)}  ${kind}`);
      console.log(
        `${differences.length} differences in ${new Set(differences.map((d) => d.message)).size} of ${samples.length} messages\n` +
          `${summary.join('\n')}\n\n${differences.map(formatDifference).join('\n')}`,
      );
    }
    expect(differences.map(formatDifference)).toEqual([]);
  });
});
