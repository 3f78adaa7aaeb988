/**
 * What a ManageSieve command module sees: the narrow view of the session it may read and
 * change (never the session class), the storage it is lent, the reply it returns (errors
 * are values: a NO is a reply like any other), and the shape of every command table entry.
 */
import type { SaslCredentialLookup, SaslIdentity, SaslMechanismName } from '../../sasl/sasl-step.js';
import type { ManageSieveWord } from '../command-reader.js';
import type { ManageSieveSasl } from '../sasl-turns.js';
import { decodeUtf8, sieveScriptName } from '../script-names.js';
import type { ManageSieveCode, ManageSieveResponse } from '../wire.js';

/** Before and after AUTHENTICATE (RFC 5804 names no states; LOGOUT just closes). */
export type ManageSieveState = 'non-authenticated' | 'authenticated';

export interface SieveScriptListing {
  readonly name: string;
  readonly active: boolean;
}

/** Over a limit of the user's: QUOTA/MAXSCRIPTS, QUOTA/MAXSIZE (§1.3). */
export type SieveQuotaLimit = 'maxscripts' | 'maxsize';

/**
 * One user's scripts, as the service keeps them (the store: no SQL here). Names are compared
 * exactly. Refusals are values; a throw is a failure of the store, answered TRYLATER.
 */
export interface ManageSieveScripts {
  list(): Promise<readonly SieveScriptListing[]>;
  /** The content as it was put; undefined when there is no script by that name. */
  get(name: string): Promise<string | undefined>;
  /** HAVESPACE (§2.5): would a script of `bytes` octets by this name fit. */
  haveSpace(name: string, bytes: number): Promise<'ok' | SieveQuotaLimit>;
  /** Stores or replaces (an active script stays active). The script compiled already. */
  put(name: string, content: string): Promise<'ok' | SieveQuotaLimit>;
  /** null deactivates whichever is active. */
  activate(name: string | null): Promise<'ok' | 'nonexistent'>;
  delete(name: string): Promise<'deleted' | 'active' | 'nonexistent'>;
  rename(oldName: string, newName: string): Promise<'renamed' | 'nonexistent' | 'already-exists'>;
  /** Whether the administrator has a global script by this name (`include :global` warnings). */
  globalExists?(name: string): Promise<boolean>;
}

/** What the service lends the session: accounts, the user's scripts, the login policy. */
export interface ManageSieveAccess {
  readonly lookupCredentials: SaslCredentialLookup;
  /** The scripts of the user who just authenticated; 'temp' when the store cannot be reached. */
  openScripts(identity: SaslIdentity): Promise<ManageSieveScripts | 'temp'>;
  /** For the service's growing delay after failures (and its own limit across connections). */
  authFailed?(mechanism: string): Promise<void> | void;
  authSucceeded?(identity: SaslIdentity, mechanism: string): void;
  /** UNAUTHENTICATE. */
  loggedOut?(identity: SaslIdentity): void;
}

/** One answer: data lines first (CAPABILITY, LISTSCRIPTS, GETSCRIPT), then the response. */
export type ManageSieveReply =
  | {
      readonly kind: 'response';
      readonly data?: readonly (string | Buffer)[];
      readonly response: ManageSieveResponse;
      /** What the connection does once it is written. */
      readonly after?: 'close' | 'starttls';
    }
  /** An AUTHENTICATE challenge (§2.1): a string of base64; the next line answers it. */
  | { readonly kind: 'challenge'; readonly base64: string };

export function ok(
  text?: string,
  code?: ManageSieveCode,
  data?: readonly (string | Buffer)[],
): ManageSieveReply {
  return {
    kind: 'response',
    response: { status: 'OK', ...(code !== undefined && { code }), ...(text !== undefined && { text }) },
    ...(data && { data }),
  };
}

export function no(text: string, code?: ManageSieveCode): ManageSieveReply {
  return { kind: 'response', response: { status: 'NO', ...(code !== undefined && { code }), text } };
}

export function bye(text: string, code?: ManageSieveCode): ManageSieveReply {
  return {
    kind: 'response',
    response: { status: 'BYE', ...(code !== undefined && { code }), text },
    after: 'close',
  };
}

/** A capability (§1.7): its name, and its value when it has one. */
export interface ManageSieveCapability {
  readonly name: string;
  readonly value?: string;
}

export interface ManageSieveContext {
  readonly state: ManageSieveState;
  readonly hostname: string;
  readonly tls: 'unavailable' | 'starttls' | 'active';
  /** PLAIN and LOGIN may be used now: TLS is on, or the operator allows them. */
  readonly plaintextAllowed: boolean;
  /** The mechanisms the operator enabled, and of them those offered now (SASL capability). */
  readonly enabledMechanisms: readonly SaslMechanismName[];
  readonly offeredMechanisms: readonly SaslMechanismName[];
  /** The Sieve extensions scripts may require (the SIEVE capability). */
  readonly extensions: readonly string[];
  readonly maxRedirects: number;
  /** Largest script accepted, in octets (the literal limit after login, and the compiler's). */
  readonly maxScriptBytes: number;
  /** Who is logged in; undefined before AUTHENTICATE. */
  readonly identity: SaslIdentity | undefined;
  /** The logged-in user's scripts: only commands valid in the authenticated state use it. */
  readonly scripts: ManageSieveScripts;
  readonly access: ManageSieveAccess;
  /** Every capability of the session now, gathered from the command table. */
  capabilities(): readonly ManageSieveCapability[];
  startSasl(mechanism: SaslMechanismName): ManageSieveSasl;
  /** AUTHENTICATE succeeded and the scripts are open. */
  logIn(identity: SaslIdentity, scripts: ManageSieveScripts, mechanism: string): void;
  /** UNAUTHENTICATE (§2.14.1). */
  logOut(): void;
  /** A failed login: the service is told; 'close' when this session has failed too often. */
  authFailed(mechanism: string): Promise<'continue' | 'close'>;
}

/** A command's arguments read into a typed request, or the NO for them. */
export type ManageSieveParsed<R> =
  | { readonly ok: true; readonly request: R }
  | { readonly ok: false; readonly reply: ManageSieveReply };

export function request<R>(value: R): ManageSieveParsed<R> {
  return { ok: true, request: value };
}

export function refusal(text: string, code?: ManageSieveCode): ManageSieveParsed<never> {
  return { ok: false, reply: no(text, code) };
}

export function noArguments(args: readonly ManageSieveWord[]): ManageSieveParsed<undefined> {
  return args.length === 0 ? request(undefined) : refusal('this command takes no arguments');
}

/**
 * One row of the command table: the name, the states it is valid in (the dispatcher says
 * NO elsewhere), the capabilities it stands for, a parser and a handler.
 */
export interface ManageSieveCommandSpec<N extends string = string, R = unknown> {
  readonly name: N;
  readonly states: readonly ManageSieveState[];
  capabilities?(ctx: ManageSieveContext): readonly ManageSieveCapability[];
  parse(args: readonly ManageSieveWord[]): ManageSieveParsed<R>;
  handle(request: R, ctx: ManageSieveContext): ManageSieveReply | Promise<ManageSieveReply>;
  /** The answer when a literal of the command was over the limit (and skipped). */
  oversized?(ctx: ManageSieveContext): ManageSieveReply;
}

/** Keeps the name's literal type, from which the table derives ManageSieveCommandName. */
export function manageSieveCommand<const N extends string, R>(
  spec: ManageSieveCommandSpec<N, R>,
): ManageSieveCommandSpec<N, R> {
  return spec;
}

export const NON_AUTHENTICATED: readonly ManageSieveState[] = ['non-authenticated'];
export const AUTHENTICATED: readonly ManageSieveState[] = ['authenticated'];
export const ANY_STATE: readonly ManageSieveState[] = ['non-authenticated', 'authenticated'];

/** A string argument as text; undefined when the word is not a string or not UTF-8. */
export function stringArgument(word: ManageSieveWord | undefined): string | undefined {
  return word?.type === 'string' ? decodeUtf8(word.value) : undefined;
}

/** A script name argument (§1.6), or the NO for it. */
export function scriptNameArgument(word: ManageSieveWord | undefined): ManageSieveParsed<string> {
  if (word?.type !== 'string') return refusal('a script name (a string) is needed');
  const name = sieveScriptName(word.value);
  return name.ok ? request(name.name) : refusal(name.problem);
}
