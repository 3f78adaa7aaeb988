import { auth } from './auth.js';
import { bdat } from './bdat.js';
import type { SmtpCommandSpec, SmtpParsed } from './context.js';
import { data } from './data.js';
import { ehlo, helo } from './hello.js';
import { help } from './help.js';
import { mail } from './mail.js';
import { noop } from './noop.js';
import { quit } from './quit.js';
import { rcpt } from './rcpt.js';
import { rset } from './rset.js';
import { starttls } from './starttls.js';
import { expn, vrfy } from './vrfy-expn.js';

/**
 * Every SMTP command Tegami knows, one row each, in the order HELP names them. The parser,
 * the dispatcher, EHLO and the metric labels read this table; adding a command is one module
 * and one row here.
 */
export const SMTP_COMMANDS = [
  ehlo,
  helo,
  mail,
  rcpt,
  data,
  bdat,
  rset,
  noop,
  quit,
  vrfy,
  expn,
  help,
  starttls,
  auth,
] as const satisfies readonly SmtpCommandSpec[];

type Row = (typeof SMTP_COMMANDS)[number];

export type SmtpVerb = Row['verb'];

/** One SMTP command (RFC 5321 §4.1 and the extensions Tegami offers), parsed from its line. */
export type SmtpCommand = Row extends infer S
  ? S extends { parse(argument: string): SmtpParsed<infer R> }
    ? R
    : never
  : never;

export const SMTP_COMMANDS_BY_VERB: ReadonlyMap<string, SmtpCommandSpec> = new Map(
  SMTP_COMMANDS.map((command): [string, SmtpCommandSpec] => [command.verb, command]),
);

/**
 * What commandDone reports: a verb of the table, INVALID for a line that names no command
 * (or is too long). A bounded set, for metric labels.
 */
export type SmtpCommandLabel = SmtpVerb | 'INVALID';

export const SMTP_COMMAND_LABELS: readonly SmtpCommandLabel[] = [
  ...SMTP_COMMANDS.map((command) => command.verb),
  'INVALID',
];
