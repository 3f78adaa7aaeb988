/**
 * What an SMTP command module sees: a narrow view of the session (never the session class),
 * the outcome it returns (a refusal is a value, as a reply is), and the shape of a row of
 * the command table.
 */
import type { SaslCredentialLookup, SaslIdentity } from '../../sasl/sasl-exchange.js';
import type { MailParams, RcptParams } from '../params.js';
import type { ReversePath } from '../path.js';
import type { SmtpReply } from '../reply.js';
import type { MailboxPath, SmtpClientInfo, SmtpEnvelope, SmtpSessionConfig } from '../session-config.js';
import type { DataRead, DataSink, LineRead } from '../smtp-reader.js';
import type { Transaction } from '../transaction.js';

/**
 * Where the conversation stands (RFC 5321 §4.1.4): before HELO/EHLO, between transactions,
 * in a transaction after MAIL, and in one whose body is arriving in BDAT chunks (RFC 3030).
 */
export type SmtpState = 'connected' | 'greeted' | 'transaction' | 'chunking';

export const ANY_STATE: readonly SmtpState[] = ['connected', 'greeted', 'transaction', 'chunking'];

/** How a command ends. The session writes it, and counts and delays refusals. */
export type SmtpOutcome =
  | { readonly kind: 'reply'; readonly reply: SmtpReply }
  /** A bad command: counted toward maxErrors and answered after the client's penalty delay. */
  | { readonly kind: 'refusal'; readonly reply: SmtpReply }
  /** A failed login: answered after the client's AUTH penalty. */
  | { readonly kind: 'auth-failure'; readonly reply: SmtpReply }
  /** Say this (if anything) and end the session. */
  | { readonly kind: 'close'; readonly reply?: SmtpReply }
  /** Everything was said on the way (STARTTLS's 220). */
  | { readonly kind: 'said' };

export const answer = (r: SmtpReply): SmtpOutcome => ({ kind: 'reply', reply: r });
export const refuse = (r: SmtpReply): SmtpOutcome => ({ kind: 'refusal', reply: r });
export const close = (r?: SmtpReply): SmtpOutcome => (r ? { kind: 'close', reply: r } : { kind: 'close' });

/** A refusal answered as such when it is permanent, as a plain answer when temporary. */
export const refuseIfPermanent = (r: SmtpReply): SmtpOutcome => (r.code >= 500 ? refuse(r) : answer(r));

/** What the service decides for the commands: who may send, who may receive, where mail goes. */
export interface SmtpPolicy {
  lookupCredentials: SaslCredentialLookup;
  /** undefined accepts the sender; a reply refuses it. */
  checkSender(client: SmtpClientInfo, from: ReversePath, params: MailParams): Promise<SmtpReply | undefined>;
  /**
   * `<Postmaster>` with no domain (RFC 5321 §4.1.1.3): the local domain whose postmaster
   * stands for this host's, or a refusal. The session then checks `postmaster@<domain>`
   * like any other recipient.
   */
  postmasterDomain(client: SmtpClientInfo): Promise<string | SmtpReply>;
  /** undefined accepts the recipient; a reply refuses it. */
  checkRecipient(client: SmtpClientInfo, to: MailboxPath, params: RcptParams): Promise<SmtpReply | undefined>;
  /** Stores and queues the message; the reply is 250 only once it is durable. */
  deliver(client: SmtpClientInfo, envelope: SmtpEnvelope, message: Buffer): Promise<SmtpReply>;
  /**
   * A HELO or EHLO was accepted (`client.helo` holds its name): the service may start looking
   * the name up now, while the client goes on to MAIL and RCPT.
   */
  heloReceived?(client: SmtpClientInfo): void;
  /** A successful AUTH clears the client's auth failures. */
  authSucceeded?(client: SmtpClientInfo, mechanism: string): void;
  authFailed?(client: SmtpClientInfo, mechanism: string): void;
}

export interface SmtpCommandContext {
  readonly config: SmtpSessionConfig;
  readonly policy: SmtpPolicy;
  readonly clientAddress: string;
  /** What the session knows of its client now. */
  readonly client: SmtpClientInfo;
  readonly state: SmtpState;
  readonly tls: boolean;
  readonly authenticated: SaslIdentity | undefined;
  transaction: Transaction | undefined;
  /** HELO/EHLO accepted: the client's name, and any transaction is over (RFC 5321 §4.1.4). */
  greeted(domain: string, extended: boolean): void;
  authenticate(identity: SaslIdentity): void;
  /** A reply on the way (334, 354, 220); the outcome carries the last one. */
  send(reply: SmtpReply): void;
  readLine(maxBytes: number): Promise<LineRead>;
  /** What follows DATA or BDAT: read with the data timeout (RFC 5321 §4.5.3.2.5). */
  readData(sink: DataSink, maxBytes: number): Promise<DataRead>;
  readChunk(size: number, sink: DataSink | undefined): Promise<'complete' | 'eof'>;
  /**
   * After `220 Ready to start TLS`: the handshake, and everything learnt in clear forgotten
   * (RFC 3207 §4.2). False when the handshake failed and the connection must close.
   */
  startTls(): Promise<boolean>;
  /** The EHLO keywords, gathered from the command table. */
  ehloKeywords(): readonly string[];
  /** The verbs HELP names, from the command table. */
  helpVerbs(): readonly string[];
}

/** A command's argument read into its typed request, or the reply refusing it. */
export type SmtpParsed<R> =
  | { readonly ok: true; readonly command: R }
  | { readonly ok: false; readonly reply: SmtpReply };

/**
 * One row of the command table: the verb, the states it is valid in (the dispatcher refuses
 * it elsewhere, with `outOfState`'s reply), the EHLO keywords it stands for, a parser from
 * the text after the verb to a typed request, and a handler.
 */
export interface SmtpCommandSpec<
  V extends string = string,
  R extends { readonly verb: V } = { readonly verb: V },
> {
  readonly verb: V;
  readonly states: readonly SmtpState[];
  /** The 503 for a state the command is not valid in (RFC 5321 §4.1.4); a generic one if absent. */
  outOfState?(state: SmtpState, ctx: SmtpCommandContext): SmtpReply;
  /** EHLO keywords this command stands for, when offered now (RFC 5321 §2.2.2). */
  ehloKeywords?(ctx: SmtpCommandContext): readonly string[];
  /** Left out of HELP's list: a command that is only ever refused (EXPN). */
  readonly unlisted?: boolean;
  parse(argument: string): SmtpParsed<R>;
  handle(command: R, ctx: SmtpCommandContext): SmtpOutcome | Promise<SmtpOutcome>;
}

/** Keeps the verb's literal type, from which the table derives SmtpVerb and SmtpCommand. */
export function smtpCommand<const V extends string, R extends { readonly verb: V }>(
  spec: SmtpCommandSpec<V, R>,
): SmtpCommandSpec<V, R> {
  return spec;
}
