import type { Command, CommandGroup } from '../command.js';
import { adminCommands } from './admin.js';
import { aliasCommands } from './alias.js';
import { dkimCommands } from './dkim.js';
import { domainCommands } from './domain.js';
import { archiveCommands } from './export.js';
import { maintenanceCommands } from './gc.js';
import { importCommands } from './import.js';
import { mtaStsCommands } from './mta-sts.js';
import { queueCommands } from './queue.js';
import { reportCommands } from './report.js';
import { setupCommands } from './setup.js';
import { sieveCommands } from './sieve.js';
import { userCommands } from './user.js';

/**
 * Every command, in the order of the global help. These modules hold only the usage and
 * help text at load time; each command imports the store (and Postgres, NATS) when it runs,
 * so `tegami --help` and a usage error start in the time Node itself takes.
 */
export const COMMAND_GROUPS: readonly CommandGroup[] = [
  setupCommands,
  domainCommands,
  userCommands,
  aliasCommands,
  sieveCommands,
  importCommands,
  dkimCommands,
  queueCommands,
  reportCommands,
  mtaStsCommands,
  archiveCommands,
  maintenanceCommands,
  adminCommands,
];

export const COMMANDS: readonly Command[] = COMMAND_GROUPS.flatMap((group) => group.commands);
