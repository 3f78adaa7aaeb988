import type { SaslIdentity } from '../sasl/sasl-exchange.js';
import { type ByteSource, ReadTimeout } from './byte-source.js';
import type { SmtpCommandContext, SmtpOutcome, SmtpState } from './commands/context.js';
import type { SmtpCommandLabel } from './commands/table.js';
import { dispatchSmtpCommand, smtpEhloKeywords, smtpHelpVerbs } from './dispatcher.js';
import { reply, type SmtpReply, serializeReply } from './reply.js';
import type { SmtpClientInfo, SmtpSessionConfig, SmtpSessionHooks } from './session-types.js';
import { type LineRead, SmtpReader } from './smtp-reader.js';
import type { Transaction } from './transaction.js';

export type { SmtpCommandContext, SmtpOutcome, SmtpState } from './commands/context.js';

type Outcome = 'continue' | 'close';

/**
 * One SMTP conversation (RFC 5321 with the extensions Tegami offers), from the greeting to
 * QUIT, a timeout or a refusal. It holds the connection's state, reads through an
 * SmtpReader and answers through hooks.send; what each command does is in commands/, one
 * module each, which dispatcher.ts finds. Every decision of policy and every write to
 * storage is the hooks'.
 */
export class SmtpSession {
  private reader: SmtpReader;
  private timeoutMs: number;
  private helo: string | undefined;
  private extended = false;
  private tls: boolean;
  private authenticated: SaslIdentity | undefined;
  private transaction: Transaction | undefined;
  private errors = 0;
  private draining = false;
  private wakeForDrain: (() => void) | undefined;
  /** The code of the last reply sent, for commandDone. */
  private lastCode = 0;
  private readonly context: SmtpCommandContext;

  constructor(
    private readonly config: SmtpSessionConfig,
    private readonly hooks: SmtpSessionHooks,
    source: ByteSource,
    private readonly clientAddress: string,
  ) {
    this.timeoutMs = config.commandTimeoutMs;
    this.reader = new SmtpReader(source, () => this.timeoutMs, config.deadlines);
    this.tls = config.tls === 'implicit';
    this.context = this.commandContext();
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

  /** Where the conversation stands, for the dispatcher's state check. */
  get state(): SmtpState {
    if (!this.helo) return 'connected';
    if (!this.transaction) return 'greeted';
    return this.transaction.chunks ? 'chunking' : 'transaction';
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
        if ((await this.command(read)) === 'close') return;
      }
    } catch (err) {
      if (err instanceof ReadTimeout) {
        this.send(reply(421, '4.4.2', `${this.config.hostname} Error: timeout exceeded`));
        return;
      }
      throw err;
    }
  }

  private async command(read: Exclude<LineRead, { kind: 'eof' }>): Promise<Outcome> {
    const started = performance.now();
    let label: SmtpCommandLabel = 'INVALID';
    let outcome: Outcome;
    if (read.kind === 'too-long') {
      outcome = await this.refuse(reply(500, '5.5.2', 'Error: line too long'));
    } else {
      const answer = await dispatchSmtpCommand(read.line.toString('utf8'), this.context);
      label = answer.label;
      outcome = await this.conclude(answer.outcome);
    }
    const seconds = (performance.now() - started) / 1000;
    this.hooks.commandDone?.(label, `${Math.floor(this.lastCode / 100)}xx`, seconds);
    return outcome;
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

  /** Writes a command's outcome: refusals counted and delayed, as the hooks' penalty says. */
  private conclude(outcome: SmtpOutcome): Outcome | Promise<Outcome> {
    switch (outcome.kind) {
      case 'reply':
        this.send(outcome.reply);
        return 'continue';
      case 'refusal':
        return this.refuse(outcome.reply);
      case 'auth-failure':
        return this.penalise(outcome.reply, 'auth');
      case 'close':
        if (outcome.reply) this.send(outcome.reply);
        return 'close';
      case 'said':
        return 'continue';
    }
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
    this.lastCode = answer.code;
    this.hooks.send(serializeReply(answer));
  }

  private async startTls(): Promise<boolean> {
    // RFC 3207 §4.2 / CVE-2011-0411: nothing the client sent before the handshake counts.
    this.reader.discardBuffered();
    const source = await this.hooks.startTls();
    if (!source) return false;
    this.reader = new SmtpReader(source, () => this.timeoutMs, this.config.deadlines);
    this.tls = true;
    // RFC 3207 §4.2: forget all knowledge obtained from the client (HELO, AUTH, transaction).
    this.helo = undefined;
    this.extended = false;
    this.authenticated = undefined;
    this.transaction = undefined;
    return true;
  }

  /** The narrow view of this session the command modules get. */
  private commandContext(): SmtpCommandContext {
    const session = this;
    const useDataTimeout = () => {
      this.timeoutMs = this.config.dataTimeoutMs;
    };
    return {
      config: this.config,
      policy: this.hooks,
      clientAddress: this.clientAddress,
      get client() {
        return session.client;
      },
      get state() {
        return session.state;
      },
      get tls() {
        return session.tls;
      },
      get authenticated() {
        return session.authenticated;
      },
      get transaction() {
        return session.transaction;
      },
      set transaction(tx) {
        session.transaction = tx;
      },
      greeted: (domain, extended) => {
        this.helo = domain;
        this.extended = extended;
        this.transaction = undefined;
      },
      authenticate: (identity) => {
        this.authenticated = identity;
      },
      send: (answer) => this.send(answer),
      readLine: (maxBytes) => this.reader.readLine(maxBytes),
      readData: (sink, maxBytes) => {
        useDataTimeout();
        return this.reader.readData(sink, maxBytes);
      },
      readChunk: (size, sink) => {
        useDataTimeout();
        return this.reader.readChunk(size, sink);
      },
      startTls: () => this.startTls(),
      ehloKeywords: () => smtpEhloKeywords(this.context),
      helpVerbs: smtpHelpVerbs,
    };
  }
}
