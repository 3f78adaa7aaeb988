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
  /** METADATA (RFC 5464) limits and server entries; DEFAULT_METADATA_SETTINGS (commands/metadata.ts) when absent. */
  readonly metadata?: MetadataSettings;
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
  /** The client's COMPRESS=DEFLATE input could not be inflated: the session says BYE and closes. */
  compressedInputFailed?(err: unknown): void;
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
  /** MAILBOXID (RFC 8474 §4): the same after RENAME, never that of another mailbox. */
  readonly mailboxId?: string;
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
  /** EMAILID (RFC 8474 §5.1), when FetchNeeds.emailId asked for it: the same for copies. */
  readonly emailId?: string;
  /** SAVEDATE (RFC 8514): when the message was saved into this mailbox; null when unknown. */
  readonly savedAt?: Date | null;
}

/**
 * What changed since a MODSEQ a client names (CHANGEDSINCE, QRESYNC, RFC 7162): read only,
 * nothing claimed and nothing folded into a session's view.
 */
export interface ModseqHistory {
  /** Messages whose MODSEQ is above the one asked about, in UID order. */
  readonly changed: readonly MessageState[];
  /** UIDs expunged since then, as far as the expunge history reaches, ascending. */
  readonly vanished: readonly number[];
  /**
   * False when expunge records from after that MODSEQ were forgotten (retention): then
   * `vanished` may miss some, and a client must be told every UID it may know that is gone.
   */
  readonly complete: boolean;
}

/** One message named by a STORE of a CONDSTORE session (RFC 7162 §3.1.3). */
export interface CheckedStoreResult {
  readonly uid: number;
  /** The flags after the STORE (as they were, when not changed). */
  readonly flags: readonly string[];
  readonly modseq: bigint;
  /** 'modified': its MODSEQ was above UNCHANGEDSINCE, so it was left as it was. */
  readonly outcome: 'changed' | 'unchanged' | 'modified';
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
  /** FETCH EMAILID (RFC 8474): worked out only when asked. */
  readonly emailId?: boolean;
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
  /** EMAILID (RFC 8474): it never changes either, and describe() always gives it. */
  readonly emailId: string;
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
      /** 'saved': SAVEDATE (RFC 8514 SAVEDBEFORE, SAVEDON, SAVEDSINCE). */
      readonly field: 'internal' | 'sent' | 'saved';
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
  | { readonly op: 'modseq'; readonly modseq: bigint }
  /** EMAILID (RFC 8474 §6): the messages that have this EMAILID, a valid objectid. */
  | { readonly op: 'emailid'; readonly emailId: string }
  /**
   * THREADID (RFC 8474 §6): worked out by the engine from the messages (thread-ids.ts) and
   * turned into a 'uids' node before the store is asked; a store never sees it.
   */
  | { readonly op: 'threadid'; readonly threadId: string };

export type AppendResult =
  | { readonly uidValidity: number; readonly uid: number }
  | 'nonexistent'
  | 'over-quota';

/** One message of an APPEND (RFC 3502: each of a MULTIAPPEND has its own flags and date). */
export interface AppendMessage {
  readonly raw: Buffer;
  readonly flags: readonly string[];
  readonly internalDate?: Date;
}

/** MULTIAPPEND (RFC 3502): every message stored, their UIDs in the order given, or none. */
export type MultiAppendResult =
  | { readonly uidValidity: number; readonly uids: readonly number[] }
  | 'nonexistent'
  | 'over-quota';

/**
 * REPLACE (RFC 8508): the new message's place in the target; `expunged` false when the old
 * one was gone already (another session expunged it meanwhile).
 */
export type ReplaceResult =
  | { readonly uidValidity: number; readonly uid: number; readonly expunged: boolean }
  | 'nonexistent'
  | 'over-quota';

export type CopyResult =
  | { readonly uidValidity: number; readonly source: readonly number[]; readonly target: readonly number[] }
  | 'nonexistent'
  | 'over-quota';

export type MailboxOperationResult = 'ok' | 'nonexistent' | 'exists' | 'invalid' | 'has-children' | 'inbox';

/** What SETMETADATA takes, and what the server's own entries say (RFC 5464 §3.2.1.1, §4.3). */
export interface MetadataSettings {
  /** The largest value, in octets (`NO [METADATA MAXSIZE n]` above it). */
  readonly maxValueSize?: number;
  /** The most entries one account holds, server and mailbox entries together (`NO [METADATA TOOMANY]`). */
  readonly maxEntries?: number;
  /** The server's /shared/admin, a URI; `mailto:postmaster@` the user's domain when absent. */
  readonly admin?: string;
  /** The server's /shared/comment; none when absent. */
  readonly comment?: string;
}

/** How far below a named entry GETMETADATA looks (RFC 5464 §4.2.2). */
export type MetadataDepth = '0' | '1' | 'infinity';

/** One stored annotation (RFC 5464 §3): its entry name, in lower case, and its value's octets. */
export interface MetadataEntry {
  readonly entry: string;
  readonly value: Buffer;
}

/** One SETMETADATA change: the value to set, or null to remove the entry. */
export interface MetadataChange {
  readonly entry: string;
  readonly value: Buffer | null;
}

export type MetadataWriteResult = 'ok' | 'nonexistent' | 'too-many';

/** One entry of a mailbox's access control list (RFC 4314 §3.3): an account's address and its rights. */
export interface MailboxGrant {
  readonly identifier: string;
  readonly rights: string;
}

/** A mailbox another account shares with this one: its owner, its name there, this account's rights. */
export interface SharedMailboxGrant {
  readonly owner: string;
  readonly name: string;
  readonly rights: string;
}

/**
 * What a store keeps of IMAP ACL (RFC 4314) for one account: the grants on its own
 * mailboxes, and the mailboxes of others granted to it. Names are always the owner's own;
 * the engine (shared-mailboxes.ts) maps them into the "Other Users/" namespace and checks
 * the rights. Rights strings are in ALL_RIGHTS order (mailbox-rights.ts).
 */
export interface MailboxSharing {
  /** Grants on one of this account's mailboxes, by address; undefined when no selectable mailbox has the name. */
  grants(name: string): Promise<readonly MailboxGrant[] | undefined>;
  /**
   * Sets an account's rights on one of this account's mailboxes ('' takes them all away).
   * 'no-such-account' when no account has the address.
   */
  setGrant(
    name: string,
    identifier: string,
    rights: string,
  ): Promise<'ok' | 'nonexistent' | 'no-such-account'>;
  /** The selectable mailboxes other accounts grant this one any right on. */
  sharedWithMe(): Promise<readonly SharedMailboxGrant[]>;
  /**
   * Another account's mailbox by that account's address and the mailbox's name: this
   * account's rights on it, the owner's address as stored, and the owner's store to reach it
   * through (its own `sharing` too); undefined when nothing is granted on it (or there is none).
   */
  sharedMailbox(
    owner: string,
    name: string,
  ): Promise<{ readonly owner: string; readonly rights: string; readonly account: ImapAccount } | undefined>;
}

/** One user's mail store, for one session. Every name is the user's own: no other user's is reachable. */
export interface ImapAccount {
  readonly address: string;
  /**
   * The store's ACL records (RFC 4314). With it, the engine wraps the account
   * (withSharedMailboxes) so that "Other Users/<owner>/<name>" reaches what others share
   * with this user, as far as the rights go; without it, no ACL and no sharing.
   */
  readonly sharing?: MailboxSharing;
  listMailboxes(): Promise<readonly MailboxInfo[]>;
  /** CREATE; `specialUse` from CREATE-SPECIAL-USE (RFC 6154 §3). */
  createMailbox(name: string, specialUse?: SpecialUseAttribute): Promise<MailboxOperationResult>;
  deleteMailbox(name: string): Promise<MailboxOperationResult>;
  renameMailbox(from: string, to: string): Promise<MailboxOperationResult>;
  setSubscribed(name: string, subscribed: boolean): Promise<MailboxOperationResult>;
  status(name: string): Promise<MailboxStatus | undefined>;
  /** The account's storage and its limit (GETQUOTA, GETQUOTAROOT). */
  quota(): Promise<AccountQuota>;
  /**
   * Annotations (RFC 5464) of a mailbox, or of the server as this user sees it when
   * `mailbox` is null: the stored entries that are one of `entries` or below one of them
   * within `depth`, sorted by entry name; 'nonexistent' when no selectable mailbox has the
   * name. Entry names come valid and in lower case (the engine checks them).
   */
  getMetadata(
    mailbox: string | null,
    entries: readonly string[],
    depth: MetadataDepth,
  ): Promise<readonly MetadataEntry[] | 'nonexistent'>;
  /**
   * SETMETADATA: every change or none (RFC 5464 §4.3); for an entry named twice, the last
   * change counts. 'too-many' when the account would hold more than `maxEntries` entries
   * and more than it held before (replacing and removing always work).
   */
  setMetadata(
    mailbox: string | null,
    changes: readonly MetadataChange[],
    maxEntries: number,
  ): Promise<MetadataWriteResult>;
  /** Opens a mailbox for SELECT (readOnly false claims \Recent) or EXAMINE. */
  open(name: string, readOnly: boolean): Promise<OpenMailbox | undefined>;
  append(
    name: string,
    message: { readonly raw: Buffer; readonly flags: readonly string[]; readonly internalDate?: Date },
  ): Promise<AppendResult>;
  /**
   * MULTIAPPEND: all the messages, in order, in one transaction, or none of them; the
   * quota is checked against their sum.
   */
  appendMessages(name: string, messages: readonly AppendMessage[]): Promise<MultiAppendResult>;
  /**
   * A stored message by mailbox, UIDVALIDITY and UID, with its raw bytes and metadata
   * (CATENATE's URLs, RFC 4469); undefined when there is none, the UIDVALIDITY differs or
   * the mailbox cannot be selected. `uidValidity` undefined: any.
   */
  storedMessage(
    name: string,
    uidValidity: number | undefined,
    uid: number,
  ): Promise<FetchedMessage | undefined>;
  /**
   * NOTIFY (RFC 5465): calls the listener with every change anywhere in the account made
   * by another session (on any replica), until the returned unwatch is called. Optional:
   * a store without it cannot offer NOTIFY.
   */
  watchAccount?(listener: (event: AccountEvent) => void): () => void;
  /** Called once when the session ends. */
  close(): void;
}

/**
 * A change somewhere in an account, by mailbox name (Unicode, '/' between levels) as it is
 * after the change: what NOTIFY turns into STATUS and LIST responses (RFC 5465 §5).
 */
export type AccountEvent =
  | { readonly kind: 'messages'; readonly mailbox: string; readonly change: 'new' | 'expunge' | 'flags' }
  | { readonly kind: 'created' | 'deleted'; readonly mailbox: string }
  | { readonly kind: 'renamed'; readonly mailbox: string; readonly oldName: string }
  | { readonly kind: 'subscription'; readonly mailbox: string; readonly subscribed: boolean };

export interface OpenMailbox {
  readonly name: string;
  readonly readOnly: boolean;
  /**
   * The session's ACL rights on it when opened (RFC 4314), for what a command does only
   * when allowed and otherwise skips quietly (FETCH's implicit \Seen, CLOSE's expunge);
   * all rights when absent (the user's own mailbox).
   */
  readonly rights?: string;
  /** MAILBOXID (RFC 8474 §4), for SELECT and EXAMINE's `OK [MAILBOXID (…)]`. */
  readonly mailboxId?: string;
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
  /**
   * STORE for a CONDSTORE session: every named message that exists comes back with its
   * MODSEQ; with `unchangedSince`, one whose MODSEQ is above it is not changed (reported
   * 'modified'). Atomic: the check and the change see the same flags.
   */
  storeChecked(
    uids: readonly number[],
    operation: FlagOperation,
    flags: readonly string[],
    unchangedSince: bigint | undefined,
  ): Promise<readonly CheckedStoreResult[]>;
  /** What changed and what was expunged since `modseq` (CHANGEDSINCE, QRESYNC). */
  history(modseq: bigint): Promise<ModseqHistory>;
  /** Expunges those of these UIDs that have \Deleted now; returns those that were removed. */
  expunge(uids: readonly number[]): Promise<readonly number[]>;
  /** UIDs of this mailbox matching the criteria. */
  search(criteria: SearchNode): Promise<readonly number[]>;
  copy(uids: readonly number[], target: string, move: boolean): Promise<CopyResult>;
  /**
   * REPLACE (RFC 8508): appends the message to `target` and expunges `uid` here (whatever
   * its flags), in one transaction where the store has them; over quota or with no such
   * target nothing changes.
   */
  replace(uid: number, target: string, message: AppendMessage): Promise<ReplaceResult>;
  /** Somebody changed this mailbox ("look again"); returns the unsubscribe. */
  watch(listener: () => void): () => void;
  close(): void;
}
