export { type Pop3Command, parseMessageNumber, parsePop3Command } from './command.js';
export { type Pop3Frame, Pop3LineFramer } from './line-framer.js';
export {
  type Pop3Action,
  type Pop3Hooks,
  type Pop3MaildropEntry,
  type Pop3Send,
  Pop3Session,
  type Pop3SessionOptions,
  type Pop3State,
} from './session.js';
export { dotStuffed, dotStuffedChunks, pop3WireSize, topOf } from './wire.js';
