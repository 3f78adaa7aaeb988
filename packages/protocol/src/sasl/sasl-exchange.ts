/**
 * The server side of one SASL exchange (RFC 4422), as SMTP AUTH (RFC 4954), IMAP AUTHENTICATE
 * (RFC 3501 §6.2.2, RFC 9051) and POP3 AUTH (RFC 5034) run it. The protocol engines own the
 * framing (base64, `334`/`+`, `*` to cancel); this side gets decoded bytes and answers steps.
 */
import { cramMd5Mechanism } from './cram-md5.js';
import { digestMd5Mechanism } from './digest-md5.js';
import { loginMechanism } from './login.js';
import { plainMechanism } from './plain.js';
import {
  malformed,
  type SaslConversation,
  type SaslMechanism,
  type SaslMechanismName,
  type SaslServerOptions,
  type SaslStep,
  temporaryFailure,
} from './sasl-step.js';
import { scramSha256Mechanism } from './scram-sha-256.js';

export type {
  SaslCredentialLookup,
  SaslCredentials,
  SaslFailureReason,
  SaslIdentity,
  SaslMechanismName,
  SaslOutcome,
  SaslServerOptions,
  SaslStep,
} from './sasl-step.js';

/** In the order servers advertise them: strongest first. */
export const SASL_MECHANISMS: readonly SaslMechanismName[] = [
  'SCRAM-SHA-256',
  'DIGEST-MD5',
  'CRAM-MD5',
  'PLAIN',
  'LOGIN',
];

/**
 * CRAM-MD5 and DIGEST-MD5: what the server keeps for them is password-equivalent (see
 * PasswordSecrets), so an operator may turn them off.
 */
export const LEGACY_SASL_MECHANISMS: readonly SaslMechanismName[] = ['DIGEST-MD5', 'CRAM-MD5'];

/** The mechanisms a server offers and accepts, in SASL_MECHANISMS order. */
export function enabledSaslMechanisms(options: { readonly legacy: boolean }): readonly SaslMechanismName[] {
  return options.legacy
    ? SASL_MECHANISMS
    : SASL_MECHANISMS.filter((m) => !LEGACY_SASL_MECHANISMS.includes(m));
}

/** The mechanisms that send the password itself: the engines offer them only under TLS. */
export function isPlaintextMechanism(mechanism: SaslMechanismName): boolean {
  return mechanism === 'PLAIN' || mechanism === 'LOGIN';
}

export interface SaslExchange {
  readonly mechanism: SaslMechanismName;
  /**
   * Starts; `initialResponse` is the decoded initial response (RFC 4954, RFC 4959 SASL-IR),
   * `undefined` when none was sent, an empty Buffer for "=".
   */
  start(initialResponse?: Buffer): Promise<SaslStep>;
  /** The client's next (already base64-decoded) response. */
  respond(response: Buffer): Promise<SaslStep>;
}

// RFC 2831 §2.1.2 caps a digest-response at 4096 bytes; no mechanism here needs more, and
// the cap keeps a client from making the server hash or parse megabytes.
const MAX_RESPONSE_BYTES = 4096;

const MECHANISMS: Record<SaslMechanismName, SaslMechanism> = {
  PLAIN: plainMechanism,
  LOGIN: loginMechanism,
  'CRAM-MD5': cramMd5Mechanism,
  'DIGEST-MD5': digestMd5Mechanism,
  'SCRAM-SHA-256': scramSha256Mechanism,
};

export function createSaslExchange(mechanism: SaslMechanismName, options: SaslServerOptions): SaslExchange {
  const run = MECHANISMS[mechanism];
  let conversation: SaslConversation | undefined;
  let finished = false;

  /** Every outcome ends the exchange, and nothing thrown escapes it (STYLE: errors are values). */
  async function advance(step: () => Promise<IteratorResult<Buffer, SaslStep>>): Promise<SaslStep> {
    try {
      const result = await step();
      if (!result.done) return { kind: 'challenge', challenge: result.value };
      finished = true;
      return result.value;
    } catch (cause) {
      finished = true;
      return temporaryFailure(`${mechanism} failed unexpectedly`, cause);
    }
  }

  function refuse(message: string): Promise<SaslStep> {
    finished = true;
    return Promise.resolve(malformed(message));
  }

  return {
    mechanism,
    start(initialResponse) {
      if (conversation || finished) return refuse('the exchange has already started');
      if (initialResponse && initialResponse.length > MAX_RESPONSE_BYTES) return refuse('response too long');
      const started = run(options, initialResponse);
      conversation = started;
      return advance(() => started.next());
    },
    respond(response) {
      if (finished) return refuse('the exchange is over');
      if (!conversation) return refuse('the exchange has not started');
      if (response.length > MAX_RESPONSE_BYTES) return refuse('response too long');
      const current = conversation;
      return advance(() => current.next(response));
    },
  };
}
