import { authenticate } from './authenticate.js';
import { capability } from './capability.js';
import type { ManageSieveCommandSpec } from './context.js';
import { deletescript } from './deletescript.js';
import { getscript } from './getscript.js';
import { havespace } from './havespace.js';
import { listscripts } from './listscripts.js';
import { logout } from './logout.js';
import { noop } from './noop.js';
import { checkscript, putscript } from './putscript.js';
import { renamescript } from './renamescript.js';
import { setactive } from './setactive.js';
import { starttls } from './starttls.js';
import { unauthenticate } from './unauthenticate.js';

/**
 * Every ManageSieve command (RFC 5804 §2), one row each. The dispatcher, the capability list
 * and the metric labels read this table; adding a command is one module and one row here.
 */
export const MANAGESIEVE_COMMANDS = [
  capability,
  authenticate,
  starttls,
  logout,
  noop,
  unauthenticate,
  havespace,
  putscript,
  checkscript,
  listscripts,
  setactive,
  getscript,
  deletescript,
  renamescript,
] as const satisfies readonly ManageSieveCommandSpec[];

export type ManageSieveCommandName = (typeof MANAGESIEVE_COMMANDS)[number]['name'];

/**
 * What commandDone reports: a command of the table, INVALID for a line that is not a
 * command, OTHER for a name no command has. A bounded set, for metric labels.
 */
export type ManageSieveCommandLabel = ManageSieveCommandName | 'INVALID' | 'OTHER';

export const MANAGESIEVE_COMMAND_LABELS: readonly ManageSieveCommandLabel[] = [
  ...MANAGESIEVE_COMMANDS.map((command) => command.name),
  'INVALID',
  'OTHER',
];
