import { apop } from './apop.js';
import { auth } from './auth.js';
import { capa } from './capa.js';
import type { Pop3CommandSpec } from './context.js';
import { dele } from './dele.js';
import { list, uidl } from './listing.js';
import { noop } from './noop.js';
import { quit } from './quit.js';
import { retr, top } from './retrieve.js';
import { rset } from './rset.js';
import { stat } from './stat.js';
import { stls } from './stls.js';
import { pass, user } from './user-pass.js';

/**
 * Every POP3 command Tegami knows, one row each. The dispatcher, CAPA and the metric labels
 * read this table; adding a command is one module and one row here.
 */
export const POP3_COMMANDS = [
  capa,
  quit,
  noop,
  user,
  pass,
  apop,
  auth,
  stls,
  stat,
  list,
  top,
  uidl,
  retr,
  dele,
  rset,
] as const satisfies readonly Pop3CommandSpec[];

export type Pop3Verb = (typeof POP3_COMMANDS)[number]['verb'];

/**
 * What commandDone reports: a verb of the table, INVALID for a line that is not a command
 * line, OTHER for a keyword no command has. A bounded set, for metric labels.
 */
export type Pop3CommandLabel = Pop3Verb | 'INVALID' | 'OTHER';

export const POP3_COMMAND_LABELS: readonly Pop3CommandLabel[] = [
  ...POP3_COMMANDS.map((command) => command.verb),
  'INVALID',
  'OTHER',
];
