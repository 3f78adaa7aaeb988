import { inDisplayOrder } from '../keyword-order.js';
import type { SaslDialogue } from '../sasl/sasl-dialogue.js';
import { parsePop3Command } from './command.js';
import { err, type Pop3CommandContext, type Pop3CommandSpec, type Pop3Reply } from './commands/context.js';
import { answerSaslTurn } from './commands/login.js';
import { POP3_COMMANDS, type Pop3CommandLabel } from './commands/table.js';

// The one place a POP3 command line meets the table: find the command, check the state it
// is valid in (RFC 1939 §3), parse its arguments, run its handler.

const BY_VERB: ReadonlyMap<string, Pop3CommandSpec> = new Map(
  POP3_COMMANDS.map((command): [string, Pop3CommandSpec] => [command.verb, command]),
);

export interface Pop3Answer {
  readonly reply: Pop3Reply;
  /** For commandDone: which command this was. */
  readonly label: Pop3CommandLabel;
}

export async function dispatchPop3Command(line: string, ctx: Pop3CommandContext): Promise<Pop3Answer> {
  if (ctx.state === 'update') {
    // QUIT ended the session; only a service that read on could get here.
    return { label: 'INVALID', reply: { kind: 'err', text: 'the session is over', after: 'close' } };
  }
  const parsed = parsePop3Command(line);
  if (!parsed) return { label: 'INVALID', reply: err('unknown command') };
  const command = BY_VERB.get(parsed.keyword);
  if (!command) return { label: 'OTHER', reply: err('unknown command') };
  const label = command.verb as Pop3CommandLabel;
  if (!command.states.includes(ctx.state))
    return { label, reply: err(ctx.state === 'authorization' ? 'log in first' : 'already logged in') };
  const request = command.parse(parsed);
  if (!request.ok) return { label, reply: request.reply };
  return { label, reply: await command.handle(request.request, ctx) };
}

/** A line answering a SASL challenge (RFC 5034 §4): it goes to the dialogue, not the table. */
export async function dispatchSaslAnswer(
  line: string,
  dialogue: SaslDialogue,
  ctx: Pop3CommandContext,
): Promise<Pop3Reply> {
  return answerSaslTurn(ctx, await dialogue.answer(line), dialogue.mechanism);
}

// The order CAPA has always listed its lines in: the maildrop's commands, the session's
// tags, then what AUTHORIZATION offers (RFC 2449 §6).
const CAPA_ORDER = [
  'TOP',
  'UIDL',
  'RESP-CODES',
  'AUTH-RESP-CODE',
  'PIPELINING',
  'EXPIRE',
  'USER',
  'SASL',
  'STLS',
  'LOGIN-DELAY',
  'IMPLEMENTATION',
];

/** The CAPA lines (RFC 2449 §5): what each command of the table says it stands for now. */
export function pop3Capabilities(ctx: Pop3CommandContext): string[] {
  return inDisplayOrder(
    POP3_COMMANDS.flatMap((command: Pop3CommandSpec) => command.capabilities?.(ctx) ?? []),
    CAPA_ORDER,
  );
}
