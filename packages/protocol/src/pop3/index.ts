export { type Pop3CommandLine, parseMessageNumber, parsePop3Command } from './command.js';
export type { Pop3CommandContext, Pop3CommandSpec, Pop3Reply } from './commands/context.js';
export {
  POP3_COMMAND_LABELS,
  POP3_COMMANDS,
  type Pop3CommandLabel,
  type Pop3Verb,
} from './commands/table.js';
export { type Pop3Frame, Pop3LineFramer } from './line-framer.js';
export type { Pop3MaildropEntry } from './maildrop.js';
export {
  type Pop3Action,
  type Pop3Hooks,
  type Pop3MaildropAccess,
  type Pop3Send,
  Pop3Session,
  type Pop3SessionOptions,
  type Pop3State,
} from './session.js';
export { dotStuffed, dotStuffedChunks, pop3WireSize, topOf } from './wire.js';
