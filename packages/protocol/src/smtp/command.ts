import { type MailParams, parseMailParams, parseRcptParams, type RcptParams } from './params.js';
import {
  type ForwardPath,
  isValidDomainName,
  normalizeAddressLiteral,
  type PathProblem,
  type ReversePath,
  readForwardPath,
  readReversePath,
} from './path.js';
import { reply, type SmtpReply } from './reply.js';

export type { MailParams, NotifyCondition, RcptParams } from './params.js';
export { decodeXtext, encodeXtext } from './params.js';
export type { ForwardPath, ReversePath, SmtpMailbox } from './path.js';
export { reversePathAddress } from './path.js';

/** One SMTP command (RFC 5321 §4.1 and the extensions Tegami offers), parsed from its line. */
export type SmtpCommand =
  | { readonly verb: 'HELO'; readonly domain: string }
  /** A domain name or an address literal (`[192.0.2.1]`, `[IPv6:::1]`), as the client wrote it. */
  | { readonly verb: 'EHLO'; readonly domain: string }
  | { readonly verb: 'MAIL'; readonly from: ReversePath; readonly params: MailParams }
  | { readonly verb: 'RCPT'; readonly to: ForwardPath; readonly params: RcptParams }
  | { readonly verb: 'DATA' }
  | { readonly verb: 'RSET' }
  | { readonly verb: 'NOOP' }
  | { readonly verb: 'QUIT' }
  | { readonly verb: 'STARTTLS' }
  /** RFC 3030; a size past Number.MAX_SAFE_INTEGER is capped there. */
  | { readonly verb: 'BDAT'; readonly size: number; readonly last: boolean }
  /** RFC 4954: mechanism upper-cased; the initial response as sent (`=` means empty). */
  | { readonly verb: 'AUTH'; readonly mechanism: string; readonly initialResponse?: string }
  | { readonly verb: 'VRFY'; readonly argument: string }
  | { readonly verb: 'EXPN'; readonly argument: string }
  | { readonly verb: 'HELP'; readonly topic?: string };

export type SmtpVerb = SmtpCommand['verb'];

export type ParseResult = { ok: true; command: SmtpCommand } | { ok: false; reply: SmtpReply };

// RFC 4954 §3: sasl-mech = 1*20mech-char (upper-case letters, digits, "-", "_").
const SASL_MECH = /^[A-Za-z0-9_-]{1,20}$/;

/**
 * Parses one command line: the text before its CRLF, decoded as UTF-8. Never throws: a
 * line that is not a command Tegami knows is answered 500, a known command with bad
 * arguments 501 (or 555 for an unsupported ESMTP parameter, RFC 5321 §4.1.1.11).
 *
 * Looseness accepted, as from most real clients: verbs and keywords in any case, spaces
 * after `FROM:`/`TO:`, runs of spaces between arguments, trailing spaces and tabs.
 */
export function parseCommand(line: string): ParseResult {
  const text = trimTrailingBlanks(line);
  const space = text.indexOf(' ');
  const verb = space < 0 ? text : text.slice(0, space);
  const argument = space < 0 ? '' : skipSpaces(text, space + 1);
  if (!/^[A-Za-z]{4,8}$/.test(verb)) return unrecognized();

  switch (verb.toUpperCase()) {
    case 'HELO':
      return parseHelo(argument);
    case 'EHLO':
      return parseEhlo(argument);
    case 'MAIL':
      return parseMail(argument);
    case 'RCPT':
      return parseRcpt(argument);
    case 'DATA':
      return noArgument('DATA', argument);
    case 'RSET':
      return noArgument('RSET', argument);
    case 'QUIT':
      return noArgument('QUIT', argument);
    case 'STARTTLS':
      // RFC 3207 §4: "501 Syntax error (no parameters allowed)".
      return noArgument('STARTTLS', argument);
    case 'NOOP':
      // RFC 5321 §4.1.1.9: the parameter, if any, is ignored.
      return command({ verb: 'NOOP' });
    case 'HELP':
      return command(argument === '' ? { verb: 'HELP' } : { verb: 'HELP', topic: argument });
    case 'VRFY':
      return argument === '' ? syntax('VRFY address') : command({ verb: 'VRFY', argument });
    case 'EXPN':
      return argument === '' ? syntax('EXPN mailing-list') : command({ verb: 'EXPN', argument });
    case 'BDAT':
      return parseBdat(argument);
    case 'AUTH':
      return parseAuth(argument);
    default:
      return unrecognized();
  }
}

/**
 * RFC 5321 §4.1.1.1 asks for a domain, but broken clients send bare IPs, underscores and
 * worse; HELO is the old command they use, so it takes any printable text. Control
 * characters are refused: the name ends up in a Received field.
 */
function parseHelo(argument: string): ParseResult {
  if (argument === '' || hasControl(argument)) return syntax('HELO hostname');
  return command({ verb: 'HELO', domain: argument });
}

/** `"EHLO" SP ( Domain / address-literal )` (RFC 5321 §4.1.1.1). */
function parseEhlo(argument: string): ParseResult {
  if (argument === '') return syntax('EHLO hostname');
  const valid = argument.startsWith('[')
    ? normalizeAddressLiteral(argument) !== undefined
    : isValidDomainName(argument);
  if (!valid) return invalid('EHLO needs a domain name or an address literal');
  return command({ verb: 'EHLO', domain: argument });
}

/** `"MAIL FROM:" Reverse-path [SP Mail-parameters]` (RFC 5321 §4.1.1.2). */
function parseMail(argument: string): ParseResult {
  const path = afterPrefix(argument, 'FROM:');
  if (path === undefined || !path.startsWith('<')) return syntax('MAIL FROM:<address>');
  const read = readReversePath(path);
  if (!read.ok) return badPath(read.problem, '5.1.7', 'sender');
  const tokens = paramTokens(path.slice(read.end));
  if (tokens === undefined) return syntax('MAIL FROM:<address> [parameters]');
  const params = parseMailParams(tokens);
  if (!params.ok) return params;
  return command({ verb: 'MAIL', from: read.path, params: params.params });
}

/** `"RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path ) [SP Rcpt-parameters]`. */
function parseRcpt(argument: string): ParseResult {
  const path = afterPrefix(argument, 'TO:');
  if (path === undefined || !path.startsWith('<')) return syntax('RCPT TO:<address>');
  const read = readForwardPath(path);
  if (!read.ok) return badPath(read.problem, '5.1.3', 'recipient');
  const tokens = paramTokens(path.slice(read.end));
  if (tokens === undefined) return syntax('RCPT TO:<address> [parameters]');
  const params = parseRcptParams(tokens);
  if (!params.ok) return params;
  return command({ verb: 'RCPT', to: read.path, params: params.params });
}

/** `"BDAT" SP chunk-size [ SP end-marker ]` (RFC 3030 §2). */
function parseBdat(argument: string): ParseResult {
  const [size, marker, ...extra] = words(argument);
  if (size === undefined || !/^\d+$/.test(size) || extra.length > 0) return syntax('BDAT size [LAST]');
  if (marker !== undefined && marker.toUpperCase() !== 'LAST') return syntax('BDAT size [LAST]');
  // A size too big to count is still a size: the session must read (and refuse) what follows.
  const octets = Math.min(Number(size), Number.MAX_SAFE_INTEGER);
  return command({ verb: 'BDAT', size: octets, last: marker !== undefined });
}

/** `"AUTH" SP sasl-mech [SP initial-response]` (RFC 4954 §4); base64 is the session's to check. */
function parseAuth(argument: string): ParseResult {
  const [mechanism, initialResponse, ...extra] = words(argument);
  if (mechanism === undefined || !SASL_MECH.test(mechanism) || extra.length > 0) {
    return syntax('AUTH mechanism [initial-response]');
  }
  const verb = 'AUTH';
  if (initialResponse === undefined) return command({ verb, mechanism: mechanism.toUpperCase() });
  if (!/^[\x21-\x7e]+$/.test(initialResponse)) return syntax('AUTH mechanism [initial-response]');
  return command({ verb, mechanism: mechanism.toUpperCase(), initialResponse });
}

function noArgument(verb: 'DATA' | 'RSET' | 'QUIT' | 'STARTTLS', argument: string): ParseResult {
  return argument === '' ? command({ verb }) : syntax(`${verb} (no parameters allowed)`);
}

/** The text after `FROM:` or `TO:` (any case), spaces after the colon skipped. */
function afterPrefix(argument: string, prefix: string): string | undefined {
  if (argument.slice(0, prefix.length).toUpperCase() !== prefix) return undefined;
  return skipSpaces(argument, prefix.length);
}

/** What follows a path: nothing, or SP and parameters. Undefined when something is glued on. */
function paramTokens(rest: string): string[] | undefined {
  if (rest === '') return [];
  if (!rest.startsWith(' ')) return undefined;
  return words(rest);
}

function words(text: string): string[] {
  return text.split(' ').filter((word) => word !== '');
}

function badPath(
  problem: PathProblem,
  enhanced: '5.1.7' | '5.1.3',
  role: 'sender' | 'recipient',
): ParseResult {
  const text =
    problem.kind === 'syntax'
      ? `Bad ${role} address syntax`
      : `Bad ${role} address: ${problem.part} longer than ${problem.limit} octets`;
  return { ok: false, reply: reply(501, enhanced, text) };
}

function trimTrailingBlanks(line: string): string {
  let end = line.length;
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
  return line.slice(0, end);
}

function skipSpaces(text: string, from: number): string {
  let start = from;
  while (text[start] === ' ') start++;
  return text.slice(start);
}

/** C0 controls, DEL, C1 controls and lone surrogates. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return true;
    if (code >= 0xd800 && code <= 0xdbff) {
      const low = text.charCodeAt(i + 1);
      if (!(low >= 0xdc00 && low <= 0xdfff)) return true;
      i++;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return true;
    }
  }
  return false;
}

function command(parsed: SmtpCommand): ParseResult {
  return { ok: true, command: parsed };
}

function unrecognized(): ParseResult {
  return { ok: false, reply: reply(500, '5.5.2', 'Command not recognized') };
}

function syntax(usage: string): ParseResult {
  return { ok: false, reply: reply(501, '5.5.4', `Syntax: ${usage}`) };
}

function invalid(text: string): ParseResult {
  return { ok: false, reply: reply(501, '5.5.4', text) };
}
