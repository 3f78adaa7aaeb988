export { type Pop3Command, parseMessageNumber, parsePop3Command } from './command.js';
export {
  type Pop3Action,
  type Pop3Hooks,
  type Pop3MaildropEntry,
  Pop3Session,
  type Pop3SessionOptions,
  type Pop3State,
} from './session.js';
export { dotStuffed, pop3WireSize, topOf } from './wire.js';
