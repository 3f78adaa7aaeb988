import { reply, type SmtpReply } from './reply.js';

/** The MAIL FROM parameters Tegami understands, decoded. */
export interface MailParams {
  /** RFC 1870; a value past Number.MAX_SAFE_INTEGER is capped there (still far too big). */
  readonly size?: number;
  /** RFC 6152 (7BIT, 8BITMIME), RFC 3030 (BINARYMIME). */
  readonly body?: '7BIT' | '8BITMIME' | 'BINARYMIME';
  /** RFC 6531. */
  readonly smtputf8: boolean;
  /** RFC 3461 §4.3. */
  readonly ret?: 'FULL' | 'HDRS';
  /** RFC 3461 §4.4, xtext-decoded. */
  readonly envid?: string;
  /** RFC 4954 §5, xtext-decoded: a mailbox, or `<>`. */
  readonly auth?: string;
  /** RFC 8689 §2: the message must travel onward over TLS to authenticated hosts only. */
  readonly requireTls?: true;
}

export type NotifyCondition = 'SUCCESS' | 'FAILURE' | 'DELAY';

/** The RCPT TO parameters Tegami understands, decoded. */
export interface RcptParams {
  /** RFC 3461 §4.1: NEVER, or the conditions in the order given, without repeats. */
  readonly notify?: readonly NotifyCondition[] | 'NEVER';
  /** RFC 3461 §4.2: addr-type in lower case (`rfc822`, `utf-8`), address decoded. */
  readonly orcpt?: { readonly addressType: string; readonly address: string };
}

export type ParamsParse<P> = { ok: true; params: P } | { ok: false; reply: SmtpReply };

// RFC 1870: size-value = 1*20DIGIT.
const SIZE_VALUE = /^\d{1,20}$/;
const ESMTP_KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
// RFC 3461 §4.4.
const MAX_ENVID = 100;
// RFC 3461 §4.2: addr-type is an RFC 822 atom, less the "=" an esmtp-value cannot hold.
const ADDR_TYPE = /^[A-Za-z0-9!#$%&'*+/?^_`{|}~-]+$/;

/** Reads one parameter's value into the result; a reply when the value is bad. */
type ValueReader = (value: string | undefined) => SmtpReply | undefined;

/** `Mail-parameters = esmtp-param *(SP esmtp-param)` (RFC 5321 §4.1.2), after the path. */
export function parseMailParams(tokens: readonly string[]): ParamsParse<MailParams> {
  const params: {
    size?: number;
    body?: '7BIT' | '8BITMIME' | 'BINARYMIME';
    smtputf8: boolean;
    ret?: 'FULL' | 'HDRS';
    envid?: string;
    auth?: string;
    requireTls?: true;
  } = { smtputf8: false };
  const refusal = readParams(tokens, {
    SIZE: (value) => {
      if (value === undefined || !SIZE_VALUE.test(value)) return bad('SIZE must be a number of octets');
      params.size = Math.min(Number(value), Number.MAX_SAFE_INTEGER);
    },
    BODY: (value) => {
      const body = value?.toUpperCase();
      if (body !== '7BIT' && body !== '8BITMIME' && body !== 'BINARYMIME') {
        return bad('BODY must be 7BIT, 8BITMIME or BINARYMIME');
      }
      params.body = body;
    },
    SMTPUTF8: (value) => {
      if (value !== undefined) return bad('SMTPUTF8 takes no value');
      params.smtputf8 = true;
    },
    RET: (value) => {
      const ret = value?.toUpperCase();
      if (ret !== 'FULL' && ret !== 'HDRS') return bad('RET must be FULL or HDRS');
      params.ret = ret;
    },
    ENVID: (value) => {
      // RFC 3461 §4.4: printable US-ASCII before xtext encoding, at most 100 characters.
      const envid = value === undefined ? undefined : decodeXtext(value);
      if (envid === undefined || envid === '' || !isPrintableAscii(envid)) return bad('ENVID must be xtext');
      if (envid.length > MAX_ENVID) return bad(`ENVID longer than ${MAX_ENVID} characters`);
      params.envid = envid;
    },
    AUTH: (value) => {
      const auth = value === undefined ? undefined : decodeXtext(value);
      if (auth === undefined || auth === '' || hasControl(auth)) return bad('AUTH must be xtext or <>');
      params.auth = auth;
    },
    // RFC 8689 §2 item 8: `requiretls-param = "REQUIRETLS"`, no esmtp-value. Whether the
    // session may carry it (only over TLS) is the session's call, not the syntax's.
    REQUIRETLS: (value) => {
      if (value !== undefined) return bad('REQUIRETLS takes no value');
      params.requireTls = true;
    },
  });
  return refusal ? { ok: false, reply: refusal } : { ok: true, params };
}

/** `Rcpt-parameters = esmtp-param *(SP esmtp-param)` (RFC 5321 §4.1.2), after the path. */
export function parseRcptParams(tokens: readonly string[]): ParamsParse<RcptParams> {
  const params: {
    notify?: readonly NotifyCondition[] | 'NEVER';
    orcpt?: { addressType: string; address: string };
  } = {};
  const refusal = readParams(tokens, {
    NOTIFY: (value) => {
      const notify = value === undefined ? undefined : parseNotify(value);
      if (notify === undefined) return bad('NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY');
      params.notify = notify;
    },
    ORCPT: (value) => {
      const orcpt = value === undefined ? undefined : parseOrcpt(value);
      if (orcpt === undefined) return bad('ORCPT must be addr-type;xtext');
      params.orcpt = orcpt;
    },
  });
  return refusal ? { ok: false, reply: refusal } : { ok: true, params };
}

/**
 * `esmtp-param = esmtp-keyword ["=" esmtp-value]` (RFC 5321 §4.1.2), read left to right;
 * the first bad one is answered: a malformed keyword 501, one Tegami does not know 555
 * (§4.1.1.11), one given twice 501, a bad value 501. Each value is checked by its own
 * parameter's rule, narrower than esmtp-value (printable ASCII but "=", and UTF-8 by
 * RFC 6531 §3.3).
 */
function readParams(
  tokens: readonly string[],
  readers: Readonly<Record<string, ValueReader>>,
): SmtpReply | undefined {
  const seen = new Set<string>();
  for (const token of tokens) {
    const eq = token.indexOf('=');
    const name = eq < 0 ? token : token.slice(0, eq);
    if (!ESMTP_KEYWORD.test(name)) return bad(`Bad parameter syntax: ${printable(token)}`);
    const keyword = name.toUpperCase();
    const read = Object.hasOwn(readers, keyword) ? readers[keyword] : undefined;
    if (!read) return reply(555, '5.5.4', `Unsupported parameter ${printable(keyword)}`);
    if (seen.has(keyword)) return bad(`Duplicate parameter ${keyword}`);
    seen.add(keyword);
    const refusal = read(eq < 0 ? undefined : token.slice(eq + 1));
    if (refusal) return refusal;
  }
  return undefined;
}

/** `notify-esmtp-value = "NEVER" / 1#notify-list-element` (RFC 3461 §4.1). */
function parseNotify(value: string): readonly NotifyCondition[] | 'NEVER' | undefined {
  const items = value.toUpperCase().split(',');
  if (items.length === 1 && items[0] === 'NEVER') return 'NEVER';
  const conditions: NotifyCondition[] = [];
  for (const item of items) {
    if (item !== 'SUCCESS' && item !== 'FAILURE' && item !== 'DELAY') return undefined;
    if (!conditions.includes(item)) conditions.push(item);
  }
  return conditions;
}

/**
 * `original-recipient-address = addr-type ";" xtext` (RFC 3461 §4.2). For `utf-8` (RFC 6533
 * §3) the address may also use `\x{HEX}` escapes and raw UTF-8; for any other type it must
 * decode to printable US-ASCII (RFC 3461 §4.2).
 */
function parseOrcpt(value: string): { addressType: string; address: string } | undefined {
  const semicolon = value.indexOf(';');
  if (semicolon < 0) return undefined;
  const addressType = value.slice(0, semicolon).toLowerCase();
  if (!ADDR_TYPE.test(addressType)) return undefined;
  const encoded = value.slice(semicolon + 1);
  if (addressType === 'utf-8') {
    const address = decodeXtext(encoded, { unicodeEscapes: true });
    if (address === undefined || address === '' || hasControl(address)) return undefined;
    return { addressType, address };
  }
  const address = decodeXtext(encoded);
  if (address === undefined || address === '' || !isPrintableAscii(address)) return undefined;
  return { addressType, address };
}

/**
 * Decodes `xtext` (RFC 3461 §4: `+XX` for one octet; hex accepted in either case). The octets
 * must form UTF-8. With `unicodeEscapes`, RFC 6533's `\x{HEX}` (one code point) is decoded
 * too and a backslash is otherwise refused. Returns undefined for anything malformed.
 */
export function decodeXtext(text: string, options: { unicodeEscapes?: boolean } = {}): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; ) {
    const code = text.charCodeAt(i);
    if (code === 0x2b) {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(Number.parseInt(hex, 16));
      i += 3;
    } else if (code === 0x5c && options.unicodeEscapes) {
      const match = /^\\x\{([0-9A-Fa-f]{1,6})\}/.exec(text.slice(i, i + 10));
      if (!match) return undefined;
      const point = Number.parseInt(match[1]!, 16);
      if (point === 0 || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) return undefined;
      bytes.push(...Buffer.from(String.fromCodePoint(point), 'utf8'));
      i += match[0].length;
    } else if (code > 0x20 && code < 0x7f && code !== 0x3d) {
      bytes.push(code);
      i++;
    } else if (code >= 0x80) {
      // Raw UTF-8 (RFC 6531 §3.3 esmtp-value); well-formedness was checked with the value.
      const point = text.codePointAt(i)!;
      if (point >= 0xd800 && point <= 0xdfff) return undefined;
      const char = String.fromCodePoint(point);
      bytes.push(...Buffer.from(char, 'utf8'));
      i += char.length;
    } else {
      return undefined;
    }
  }
  try {
    return UTF8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** xtext for a value Tegami sends (RFC 3461 §4): `+`, `=`, controls, space and non-ASCII as `+XX`. */
export function encodeXtext(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte > 0x20 && byte < 0x7f && byte !== 0x2b && byte !== 0x3d
        ? String.fromCharCode(byte)
        : `+${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** RFC 3461: "printable (graphic and white space) characters from the US-ASCII repertoire". */
function isPrintableAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return false;
  }
  return true;
}

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return true;
  }
  return false;
}

/** Client text in a reply: printable ASCII only, and short. */
export function printable(text: string): string {
  let out = '';
  for (const char of text.slice(0, 40)) {
    const code = char.charCodeAt(0);
    out += code >= 0x21 && code <= 0x7e ? char : '?';
  }
  return text.length > 40 ? `${out}...` : out;
}

function bad(text: string): SmtpReply {
  return reply(501, '5.5.4', text);
}
