export {
  ManageSieveCommandReader,
  type ManageSieveFrame,
  type ManageSieveReaderLimits,
  type ManageSieveWord,
} from './command-reader.js';
export type {
  ManageSieveAccess,
  ManageSieveScripts,
  ManageSieveState,
  SieveQuotaLimit,
  SieveScriptListing,
} from './commands/context.js';
export {
  MANAGESIEVE_COMMAND_LABELS,
  MANAGESIEVE_COMMANDS,
  type ManageSieveCommandLabel,
  type ManageSieveCommandName,
} from './commands/table.js';
export { checkSieveScript, type SieveScriptCheck } from './script-check.js';
export { MAX_SCRIPT_NAME_CHARACTERS, sieveScriptName } from './script-names.js';
export { ManageSieveSession } from './session.js';
export type {
  ManageSieveAction,
  ManageSieveHooks,
  ManageSieveSend,
  ManageSieveSessionOptions,
} from './session-types.js';
export { type ManageSieveCode, type ManageSieveResponse, responseBytes, sieveString } from './wire.js';
