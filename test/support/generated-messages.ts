// Deterministic, varied RFC 5322 / MIME messages for differential tests of the MIME
// layer (ENVELOPE, BODYSTRUCTURE, RFC822.SIZE): the same (count, seed) always gives the
// same bytes. Every line ends in CRLF.
//
// What varies: nested multiparts (mixed, alternative, related, digest; up to 4 levels),
// message/rfc822 parts that hold multiparts, 7bit/8bit/quoted-printable/base64 (and
// binary-looking attachments), charsets utf-8, iso-8859-1, iso-2022-jp, shift_jis and
// windows-1252 (bodies and RFC 2047 encoded words), RFC 2231 parameters with
// continuations, Content-Disposition/-Language/-Location/-ID/-Description/-MD5,
// address lists with groups, route addresses, comments and odd quoting, a missing Date,
// Message-ID or Subject, empty bodies, preambles and epilogues, type names in odd case,
// quoted or unquoted boundaries, parameters with comments and spacing.

/** mulberry32: a small, fast, well-mixed 32-bit PRNG. */
class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }

  token(n: number): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }
}

type Charset = 'utf-8' | 'iso-8859-1' | 'iso-2022-jp' | 'shift_jis' | 'windows-1252' | 'us-ascii';

/** Phrases with their octets in each charset that can carry them (Node has no encoders for the Japanese ones). */
interface Phrase {
  readonly text: string;
  readonly octets: Partial<Record<Charset, Buffer>>;
}

const hex = (h: string) => Buffer.from(h, 'hex');

const PHRASES: readonly Phrase[] = [
  {
    text: 'テスト',
    octets: { 'iso-2022-jp': hex('1b24422546253925481b2842'), shift_jis: hex('836583588367') },
  },
  {
    text: '会議の議事録',
    octets: {
      'iso-2022-jp': hex('1b244232713544244e35443b764f3f1b2842'),
      shift_jis: hex('89ef8b6382cc8b638e96985e'),
    },
  },
  {
    text: '請求書です',
    octets: {
      'iso-2022-jp': hex('1b2442404135613d71244724391b2842'),
      shift_jis: hex('90bf8b818f9182c582b7'),
    },
  },
  {
    text: 'こんにちは、世界',
    octets: {
      'iso-2022-jp': hex('1b244224332473244b2441244f2122402433261b2842'),
      shift_jis: hex('82b182f182c982bf82cd814190a28a45'),
    },
  },
  { text: 'Café crème', octets: { 'iso-8859-1': hex('436166e9206372e86d65') } },
  { text: 'Grüße aus Köln', octets: { 'iso-8859-1': hex('4772fcdf6520617573204bf66c6e') } },
  { text: 'Señor Muñoz', octets: { 'iso-8859-1': hex('5365f16f72204d75f16f7a') } },
  { text: '€ „quoted“ – dash', octets: { 'windows-1252': hex('80208471756f7465649320962064617368') } },
  { text: 'Ünïcödé ☃ snow', octets: {} },
  { text: 'Zażółć gęślą jaźń', octets: {} },
];

const ASCII_WORDS = [
  'meeting',
  'notes',
  'invoice',
  'quarterly',
  'report',
  'hello',
  're:',
  'draft',
  'urgent',
  'lunch',
  'status',
  'update',
  'the',
  'a',
  'for',
  'with',
];

/** A phrase and its octets in the charset, or utf-8 when the phrase does not fit it. */
function phraseIn(rng: Random, charset: Charset): { text: string; octets: Buffer; charset: Charset } {
  if (charset === 'us-ascii') {
    const text = Array.from({ length: rng.int(2, 6) }, () => rng.pick(ASCII_WORDS)).join(' ');
    return { text, octets: Buffer.from(text, 'latin1'), charset };
  }
  const fitting = PHRASES.filter((p) => p.octets[charset] !== undefined);
  if (charset !== 'utf-8' && fitting.length > 0) {
    const p = rng.pick(fitting);
    return { text: p.text, octets: p.octets[charset]!, charset };
  }
  const p = rng.pick(PHRASES);
  return { text: p.text, octets: Buffer.from(p.text, 'utf8'), charset: 'utf-8' };
}

// --- Encodings -------------------------------------------------------------------------

function base64Lines(data: Buffer, width = 76): string {
  const b64 = data.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += width) lines.push(b64.slice(i, i + width));
  return lines.join('\r\n');
}

/** Quoted-printable (RFC 2045 §6.7) with soft line breaks; input line breaks are CRLF. */
function quotedPrintable(data: Buffer): string {
  const out: string[] = [];
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = 0; i + 1 < data.length; i++) {
    if (data[i] === 0x0d && data[i + 1] === 0x0a) {
      lines.push(data.subarray(start, i));
      start = i + 2;
      i++;
    }
  }
  lines.push(data.subarray(start));
  for (const line of lines) {
    let current = '';
    for (let i = 0; i < line.length; i++) {
      const b = line[i]!;
      const last = i === line.length - 1;
      const plain =
        (b >= 33 && b <= 126 && b !== 61) || ((b === 0x20 || b === 0x09) && !last)
          ? String.fromCharCode(b)
          : null;
      const piece = plain ?? `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
      if (current.length + piece.length > 75) {
        out.push(`${current}=`);
        current = '';
      }
      current += piece;
    }
    out.push(current);
  }
  return out.join('\r\n');
}

/** An RFC 2047 encoded word for the octets of text in charset, B or Q. */
function encodedWord(rng: Random, octets: Buffer, charset: string): string {
  const name = rng.chance(0.2) ? charset.toUpperCase() : charset;
  if (rng.chance(0.5)) return `=?${name}?${rng.pick(['B', 'b'])}?${octets.toString('base64')}?=`;
  let q = '';
  for (const b of octets) {
    if (b === 0x20) q += '_';
    else if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a))
      q += String.fromCharCode(b);
    else q += `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `=?${name}?${rng.pick(['Q', 'q'])}?${q}?=`;
}

const CHARSETS: readonly Charset[] = ['utf-8', 'iso-8859-1', 'iso-2022-jp', 'shift_jis', 'windows-1252'];

/** Header text: plain ASCII, encoded words (sometimes mixed with ASCII), occasionally raw UTF-8. */
function headerText(rng: Random): string {
  const roll = rng.next();
  if (roll < 0.4) {
    return Array.from({ length: rng.int(1, 8) }, () => rng.pick(ASCII_WORDS)).join(' ');
  }
  if (roll < 0.85) {
    const p = phraseIn(rng, rng.pick(CHARSETS));
    const word = encodedWord(rng, p.octets, p.charset);
    const r = rng.next();
    if (r < 0.3) return `Re: ${word}`;
    if (r < 0.5) return `${word} ${encodedWord(rng, Buffer.from(' (2)', 'latin1'), 'us-ascii')}`;
    if (r < 0.6) return `${word} and ${rng.pick(ASCII_WORDS)}`;
    return word;
  }
  if (roll < 0.92) return `quote " and backslash \\ and\ttab`;
  return rng.pick(PHRASES).text; // raw UTF-8 (RFC 6532)
}

/** Folds a header value at spaces to keep lines under ~70 characters, sometimes. */
function fold(rng: Random, name: string, value: string): string {
  const line = `${name}: ${value}`;
  if (line.length < 60 || rng.chance(0.4)) return line;
  const words = line.split(' ');
  const out: string[] = [];
  let current = words[0]!;
  for (const w of words.slice(1)) {
    if (current.length + 1 + w.length > 60) {
      out.push(current);
      current = `${rng.pick([' ', '\t', '    '])}${w}`;
    } else current += ` ${w}`;
  }
  out.push(current);
  return out.join('\r\n');
}

// --- Addresses -------------------------------------------------------------------------

const DOMAINS = ['example.com', 'example.org', 'mail.example.net', 'xn--bcher-kva.example', 'EXAMPLE.COM'];
const LOCALS = ['alice', 'bob', 'carol.smith', 'd+tag', 'Eve_O', 'info', 'no-reply', 'x'];

function mailbox(rng: Random): string {
  const local = rng.chance(0.05) ? `"odd local@part"` : rng.pick(LOCALS);
  return `${local}@${rng.pick(DOMAINS)}`;
}

function address(rng: Random): string {
  const roll = rng.next();
  const addr = mailbox(rng);
  if (roll < 0.2) return addr;
  if (roll < 0.4) return `${rng.pick(['Alice Example', 'Bob', 'Carol Q. Public', "O'Brien"])} <${addr}>`;
  if (roll < 0.5) return `"Doe, John" <${addr}>`;
  if (roll < 0.6) {
    const p = phraseIn(rng, rng.pick(CHARSETS));
    return `${encodedWord(rng, p.octets, p.charset)} <${addr}>`;
  }
  if (roll < 0.65) return `"quoted \\"inner\\" name" <${addr}>`;
  if (roll < 0.7) return `${addr} (Comment Name)`;
  if (roll < 0.75) return `<${addr}>`;
  if (roll < 0.8) return `Routed <@relay.example,@hop.example:${addr}>`;
  if (roll < 0.84) return rng.pick(LOCALS); // no domain
  if (roll < 0.88) return `"" <${addr}>`;
  if (roll < 0.92) return `=?utf-8?Q?Ann=C3=A9e?= Mixed "Part" <${addr}>`;
  if (roll < 0.95) return `"${rng.pick(PHRASES).text}" <${addr}>`; // raw UTF-8 display name
  return `Tab\tName <${addr}>`;
}

function addressList(rng: Random, max: number): string {
  const roll = rng.next();
  if (roll < 0.06) return 'undisclosed-recipients:;';
  const list = Array.from({ length: rng.int(1, max) }, () => address(rng));
  if (roll < 0.16) {
    const group = `${rng.pick(['Team', 'Friends', '"Odd, Group"'])}: ${list.join(', ')};`;
    return rng.chance(0.5) ? `${address(rng)}, ${group}` : group;
  }
  if (roll < 0.2) return list.join(',');
  return list.join(', ');
}

// --- Header sections -------------------------------------------------------------------

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function date(rng: Random): string {
  const day = rng.int(1, 28);
  const month = rng.pick(MONTHS);
  const year = rng.int(1998, 2030);
  const time = `${String(rng.int(0, 23)).padStart(2, '0')}:${String(rng.int(0, 59)).padStart(2, '0')}:${String(rng.int(0, 59)).padStart(2, '0')}`;
  const roll = rng.next();
  if (roll < 0.6)
    return `${rng.pick(DAYS)}, ${day} ${month} ${year} ${time} ${rng.pick(['+0000', '-0700', '+0900', '+0530'])}`;
  if (roll < 0.75) return `${day} ${month} ${year} ${time} +0100`;
  if (roll < 0.85)
    return `${rng.pick(DAYS)}, ${String(day).padStart(2, '0')} ${month} ${year} ${time} -0800 (PST)`;
  if (roll < 0.93) return `${day} ${month} ${String(year % 100).padStart(2, '0')} ${time} GMT`;
  return 'not a date at all';
}

function messageId(rng: Random): string {
  const id = `<${rng.token(12)}.${rng.int(1, 99999)}@${rng.pick(DOMAINS)}>`;
  return rng.chance(0.1) ? `  ${id} (comment)` : id;
}

/** The top-level (or encapsulated) header fields, RFC 5322 part, CRLF-terminated lines. */
function messageHeaders(rng: Random): string[] {
  const h: string[] = [];
  if (rng.chance(0.5)) h.push(`Received: from relay.example (relay.example [192.0.2.${rng.int(1, 254)}])`);
  if (rng.chance(0.3)) h.push(`Return-Path: <${mailbox(rng)}>`);
  if (!rng.chance(0.12)) h.push(`Date: ${date(rng)}`);
  if (!rng.chance(0.05)) h.push(fold(rng, 'From', addressList(rng, rng.chance(0.9) ? 1 : 2)));
  if (rng.chance(0.1)) h.push(`Sender: ${address(rng)}`);
  if (rng.chance(0.15)) h.push(`Reply-To: ${addressList(rng, 2)}`);
  if (!rng.chance(0.05)) h.push(fold(rng, 'To', addressList(rng, 4)));
  if (rng.chance(0.3)) h.push(fold(rng, rng.pick(['Cc', 'CC', 'cc']), addressList(rng, 3)));
  if (rng.chance(0.05)) h.push(`Bcc: ${addressList(rng, 2)}`);
  const subject = rng.next();
  if (subject < 0.05) h.push('Subject:');
  else if (subject < 0.08) h.push('Subject: ');
  else if (subject > 0.95) {
    // no Subject
  } else h.push(fold(rng, rng.pick(['Subject', 'Subject', 'SUBJECT']), headerText(rng)));
  if (!rng.chance(0.12)) h.push(`${rng.pick(['Message-ID', 'Message-Id', 'message-id'])}: ${messageId(rng)}`);
  if (rng.chance(0.2)) h.push(`In-Reply-To: ${messageId(rng)}`);
  if (rng.chance(0.1)) h.push(`References: ${messageId(rng)} ${messageId(rng)}`);
  if (rng.chance(0.2)) h.push(`X-Mailer: Generated ${rng.token(6)}`);
  return h;
}

// --- MIME entities ---------------------------------------------------------------------

interface Entity {
  /** Content-* header lines (no CRLF). */
  headers: string[];
  body: Buffer;
}

function typeName(rng: Random, type: string, subtype: string): string {
  const roll = rng.next();
  if (roll < 0.08) return `${type.toUpperCase()}/${subtype.toUpperCase()}`;
  if (roll < 0.12) return `${type[0]!.toUpperCase()}${type.slice(1)}/${subtype}`;
  return `${type}/${subtype}`;
}

function paramValue(rng: Random, value: string): string {
  return /^[A-Za-z0-9._-]+$/.test(value) && rng.chance(0.5) ? value : `"${value}"`;
}

function percentEncode(octets: Buffer): string {
  let s = '';
  for (const b of octets) {
    s +=
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2e
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return s;
}

/** A file-name parameter (name= or filename=) in one of several spellings, RFC 2231 included. */
function fileNameParam(rng: Random, param: 'name' | 'filename', base: string): string {
  const roll = rng.next();
  if (roll < 0.35) return `${param}=${paramValue(rng, `${base}.pdf`)}`;
  if (roll < 0.55) {
    const p = phraseIn(rng, 'utf-8');
    return `${param}*=utf-8'${rng.pick(['', 'en', 'ja'])}'${percentEncode(Buffer.from(`${p.text} ${base}.txt`, 'utf8'))}`;
  }
  if (roll < 0.7) {
    const octets = Buffer.from(`${base} €uro rates 2024 final version.xlsx`, 'utf8');
    const enc = percentEncode(octets);
    const cut = Math.floor(enc.length / 2);
    const safe = enc.lastIndexOf('%', cut) > cut - 3 ? enc.lastIndexOf('%', cut) : cut;
    return `${param}*0*=utf-8''${enc.slice(0, safe)};\r\n\t${param}*1*=${enc.slice(safe)}`;
  }
  if (roll < 0.8) return `${param}*0="long ${base} name, ";\r\n ${param}*1="second part.txt"`;
  if (roll < 0.9) {
    const p = phraseIn(rng, rng.pick(CHARSETS));
    return `${param}="${encodedWord(rng, p.octets, p.charset)}.bin"`;
  }
  return `${param}*=iso-8859-1''${percentEncode(Buffer.from('Grüße.txt', 'latin1'))}`;
}

/** Optional Content-Disposition/-ID/-Description/-Language/-Location/-MD5 lines. */
function extraHeaders(rng: Random, attachment: boolean, body: Buffer): string[] {
  const h: string[] = [];
  if (attachment || rng.chance(0.3)) {
    const type = attachment ? rng.pick(['attachment', 'attachment', 'ATTACHMENT', 'inline']) : 'inline';
    const params: string[] = [];
    if (attachment || rng.chance(0.3)) params.push(fileNameParam(rng, 'filename', `file-${rng.token(4)}`));
    if (rng.chance(0.15)) params.push(`size=${body.length}`);
    if (rng.chance(0.1)) params.push('creation-date="Wed, 12 Feb 1997 16:29:51 -0500"');
    h.push(
      `Content-Disposition: ${type}${params.map((p) => `;${rng.chance(0.5) ? ' ' : '\r\n\t'}${p}`).join('')}`,
    );
  }
  if (rng.chance(0.15)) h.push(`Content-ID: <${rng.token(8)}@${rng.pick(DOMAINS)}>`);
  if (rng.chance(0.15)) h.push(`Content-Description: ${headerText(rng)}`);
  if (rng.chance(0.12))
    h.push(`Content-Language: ${rng.pick(['en', 'en, fr', 'de-DE', 'ja', 'en (English), de'])}`);
  if (rng.chance(0.08))
    h.push(
      `Content-Location: ${rng.pick(['http://www.example.com/a.html', 'images/logo.png', '"quoted/path.txt"'])}`,
    );
  if (rng.chance(0.08)) h.push(`Content-MD5: ${rng.bytes(16).toString('base64')}`);
  return h;
}

/** Body text lines in a charset, CRLF separated; sometimes without a final line break. */
function textOctets(rng: Random, charset: Charset, html: boolean): Buffer {
  const lines: Buffer[] = [];
  const n = rng.int(0, 12);
  if (html) lines.push(Buffer.from('<html><body><p>', 'latin1'));
  for (let i = 0; i < n; i++) {
    if (rng.chance(0.5)) lines.push(phraseIn(rng, charset).octets);
    else {
      const words = Array.from({ length: rng.int(1, 30) }, () => rng.pick(ASCII_WORDS)).join(' ');
      lines.push(Buffer.from(rng.chance(0.1) ? `${words} =3D trailing space ` : words, 'latin1'));
    }
  }
  if (html) lines.push(Buffer.from('</p></body></html>', 'latin1'));
  const joined = Buffer.concat(lines.flatMap((l, i) => (i === 0 ? [l] : [Buffer.from('\r\n'), l])));
  return lines.length > 0 && rng.chance(0.8) ? Buffer.concat([joined, Buffer.from('\r\n')]) : joined;
}

function is7bit(octets: Buffer): boolean {
  return octets.every((b) => b < 0x80);
}

function cteName(rng: Random, name: string): string {
  const roll = rng.next();
  if (roll < 0.1) return name.toUpperCase();
  if (roll < 0.15 && name === 'quoted-printable') return 'Quoted-Printable';
  return name;
}

function textEntity(rng: Random, subtype: string): Entity {
  const charset = rng.pick<Charset>([...CHARSETS, 'us-ascii', 'us-ascii']);
  const raw = rng.chance(0.05) ? Buffer.alloc(0) : textOctets(rng, charset, subtype === 'html');
  const headers: string[] = [];
  const params: string[] = [];
  if (!rng.chance(0.1) || charset !== 'us-ascii') {
    const cs = rng.chance(0.15) ? charset.toUpperCase() : charset;
    params.push(`charset=${rng.chance(0.5) ? `"${cs}"` : cs}`);
  }
  if (subtype === 'plain' && rng.chance(0.15)) params.push('format=flowed');
  if (rng.chance(0.05)) params.push('delsp=yes (comment)');
  if (rng.chance(0.05)) params.push(fileNameParam(rng, 'name', 'notes'));
  const omitType = subtype === 'plain' && params.length === 0 && rng.chance(0.5);
  if (!omitType) {
    const sep = rng.pick(['; ', ';', ' ; ', ';\r\n\t']);
    headers.push(
      `Content-Type: ${typeName(rng, 'text', subtype)}${params.map((p) => `${sep}${p}`).join('')}`,
    );
  }
  let body: Buffer;
  const roll = rng.next();
  if (roll < 0.3) {
    body = Buffer.from(quotedPrintable(raw), 'latin1');
    headers.push(`Content-Transfer-Encoding: ${cteName(rng, 'quoted-printable')}`);
  } else if (roll < 0.45) {
    body = Buffer.from(raw.length > 0 ? `${base64Lines(raw)}\r\n` : '', 'latin1');
    headers.push(`Content-Transfer-Encoding: ${cteName(rng, 'base64')}`);
  } else if (is7bit(raw)) {
    body = raw;
    if (rng.chance(0.5)) headers.push(`Content-Transfer-Encoding: ${cteName(rng, '7bit')}`);
  } else {
    body = raw;
    headers.push(`Content-Transfer-Encoding: ${cteName(rng, '8bit')}`);
  }
  headers.push(...extraHeaders(rng, rng.chance(0.1), body));
  return { headers, body };
}

function binaryEntity(rng: Random): Entity {
  const [type, subtype] = rng.pick([
    ['application', 'pdf'],
    ['image', 'jpeg'],
    ['image', 'png'],
    ['application', 'octet-stream'],
    ['application', 'vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
    ['audio', 'x-wav'],
    ['video', 'mp4'],
    ['model', 'x-unknown'],
  ] as const);
  const data = rng.bytes(rng.chance(0.05) ? 0 : rng.int(1, 3000));
  const params: string[] = [];
  if (rng.chance(0.7)) params.push(fileNameParam(rng, 'name', `attachment-${rng.token(3)}`));
  if (rng.chance(0.1)) params.push('x-mac-type="50444620"');
  const headers = [`Content-Type: ${typeName(rng, type, subtype)}${params.map((p) => `; ${p}`).join('')}`];
  const width = rng.pick([76, 76, 64, 72]);
  const body = Buffer.from(data.length > 0 ? `${base64Lines(data, width)}\r\n` : '', 'latin1');
  headers.push(`Content-Transfer-Encoding: ${cteName(rng, 'base64')}`);
  headers.push(...extraHeaders(rng, rng.chance(0.8), body));
  return { headers, body };
}

function boundary(rng: Random): { param: string; value: string } {
  const roll = rng.next();
  if (roll < 0.3) {
    const value = `----=_Part_${rng.int(0, 99999)}_${rng.token(8)}`;
    return { param: `"${value}"`, value };
  }
  if (roll < 0.6) {
    const value = rng.token(rng.int(8, 40));
    return { param: rng.chance(0.5) ? value : `"${value}"`, value };
  }
  if (roll < 0.8) {
    const value = `=_${rng.token(10)}:${rng.token(4)}`;
    return { param: `"${value}"`, value };
  }
  const value = `b${rng.token(6)} with space`;
  return { param: `"${value}"`, value };
}

function multipartEntity(rng: Random, depth: number, subtype?: string): Entity {
  const sub = subtype ?? rng.pick(['mixed', 'mixed', 'alternative', 'related', 'digest', 'report', 'signed']);
  const b = boundary(rng);
  const children: Entity[] = [];
  const n = rng.chance(0.03) ? 0 : rng.int(1, sub === 'alternative' ? 3 : 4);
  for (let i = 0; i < n; i++) {
    if (sub === 'digest') {
      // Parts of a digest default to message/rfc822 (RFC 2046 §5.1.5): usually no Content-Type.
      const inner = messageEntity(rng, depth, 'bare');
      if (rng.chance(0.3)) inner.headers.unshift('Content-Type: message/rfc822');
      children.push(inner);
    } else if (sub === 'alternative') {
      children.push(
        i === n - 1 && depth < 3 && rng.chance(0.3)
          ? multipartEntity(rng, depth + 1, 'related')
          : textEntity(rng, i === 0 ? 'plain' : 'html'),
      );
    } else children.push(entity(rng, depth + 1));
  }
  const params: string[] = [`boundary=${b.param}`];
  if (sub === 'related' && rng.chance(0.5)) params.unshift('type="text/html"');
  if (sub === 'report') params.push('report-type=delivery-status');
  if (sub === 'signed') params.push('protocol="application/pgp-signature"', 'micalg=pgp-sha256');
  const sep = rng.pick(['; ', ';\r\n\t', ';\r\n ']);
  const headers = [
    `Content-Type: ${typeName(rng, 'multipart', sub)}${params.map((p) => `${sep}${p}`).join('')}`,
  ];
  headers.push(...extraHeaders(rng, false, Buffer.alloc(0)).filter(() => rng.chance(0.5)));
  const chunks: Buffer[] = [];
  if (rng.chance(0.25))
    chunks.push(Buffer.from('This is a multi-part message in MIME format.\r\n', 'latin1'));
  for (const child of children) {
    chunks.push(Buffer.from(`--${b.value}${rng.chance(0.05) ? '  ' : ''}\r\n`, 'latin1'));
    chunks.push(Buffer.from(child.headers.map((h) => `${h}\r\n`).join(''), 'utf8'));
    chunks.push(Buffer.from('\r\n'), child.body, Buffer.from('\r\n'));
  }
  if (children.length > 0 || rng.chance(0.5)) {
    chunks.push(Buffer.from(`--${b.value}--${rng.chance(0.8) ? '\r\n' : ''}`, 'latin1'));
    if (rng.chance(0.2)) chunks.push(Buffer.from('epilogue text\r\nmore epilogue\r\n', 'latin1'));
  }
  return { headers, body: Buffer.concat(chunks) };
}

/** A message/rfc822 part; "bare" leaves the Content-Type out (for digests). */
function messageEntity(rng: Random, depth: number, mode: 'typed' | 'bare' = 'typed'): Entity {
  const inner = buildMessage(rng, depth + 1);
  const headers = mode === 'typed' ? [`Content-Type: ${typeName(rng, 'message', 'rfc822')}`] : [];
  if (mode === 'typed' && rng.chance(0.2)) headers.push('Content-Transfer-Encoding: 7bit');
  if (mode === 'typed') headers.push(...extraHeaders(rng, rng.chance(0.4), inner));
  return { headers, body: inner };
}

function entity(rng: Random, depth: number): Entity {
  const roll = rng.next();
  if (depth < 4 && roll < 0.25) return multipartEntity(rng, depth);
  if (depth < 4 && roll < 0.35) return messageEntity(rng, depth);
  if (roll < 0.7) return textEntity(rng, rng.pick(['plain', 'plain', 'html', 'calendar', 'x-vcard']));
  return binaryEntity(rng);
}

/** A whole message (header section, blank line, body) at a nesting depth. */
function buildMessage(rng: Random, depth: number): Buffer {
  const headers = messageHeaders(rng);
  const roll = rng.next();
  let body: Entity;
  if (depth < 4 && roll < 0.55) body = multipartEntity(rng, depth);
  else if (depth < 4 && roll < 0.6) body = messageEntity(rng, depth);
  else if (roll < 0.97) body = textEntity(rng, rng.pick(['plain', 'plain', 'html']));
  else body = { headers: [], body: Buffer.alloc(0) };
  const mime = body.headers.length > 0 && !rng.chance(0.1) ? ['MIME-Version: 1.0'] : [];
  const all = [...headers, ...mime, ...body.headers];
  return Buffer.concat([
    Buffer.from(all.map((h) => `${h}\r\n`).join(''), 'utf8'),
    Buffer.from('\r\n'),
    body.body,
  ]);
}

/** count messages, the same ones for the same (count, seed); CRLF line ends throughout. */
export function generateMessages(count: number, seed: number): Buffer[] {
  const rng = new Random(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    // Each message from its own stream, so message i does not depend on count.
    const own = new Random(Math.floor(rng.next() * 2 ** 32) ^ i);
    out.push(buildMessage(own, 0));
  }
  return out;
}
