// AUTHENTICATE's framing (RFC 5804 §2.1) around the SASL exchange the other protocols use
// too: challenges and responses are strings (quoted or literal) of base64, "*" cancels,
// and success with additional data (SCRAM's server-final-message) goes in the OK itself,
// as `OK (SASL "…")`, not as one more challenge the client must acknowledge. That last
// point is why this drives the exchange directly rather than through SaslDialogue.

import { decodeSaslBase64 } from '../sasl/sasl-dialogue.js';
import { createSaslExchange, type SaslExchange } from '../sasl/sasl-exchange.js';
import type {
  SaslFailureReason,
  SaslIdentity,
  SaslMechanismName,
  SaslServerOptions,
  SaslStep,
} from '../sasl/sasl-step.js';

export type ManageSieveSaslTurn =
  | { readonly kind: 'challenge'; readonly base64: string }
  | { readonly kind: 'success'; readonly identity: SaslIdentity; readonly finalData: string | undefined }
  | {
      readonly kind: 'failure';
      readonly reason: SaslFailureReason | 'cancelled' | 'undecodable';
      readonly message: string;
    };

export class ManageSieveSasl {
  private readonly exchange: SaslExchange;
  private over = false;

  constructor(
    readonly mechanism: SaslMechanismName,
    options: SaslServerOptions,
  ) {
    this.exchange = createSaslExchange(mechanism, options);
  }

  /** True while the client's next line is a response to this exchange. */
  get waiting(): boolean {
    return !this.over;
  }

  /** `initial`: the initial response's text (base64; "" is an empty one), undefined when none. */
  async start(initial: string | undefined): Promise<ManageSieveSaslTurn> {
    let decoded: Buffer | undefined;
    if (initial !== undefined) {
      decoded = decodeSaslBase64(initial);
      if (!decoded) return this.fail('undecodable', 'cannot decode the initial response');
    }
    return this.turn(await this.exchange.start(decoded));
  }

  /** The client's response, the text of the string it sent. */
  async respond(text: string): Promise<ManageSieveSaslTurn> {
    if (text === '*') return this.fail('cancelled', 'authentication cancelled');
    const decoded = decodeSaslBase64(text);
    if (!decoded) return this.fail('undecodable', 'cannot decode the response');
    return this.turn(await this.exchange.respond(decoded));
  }

  /** The response could not be read (too long, not a string): the exchange ends. */
  abandon(message: string): ManageSieveSaslTurn {
    return this.fail('cancelled', message);
  }

  private turn(step: SaslStep): ManageSieveSaslTurn {
    if (step.kind === 'challenge') return { kind: 'challenge', base64: step.challenge.toString('base64') };
    this.over = true;
    if (step.kind === 'success') {
      const data =
        step.finalData && step.finalData.length > 0 ? step.finalData.toString('base64') : undefined;
      return { kind: 'success', identity: step.identity, finalData: data };
    }
    return { kind: 'failure', reason: step.reason, message: step.message };
  }

  private fail(reason: 'cancelled' | 'undecodable', message: string): ManageSieveSaslTurn {
    this.over = true;
    return { kind: 'failure', reason, message };
  }
}
