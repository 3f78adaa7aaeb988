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
export { ALL_RIGHTS, MailboxPermissionDenied, normalRights } from './mailbox-rights.js';
export { type MailboxState, SharedMailboxStates, type StateSharing } from './mailbox-state.js';
export { metadataEntryMatches, metadataEntryProblem } from './metadata-entries.js';
export { emailIdOf, emailKeyOf, isObjectId, mailboxIdOf } from './object-ids.js';
export { formatInternalDate, imapAString, imapString, parseInternalDate } from './response.js';
export { type ImapAction, type ImapSend, ImapSession, type ImapState } from './session.js';
export type {
  AccountEvent,
  AccountQuota,
  AppendMessage,
  AppendResult,
  CheckedStoreResult,
  CopyResult,
  FetchedMessage,
  FetchNeeds,
  FlagOperation,
  ImapAccount,
  ImapHooks,
  ImapSessionOptions,
  MailboxChanges,
  MailboxGrant,
  MailboxInfo,
  MailboxOperationResult,
  MailboxSharing,
  MailboxSnapshot,
  MailboxStatus,
  MessageFacts,
  MessageState,
  MetadataChange,
  MetadataDepth,
  MetadataEntry,
  MetadataSettings,
  MetadataWriteResult,
  ModseqHistory,
  MultiAppendResult,
  OpenMailbox,
  RecentRange,
  ReplaceResult,
  SearchNode,
  SharedMailboxGrant,
  ShelvedStart,
  SpecialUseAttribute,
  StoredMetadata,
} from './session-types.js';
export {
  type AccountAcl,
  accountAcl,
  mailboxPlace,
  OTHER_USERS,
  sharedName,
  withSharedMailboxes,
} from './shared-mailboxes.js';
