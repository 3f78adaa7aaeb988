import { type InputDeadlines, SessionDeadlines } from '../input-deadline.js';
import {
  createSaslExchange,
  isPlaintextMechanism,
  SASL_MECHANISMS,
  type SaslExchange,
  type SaslMechanismName,
} from '../sasl/sasl-exchange.js';
import type { SaslCredentialLookup, SaslIdentity } from '../sasl/sasl-step.js';
import { parseMessageNumber, parsePop3Command } from './command.js';
import { Pop3LineFramer } from './line-framer.js';
import { dotStuffedChunks, topOf } from './wire.js';

// The POP3 server session (RFC 1939, CAPA and response codes RFC 2449, SASL RFC 5034,
// STLS RFC 2595), I/O-free: the service hands it the client's bytes (receive) or each
// command line it framed itself (handleLine), and writes what it sends. States:
// AUTHORIZATION → TRANSACTION → UPDATE (only through QUIT: a connection that just ends
// never reaches commitDeletions).

export type Pop3State = 'authorization' | 'transaction' | 'update';

export interface Pop3SessionOptions {
  readonly hostname: string;
  /** Whether STLS can be offered (a certificate is loaded) and whether TLS is on now. */
  readonly tls: 'unavailable' | 'starttls' | 'active';
  /** USER/PASS, PLAIN and LOGIN without TLS (loopback, or configured). */
  readonly plaintextAllowed: boolean;
  readonly realms: () => readonly string[];
  /**
   * The SASL mechanisms offered and accepted (enabledSaslMechanisms: without CRAM-MD5 and
   * DIGEST-MD5 when the operator turned them off); all of them when absent.
   */
  readonly saslMechanisms?: readonly SaslMechanismName[];
  /** RFC 2449 LOGIN-DELAY, when the service enforces one (openMaildrop answers 'too-soon'). */
  readonly loginDelaySeconds?: number;
  /** Longest command line `receive` accepts, CRLF included (RFC 2449 §4: 255). */
  readonly maxLineLength?: number;
  /**
   * Longest SASL response line: RFC 5034 §4 puts these outside the command limit. 12288
   * holds the base64 of the SASL engine's 4096-octet response cap with room to spare.
   */
  readonly maxSaslLineLength?: number;
  /** Deadlines for slow clients (a command line, logging in); none when undefined. */
  readonly deadlines?: InputDeadlines;
}

export interface Pop3MaildropEntry {
  /** The UIDL string: unique and stable for the message, never reused. */
  readonly uid: string;
  /** Octets as RETR sends them before byte-stuffing (pop3WireSize). */
  readonly size: number;
}

export interface Pop3Hooks {
  readonly lookupCredentials: SaslCredentialLookup;
  /** Locks and snapshots the user's maildrop (the INBOX). */
  /** 'too-soon': the account logged in less than LOGIN-DELAY seconds ago (RFC 2449 §6.8). */
  openMaildrop(
    identity: SaslIdentity,
  ): Promise<readonly Pop3MaildropEntry[] | 'in-use' | 'too-soon' | 'temp'>;
  /** The stored bytes of message `index` (0-based) of the snapshot. */
  readMessage(index: number): Promise<Uint8Array>;
  /** UPDATE state: remove these messages (0-based), then the session ends. */
  commitDeletions(indexes: readonly number[]): Promise<void>;
  /** For the service's growing delay after failures. */
  authFailed?(mechanism: string): Promise<void> | void;
  authSucceeded?(identity: SaslIdentity, mechanism: string): void;
  /** A command was answered: its verb (INVALID when unparsable), status and duration, for metrics. */
  commandDone?(verb: string, status: 'ok' | 'err', seconds: number): void;
}

/** What the service does after a line: go on, close the connection, or start TLS now. */
export type Pop3Action = 'continue' | 'close' | 'starttls';

type Chunk = string | Uint8Array;

/**
 * Writes to the client. A promise holds the session back until it settles: a service that
 * waits for 'drain' there streams a large RETR without queueing all of it in memory.
 */
export type Pop3Send = (chunk: Chunk) => void | Promise<void>;

const MAX_COMMAND_LINE = 255;
const MAX_SASL_LINE = 12_288;

export class Pop3Session {
  state: Pop3State = 'authorization';
  identity: SaslIdentity | undefined;
  private tls: Pop3SessionOptions['tls'];
  private user: string | undefined;
  private sasl: { exchange: SaslExchange; mechanism: SaslMechanismName } | undefined;
  private successPending: { identity: SaslIdentity; mechanism: SaslMechanismName } | undefined;
  private maildrop: readonly Pop3MaildropEntry[] = [];
  private readonly deleted = new Set<number>();
  private readonly framer = new Pop3LineFramer();
  private readonly deadlines: SessionDeadlines;
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
  }

  /** A SASL exchange is waiting for the client's next response (longer lines allowed). */
  get inSasl(): boolean {
    return this.sasl !== undefined;
  }

  greeting(): void {
    this.ok(`${this.options.hostname} POP3 server ready`);
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
    this.user = undefined;
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
      if (this.sasl) return await this.saslResponse(line);
      return await this.command(line);
    } catch {
      try {
        this.err('[SYS/TEMP] internal error, try again later');
      } catch {
        return 'close';
      }
      return 'continue';
    }
  }

  /** For a line over the length limit, which the service discarded. */
  lineTooLong(): void {
    // A SASL response the client thinks was refused must not leave the exchange waiting.
    const inSasl = this.inSasl;
    this.sasl = undefined;
    this.successPending = undefined;
    this.err(inSasl ? 'response too long, authentication cancelled' : 'command line too long');
  }

  private async command(line: string): Promise<Pop3Action> {
    if (!this.hooks.commandDone) return this.runCommand(line);
    const started = performance.now();
    this.lastStatus = undefined;
    this.lastVerb = 'INVALID';
    const action = await this.runCommand(line);
    this.hooks.commandDone(this.lastVerb, this.lastStatus ?? 'ok', (performance.now() - started) / 1000);
    return action;
  }

  /** The status line last written (+OK or -ERR) and the verb runCommand parsed, for commandDone. */
  private lastStatus: 'ok' | 'err' | undefined;
  private lastVerb = 'INVALID';

  private async runCommand(line: string): Promise<Pop3Action> {
    if (this.state === 'update') {
      // QUIT ended the session; only a service that read on could get here.
      this.err('the session is over');
      return 'close';
    }
    const cmd = parsePop3Command(line);
    if (!cmd) {
      this.err('unknown command');
      return 'continue';
    }
    this.lastVerb = cmd.verb;
    switch (cmd.verb) {
      case 'CAPA':
        this.capabilities();
        return 'continue';
      case 'NOOP':
        if (this.state !== 'transaction') return this.wrongState();
        this.ok('');
        return 'continue';
      case 'QUIT':
        return this.quit();
    }
    if (this.state === 'authorization') {
      switch (cmd.verb) {
        case 'USER':
          return this.userCommand(cmd.rest);
        case 'PASS':
          return this.passCommand(cmd.rest);
        case 'AUTH':
          return this.authCommand(cmd.args);
        case 'STLS':
          return this.stls();
        case 'APOP':
          this.err('APOP is not supported: use AUTH CRAM-MD5 or SCRAM-SHA-256');
          return 'continue';
        case 'STAT':
        case 'LIST':
        case 'UIDL':
        case 'RETR':
        case 'TOP':
        case 'DELE':
        case 'RSET':
          return this.wrongState();
      }
    } else {
      switch (cmd.verb) {
        case 'STAT':
          return this.stat(cmd.args);
        case 'LIST':
          return this.listing(cmd.args, (i) => String(this.maildrop[i]!.size));
        case 'UIDL':
          return this.listing(cmd.args, (i) => this.maildrop[i]!.uid);
        case 'RETR':
          return this.retrieve(cmd.args, undefined);
        case 'TOP':
          return this.top(cmd.args);
        case 'DELE':
          return this.dele(cmd.args);
        case 'RSET':
          this.deleted.clear();
          this.ok(`maildrop has ${this.maildrop.length} messages`);
          return 'continue';
        case 'USER':
        case 'PASS':
        case 'AUTH':
        case 'STLS':
        case 'APOP':
          return this.wrongState();
      }
    }
    this.err('unknown command');
    return 'continue';
  }

  private capabilities(): void {
    const lines = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER'];
    if (this.state === 'authorization') {
      if (this.plaintextOk()) lines.push('USER');
      lines.push(`SASL ${this.mechanisms().join(' ')}`);
      if (this.tls === 'starttls') lines.push('STLS');
    }
    if (this.options.loginDelaySeconds !== undefined)
      lines.push(`LOGIN-DELAY ${this.options.loginDelaySeconds}`);
    lines.push('IMPLEMENTATION Tegami');
    this.ok('Capability list follows');
    this.emit(`${lines.join('\r\n')}\r\n.\r\n`);
  }

  private mechanisms(): SaslMechanismName[] {
    return this.enabledMechanisms().filter((m) => this.plaintextOk() || !isPlaintextMechanism(m));
  }

  private enabledMechanisms(): readonly SaslMechanismName[] {
    return this.options.saslMechanisms ?? SASL_MECHANISMS;
  }

  private plaintextOk(): boolean {
    return this.tls === 'active' || this.options.plaintextAllowed;
  }

  private userCommand(name: string): Pop3Action {
    if (!this.plaintextOk()) {
      this.err('[AUTH] USER/PASS needs TLS first: use STLS');
      return 'continue';
    }
    if (name === '') {
      this.err('USER needs a name');
      return 'continue';
    }
    this.user = name;
    this.ok('send PASS');
    return 'continue';
  }

  private async passCommand(password: string): Promise<Pop3Action> {
    const user = this.user;
    this.user = undefined;
    if (!user) {
      this.err('send USER first');
      return 'continue';
    }
    // USER/PASS is PLAIN by another name: one check of the password, one code path.
    const exchange = this.exchange('PLAIN');
    const step = await exchange.start(Buffer.from(`\u0000${user}\u0000${password}`, 'utf8'));
    return this.finishAuth(step, 'USER');
  }

  private async authCommand(args: readonly string[]): Promise<Pop3Action> {
    if (args.length === 0) {
      // RFC 5034 §4 leaves the list to CAPA; many clients still ask this way.
      this.ok('methods follow');
      this.emit(`${this.mechanisms().join('\r\n')}\r\n.\r\n`);
      return 'continue';
    }
    const name = args[0]!.toUpperCase() as SaslMechanismName;
    if (!this.enabledMechanisms().includes(name) || args.length > 2) {
      this.err('unsupported authentication mechanism');
      return 'continue';
    }
    if (isPlaintextMechanism(name) && !this.plaintextOk()) {
      this.err(`[AUTH] ${name} needs TLS first: use STLS`);
      return 'continue';
    }
    let initial: Buffer | undefined;
    if (args[1] !== undefined) {
      const decoded = args[1] === '=' ? Buffer.alloc(0) : decodeBase64(args[1]);
      if (!decoded) {
        this.err('cannot decode the initial response');
        return 'continue';
      }
      initial = decoded;
    }
    const exchange = this.exchange(name);
    this.sasl = { exchange, mechanism: name };
    return this.saslStep(await exchange.start(initial), name);
  }

  private async saslResponse(line: string): Promise<Pop3Action> {
    const { exchange, mechanism } = this.sasl!;
    const pending = this.successPending;
    if (pending) {
      this.sasl = undefined;
      this.successPending = undefined;
      if (line === '*') {
        this.err('authentication cancelled');
        return 'continue';
      }
      return this.finishAuth({ kind: 'success', identity: pending.identity }, pending.mechanism);
    }
    if (line === '*') {
      this.sasl = undefined;
      this.err('authentication cancelled');
      return 'continue';
    }
    const decoded = decodeBase64(line);
    if (!decoded) {
      this.sasl = undefined;
      this.err('cannot decode the response');
      return 'continue';
    }
    return this.saslStep(await exchange.respond(decoded), mechanism);
  }

  private async saslStep(
    step: Awaited<ReturnType<SaslExchange['start']>>,
    mechanism: SaslMechanismName,
  ): Promise<Pop3Action> {
    if (step.kind === 'challenge') {
      this.emit(`+ ${step.challenge.toString('base64')}\r\n`);
      return 'continue';
    }
    if (step.kind === 'success' && step.finalData && step.finalData.length > 0) {
      // RFC 5034 §4: additional data with success goes as one more challenge; the client
      // answers it with an empty line, and then the outcome is said.
      this.emit(`+ ${step.finalData.toString('base64')}\r\n`);
      this.successPending = { identity: step.identity, mechanism };
      return 'continue';
    }
    this.sasl = undefined;
    return this.finishAuth(step, mechanism);
  }

  private async finishAuth(
    step: Awaited<ReturnType<SaslExchange['start']>>,
    mechanism: string,
  ): Promise<Pop3Action> {
    if (step.kind === 'success') {
      const opened = await this.hooks.openMaildrop(step.identity);
      if (opened === 'in-use') {
        this.err('[IN-USE] the maildrop is in use by another session');
        return 'continue';
      }
      if (opened === 'too-soon') {
        this.err(`[LOGIN-DELAY] at most one login every ${this.options.loginDelaySeconds ?? 0} seconds`);
        return 'continue';
      }
      if (opened === 'temp') {
        this.err('[SYS/TEMP] the maildrop cannot be opened now, try again later');
        return 'continue';
      }
      this.identity = step.identity;
      this.maildrop = opened;
      this.state = 'transaction';
      this.deadlines.loggedIn();
      try {
        this.hooks.authSucceeded?.(step.identity, mechanism);
      } catch {
        // Bookkeeping only: the maildrop is open, and the client must hear so.
      }
      this.ok(`${step.identity.address} has ${opened.length} messages`);
      return 'continue';
    }
    if (step.kind === 'failure' && step.reason === 'temporary') {
      this.err('[SYS/TEMP] authentication is unavailable now, try again later');
      return 'continue';
    }
    await this.hooks.authFailed?.(mechanism);
    this.err('[AUTH] authentication failed');
    return 'continue';
  }

  private stls(): Pop3Action {
    if (this.tls !== 'starttls') {
      this.err(this.tls === 'active' ? 'TLS is already active' : 'STLS is not available');
      return 'continue';
    }
    // Nothing learnt from the client in clear carries over into TLS (as RFC 3207 §4.2 has
    // SMTP servers do; RFC 2595 §4 asks the same of the client's capability cache).
    this.user = undefined;
    this.ok('Begin TLS negotiation');
    return 'starttls';
  }

  private live(): number[] {
    return this.maildrop.map((_, i) => i).filter((i) => !this.deleted.has(i));
  }

  private stat(args: readonly string[]): Pop3Action {
    if (args.length > 0) return this.syntax('STAT takes no arguments');
    const live = this.live();
    const octets = live.reduce((sum, i) => sum + this.maildrop[i]!.size, 0);
    this.ok(`${live.length} ${octets}`);
    return 'continue';
  }

  private listing(args: readonly string[], value: (index: number) => string): Pop3Action {
    if (args.length > 1) return this.syntax('one message number at most');
    if (args.length === 1) {
      const index = this.message(args[0]);
      if (index === undefined) return 'continue';
      this.ok(`${index + 1} ${value(index)}`);
      return 'continue';
    }
    this.ok(`${this.live().length} messages`);
    this.emit(
      `${this.live()
        .map((i) => `${i + 1} ${value(i)}\r\n`)
        .join('')}.\r\n`,
    );
    return 'continue';
  }

  private async retrieve(args: readonly string[], lines: number | undefined): Promise<Pop3Action> {
    const expected = lines === undefined ? 1 : 2;
    if (args.length !== expected)
      return this.syntax(
        lines === undefined ? 'RETR needs a message number' : 'TOP needs a message number and a line count',
      );
    const index = this.message(args[0]);
    if (index === undefined) return 'continue';
    let raw: Uint8Array;
    try {
      raw = await this.hooks.readMessage(index);
    } catch {
      this.err('[SYS/TEMP] the message cannot be read now, try again later');
      return 'continue';
    }
    this.ok(lines === undefined ? `${this.maildrop[index]!.size} octets` : 'top of message follows');
    try {
      for (const chunk of dotStuffedChunks(lines === undefined ? raw : topOf(raw, lines)))
        await this.send(chunk);
    } catch {
      // The body cannot be finished, and nothing else may be said in its middle.
      return 'close';
    }
    return 'continue';
  }

  private top(args: readonly string[]): Promise<Pop3Action> | Pop3Action {
    if (args.length !== 2 || !/^\d{1,9}$/.test(args[1]!))
      return this.syntax('TOP needs a message number and a line count');
    return this.retrieve(args, Number(args[1]));
  }

  private dele(args: readonly string[]): Pop3Action {
    if (args.length !== 1) return this.syntax('DELE needs a message number');
    const index = this.message(args[0]);
    if (index === undefined) return 'continue';
    this.deleted.add(index);
    this.ok(`message ${index + 1} deleted`);
    return 'continue';
  }

  /** 0-based index of a live message, or undefined after answering -ERR. */
  private message(arg: string | undefined): number | undefined {
    const n = parseMessageNumber(arg);
    if (n === undefined || n > this.maildrop.length) {
      this.err('no such message');
      return undefined;
    }
    if (this.deleted.has(n - 1)) {
      this.err(`message ${n} already deleted`);
      return undefined;
    }
    return n - 1;
  }

  private async quit(): Promise<Pop3Action> {
    if (this.state !== 'transaction') {
      this.ok(`${this.options.hostname} POP3 server signing off`);
      return 'close';
    }
    this.state = 'update';
    try {
      await this.hooks.commitDeletions([...this.deleted].sort((a, b) => a - b));
    } catch {
      this.err('[SYS/TEMP] some deleted messages were not removed');
      return 'close';
    }
    const left = this.maildrop.length - this.deleted.size;
    this.ok(`${this.options.hostname} POP3 server signing off (${left} messages left)`);
    return 'close';
  }

  private exchange(mechanism: SaslMechanismName): SaslExchange {
    return createSaslExchange(mechanism, {
      service: 'pop',
      hostname: this.options.hostname,
      realms: this.options.realms(),
      lookup: this.hooks.lookupCredentials,
    });
  }

  private wrongState(): Pop3Action {
    this.err(this.state === 'authorization' ? 'log in first' : 'already logged in');
    return 'continue';
  }

  private syntax(text: string): Pop3Action {
    this.err(text);
    return 'continue';
  }

  /** Status lines and short listings: only message bodies wait for the write. */
  private emit(chunk: Chunk): void {
    const written = this.send(chunk);
    // A failed write means the connection is gone; the service sees that on its socket.
    if (written) written.catch(() => undefined);
  }

  private ok(text: string): void {
    this.lastStatus = 'ok';
    this.emit(text === '' ? '+OK\r\n' : `+OK ${text}\r\n`);
  }

  private err(text: string): void {
    this.lastStatus = 'err';
    this.emit(`-ERR ${text}\r\n`);
  }
}

function decodeBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  return Buffer.from(text, 'base64');
}
