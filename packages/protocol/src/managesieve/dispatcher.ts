import type { ManageSieveFrame } from './command-reader.js';
import { answerSaslTurn } from './commands/authenticate.js';
import {
  type ManageSieveCapability,
  type ManageSieveCommandSpec,
  type ManageSieveContext,
  type ManageSieveReply,
  no,
  stringArgument,
} from './commands/context.js';
import { MANAGESIEVE_COMMANDS, type ManageSieveCommandLabel } from './commands/table.js';
import type { ManageSieveSasl } from './sasl-turns.js';

// The one place a command meets the table: find the command (names are case-insensitive,
// RFC 5804 §4), check the state it is valid in, parse its arguments, run its handler.

const BY_NAME: ReadonlyMap<string, ManageSieveCommandSpec> = new Map(
  MANAGESIEVE_COMMANDS.map((command): [string, ManageSieveCommandSpec] => [command.name, command]),
);

export interface ManageSieveAnswer {
  readonly reply: ManageSieveReply;
  /** For commandDone: which command this was. */
  readonly label: ManageSieveCommandLabel;
}

type CommandFrame = Extract<ManageSieveFrame, { kind: 'command' | 'literal-too-large' }>;

/** The command a frame names, as commandDone reports it (before it runs: it may fail). */
export function manageSieveLabel(frame: CommandFrame): ManageSieveCommandLabel {
  const first = frame.words[0];
  if (first?.type !== 'atom') return 'INVALID';
  return (BY_NAME.get(first.value.toUpperCase())?.name ?? 'OTHER') as ManageSieveCommandLabel;
}

export async function dispatchManageSieveCommand(
  frame: CommandFrame,
  ctx: ManageSieveContext,
): Promise<ManageSieveAnswer> {
  const [first, ...args] = frame.words;
  const label = manageSieveLabel(frame);
  if (first?.type !== 'atom') return { label, reply: no('a command name is needed') };
  const command = BY_NAME.get(first.value.toUpperCase());
  if (!command) return { label, reply: no('unknown command') };
  if (!command.states.includes(ctx.state))
    return {
      label,
      reply: no(ctx.state === 'non-authenticated' ? 'authenticate first' : 'already authenticated'),
    };
  if (frame.kind === 'literal-too-large')
    return { label, reply: command.oversized?.(ctx) ?? no(`literals may be ${frame.limit} octets at most`) };
  const parsed = command.parse(args);
  if (!parsed.ok) return { label, reply: parsed.reply };
  return { label, reply: await command.handle(parsed.request, ctx) };
}

/** A line answering an AUTHENTICATE challenge (§2.1): one string, for the exchange. */
export async function dispatchSaslResponse(
  frame: CommandFrame,
  sasl: ManageSieveSasl,
  ctx: ManageSieveContext,
): Promise<ManageSieveReply> {
  const [word, ...extra] = frame.words;
  const text = frame.kind === 'command' && extra.length === 0 ? stringArgument(word) : undefined;
  const turn =
    text === undefined ? sasl.abandon('the response must be one string') : await sasl.respond(text);
  return answerSaslTurn(ctx, turn, sasl.mechanism);
}

// The order the capability response lists them in (§1.7 gives none; Dovecot's, roughly).
const CAPABILITY_ORDER = [
  'IMPLEMENTATION',
  'SASL',
  'SIEVE',
  'MAXREDIRECTS',
  'NOTIFY',
  'STARTTLS',
  'OWNER',
  'UNAUTHENTICATE',
  'VERSION',
];

/** The capabilities (§1.7): what each command of the table stands for now. */
export function manageSieveCapabilities(ctx: ManageSieveContext): ManageSieveCapability[] {
  const rank = (c: ManageSieveCapability) => {
    const at = CAPABILITY_ORDER.indexOf(c.name);
    return at < 0 ? CAPABILITY_ORDER.length : at;
  };
  return MANAGESIEVE_COMMANDS.flatMap(
    (command: ManageSieveCommandSpec) => command.capabilities?.(ctx) ?? [],
  ).sort((a, b) => rank(a) - rank(b));
}
