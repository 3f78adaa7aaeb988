export {
  type CommandReaderLimits,
  DEFAULT_READER_LIMITS,
  type ImapCommand,
  ImapCommandReader,
  type ImapToken,
  type ReaderEvent,
} from './command-reader.js';
export {
  type CapabilityView,
  type ImapCommandEntry,
  type ImapCommandSpec,
  type ImapContext,
  type ImapOutcome,
  ImapReply,
} from './commands/command-spec.js';
export { IMAP_COMMANDS } from './commands/index.js';
export {
  capabilityList,
  commandNames,
  IMAP_COMMAND_NAMES,
  IMAP_METRIC_LABELS,
  metricLabels,
} from './dispatcher.js';
export { mailboxNameProblem } from './mailbox-names.js';
export { type MailboxState, SharedMailboxStates, type StateSharing } from './mailbox-state.js';
export { formatInternalDate, imapAString, imapString, parseInternalDate } from './response.js';
export { type ImapAction, type ImapSend, ImapSession, type ImapState } from './session.js';
export type {
  AccountQuota,
  AppendResult,
  CopyResult,
  FetchedMessage,
  FetchNeeds,
  FlagOperation,
  ImapAccount,
  ImapHooks,
  ImapSessionOptions,
  MailboxChanges,
  MailboxInfo,
  MailboxOperationResult,
  MailboxSnapshot,
  MailboxStatus,
  MessageFacts,
  MessageState,
  OpenMailbox,
  RecentRange,
  SearchNode,
  ShelvedStart,
  SpecialUseAttribute,
  StoredMetadata,
} from './session-types.js';
