/**
 * What a POP3 command module sees: the narrow view of the session it may read and change
 * (never the session class), the reply it returns (errors are values: a -ERR is a reply like
 * any other), and the shape every entry of the command table has.
 */
import type { SaslDialogue } from '../../sasl/sasl-dialogue.js';
import type { SaslCredentialLookup, SaslIdentity, SaslMechanismName } from '../../sasl/sasl-exchange.js';
import type { Pop3CommandLine } from '../command.js';
import type { Pop3Maildrop, Pop3MaildropEntry } from '../maildrop.js';

/** RFC 1939 §3; UPDATE is entered only through QUIT. */
export type Pop3State = 'authorization' | 'transaction' | 'update';

/** What the service lends the commands: the store behind the maildrop and the login policy. */
export interface Pop3MaildropAccess {
  readonly lookupCredentials: SaslCredentialLookup;
  /**
   * Locks and snapshots the user's maildrop (the INBOX). 'too-soon': the account logged in
   * less than LOGIN-DELAY seconds ago (RFC 2449 §6.8).
   */
  openMaildrop(
    identity: SaslIdentity,
  ): Promise<readonly Pop3MaildropEntry[] | 'in-use' | 'too-soon' | 'temp'>;
  /** The stored bytes of message `index` (0-based) of the snapshot. */
  readMessage(index: number): Promise<Uint8Array>;
  /** UPDATE state: remove these messages (0-based), then the session ends. */
  commitDeletions(indexes: readonly number[]): Promise<void>;
  /** For the service's growing delay after failures. */
  authFailed?(mechanism: string): Promise<void> | void;
  authSucceeded?(identity: SaslIdentity, mechanism: string): void;
}

/** One answer to a command. `after` is what the connection does after it is written. */
export type Pop3Reply =
  | {
      readonly kind: 'ok';
      readonly text: string;
      /** The lines of a multi-line response (CAPA, LIST, UIDL, AUTH): none begins with ".". */
      readonly listing?: readonly string[];
      readonly after?: 'close' | 'starttls';
    }
  | { readonly kind: 'err'; readonly text: string; readonly after?: 'close' }
  /** RETR and TOP: +OK, then the dot-stuffed body, written as the connection drains. */
  | { readonly kind: 'message'; readonly text: string; readonly body: Iterable<Uint8Array> }
  /** A SASL challenge (RFC 5034 §4): `+ <base64>`; the next line answers it. */
  | { readonly kind: 'challenge'; readonly base64: string };

export function ok(text: string, listing?: readonly string[]): Pop3Reply {
  return listing ? { kind: 'ok', text, listing } : { kind: 'ok', text };
}

export function err(text: string): Pop3Reply {
  return { kind: 'err', text };
}

/** A command line's arguments read into a typed request, or the -ERR for them. */
export type Pop3Parsed<R> =
  | { readonly ok: true; readonly request: R }
  | { readonly ok: false; readonly reply: Pop3Reply };

export function request<R>(value: R): Pop3Parsed<R> {
  return { ok: true, request: value };
}

export function refusal(text: string): Pop3Parsed<never> {
  return { ok: false, reply: err(text) };
}

/** For commands that take no arguments or ignore them. */
export const noArguments = (): Pop3Parsed<undefined> => request(undefined);

export interface Pop3CommandContext {
  readonly state: Pop3State;
  readonly hostname: string;
  readonly tls: 'unavailable' | 'starttls' | 'active';
  /** USER/PASS, PLAIN and LOGIN may be used now: TLS is on, or the operator allows them. */
  readonly plaintextAllowed: boolean;
  readonly loginDelaySeconds: number | undefined;
  /** The mechanisms the operator enabled, and of them those offered now (CAPA, AUTH). */
  readonly enabledMechanisms: readonly SaslMechanismName[];
  readonly offeredMechanisms: readonly SaslMechanismName[];
  readonly storage: Pop3MaildropAccess;
  /** Empty until login. */
  readonly maildrop: Pop3Maildrop;
  /** The name USER gave, until PASS takes it (or STLS forgets it). */
  pendingUser: string | undefined;
  /** The CAPA lines, gathered from the command table. */
  capabilities(): readonly string[];
  /** Starts a SASL dialogue; while it waits, the session hands it the client's lines. */
  startSasl(mechanism: SaslMechanismName): SaslDialogue;
  /** Login succeeded and the maildrop is locked: AUTHORIZATION → TRANSACTION. */
  enterTransaction(identity: SaslIdentity, entries: readonly Pop3MaildropEntry[]): void;
  /** QUIT in TRANSACTION: → UPDATE. */
  enterUpdate(): void;
}

/**
 * One row of the command table: the verb, the states it is valid in (the dispatcher answers
 * -ERR elsewhere), the CAPA lines it stands for, a parser and a handler.
 */
export interface Pop3CommandSpec<V extends string = string, R = unknown> {
  readonly verb: V;
  readonly states: readonly Pop3State[];
  /** CAPA lines this command stands for, when it can be used (RFC 2449 §6). */
  capabilities?(ctx: Pop3CommandContext): readonly string[];
  parse(line: Pop3CommandLine): Pop3Parsed<R>;
  handle(request: R, ctx: Pop3CommandContext): Pop3Reply | Promise<Pop3Reply>;
}

/** Keeps the verb's literal type, from which the table derives Pop3Verb. */
export function pop3Command<const V extends string, R>(spec: Pop3CommandSpec<V, R>): Pop3CommandSpec<V, R> {
  return spec;
}

export const AUTHORIZATION: readonly Pop3State[] = ['authorization'];
export const TRANSACTION: readonly Pop3State[] = ['transaction'];
export const AUTHORIZATION_OR_TRANSACTION: readonly Pop3State[] = ['authorization', 'transaction'];
