// What the IMAP engine needs from the service: accounts, mailboxes and messages. The
// engine keeps each session's view (sequence numbers, what it has been told); the store
// behind these interfaces keeps the truth, with a MODSEQ on every change so a session can
// ask "what changed since I last looked" (RFC 7162's model, used here for every session).

import type { InputDeadlines } from '../input-deadline.js';
import type { Envelope } from '../mime/envelope.js';
import type { MimePart } from '../mime/mime-part.js';
import type { SaslCredentialLookup, SaslIdentity, SaslMechanismName } from '../sasl/sasl-exchange.js';
import type { MailboxState, StateSharing } from './mailbox-state.js';

export interface ImapSessionOptions {
  readonly hostname: string;
  /** 'starttls': a certificate is loaded and TLS is not on yet; 'active': TLS is on. */
  readonly tls: 'unavailable' | 'starttls' | 'active';
  /** LOGIN and PLAIN/LOGIN without TLS (loopback, or configured). */
  readonly plaintextAllowed: boolean;
  readonly realms: () => readonly string[];
  /**
   * The SASL mechanisms offered and accepted (enabledSaslMechanisms: without CRAM-MD5 and
   * DIGEST-MD5 when the operator turned them off); all of them when absent.
   */
  readonly saslMechanisms?: readonly SaslMechanismName[];
  /** Largest message APPEND takes (APPENDLIMIT, RFC 7889). */
  readonly maxMessageSize: number;
  /**
   * The most octets one command may take after login, literals included (APPEND: this
   * plus maxMessageSize). Default 64 KiB.
   */
  readonly maxCommandSize?: number;
  /** The same before login (LOGIN, AUTHENTICATE, ID). Default 8 KiB. */
  readonly maxLoginCommandSize?: number;
  /** Deadlines for slow clients (a line, a literal, logging in); none when undefined. */
  readonly deadlines?: InputDeadlines;
  /**
   * Commands per second a session may run, with a burst allowance (a token bucket); past
   * it the session waits before reading on, so a runaway client slows down instead of
   * starving everyone else. Undefined: no limit.
   */
  readonly commandRate?: { readonly perSecond: number; readonly burst: number };
}

export interface ImapHooks {
  readonly lookupCredentials: SaslCredentialLookup;
  /**
   * The store of the user who just authenticated; 'temp' when it cannot be reached now,
   * 'too-many' when the user has as many sessions as allowed.
   */
  openAccount(identity: SaslIdentity): Promise<ImapAccount | 'temp' | 'too-many'>;
  /** For the service's growing delay after failures. */
  authFailed?(mechanism: string): Promise<void> | void;
  authSucceeded?(identity: SaslIdentity, mechanism: string): void;
  /** The session logged out and stays open (UNAUTHENTICATE): the account it had is closed. */
  loggedOut?(identity: SaslIdentity): void;
  /** A command failed on storage trouble (answered `NO [SERVERBUG]`): for the log. */
  commandFailed?(command: string, err: unknown): void;
  /**
   * A command was answered (IDLE and AUTHENTICATE excepted, which last as long as the
   * client wants): its name (`UID FETCH` for the UID forms, INVALID when unparsable), the
   * tagged status and how long it took, for metrics.
   */
  commandDone?(command: string, status: 'OK' | 'NO' | 'BAD', seconds: number): void;
}

export type SpecialUseAttribute =
  | '\\All'
  | '\\Archive'
  | '\\Drafts'
  | '\\Flagged'
  | '\\Junk'
  | '\\Sent'
  | '\\Trash';

export interface MailboxInfo {
  /** Full name with '/' between levels, Unicode. */
  readonly name: string;
  readonly specialUse: SpecialUseAttribute | null;
  readonly subscribed: boolean;
  /**
   * The name is kept only as the parent of others, after DELETE (RFC 3501 §6.3.4): listed
   * \Noselect; SELECT, STATUS, APPEND and COPY treat it as missing; CREATE revives it.
   */
  readonly noselect?: boolean;
  /**
   * No mailbox has the name: it is only subscribed (a mailbox deleted while subscribed
   * stays on the subscription list, RFC 3501 §6.3.9). LSUB and LIST (SUBSCRIBED) show it,
   * the latter as \NonExistent (RFC 5258 §3.4); nothing else sees it.
   */
  readonly nonexistent?: boolean;
}

export interface MailboxStatus {
  readonly messages: number;
  readonly recent: number;
  readonly uidNext: number;
  readonly uidValidity: number;
  readonly unseen: number;
  readonly size: number;
  readonly highestModseq: bigint;
  /** Messages with \Deleted, and their size: what EXPUNGE would free (RFC 9208 §4.2). */
  readonly deleted: number;
  readonly deletedSize: number;
}

/** The account's one quota root (RFC 9208): what it holds against what it may. */
export interface AccountQuota {
  readonly usedBytes: number;
  /** null: the account has no limit. */
  readonly limitBytes: number | null;
}

export interface MessageState {
  readonly uid: number;
  readonly flags: readonly string[];
  readonly modseq: bigint;
}

export interface MailboxSnapshot {
  readonly uidValidity: number;
  readonly uidNext: number;
  readonly highestModseq: bigint;
  /** In UID order. */
  readonly messages: readonly MessageState[];
  /** Messages with recentFrom <= UID < recentTo are \Recent in this session (RFC 3501 §2.3.2). */
  readonly recent: RecentRange;
}

export interface RecentRange {
  readonly from: number;
  /** Exclusive. */
  readonly to: number;
}

export interface MailboxChanges {
  readonly highestModseq: bigint;
  readonly uidNext: number;
  /** Messages that are new or whose flags changed since the MODSEQ asked about, in UID order. */
  readonly changed: readonly MessageState[];
  /** UIDs expunged since then. */
  readonly expunged: readonly number[];
  /** New messages in this range are \Recent in this session. */
  readonly recent: RecentRange;
}

export interface StoredMetadata {
  readonly size: number;
  readonly root: MimePart;
  /** ENVELOPE fields as packages/protocol/mime's buildEnvelope gives them. */
  readonly envelope: Envelope;
}

export interface FetchedMessage {
  readonly uid: number;
  readonly flags: readonly string[];
  readonly modseq: bigint;
  readonly internalDate: Date;
  readonly size: number;
  readonly metadata?: StoredMetadata;
  readonly raw?: Buffer;
}

/** A view's start from a state on the shelf: the mailbox as of `modseq`, and what changed since. */
export interface ShelvedStart {
  readonly state: MailboxState;
  readonly modseq: bigint;
  readonly changes: MailboxChanges;
}

export interface FetchNeeds {
  readonly metadata: boolean;
  readonly raw: boolean;
  /**
   * Only the top-level header is read from the message (BODY[HEADER], HEADER.FIELDS…):
   * `raw` may then hold just its bytes, up to the metadata's root.bodyStart.
   */
  readonly header?: boolean;
}

/**
 * What never changes about a stored message: a FETCH of envelopes, structures, sizes or
 * header fields needs only these, with flags from the session's own view.
 */
export interface MessageFacts {
  readonly uid: number;
  readonly internalDate: Date;
  readonly size: number;
  readonly metadata: StoredMetadata;
  /** The top-level header's bytes (to root.bodyStart), when asked for. */
  readonly header?: Buffer;
}

export type FlagOperation = 'replace' | 'add' | 'remove';

export type SearchNode =
  | { readonly op: 'all' }
  | { readonly op: 'and'; readonly nodes: readonly SearchNode[] }
  | { readonly op: 'or'; readonly left: SearchNode; readonly right: SearchNode }
  | { readonly op: 'not'; readonly node: SearchNode }
  /** Resolved by the engine from sequence sets, UID sets, $, RECENT, NEW and OLD. */
  | { readonly op: 'uids'; readonly uids: readonly number[] }
  | { readonly op: 'flag'; readonly flag: string; readonly set: boolean }
  | {
      readonly op: 'date';
      readonly field: 'internal' | 'sent';
      readonly compare: 'before' | 'on' | 'since';
      /** Midnight UTC of the day named. */
      readonly day: Date;
    }
  | { readonly op: 'size'; readonly compare: 'larger' | 'smaller'; readonly size: number }
  /** WITHIN (RFC 5032): the internal date more than (older) or at most (younger) this many seconds ago. */
  | { readonly op: 'age'; readonly compare: 'older' | 'younger'; readonly seconds: number }
  /** Header field contains the value (normalised for search); '' matches any message with the field. */
  | { readonly op: 'header'; readonly name: string; readonly value: string }
  | { readonly op: 'text'; readonly where: 'body' | 'text'; readonly value: string }
  | { readonly op: 'modseq'; readonly modseq: bigint };

export type AppendResult =
  | { readonly uidValidity: number; readonly uid: number }
  | 'nonexistent'
  | 'over-quota';

export type CopyResult =
  | { readonly uidValidity: number; readonly source: readonly number[]; readonly target: readonly number[] }
  | 'nonexistent'
  | 'over-quota';

export type MailboxOperationResult = 'ok' | 'nonexistent' | 'exists' | 'invalid' | 'has-children' | 'inbox';

/** One user's mail store, for one session. Every name is the user's own: no other user's is reachable. */
export interface ImapAccount {
  readonly address: string;
  listMailboxes(): Promise<readonly MailboxInfo[]>;
  /** CREATE; `specialUse` from CREATE-SPECIAL-USE (RFC 6154 §3). */
  createMailbox(name: string, specialUse?: SpecialUseAttribute): Promise<MailboxOperationResult>;
  deleteMailbox(name: string): Promise<MailboxOperationResult>;
  renameMailbox(from: string, to: string): Promise<MailboxOperationResult>;
  setSubscribed(name: string, subscribed: boolean): Promise<MailboxOperationResult>;
  status(name: string): Promise<MailboxStatus | undefined>;
  /** The account's storage and its limit (GETQUOTA, GETQUOTAROOT). */
  quota(): Promise<AccountQuota>;
  /** Opens a mailbox for SELECT (readOnly false claims \Recent) or EXAMINE. */
  open(name: string, readOnly: boolean): Promise<OpenMailbox | undefined>;
  append(
    name: string,
    message: { readonly raw: Buffer; readonly flags: readonly string[]; readonly internalDate?: Date },
  ): Promise<AppendResult>;
  /** Called once when the session ends. */
  close(): void;
}

export interface OpenMailbox {
  readonly name: string;
  readonly readOnly: boolean;
  /**
   * Where the sessions' views of this mailbox share one copy of its messages (UIDs and
   * flags) while they agree; each view keeps its own when absent.
   */
  readonly sharing?: StateSharing;
  /**
   * What the store read together with finding the mailbox (one round trip for a SELECT):
   * a snapshot, or the changes since a state of the shelf's; handed out once, undefined
   * when there is none or it was taken.
   */
  snapshotInHand?(): MailboxSnapshot | ShelvedStart | undefined;
  snapshot(): Promise<MailboxSnapshot>;
  changesSince(modseq: bigint): Promise<MailboxChanges>;
  /** The asked messages that still exist, in UID order. */
  fetch(uids: readonly number[], needs: FetchNeeds): Promise<readonly FetchedMessage[]>;
  /**
   * The unchanging facts of these messages (with their headers when `header`), from a
   * cache where the store keeps one: a FETCH that needs nothing else costs no round trip
   * once they are known. In UID order. A message no longer stored may be left out, or may
   * still be answered from the cache: the caller shows only the messages its view still
   * holds. Optional: without it, every FETCH asks fetch().
   */
  describe?(uids: readonly number[], header: boolean): Promise<readonly MessageFacts[]>;
  store(
    uids: readonly number[],
    operation: FlagOperation,
    flags: readonly string[],
  ): Promise<readonly MessageState[]>;
  /** Expunges those of these UIDs that have \Deleted now; returns those that were removed. */
  expunge(uids: readonly number[]): Promise<readonly number[]>;
  /** UIDs of this mailbox matching the criteria. */
  search(criteria: SearchNode): Promise<readonly number[]>;
  copy(uids: readonly number[], target: string, move: boolean): Promise<CopyResult>;
  /** Somebody changed this mailbox ("look again"); returns the unsubscribe. */
  watch(listener: () => void): () => void;
  close(): void;
}
