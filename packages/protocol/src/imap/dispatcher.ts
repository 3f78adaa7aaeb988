// The IMAP dispatcher: finds a command in the table, checks the session's state against
// the states the command is valid in (RFC 3501 §3, §6), runs it, and tells the client
// what changed where RFC 3501 §7.4.1 allows. The known-command list, CAPABILITY and the
// metric labels all derive from the table.

import { isStoreOutage } from '../store-outage.js';
import type { ImapCommand } from './command-reader.js';
import {
  bad,
  type CapabilityView,
  type CommandForm,
  type ImapCommandEntry,
  type ImapContext,
  type ImapOutcome,
  ImapReply,
  type ImapState,
  no,
} from './commands/command-spec.js';
import { IMAP_COMMANDS } from './commands/index.js';
import { MailboxPermissionDenied } from './mailbox-rights.js';
import { ImapSyntaxError } from './wire-values.js';

const BY_NAME: ReadonlyMap<string, ImapCommandEntry> = new Map(IMAP_COMMANDS.map((c) => [c.name, c]));
const UID_COMMANDS = IMAP_COMMANDS.filter((c) => c.uid);
/** `UID <command>` is valid where its commands are (RFC 3501 §6.4.8: selected). */
const UID_STATES: readonly ImapState[] = [...new Set(UID_COMMANDS.flatMap((c) => c.states))];

/** Every command name a table knows, UID included when some command has a UID form. */
export function commandNames(table: readonly ImapCommandEntry[]): ReadonlySet<string> {
  return new Set([...table.map((c) => c.name), ...(table.some((c) => c.uid) ? ['UID'] : [])]);
}

/**
 * The command labels of the service's metrics: each command, each UID form (`UID FETCH`)
 * and INVALID for what could not be read as a command; anything else is counted as OTHER.
 */
export function metricLabels(table: readonly ImapCommandEntry[]): ReadonlySet<string> {
  return new Set([
    ...table.map((c) => c.name),
    ...table.filter((c) => c.uid).map((c) => `UID ${c.name}`),
    'INVALID',
  ]);
}

export const IMAP_COMMAND_NAMES = commandNames(IMAP_COMMANDS);
export const IMAP_METRIC_LABELS = metricLabels(IMAP_COMMANDS);

/** CAPABILITY in this state (RFC 3501 §7.2.1): the protocol versions and literals, then what the commands add. */
export function capabilityList(
  view: CapabilityView,
  table: readonly ImapCommandEntry[] = IMAP_COMMANDS,
): string[] {
  // RFC 7888: one of LITERAL+ and LITERAL-; before login, literals are kept small.
  const literals = view.state === 'not-authenticated' ? 'LITERAL-' : 'LITERAL+';
  const always: string[] = [];
  const now: string[] = [];
  for (const command of table) {
    const atoms = command.capabilities?.(view);
    if (atoms?.always) always.push(...atoms.always);
    if (atoms?.now) now.push(...atoms.now);
  }
  return ['IMAP4rev1', 'IMAP4rev2', literals, ...always, ...now];
}

/** The command's metric label: its name, `UID FETCH` for the UID forms. */
export function metricLabel(command: ImapCommand): string {
  const sub = command.args[0];
  return command.name === 'UID' && sub?.type === 'atom' ? `UID ${sub.value.toUpperCase()}` : command.name;
}

/** Why a command is not valid in this state; undefined when it is. */
function stateRefusal(states: readonly ImapState[], state: ImapState): ImapReply | undefined {
  if (states.includes(state)) return undefined;
  if (state === 'not-authenticated') return bad('log in first');
  if (states.includes('not-authenticated')) return bad('already authenticated');
  return bad('no mailbox selected');
}

interface Found {
  readonly entry: ImapCommandEntry;
  readonly form: CommandForm;
  readonly args: ImapCommand['args'];
}

function find(command: ImapCommand, state: ImapState): Found | ImapReply {
  const { name, tag, args } = command;
  if (name === 'UID' && UID_COMMANDS.length > 0) {
    const refused = stateRefusal(UID_STATES, state);
    if (refused) return refused;
    const sub = args[0];
    if (sub?.type !== 'atom') return bad('UID needs a command');
    const entry = BY_NAME.get(sub.value.toUpperCase());
    if (!entry?.uid) return bad('unknown UID command');
    return { entry, form: { tag, uid: true }, args: args.slice(1) };
  }
  const entry = BY_NAME.get(name);
  if (!entry) return bad('unknown command');
  return stateRefusal(entry.states, state) ?? { entry, form: { tag, uid: false }, args };
}

/**
 * Runs one command. A store that fails (it throws) fails the command, not the session:
 * answered NO [UNAVAILABLE] when the store is down (store-outage.ts) and NO [SERVERBUG]
 * otherwise, reported through `failed` either way.
 */
export async function dispatch(
  command: ImapCommand,
  context: ImapContext,
  failed: (command: string, err: unknown) => void,
): Promise<ImapOutcome> {
  const found = find(command, context.state);
  if (found instanceof ImapReply) return found;
  let outcome: ImapOutcome;
  try {
    outcome = await found.entry.run(found.args, context, found.form);
  } catch (err) {
    // The lexical checks of wire-values.ts, fetch-items.ts and search-keys.ts say BAD by throwing.
    if (err instanceof ImapSyntaxError) return bad(err.message);
    // Another user's mailbox without the right for this (shared-mailboxes.ts, RFC 4314 §4).
    if (err instanceof MailboxPermissionDenied) outcome = no(`[NOPERM] ${err.message}`);
    else {
      failed(command.name, err);
      outcome = isStoreOutage(err)
        ? no('[UNAVAILABLE] the mail store cannot be reached now, try again later')
        : no('[SERVERBUG] the command could not be completed, try again');
    }
  }
  // Not after LOGOUT or STARTTLS, nor while a dialogue (IDLE, AUTHENTICATE) goes on.
  if (outcome instanceof ImapReply && outcome.status !== 'BAD') await newsAfter(found, context);
  return outcome;
}

/** Untagged news before the tagged answer, where RFC 3501 §7.4.1 allows it. */
async function newsAfter({ entry, form }: Found, context: ImapContext): Promise<void> {
  const selected = context.selected;
  if (context.state !== 'selected' || !selected) return;
  if (!selected.dirty && !entry.polls) return;
  try {
    await context.announce(await selected.sync(form.uid || !entry.holdsExpunges));
  } catch {
    // Seen next time: the tagged answer must not wait on a store hiccup.
    selected.dirty = true;
  }
}
