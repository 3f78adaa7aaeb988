import type { PathProblem } from '../path.js';
import { reply } from '../reply.js';
import type { SmtpParsed } from './context.js';

// Reading a command's argument (RFC 5321 §4.1): what several commands' parsers share, and
// the replies for arguments that do not parse (501, RFC 5321 §4.2.4).

export function command<R>(parsed: R): SmtpParsed<R> {
  return { ok: true, command: parsed };
}

export function syntax(usage: string): SmtpParsed<never> {
  return { ok: false, reply: reply(501, '5.5.4', `Syntax: ${usage}`) };
}

export function invalid(text: string): SmtpParsed<never> {
  return { ok: false, reply: reply(501, '5.5.4', text) };
}

/** Commands without parameters: DATA, RSET, QUIT, STARTTLS (RFC 3207 §4: "501 Syntax error"). */
export function noArgument<V extends string>(verb: V) {
  return (argument: string): SmtpParsed<{ readonly verb: V }> =>
    argument === '' ? command({ verb }) : syntax(`${verb} (no parameters allowed)`);
}

/** The text after `FROM:` or `TO:` (any case), spaces after the colon skipped. */
export function afterPrefix(argument: string, prefix: string): string | undefined {
  if (argument.slice(0, prefix.length).toUpperCase() !== prefix) return undefined;
  return skipSpaces(argument, prefix.length);
}

export function skipSpaces(text: string, from: number): string {
  let start = from;
  while (text[start] === ' ') start++;
  return text.slice(start);
}

/** What follows a path: nothing, or SP and parameters. Undefined when something is glued on. */
export function paramTokens(rest: string): string[] | undefined {
  if (rest === '') return [];
  if (!rest.startsWith(' ')) return undefined;
  return words(rest);
}

export function words(text: string): string[] {
  return text.split(' ').filter((word) => word !== '');
}

export function badPath(
  problem: PathProblem,
  enhanced: '5.1.7' | '5.1.3',
  role: 'sender' | 'recipient',
): SmtpParsed<never> {
  const text =
    problem.kind === 'syntax'
      ? `Bad ${role} address syntax`
      : `Bad ${role} address: ${problem.part} longer than ${problem.limit} octets`;
  return { ok: false, reply: reply(501, enhanced, text) };
}

/** C0 controls, DEL, C1 controls and lone surrogates. */
export function hasControl(text: string): boolean {
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
