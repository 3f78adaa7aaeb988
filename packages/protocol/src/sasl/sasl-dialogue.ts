/**
 * The framing of a SASL exchange that SMTP AUTH (RFC 4954), IMAP AUTHENTICATE (RFC 3501
 * §6.2.2, RFC 4959 SASL-IR) and POP3 AUTH (RFC 5034) share: base64 on the wire, "=" as an
 * empty initial response, "*" to cancel, and success with additional data sent as one
 * more challenge that the client acknowledges (RFC 4422 §5, RFC 4954 §4, RFC 5034 §4).
 * The engines only say how a challenge and an outcome look in their protocol.
 */
import { createSaslExchange, type SaslExchange } from './sasl-exchange.js';
import type {
  SaslFailureReason,
  SaslIdentity,
  SaslMechanismName,
  SaslServerOptions,
  SaslStep,
} from './sasl-step.js';

/** What the engine does next. */
export type SaslTurn =
  /** Send this as `334 <base64>` (SMTP) or `+ <base64>` (IMAP, POP3), then read a line. */
  | { readonly kind: 'challenge'; readonly base64: string }
  | { readonly kind: 'success'; readonly identity: SaslIdentity; readonly mechanism: SaslMechanismName }
  | {
      readonly kind: 'failure';
      readonly mechanism: SaslMechanismName;
      /**
       * The mechanism's reason, or the framing's own: the client cancelled with "*", or
       * sent something that is not base64.
       */
      readonly reason: SaslFailureReason | 'cancelled' | 'undecodable';
      readonly message: string;
      readonly cause?: unknown;
    };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 as SASL responses carry it; undefined when it is not. */
export function decodeSaslBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

export class SaslDialogue {
  private readonly exchange: SaslExchange;
  /** Success with additional data was sent as a challenge: the next line only acknowledges it. */
  private pendingSuccess: SaslIdentity | undefined;
  private over = false;

  constructor(
    readonly mechanism: SaslMechanismName,
    options: SaslServerOptions,
  ) {
    this.exchange = createSaslExchange(mechanism, options);
  }

  /** True while the engine must read the client's next response line for this dialogue. */
  get waiting(): boolean {
    return !this.over;
  }

  /**
   * Starts the exchange. `initialResponse` is the text after the mechanism name as sent
   * (base64, or "=" for an empty one), undefined when the client sent none.
   */
  async start(initialResponse: string | undefined): Promise<SaslTurn> {
    let decoded: Buffer | undefined;
    if (initialResponse !== undefined) {
      decoded = initialResponse === '=' ? Buffer.alloc(0) : decodeSaslBase64(initialResponse);
      if (!decoded) return this.fail('undecodable', 'cannot decode the initial response');
    }
    return this.turn(await this.exchange.start(decoded));
  }

  /** The client's answer to a challenge: one line without its CRLF. */
  async answer(line: string): Promise<SaslTurn> {
    const text = line.trim();
    if (text === '*') return this.fail('cancelled', 'authentication cancelled');
    const pending = this.pendingSuccess;
    if (pending) {
      // The client acknowledged the server's final data: the outcome is said now.
      this.over = true;
      return { kind: 'success', identity: pending, mechanism: this.mechanism };
    }
    const decoded = decodeSaslBase64(text);
    if (!decoded) return this.fail('undecodable', 'cannot decode the response');
    return this.turn(await this.exchange.respond(decoded));
  }

  /** The line was too long or the connection is going: the exchange ends as cancelled. */
  abandon(message = 'response too long, authentication cancelled'): SaslTurn {
    return this.fail('cancelled', message);
  }

  private turn(step: SaslStep): SaslTurn {
    if (step.kind === 'challenge') return { kind: 'challenge', base64: step.challenge.toString('base64') };
    if (step.kind === 'success') {
      if (step.finalData && step.finalData.length > 0) {
        this.pendingSuccess = step.identity;
        return { kind: 'challenge', base64: step.finalData.toString('base64') };
      }
      this.over = true;
      return { kind: 'success', identity: step.identity, mechanism: this.mechanism };
    }
    this.over = true;
    return step.cause === undefined
      ? { kind: 'failure', mechanism: this.mechanism, reason: step.reason, message: step.message }
      : {
          kind: 'failure',
          mechanism: this.mechanism,
          reason: step.reason,
          message: step.message,
          cause: step.cause,
        };
  }

  private fail(reason: 'cancelled' | 'undecodable', message: string): SaslTurn {
    this.over = true;
    return { kind: 'failure', mechanism: this.mechanism, reason, message };
  }
}
