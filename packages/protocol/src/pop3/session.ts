import { SessionDeadlines } from '../input-deadline.js';
import { SaslDialogue } from '../sasl/sasl-dialogue.js';
import { isPlaintextMechanism, SASL_MECHANISMS, type SaslIdentity } from '../sasl/sasl-exchange.js';
import type { Pop3CommandContext, Pop3Reply, Pop3State } from './commands/context.js';
import { dispatchPop3Command, dispatchSaslAnswer, pop3Capabilities } from './dispatcher.js';
import { Pop3LineFramer } from './line-framer.js';
import { Pop3Maildrop } from './maildrop.js';
import type { Pop3Action, Pop3Hooks, Pop3Send, Pop3SessionOptions } from './session-types.js';

export type { Pop3MaildropAccess, Pop3Reply, Pop3State } from './commands/context.js';
export type { Pop3MaildropEntry } from './maildrop.js';
export type { Pop3Action, Pop3Hooks, Pop3Send, Pop3SessionOptions } from './session-types.js';

// The POP3 server session (RFC 1939, CAPA and response codes RFC 2449, SASL RFC 5034,
// STLS RFC 2595), I/O-free: the service hands it the client's bytes (receive) or each
// command line it framed itself (handleLine), and writes what it sends. This holds the
// connection's state and reads; what each command does is in commands/, one module each,
// and dispatcher.ts finds it. States: AUTHORIZATION → TRANSACTION → UPDATE (only through
// QUIT: a connection that just ends never reaches commitDeletions).

const MAX_COMMAND_LINE = 255;
const MAX_SASL_LINE = 12_288;

export class Pop3Session {
  state: Pop3State = 'authorization';
  identity: SaslIdentity | undefined;
  private tls: Pop3SessionOptions['tls'];
  private pendingUser: string | undefined;
  /** The last SASL dialogue; the session reads for it while it waits. */
  private dialogue: SaslDialogue | undefined;
  private maildrop = new Pop3Maildrop();
  private readonly framer = new Pop3LineFramer();
  private readonly deadlines: SessionDeadlines;
  private readonly context: Pop3CommandContext;
  private input: Promise<unknown> = Promise.resolve();
  /** STLS was answered: until tlsStarted(), whatever arrives was sent in clear and is dropped. */
  private awaitingTls = false;
  private closed = false;

  constructor(
    private readonly options: Pop3SessionOptions,
    private readonly hooks: Pop3Hooks,
    private readonly send: Pop3Send,
  ) {
    this.tls = options.tls;
    this.deadlines = new SessionDeadlines(options.deadlines);
    this.context = this.commandContext();
  }

  /** A SASL exchange is waiting for the client's next response (longer lines allowed). */
  get inSasl(): boolean {
    return this.dialogue?.waiting ?? false;
  }

  greeting(): void {
    this.emit(`+OK ${this.options.hostname} POP3 server ready\r\n`);
  }

  /**
   * When the client runs out of time for the line it has begun or for logging in, and the
   * -ERR to close with then; undefined when no deadline stands.
   */
  inputDeadline(): { readonly at: number; readonly goodbye: string } | undefined {
    const next = this.deadlines.next();
    return next && { at: next.at, goodbye: `-ERR timeout: ${next.why}\r\n` };
  }

  /** The service upgraded the connection after STLS. */
  tlsStarted(): void {
    this.tls = 'active';
    this.awaitingTls = false;
    this.pendingUser = undefined;
    this.framer.discardBuffered();
  }

  /**
   * Bytes from the client, framed here into lines (CRLF, or a bare LF) within the line
   * limits. Calls may overlap: input is handled strictly in order, each line answered before
   * the next is read (RFC 2449 PIPELINING). Resolves, once this input is answered, with what
   * the service must do: 'close' after QUIT, 'starttls' (once) after STLS. Bytes pipelined
   * behind STLS, or arriving before tlsStarted(), are discarded unread: the client sent them
   * in clear, and acting on them would let a man in the middle inject commands into the
   * TLS session (CVE-2011-0411). Bytes after QUIT are ignored.
   */
  receive(chunk: Uint8Array): Promise<Pop3Action> {
    const run = this.input.then(() => this.frameLines(chunk));
    this.input = run.catch(() => undefined);
    return run;
  }

  private async frameLines(chunk: Uint8Array): Promise<Pop3Action> {
    if (this.closed) return 'close';
    if (this.awaitingTls) return 'continue';
    this.framer.push(chunk);
    for (;;) {
      const limit = this.inSasl
        ? (this.options.maxSaslLineLength ?? MAX_SASL_LINE)
        : (this.options.maxLineLength ?? MAX_COMMAND_LINE);
      const frame = this.framer.next(limit);
      // While the session answers a line the client is not the one keeping it waiting.
      this.deadlines.observe(frame ? undefined : this.framer.progress);
      if (!frame) return 'continue';
      if (frame.kind === 'too-long') {
        this.lineTooLong();
        continue;
      }
      const action = await this.handleLine(frame.line.toString('utf8'));
      if (action === 'close') {
        this.closed = true;
        this.framer.discardBuffered();
        return action;
      }
      if (action === 'starttls') {
        this.awaitingTls = true;
        this.framer.discardBuffered();
        return action;
      }
    }
  }

  /** One command line, without its CRLF. Never throws: every line gets its answer. */
  async handleLine(line: string): Promise<Pop3Action> {
    try {
      const dialogue = this.inSasl ? this.dialogue : undefined;
      if (dialogue) return await this.write(await dispatchSaslAnswer(line, dialogue, this.context));
      return await this.command(line);
    } catch {
      try {
        this.emit('-ERR [SYS/TEMP] internal error, try again later\r\n');
      } catch {
        return 'close';
      }
      return 'continue';
    }
  }

  /** For a line over the length limit, which the service discarded. */
  lineTooLong(): void {
    // A SASL response the client thinks was refused must not leave the exchange waiting.
    if (this.inSasl) {
      const turn = this.dialogue!.abandon();
      if (turn.kind === 'failure') this.emit(`-ERR ${turn.message}\r\n`);
      return;
    }
    this.emit('-ERR command line too long\r\n');
  }

  private async command(line: string): Promise<Pop3Action> {
    const started = performance.now();
    const { reply, label } = await dispatchPop3Command(line, this.context);
    const action = await this.write(reply);
    this.hooks.commandDone?.(
      label,
      reply.kind === 'err' ? 'err' : 'ok',
      (performance.now() - started) / 1000,
    );
    return action;
  }

  /** Writes a reply. Status lines go out at once; only message bodies wait for the write. */
  private async write(reply: Pop3Reply): Promise<Pop3Action> {
    switch (reply.kind) {
      case 'challenge':
        this.emit(`+ ${reply.base64}\r\n`);
        return 'continue';
      case 'err':
        this.emit(`-ERR ${reply.text}\r\n`);
        return reply.after ?? 'continue';
      case 'ok':
        this.emit(reply.text === '' ? '+OK\r\n' : `+OK ${reply.text}\r\n`);
        if (reply.listing) this.emit(`${reply.listing.map((line) => `${line}\r\n`).join('')}.\r\n`);
        return reply.after ?? 'continue';
      case 'message': {
        // The status line goes out in one write with the body's first chunk (a whole
        // message of up to 64 KiB): one write and one segment per RETR, not two.
        let status: Buffer | undefined = Buffer.from(`+OK ${reply.text}\r\n`, 'utf8');
        try {
          for (const chunk of reply.body) {
            await this.send(status ? Buffer.concat([status, chunk]) : chunk);
            status = undefined;
          }
          if (status) await this.send(status);
        } catch {
          // The body cannot be finished, and nothing else may be said in its middle.
          return 'close';
        }
        return 'continue';
      }
    }
  }

  private emit(chunk: string): void {
    const written = this.send(chunk);
    // A failed write means the connection is gone; the service sees that on its socket.
    if (written) written.catch(() => undefined);
  }

  /** The narrow view of this session the command modules get. */
  private commandContext(): Pop3CommandContext {
    const session = this;
    const options = this.options;
    const enabled = options.saslMechanisms ?? SASL_MECHANISMS;
    return {
      get state() {
        return session.state;
      },
      hostname: options.hostname,
      get tls() {
        return session.tls;
      },
      get plaintextAllowed() {
        return session.tls === 'active' || options.plaintextAllowed;
      },
      loginDelaySeconds: options.loginDelaySeconds,
      enabledMechanisms: enabled,
      get offeredMechanisms() {
        return enabled.filter((m) => this.plaintextAllowed || !isPlaintextMechanism(m));
      },
      storage: this.hooks,
      get maildrop() {
        return session.maildrop;
      },
      get pendingUser() {
        return session.pendingUser;
      },
      set pendingUser(name) {
        session.pendingUser = name;
      },
      capabilities: () => pop3Capabilities(this.context),
      startSasl: (mechanism) => {
        this.dialogue = new SaslDialogue(mechanism, {
          service: 'pop',
          hostname: options.hostname,
          realms: options.realms(),
          lookup: this.hooks.lookupCredentials,
        });
        return this.dialogue;
      },
      enterTransaction: (identity, entries) => {
        this.identity = identity;
        this.maildrop = new Pop3Maildrop(entries);
        this.state = 'transaction';
        this.deadlines.loggedIn();
      },
      enterUpdate: () => {
        this.state = 'update';
      },
    };
  }
}
