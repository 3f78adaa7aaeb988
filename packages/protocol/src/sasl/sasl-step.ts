/**
 * The types every SASL mechanism shares (RFC 4422) and the outcomes they end in. A mechanism
 * runs as a coroutine (`SaslConversation`): it yields challenges, is resumed with the client's
 * responses and returns the outcome, so each one reads top to bottom like its RFC.
 */
import { randomBytes as defaultRandomBytes } from 'node:crypto';
import type { PasswordSecrets } from './password-secrets.js';
import { SaslprepError, saslprep } from './saslprep.js';

export type SaslMechanismName = 'PLAIN' | 'LOGIN' | 'CRAM-MD5' | 'DIGEST-MD5' | 'SCRAM-SHA-256';

/** What the store knows of an account: its identity and the secrets each mechanism checks. */
export interface SaslCredentials extends PasswordSecrets {
  readonly accountId: string;
  readonly address: string;
  /**
   * How PLAIN, LOGIN and USER/PASS check a cleartext password for this account, when the
   * lookup gives one (the store's: verified-credential cache, rehash at a new cost); else
   * verifyScrypt against `scrypt`. It must answer true only for the password `scrypt` verifies.
   */
  readonly verifyPassword?: (password: string) => Promise<boolean>;
}

/** Finds an account by the username a client gave (case-insensitively); undefined if none. */
export type SaslCredentialLookup = (username: string) => Promise<SaslCredentials | undefined>;

export interface SaslServerOptions {
  /** The GSSAPI service name (RFC 4954 §4 "smtp", RFC 3501 "imap", RFC 5034 "pop", RFC 5804 §2.1 "sieve"). */
  readonly service: 'smtp' | 'imap' | 'pop' | 'sieve';
  /** For CRAM-MD5 challenges and DIGEST-MD5. */
  readonly hostname: string;
  /** Local domains, offered as DIGEST-MD5 realms. */
  readonly realms: readonly string[];
  readonly lookup: SaslCredentialLookup;
  /** Injectable for exact-bytes tests; node:crypto's otherwise. */
  readonly randomBytes?: (n: number) => Buffer;
  readonly now?: () => Date;
  /**
   * Keys the fake SCRAM salt an unknown user is given. Set the same value on every replica
   * so the fake salt is as stable as a real one; by default a random key per process.
   */
  readonly unknownUserSaltKey?: Buffer;
}

export interface SaslIdentity {
  readonly accountId: string;
  readonly address: string;
}

export type SaslFailureReason = 'invalid-credentials' | 'malformed' | 'authzid-refused' | 'temporary';

export type SaslStep =
  /** The protocol wrapper base64-encodes it (SMTP `334`, IMAP and POP3 `+`). */
  { readonly kind: 'challenge'; readonly challenge: Buffer } | SaslOutcome;

export type SaslOutcome =
  | {
      readonly kind: 'success';
      readonly identity: SaslIdentity;
      /** Additional data with success (RFC 4422 §3.6): SCRAM's server-final-message `v=…`. */
      readonly finalData?: Buffer;
    }
  | {
      readonly kind: 'failure';
      readonly reason: SaslFailureReason;
      readonly message: string;
      /** SCRAM's server-final-message `e=…`, for protocols that can carry it; safe to drop. */
      readonly finalData?: Buffer;
      /** What was thrown, for a 'temporary' failure: for the engine's log, never for the client. */
      readonly cause?: unknown;
    };

export type SaslFailure = Extract<SaslOutcome, { kind: 'failure' }>;

/** Yields challenges, receives the client's (decoded) responses, returns the outcome. */
export type SaslConversation = AsyncGenerator<Buffer, SaslOutcome, Buffer>;

export type SaslMechanism = (
  options: SaslServerOptions,
  initialResponse: Buffer | undefined,
) => SaslConversation;

// One message for an unknown user and a wrong password alike, so neither tells which it was.
export const AUTHENTICATION_FAILED = 'authentication failed';

export function invalidCredentials(finalData?: Buffer): SaslFailure {
  return finalData
    ? { kind: 'failure', reason: 'invalid-credentials', message: AUTHENTICATION_FAILED, finalData }
    : { kind: 'failure', reason: 'invalid-credentials', message: AUTHENTICATION_FAILED };
}

export function malformed(message: string, finalData?: Buffer): SaslFailure {
  return finalData
    ? { kind: 'failure', reason: 'malformed', message, finalData }
    : { kind: 'failure', reason: 'malformed', message };
}

export function temporaryFailure(message: string, cause: unknown): SaslFailure {
  return { kind: 'failure', reason: 'temporary', message, cause };
}

export type LookupResult =
  | { readonly ok: true; readonly credentials: SaslCredentials | undefined }
  | { readonly ok: false; readonly failure: SaslFailure };

/** Storage that is down is a temporary failure (the client retries), never an exception. */
export async function lookupCredentials(options: SaslServerOptions, username: string): Promise<LookupResult> {
  try {
    return { ok: true, credentials: await options.lookup(username) };
  } catch (cause) {
    return { ok: false, failure: temporaryFailure('credential lookup failed', cause) };
  }
}

/**
 * RFC 4422 §3.4.1: the client may ask to act as another identity. Tegami lets an account act
 * only as itself, so an authzid must be empty or name the authenticated address (compared
 * case-insensitively, as the store looks addresses up). Called only after the credentials
 * were verified, so a refused authzid tells nothing about a password.
 */
export function authorize(credentials: SaslCredentials, authzid: string, finalData?: Buffer): SaslOutcome {
  if (authzid !== '' && authzid.toLowerCase() !== credentials.address.toLowerCase()) {
    return {
      kind: 'failure',
      reason: 'authzid-refused',
      // The authzid is the client's text: it stays out of a message an engine may echo.
      message: `${credentials.address} may act only as itself`,
    };
  }
  const identity = { accountId: credentials.accountId, address: credentials.address };
  return finalData ? { kind: 'success', identity, finalData } : { kind: 'success', identity };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as UTF-8 text, or undefined if they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * A username as the lookup gets it: trimmed and SASLprep'd (RFC 4616 §2, RFC 5802 §5.1);
 * undefined when it is empty or holds prohibited characters.
 */
export function prepareUsername(raw: string): string | undefined {
  try {
    const prepared = saslprep(raw).trim();
    return prepared === '' ? undefined : prepared;
  } catch (err) {
    if (err instanceof SaslprepError) return undefined;
    throw err;
  }
}

export function randomSource(options: SaslServerOptions): (n: number) => Buffer {
  return options.randomBytes ?? defaultRandomBytes;
}
