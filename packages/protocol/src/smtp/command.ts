import { skipSpaces } from './commands/arguments.js';
import type { SmtpCommandSpec, SmtpParsed } from './commands/context.js';
import { SMTP_COMMANDS_BY_VERB, type SmtpCommand } from './commands/table.js';
import { reply } from './reply.js';

export {
  SMTP_COMMAND_LABELS,
  SMTP_COMMANDS,
  type SmtpCommand,
  type SmtpCommandLabel,
  type SmtpVerb,
} from './commands/table.js';
export type { MailParams, NotifyCondition, RcptParams } from './params.js';
export { decodeXtext, encodeXtext } from './params.js';
export type { ForwardPath, ReversePath, SmtpMailbox } from './path.js';
export { reversePathAddress } from './path.js';

export type ParseResult = SmtpParsed<SmtpCommand>;

/** A command line cut at its verb; the spec is undefined when no command has that verb. */
export interface SmtpCommandLine {
  readonly spec: SmtpCommandSpec | undefined;
  readonly argument: string;
}

/**
 * The verb and argument of one command line (RFC 5321 §4.1: verb, SP, argument); undefined
 * when the line does not begin with a verb at all. Verbs are 4 to 8 letters in any case;
 * spaces after the verb, and trailing spaces and tabs, are tolerated, as from most clients.
 */
export function splitSmtpCommandLine(line: string): SmtpCommandLine | undefined {
  const text = trimTrailingBlanks(line);
  const space = text.indexOf(' ');
  const verb = space < 0 ? text : text.slice(0, space);
  if (!/^[A-Za-z]{4,8}$/.test(verb)) return undefined;
  const argument = space < 0 ? '' : skipSpaces(text, space + 1);
  return { spec: SMTP_COMMANDS_BY_VERB.get(verb.toUpperCase()), argument };
}

/**
 * Parses one command line: the text before its CRLF, decoded as UTF-8. Never throws: a
 * line that is not a command Tegami knows is answered 500, a known command with bad
 * arguments 501 (or 555 for an unsupported ESMTP parameter, RFC 5321 §4.1.1.11).
 */
export function parseCommand(line: string): ParseResult {
  const split = splitSmtpCommandLine(line);
  if (!split?.spec) return { ok: false, reply: SMTP_NOT_RECOGNIZED };
  return split.spec.parse(split.argument) as ParseResult;
}

export const SMTP_NOT_RECOGNIZED = reply(500, '5.5.2', 'Command not recognized');

function trimTrailingBlanks(line: string): string {
  let end = line.length;
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
  return line.slice(0, end);
}
