import { SessionDeadlines } from '../input-deadline.js';
import { isPlaintextMechanism, SASL_MECHANISMS } from '../sasl/sasl-exchange.js';
import type { SaslIdentity } from '../sasl/sasl-step.js';
import { SIEVE_EXTENSIONS } from '../sieve/index.js';
import { ManageSieveCommandReader, type ManageSieveFrame } from './command-reader.js';
import { answerSaslTurn } from './commands/authenticate.js';
import { capabilityLines } from './commands/capability.js';
import type {
  ManageSieveContext,
  ManageSieveReply,
  ManageSieveScripts,
  ManageSieveState,
} from './commands/context.js';
import type { ManageSieveCommandLabel } from './commands/table.js';
import {
  dispatchManageSieveCommand,
  dispatchSaslResponse,
  manageSieveCapabilities,
  manageSieveLabel,
} from './dispatcher.js';
import { ManageSieveSasl } from './sasl-turns.js';
import type {
  ManageSieveAction,
  ManageSieveHooks,
  ManageSieveSend,
  ManageSieveSessionOptions,
} from './session-types.js';
import { type ManageSieveResponse, responseBytes } from './wire.js';

// The ManageSieve server session (RFC 5804), I/O-free: the service hands it the client's
// bytes and writes what it sends. This holds the connection's state and reads; what each
// command does is in commands/, one module each, and dispatcher.ts finds it. The greeting
// is the capability response (§1.7); after STARTTLS it is said again (§2.2).

const MAX_LINE = 8192;
const MAX_SCRIPT_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 4;
const MAX_AUTH_FAILURES = 3;

export class ManageSieveSession {
  state: ManageSieveState = 'non-authenticated';
  identity: SaslIdentity | undefined;
  private tls: ManageSieveSessionOptions['tls'];
  private scripts: ManageSieveScripts | undefined;
  private sasl: ManageSieveSasl | undefined;
  private authFailures = 0;
  private readonly reader: ManageSieveCommandReader;
  private readonly deadlines: SessionDeadlines;
  private readonly context: ManageSieveContext;
  private input: Promise<unknown> = Promise.resolve();
  /** STARTTLS was answered: until tlsStarted(), whatever arrives was sent in clear and is dropped. */
  private awaitingTls = false;
  private closed = false;

  constructor(
    private readonly options: ManageSieveSessionOptions,
    private readonly hooks: ManageSieveHooks,
    private readonly send: ManageSieveSend,
  ) {
    this.tls = options.tls;
    this.deadlines = new SessionDeadlines(options.deadlines);
    this.reader = new ManageSieveCommandReader(this.readerLimits());
    this.context = this.commandContext();
  }

  /** The capability response, then OK (§1.7: the greeting is the same as CAPABILITY's answer). */
  greeting(): void {
    this.emitCapabilities(`${this.options.hostname} ManageSieve ready`);
  }

  /** The service upgraded the connection after STARTTLS: the capabilities again (§2.2). */
  tlsStarted(): void {
    this.tls = 'active';
    this.awaitingTls = false;
    this.reader.discardBuffered();
    this.emitCapabilities('TLS negotiation successful');
  }

  /** When the client runs out of time for what it has begun or for logging in, and the BYE then. */
  inputDeadline(): { readonly at: number; readonly goodbye: string } | undefined {
    const next = this.deadlines.next();
    return (
      next && { at: next.at, goodbye: toText(responseBytes({ status: 'BYE', text: `timeout: ${next.why}` })) }
    );
  }

  /**
   * Bytes from the client. Calls may overlap: input is handled strictly in order, each
   * command answered before the next is read. Resolves with what the service must do:
   * 'close' after LOGOUT, a BYE or a line too long to follow; 'starttls' (once) after
   * STARTTLS. Bytes pipelined behind STARTTLS, or arriving before tlsStarted(), are
   * discarded unread: they came in clear, and acting on them would let a man in the middle
   * inject commands into the TLS session (CVE-2011-0411).
   */
  receive(chunk: Uint8Array): Promise<ManageSieveAction> {
    const run = this.input.then(() => this.readCommands(chunk));
    this.input = run.catch(() => undefined);
    return run;
  }

  /** The server is going away (shutdown): BYE with TRYLATER, so the client comes back later. */
  bye(text: string): Promise<void> {
    const run = this.input.then(() => {
      if (this.closed) return;
      this.closed = true;
      return this.send(responseBytes({ status: 'BYE', code: 'TRYLATER', text }));
    });
    this.input = run.catch(() => undefined);
    return run.catch(() => undefined);
  }

  /** The connection closed. */
  end(): void {
    this.closed = true;
    this.sasl = undefined;
    this.scripts = undefined;
  }

  private async readCommands(chunk: Uint8Array): Promise<ManageSieveAction> {
    if (this.closed) return 'close';
    if (this.awaitingTls) return 'continue';
    this.reader.push(chunk);
    for (;;) {
      const frame = this.reader.next();
      // While the session answers a command the client is not the one keeping it waiting.
      this.deadlines.observe(frame ? undefined : this.reader.progress);
      if (!frame) return 'continue';
      const action = await this.handleFrame(frame);
      if (action === 'close') {
        this.closed = true;
        this.reader.discardBuffered();
        return action;
      }
      if (action === 'starttls') {
        this.awaitingTls = true;
        this.reader.discardBuffered();
        return action;
      }
    }
  }

  /** One framed command. Never throws: every command gets its answer. */
  private async handleFrame(frame: ManageSieveFrame): Promise<ManageSieveAction> {
    const started = performance.now();
    let label: ManageSieveCommandLabel = 'INVALID';
    let reply: ManageSieveReply;
    try {
      if (frame.kind === 'too-long') {
        // Its literals were not read: what follows cannot be told from commands.
        this.sasl = undefined;
        reply = {
          kind: 'response',
          response: { status: 'BYE', text: `command line longer than ${frame.limit} octets` },
          after: 'close',
        };
      } else if (this.sasl?.waiting) {
        const sasl = this.sasl;
        label = 'AUTHENTICATE';
        reply =
          frame.kind === 'bad'
            ? await answerSaslTurn(
                this.context,
                sasl.abandon(`invalid response: ${frame.reason}`),
                sasl.mechanism,
              )
            : await dispatchSaslResponse(frame, sasl, this.context);
      } else if (frame.kind === 'bad') {
        reply = { kind: 'response', response: { status: 'NO', text: `invalid command: ${frame.reason}` } };
      } else {
        label = manageSieveLabel(frame);
        reply = (await dispatchManageSieveCommand(frame, this.context)).reply;
      }
    } catch (err) {
      this.hooks.commandFailed?.(label, err);
      reply = {
        kind: 'response',
        response: { status: 'NO', code: 'TRYLATER', text: 'internal error, try again later' },
      };
    }
    const action = this.write(reply);
    if (reply.kind === 'response') {
      const status = reply.response.status === 'OK' ? 'ok' : reply.response.status === 'NO' ? 'no' : 'bye';
      this.hooks.commandDone?.(label, status, (performance.now() - started) / 1000);
    }
    return action;
  }

  private write(reply: ManageSieveReply): ManageSieveAction {
    if (reply.kind === 'challenge') {
      this.emit(`"${reply.base64}"\r\n`);
      return 'continue';
    }
    for (const line of reply.data ?? []) this.emit(line);
    this.emit(responseBytes(reply.response));
    return reply.response.status === 'BYE' ? 'close' : (reply.after ?? 'continue');
  }

  private emitCapabilities(text: string): void {
    for (const line of capabilityLines(this.context)) this.emit(line);
    this.emit(responseBytes({ status: 'OK', text } satisfies ManageSieveResponse));
  }

  private emit(chunk: string | Uint8Array): void {
    const written = this.send(chunk);
    // A failed write means the connection is gone; the service sees that on its socket.
    if (written) written.catch(() => undefined);
  }

  private readerLimits() {
    const maxLineBytes = this.options.maxLineLength ?? MAX_LINE;
    // Before login a literal is at most a SASL response; after, it may be a whole script.
    const maxLiteralBytes = this.state === 'authenticated' ? this.maxScriptBytes : maxLineBytes;
    return { maxLineBytes, maxLiteralBytes };
  }

  private get maxScriptBytes(): number {
    return this.options.maxScriptBytes ?? MAX_SCRIPT_BYTES;
  }

  /** The narrow view of this session the command modules get. */
  private commandContext(): ManageSieveContext {
    const session = this;
    const options = this.options;
    const enabled = options.saslMechanisms ?? SASL_MECHANISMS;
    const context: ManageSieveContext = {
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
      enabledMechanisms: enabled,
      get offeredMechanisms() {
        return enabled.filter((m) => context.plaintextAllowed || !isPlaintextMechanism(m));
      },
      extensions: options.extensions ?? SIEVE_EXTENSIONS,
      maxRedirects: options.maxRedirects ?? MAX_REDIRECTS,
      maxScriptBytes: this.maxScriptBytes,
      get identity() {
        return session.identity;
      },
      get scripts() {
        if (!session.scripts) throw new Error('bug: no scripts before login');
        return session.scripts;
      },
      access: this.hooks,
      capabilities: () => manageSieveCapabilities(context),
      startSasl: (mechanism) => {
        this.sasl = new ManageSieveSasl(mechanism, {
          service: 'sieve',
          hostname: options.hostname,
          realms: options.realms(),
          lookup: this.hooks.lookupCredentials,
        });
        return this.sasl;
      },
      logIn: (identity, scripts, mechanism) => {
        this.identity = identity;
        this.scripts = scripts;
        this.state = 'authenticated';
        this.authFailures = 0;
        this.reader.setLimits(this.readerLimits());
        this.deadlines.loggedIn();
        try {
          this.hooks.authSucceeded?.(identity, mechanism);
        } catch {
          // Bookkeeping only: the user is logged in, and must hear so.
        }
      },
      logOut: () => {
        const identity = this.identity;
        this.identity = undefined;
        this.scripts = undefined;
        this.state = 'non-authenticated';
        this.reader.setLimits(this.readerLimits());
        this.deadlines.loggedOut();
        if (identity) {
          try {
            this.hooks.loggedOut?.(identity);
          } catch {
            // Bookkeeping only.
          }
        }
      },
      authFailed: async (mechanism) => {
        await this.hooks.authFailed?.(mechanism);
        return ++this.authFailures >= (options.maxAuthFailures ?? MAX_AUTH_FAILURES) ? 'close' : 'continue';
      },
    };
    return context;
  }
}

function toText(bytes: string | Buffer): string {
  return typeof bytes === 'string' ? bytes : bytes.toString('utf8');
}
