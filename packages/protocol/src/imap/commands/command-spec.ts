// The shape every IMAP command module has (RFC 3501 §6, RFC 9051 §6): its name, the states
// it is valid in (RFC 3501 §3), what it adds to CAPABILITY, a parser from tokens to a typed
// request and a handler that answers it. Errors are values: a parser or handler returns a
// tagged NO or BAD, it never throws one. Commands see the session only through
// ImapContext, so no command module imports the session (no import cycles).

import type { SaslDialogue } from '../../sasl/sasl-dialogue.js';
import type { SaslIdentity, SaslMechanismName } from '../../sasl/sasl-step.js';
import type { ImapToken } from '../command-tokens.js';
import type { ImapChunk } from '../response.js';
import type { SelectedMailbox, ViewUpdate } from '../selected-mailbox.js';
import type { AccountEvent, ImapAccount, ImapSessionOptions } from '../session-types.js';

/**
 * What NOTIFY SET asked for, as the session acts on it (RFC 5465): mailbox-notifications.ts
 * makes it. Declared here, not imported, so this module depends on none of it.
 */
export interface NotifyPlan {
  /** Whether the selected mailbox's news is pushed at once (a SELECTED filter). */
  readonly selected: unknown;
  /** The untagged lines an account event makes for this session. */
  responsesFor(event: AccountEvent, context: ImapContext): Promise<string[]>;
  /** Tells the selected mailbox's news as the SELECTED filter asks. */
  pushSelected(context: ImapContext): Promise<void>;
}

/** What ENABLE (RFC 5161) can turn on. */
export type EnableableCapability = 'IMAP4REV2' | 'UTF8=ACCEPT' | 'CONDSTORE' | 'QRESYNC';

export type ImapState = 'not-authenticated' | 'authenticated' | 'selected' | 'logout';

/** A tagged answer: the status and the text after it (response code included). */
export class ImapReply {
  constructor(
    readonly status: 'OK' | 'NO' | 'BAD',
    readonly text: string,
  ) {}
}

export const bad = (text: string) => new ImapReply('BAD', text);
export const no = (text: string) => new ImapReply('NO', text);
export const ok = (text: string) => new ImapReply('OK', text);

/**
 * A command that goes on with lines from the client before it is answered: IDLE until
 * DONE (RFC 2177), AUTHENTICATE through its challenges (RFC 3501 §6.2.2).
 */
export interface ImapDialogue {
  /** The client's next line (undefined: it was too long): the tagged answer that ends it, or undefined to read on. */
  line(text: string | undefined): Promise<ImapReply | undefined>;
  /** The selected mailbox changed while the dialogue runs (IDLE pushes it at once). */
  changed?(): Promise<void>;
}

export type ImapOutcome =
  | ImapReply
  /**
   * Answered, then the connection closes (LOGOUT), turns to TLS (STARTTLS) or to DEFLATE
   * both ways (COMPRESS, RFC 4978).
   */
  | {
      readonly kind: 'connection';
      readonly reply: ImapReply;
      readonly next: 'close' | 'starttls' | 'compress';
    }
  | { readonly kind: 'dialogue'; readonly dialogue: ImapDialogue }
  /**
   * A dialogue that ended at its first turn (AUTHENTICATE with an initial response): the
   * answer is written as a dialogue's end is, not counted as a command of its own.
   */
  | { readonly kind: 'dialogue-over'; readonly reply: ImapReply };

/** What CAPABILITY depends on (RFC 3501 §6.1.1: it changes with the state and TLS). */
export interface CapabilityView {
  readonly state: ImapState;
  readonly options: ImapSessionOptions;
  readonly tls: 'unavailable' | 'starttls' | 'active';
  /** COMPRESS=DEFLATE is on (RFC 4978): it stays on to the end, UNAUTHENTICATE too. */
  readonly compressed?: boolean;
  /** LOGIN and the plaintext SASL mechanisms are allowed now (TLS, loopback or configured). */
  readonly plaintextOk: boolean;
  /** The SASL mechanisms offered now. */
  readonly mechanisms: readonly SaslMechanismName[];
}

/**
 * Atoms a command adds to CAPABILITY: `always` ones in every state, listed first; `now`
 * ones only in the state asked about, listed after all the `always` ones. Within each, the
 * command table's order is the order on the wire.
 */
export interface CapabilityAtoms {
  readonly always?: readonly string[];
  readonly now?: readonly string[];
}

/** How the command was given: `UID FETCH` is FETCH with uid set. */
export interface CommandForm {
  readonly tag: string;
  readonly uid: boolean;
}

/** What a command handler may see and do of its session. */
export interface ImapContext {
  readonly options: ImapSessionOptions;
  readonly state: ImapState;
  readonly tls: 'unavailable' | 'starttls' | 'active';
  /** COMPRESS=DEFLATE is on (RFC 4978). */
  readonly compressed: boolean;
  /** The logged-in user's store (the dispatcher runs commands that need it only after login). */
  readonly account: ImapAccount;
  readonly selected: SelectedMailbox | undefined;
  /** UTF-8 names and quoted strings (ENABLE IMAP4rev2 / UTF8=ACCEPT). */
  readonly utf8: boolean;
  readonly rev2: boolean;
  /** CONDSTORE is on: unsolicited FETCHes carry MODSEQ (RFC 7162 §3.1). */
  readonly condstore: boolean;
  /** QRESYNC is on: VANISHED instead of EXPUNGE (RFC 7162 §3.2). */
  readonly qresync: boolean;
  /** ESEARCH SAVE result ($, RFC 5182), as UIDs. */
  savedResult: readonly number[];
  /** Writes untagged responses or literals, in order. */
  write(chunks: ImapChunk | readonly ImapChunk[]): Promise<void>;
  /** Tells the client what changed (EXISTS, RECENT, FETCH FLAGS, and EXPUNGE when allowed). */
  announce(update: ViewUpdate, highest?: 'untagged' | 'tagged'): Promise<void>;
  /** Selects (or deselects, with undefined) a mailbox. */
  select(mailbox: SelectedMailbox | undefined): void;
  /** NOTIFY (RFC 5465): what to tell unasked from now on, replacing what was; undefined for NOTIFY NONE. */
  notify(notifications: NotifyPlan | undefined): void;
  capabilities(): readonly string[];
  capabilityView(): CapabilityView;
  /** Enables an extension (RFC 5161, or a CONDSTORE-enabling command); true when it was not enabled before. */
  enable(capability: EnableableCapability): boolean;
  /** A SASL exchange with the session's credentials and realms. */
  saslDialogue(mechanism: SaslMechanismName): SaslDialogue;
  /** Opens the account of a user who authenticated and enters the authenticated state. */
  logIn(identity: SaslIdentity, mechanism: SaslMechanismName): Promise<'ok' | 'temp' | 'too-many'>;
  /** Back to not authenticated on the same connection (RFC 8437): as if just connected, TLS kept. */
  logOut(): void;
  /** Authentication failed (for the service's growing delay). */
  authFailed(mechanism: string): Promise<void>;
}

export interface ImapCommandSpec<Request> {
  /** The command name, upper case. */
  readonly name: string;
  readonly states: readonly ImapState[];
  /** Whether `UID <name>` exists (RFC 3501 §6.4.8, RFC 4315 UID EXPUNGE, RFC 6851 UID MOVE). */
  readonly uid?: boolean;
  /**
   * EXPUNGE responses wait while it runs (RFC 3501 §7.4.1: FETCH, STORE and SEARCH; the
   * UID forms may have them).
   */
  readonly holdsExpunges?: boolean;
  /** Looks for news after it even when nothing said the mailbox changed (NOOP, CHECK). */
  readonly polls?: boolean;
  capabilities?(view: CapabilityView): CapabilityAtoms;
  /** The arguments as a typed request, or the BAD (or NO) that answers them. */
  parse(args: readonly ImapToken[], form: CommandForm): Request | ImapReply;
  handle(request: Request, context: ImapContext, form: CommandForm): Promise<ImapOutcome>;
}

/** A command of the table with its request type erased. */
export interface ImapCommandEntry extends Omit<ImapCommandSpec<unknown>, 'parse' | 'handle'> {
  run(args: readonly ImapToken[], context: ImapContext, form: CommandForm): Promise<ImapOutcome>;
}

export function defineCommand<Request>(spec: ImapCommandSpec<Request>): ImapCommandEntry {
  const { parse, handle, ...rest } = spec;
  return {
    ...rest,
    async run(args, context, form) {
      const request = parse(args, form);
      return request instanceof ImapReply ? request : handle(request, context, form);
    },
  };
}

export const ANY_STATE: readonly ImapState[] = ['not-authenticated', 'authenticated', 'selected'];
export const LOGGED_IN: readonly ImapState[] = ['authenticated', 'selected'];
export const NOT_AUTHENTICATED: readonly ImapState[] = ['not-authenticated'];
export const SELECTED: readonly ImapState[] = ['selected'];

/** For commands without arguments (RFC 3501 §9: `CAPABILITY`, `STARTTLS`, `NAMESPACE`, `IDLE`). */
export function noArguments(args: readonly ImapToken[]): undefined | ImapReply {
  return args.length === 0 ? undefined : bad('wrong number of arguments');
}
