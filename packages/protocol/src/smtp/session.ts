import {
  createSaslExchange,
  isPlaintextMechanism,
  SASL_MECHANISMS,
  type SaslMechanismName,
} from '../sasl/sasl-exchange.js';
import { type ByteSource, ReadTimeout } from './byte-source.js';
import {
  type ForwardPath,
  type MailParams,
  parseCommand,
  type RcptParams,
  type ReversePath,
  type SmtpCommand,
} from './command.js';
import { reply, type SmtpReply, serializeReply } from './reply.js';
import type {
  MailboxPath,
  SmtpClientInfo,
  SmtpEnvelope,
  SmtpSessionConfig,
  SmtpSessionHooks,
} from './session-types.js';
import { type DataSink, type LineRead, SmtpReader } from './smtp-reader.js';

// RFC 4954 §4: an AUTH response line may be up to 12288 octets.
const MAX_AUTH_LINE_BYTES = 12_288;
// Order of the AUTH line: the challenge-response mechanisms first, as the classic
// `250-AUTH CRAM-MD5 DIGEST-MD5 …` shows.
const AUTH_ORDER: readonly SaslMechanismName[] = [
  'CRAM-MD5',
  'DIGEST-MD5',
  'SCRAM-SHA-256',
  'PLAIN',
  'LOGIN',
];
// RFC 2045 §2.7-2.8: 7bit and 8bit data never hold a NUL (RFC 5322 §4.1: "no longer
// allowed"), and BINARYMIME (RFC 3030), the only body type that may, is not offered. IMAP
// cannot serve a NUL outside BINARY and many clients stop at one; Cyrus refuses such
// messages too. Refused rather than stripped: changing the bytes would be worse.
const NUL_REFUSED = reply(550, '5.6.0', 'Error: NUL character in message: refused (RFC 2045 §2.8)');
const TOO_BIG = reply(552, '5.3.4', 'Message size exceeds fixed maximum message size');

interface Transaction {
  from: ReversePath;
  mailParams: MailParams;
  recipients: { to: MailboxPath; params: RcptParams; address: string }[];
  /** BDAT chunks so far (RFC 3030); undefined until the first BDAT. */
  chunks?: MessageBytes;
  chunkBytes: number;
  /** A BDAT sequence that failed: later chunks are read and dropped (RFC 3030 §3). */
  chunkFailure?: SmtpReply;
}

type Outcome = 'continue' | 'close';

/**
 * One SMTP conversation (RFC 5321 with the extensions Tegami offers), from the greeting to
 * QUIT, a timeout or a refusal. It reads through an SmtpReader, answers through
 * hooks.send, and leaves every decision of policy and every write to storage to the hooks.
 */
export class SmtpSession {
  private reader: SmtpReader;
  private timeoutMs: number;
  private helo: string | undefined;
  private extended = false;
  private tls: boolean;
  private authenticated: { accountId: string; address: string } | undefined;
  private transaction: Transaction | undefined;
  private errors = 0;
  private draining = false;
  private wakeForDrain: (() => void) | undefined;

  constructor(
    private readonly config: SmtpSessionConfig,
    private readonly hooks: SmtpSessionHooks,
    source: ByteSource,
    private readonly clientAddress: string,
  ) {
    this.timeoutMs = config.commandTimeoutMs;
    this.reader = new SmtpReader(source, () => this.timeoutMs, config.deadlines);
    this.tls = config.tls === 'implicit';
  }

  get client(): SmtpClientInfo {
    const reverseName = this.hooks.reverseName?.();
    return {
      address: this.clientAddress,
      helo: this.helo,
      extended: this.extended,
      tls: this.tls,
      authenticated: this.authenticated,
      ...(reverseName !== undefined && { reverseName }),
    };
  }

  /**
   * Graceful shutdown: a session between transactions is answered 421 at once (RFC 5321
   * §3.8); one in a transaction finishes it (the client gets its 250) and is answered 421
   * at its next command. The service enforces the deadline.
   */
  drain(): void {
    this.draining = true;
    this.wakeForDrain?.();
  }

  /** Runs the conversation to its end; resolves when the connection should be closed. */
  async run(): Promise<void> {
    this.send(reply(220, undefined, `${this.config.hostname} ESMTP Tegami`));
    try {
      for (;;) {
        if (this.draining && !this.transaction) {
          this.send(reply(421, '4.3.2', `${this.config.hostname} Service shutting down, try again later`));
          return;
        }
        this.timeoutMs = this.config.commandTimeoutMs;
        const read = await this.nextCommandLine();
        if (read === 'drain') continue;
        if (read.kind === 'eof') return;
        let outcome: Outcome;
        if (read.kind === 'too-long') {
          outcome = await this.refuse(reply(500, '5.5.2', 'Error: line too long'));
        } else {
          const parsed = parseCommand(read.line.toString('utf8'));
          outcome = parsed.ok ? await this.execute(parsed.command) : await this.refuse(parsed.reply);
        }
        if (outcome === 'close') return;
      }
    } catch (err) {
      if (err instanceof ReadTimeout) {
        this.send(reply(421, '4.4.2', `${this.config.hostname} Error: timeout exceeded`));
        return;
      }
      throw err;
    }
  }

  /** The next command line; between transactions a drain() ends the wait. */
  private nextCommandLine(): Promise<LineRead | 'drain'> {
    const reading = this.reader.readLine(this.config.maxCommandLineBytes);
    if (this.transaction) return reading;
    // The read that loses the race is abandoned (the session closes): its timeout must
    // not surface as an unhandled rejection.
    reading.catch(() => undefined);
    return Promise.race([
      reading,
      new Promise<'drain'>((resolve) => {
        this.wakeForDrain = () => resolve('drain');
      }),
    ]).finally(() => {
      this.wakeForDrain = undefined;
    });
  }

  private async execute(command: SmtpCommand): Promise<Outcome> {
    switch (command.verb) {
      case 'EHLO':
      case 'HELO':
        return this.greet(command.domain, command.verb === 'EHLO');
      case 'STARTTLS':
        return this.startTls();
      case 'AUTH':
        return this.auth(command.mechanism, command.initialResponse);
      case 'MAIL':
        return this.mail(command.from, command.params);
      case 'RCPT':
        return this.rcpt(command.to, command.params);
      case 'DATA':
        return this.data();
      case 'BDAT':
        return this.bdat(command.size, command.last);
      case 'RSET':
        this.transaction = undefined;
        return this.ok(reply(250, '2.0.0', 'Ok'));
      case 'NOOP':
        return this.ok(reply(250, '2.0.0', 'Ok'));
      case 'QUIT':
        this.send(reply(221, '2.0.0', 'Bye'));
        return 'close';
      case 'VRFY':
        // RFC 5321 §3.5.3: 252 when the server will not say whether a user exists.
        return this.ok(reply(252, '2.5.2', 'Cannot VRFY user, but will accept message and attempt delivery'));
      case 'EXPN':
        return this.refuse(reply(502, '5.5.1', 'EXPN not available'));
      case 'HELP':
        return this.ok(
          reply(
            214,
            '2.0.0',
            'Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH',
          ),
        );
    }
  }

  private greet(domain: string, extended: boolean): Outcome {
    this.helo = domain;
    this.extended = extended;
    this.transaction = undefined;
    this.hooks.heloReceived?.(this.client);
    if (!extended) return this.ok(reply(250, undefined, this.config.hostname));
    const lines = [
      `${this.config.hostname} Hello ${domain} [${this.clientAddress}]`,
      'PIPELINING',
      `SIZE ${this.config.maxMessageBytes}`,
      '8BITMIME',
      'SMTPUTF8',
      'ENHANCEDSTATUSCODES',
    ];
    if (this.config.tls === 'starttls' && !this.tls) lines.push('STARTTLS');
    // RFC 8689 §2: a MAIL FROM may carry REQUIRETLS only over TLS, so the keyword is only
    // offered there (after STARTTLS, or from the first byte on 465).
    if (this.tls) lines.push('REQUIRETLS');
    const mechanisms = this.offeredMechanisms();
    if (mechanisms.length > 0 && !this.authenticated) lines.push(`AUTH ${mechanisms.join(' ')}`);
    lines.push('DSN', 'CHUNKING', 'HELP');
    return this.ok(reply(250, undefined, ...lines));
  }

  private offeredMechanisms(): SaslMechanismName[] {
    if (this.config.role !== 'submission') return [];
    // RFC 4954 §4: plaintext mechanisms are not offered where they would travel in clear.
    return AUTH_ORDER.filter(
      (m) => this.enabledMechanisms().includes(m) && (this.plaintextAllowed() || !isPlaintextMechanism(m)),
    );
  }

  private enabledMechanisms(): readonly SaslMechanismName[] {
    return this.config.saslMechanisms ?? SASL_MECHANISMS;
  }

  private plaintextAllowed(): boolean {
    return this.tls || this.config.allowPlaintextAuth;
  }

  private async startTls(): Promise<Outcome> {
    if (this.config.tls !== 'starttls')
      return this.refuse(reply(502, '5.5.1', 'Error: STARTTLS not available'));
    if (this.tls) return this.refuse(reply(503, '5.5.1', 'Error: TLS already active'));
    this.send(reply(220, '2.0.0', 'Ready to start TLS'));
    // RFC 3207 §4.2 / CVE-2011-0411: nothing the client sent before the handshake counts.
    this.reader.discardBuffered();
    const source = await this.hooks.startTls();
    if (!source) return 'close';
    this.reader = new SmtpReader(source, () => this.timeoutMs, this.config.deadlines);
    this.tls = true;
    // RFC 3207 §4.2: forget all knowledge obtained from the client (HELO, AUTH, transaction).
    this.helo = undefined;
    this.extended = false;
    this.authenticated = undefined;
    this.transaction = undefined;
    return 'continue';
  }

  private async auth(mechanismName: string, initialResponse: string | undefined): Promise<Outcome> {
    if (this.config.role !== 'submission')
      return this.refuse(reply(503, '5.5.1', 'Error: authentication not enabled'));
    if (!this.helo) return this.refuse(reply(503, '5.5.1', 'Error: send EHLO first'));
    if (this.authenticated) return this.refuse(reply(503, '5.5.1', 'Error: already authenticated'));
    if (this.transaction) return this.refuse(reply(503, '5.5.1', 'Error: MAIL transaction in progress'));
    const mechanism = this.enabledMechanisms().find((m) => m === mechanismName);
    if (!mechanism) return this.refuse(reply(504, '5.5.4', 'Unrecognized authentication type'));
    if (isPlaintextMechanism(mechanism) && !this.plaintextAllowed()) {
      return this.refuse(reply(538, '5.7.11', 'Encryption required for requested authentication mechanism'));
    }
    let decoded: Buffer | undefined;
    if (initialResponse !== undefined) {
      decoded = decodeBase64(initialResponse === '=' ? '' : initialResponse);
      if (!decoded) return this.refuse(reply(501, '5.5.2', 'Cannot decode response'));
    }
    const exchange = createSaslExchange(mechanism, {
      service: 'smtp',
      hostname: this.config.hostname,
      realms: this.config.realms(),
      lookup: this.hooks.lookupCredentials,
    });
    let step = await exchange.start(decoded);
    for (;;) {
      if (step.kind === 'success') {
        if (step.finalData && step.finalData.length > 0) {
          // RFC 4954 §4: SMTP has no success-with-data; send it as a challenge first.
          const ack = await this.readAuthResponse(step.finalData);
          if (ack === 'close') return 'close';
          if (ack === undefined) return this.refuse(reply(501, '5.0.0', 'Authentication cancelled'));
        }
        this.authenticated = step.identity;
        this.hooks.authSucceeded?.(this.client, mechanism);
        return this.ok(reply(235, '2.7.0', 'Authentication successful'));
      }
      if (step.kind === 'failure') {
        this.hooks.authFailed?.(this.client, mechanism);
        const answer =
          step.reason === 'temporary'
            ? reply(454, '4.7.0', 'Temporary authentication failure')
            : step.reason === 'malformed'
              ? reply(501, '5.5.2', 'Malformed authentication data')
              : reply(535, '5.7.8', 'Authentication credentials invalid');
        return this.penalise(answer, 'auth');
      }
      const response = await this.readAuthResponse(step.challenge);
      if (response === 'close') return 'close';
      if (response === undefined) return this.refuse(reply(501, '5.0.0', 'Authentication cancelled'));
      if (response === 'undecodable') return this.refuse(reply(501, '5.5.2', 'Cannot decode response'));
      step = await exchange.respond(response);
    }
  }

  /** Sends a 334 challenge and reads the answer: bytes, undefined for `*`, or 'close'. */
  private async readAuthResponse(challenge: Buffer): Promise<Buffer | undefined | 'undecodable' | 'close'> {
    this.send({ code: 334, lines: [challenge.toString('base64')] });
    const read = await this.reader.readLine(MAX_AUTH_LINE_BYTES);
    if (read.kind === 'eof') return 'close';
    if (read.kind === 'too-long') return 'undecodable';
    const text = read.line.toString('latin1').trim();
    if (text === '*') return undefined;
    return decodeBase64(text) ?? 'undecodable';
  }

  private async mail(from: ReversePath, params: MailParams): Promise<Outcome> {
    if (!this.helo) return this.refuse(reply(503, '5.5.1', 'Error: send HELO/EHLO first'));
    if (this.config.role === 'submission' && !this.authenticated) {
      return this.refuse(reply(530, '5.7.0', 'Authentication required'));
    }
    if (this.transaction) return this.refuse(reply(503, '5.5.1', 'Error: nested MAIL command'));
    if (params.size !== undefined && params.size > this.config.maxMessageBytes) {
      return this.refuse(reply(552, '5.3.4', 'Message size exceeds fixed maximum message size'));
    }
    if (params.body === 'BINARYMIME')
      return this.refuse(reply(555, '5.5.4', 'BODY=BINARYMIME not supported'));
    if (from.kind === 'mailbox' && from.mailbox.utf8 && !params.smtputf8) {
      return this.refuse(reply(553, '5.6.7', 'Non-ASCII address requires the SMTPUTF8 parameter'));
    }
    if (params.requireTls && !this.tls) return this.refuse(requireTlsRefusal(this.config.tls));
    const refusal = await this.hooks.checkSender(this.client, from, params);
    if (refusal) return this.refuse(refusal);
    this.transaction = { from, mailParams: params, recipients: [], chunkBytes: 0 };
    return this.ok(reply(250, '2.1.0', 'Ok'));
  }

  private async rcpt(path: ForwardPath, params: RcptParams): Promise<Outcome> {
    const tx = this.transaction;
    if (!tx) return this.refuse(reply(503, '5.5.1', 'Error: need MAIL command'));
    if (tx.chunks) return this.refuse(reply(503, '5.5.1', 'Error: BDAT in progress'));
    if (tx.recipients.length >= this.config.maxRecipients) {
      return this.ok(reply(452, '4.5.3', 'Error: too many recipients'));
    }
    if (path.kind === 'mailbox' && path.mailbox.utf8 && !tx.mailParams.smtputf8) {
      return this.refuse(reply(553, '5.6.7', 'Non-ASCII address requires the SMTPUTF8 parameter'));
    }
    let to: MailboxPath;
    if (path.kind === 'postmaster') {
      // RFC 5321 §4.1.1.3: <Postmaster> with no domain is this host's postmaster. The
      // service names the local domain whose postmaster that is; it is never relayed.
      const domain = await this.hooks.postmasterDomain(this.client);
      if (typeof domain !== 'string') return domain.code >= 500 ? this.refuse(domain) : this.ok(domain);
      to = {
        kind: 'mailbox',
        mailbox: { localPart: 'postmaster', domain, text: `postmaster@${domain}`, utf8: false },
      };
    } else {
      to = path;
    }
    const refusal = await this.hooks.checkRecipient(this.client, to, params);
    if (refusal) return refusal.code >= 500 ? this.refuse(refusal) : this.ok(refusal);
    const address = `${to.mailbox.localPart}@${to.mailbox.domain}`;
    tx.recipients.push({ to, params, address });
    return this.ok(reply(250, '2.1.5', 'Ok'));
  }

  private async data(): Promise<Outcome> {
    const tx = this.transaction;
    if (!tx) return this.refuse(reply(503, '5.5.1', 'Error: need MAIL command'));
    if (tx.chunks) return this.refuse(reply(503, '5.5.1', 'Error: BDAT in progress'));
    if (tx.recipients.length === 0) return this.refuse(reply(554, '5.5.1', 'Error: no valid recipients'));
    this.send(reply(354, undefined, 'End data with <CR><LF>.<CR><LF>'));
    this.timeoutMs = this.config.dataTimeoutMs;
    const message = new MessageBytes();
    const result = await this.reader.readData(message, this.config.maxMessageBytes);
    this.transaction = undefined;
    switch (result.kind) {
      case 'eof':
        return 'close';
      case 'smuggling':
        this.send(reply(550, '5.5.2', 'Error: bare CR or LF in message: refused (RFC 5321 §2.3.8)'));
        return 'close';
      case 'too-big':
        return this.ok(TOO_BIG);
      case 'complete':
        // The whole message is read first: the client is in step for its next command.
        if (message.hasNul) return this.ok(NUL_REFUSED);
        return this.ok(await this.hooks.deliver(this.client, envelopeOf(tx), message.bytes()));
    }
  }

  private async bdat(size: number, last: boolean): Promise<Outcome> {
    const tx = this.transaction;
    this.timeoutMs = this.config.dataTimeoutMs;
    // The chunk's bytes follow the command whatever we answer: read them in every case.
    if (!tx || tx.recipients.length === 0) {
      if ((await this.reader.readChunk(size, undefined)) === 'eof') return 'close';
      return this.refuse(
        tx
          ? reply(554, '5.5.1', 'Error: no valid recipients')
          : reply(503, '5.5.1', 'Error: need MAIL command'),
      );
    }
    tx.chunks ??= new MessageBytes();
    const fits = !tx.chunkFailure && tx.chunkBytes + size <= this.config.maxMessageBytes;
    if ((await this.reader.readChunk(size, fits ? tx.chunks : undefined)) === 'eof') return 'close';
    tx.chunkBytes += size;
    if (!fits) tx.chunkFailure ??= TOO_BIG;
    if (tx.chunks.hasNul) tx.chunkFailure ??= NUL_REFUSED;
    if (!last) {
      return tx.chunkFailure
        ? this.ok(tx.chunkFailure)
        : this.ok(reply(250, '2.0.0', `${size} octets received`));
    }
    this.transaction = undefined;
    if (tx.chunkFailure) return this.ok(tx.chunkFailure);
    return this.ok(await this.hooks.deliver(this.client, envelopeOf(tx), tx.chunks.bytes()));
  }

  private ok(answer: SmtpReply): Outcome {
    this.send(answer);
    return 'continue';
  }

  /** A bad command: answer it after the client's penalty delay; too many, and the session ends. */
  private async refuse(answer: SmtpReply): Promise<Outcome> {
    this.errors++;
    if (this.errors > this.config.maxErrors) {
      this.send(reply(421, '4.7.0', `${this.config.hostname} Error: too many errors`));
      return 'close';
    }
    return this.penalise(answer, 'error');
  }

  private async penalise(answer: SmtpReply, kind: 'error' | 'auth'): Promise<Outcome> {
    const penalty = await this.hooks.penalise(this.client, kind);
    if (penalty.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, penalty.delayMs));
    if (penalty.disconnect) {
      this.send(answer);
      this.send(reply(421, '4.7.0', `${this.config.hostname} Error: too many failures, closing connection`));
      return 'close';
    }
    this.send(answer);
    return 'continue';
  }

  private send(answer: SmtpReply): void {
    this.hooks.send(serializeReply(answer));
  }
}

/**
 * The bytes of the message being received, kept until its end. Once a NUL turns up the
 * message is refused whatever follows, so nothing more is kept.
 */
class MessageBytes implements DataSink {
  private parts: Buffer[] = [];
  private size = 0;
  hasNul = false;

  write(chunk: Buffer): void {
    if (this.hasNul) return;
    if (chunk.includes(0)) {
      this.hasNul = true;
      this.parts = [];
      return;
    }
    this.parts.push(Buffer.from(chunk));
    this.size += chunk.length;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}

/**
 * REQUIRETLS outside TLS, where it is not offered (RFC 8689 §2: the session itself MUST use
 * TLS). 530 5.7.10 ("Encryption needed", RFC 3207's "issue STARTTLS first") tells a client
 * that can upgrade what to do; where no TLS exists the parameter is simply unsupported.
 */
function requireTlsRefusal(tls: SmtpSessionConfig['tls']): SmtpReply {
  return tls === 'starttls'
    ? reply(530, '5.7.10', 'REQUIRETLS needs a TLS session: issue STARTTLS first')
    : reply(555, '5.5.4', 'REQUIRETLS not supported: this service has no TLS');
}

function envelopeOf(tx: Transaction): SmtpEnvelope {
  return { from: tx.from, mailParams: tx.mailParams, recipients: tx.recipients };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}
