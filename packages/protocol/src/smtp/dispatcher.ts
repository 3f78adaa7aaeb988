import { inDisplayOrder } from '../keyword-order.js';
import { SMTP_NOT_RECOGNIZED, splitSmtpCommandLine } from './command.js';
import {
  refuse,
  type SmtpCommandContext,
  type SmtpCommandSpec,
  type SmtpOutcome,
} from './commands/context.js';
import { SMTP_COMMANDS, type SmtpCommandLabel } from './commands/table.js';
import { reply } from './reply.js';

// The one place an SMTP command line meets the table: find the command, parse its argument,
// check the state it is valid in (RFC 5321 §4.1.4), run its handler.

export interface SmtpAnswer {
  readonly outcome: SmtpOutcome;
  /** For commandDone: which command this was. */
  readonly label: SmtpCommandLabel;
}

const BAD_SEQUENCE = reply(503, '5.5.1', 'Error: bad sequence of commands');

export async function dispatchSmtpCommand(line: string, ctx: SmtpCommandContext): Promise<SmtpAnswer> {
  const split = splitSmtpCommandLine(line);
  if (!split?.spec) return { label: 'INVALID', outcome: refuse(SMTP_NOT_RECOGNIZED) };
  const command: SmtpCommandSpec = split.spec;
  const label = command.verb as SmtpCommandLabel;
  // Arguments first: a malformed command is a 501 whatever the state (as it always was).
  const parsed = command.parse(split.argument);
  if (!parsed.ok) return { label, outcome: refuse(parsed.reply) };
  const state = ctx.state;
  if (!command.states.includes(state))
    return { label, outcome: refuse(command.outOfState?.(state, ctx) ?? BAD_SEQUENCE) };
  return { label, outcome: await command.handle(parsed.command, ctx) };
}

// The order EHLO has always listed its keywords in (RFC 5321 §4.1.1.1 sets none).
const EHLO_ORDER = [
  'PIPELINING',
  'SIZE',
  '8BITMIME',
  'SMTPUTF8',
  'ENHANCEDSTATUSCODES',
  'STARTTLS',
  'REQUIRETLS',
  'AUTH',
  'DSN',
  'CHUNKING',
  'HELP',
];

/** The EHLO keywords (RFC 5321 §2.2.2): what each command of the table stands for now. */
export function smtpEhloKeywords(ctx: SmtpCommandContext): string[] {
  return inDisplayOrder(
    SMTP_COMMANDS.flatMap((command: SmtpCommandSpec) => command.ehloKeywords?.(ctx) ?? []),
    EHLO_ORDER,
  );
}

/** The verbs HELP names: the table's, but for those only ever refused. */
export function smtpHelpVerbs(): string[] {
  return SMTP_COMMANDS.filter((command: SmtpCommandSpec) => !command.unlisted).map((command) => command.verb);
}
