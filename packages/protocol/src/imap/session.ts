// The IMAP server engine (RFC 3501 IMAP4rev1 and RFC 9051 IMAP4rev2, with IDLE, UIDPLUS,
// MOVE, NAMESPACE, ID, ENABLE, LITERAL+ (LITERAL- before login), SASL-IR, UNSELECT,
// CHILDREN, SPECIAL-USE, ESEARCH, BINARY, APPENDLIMIT), I/O-free like the POP3 one: the
// service hands it the client's bytes and writes what it sends. States (RFC 3501 §3): not authenticated → authenticated ⇄
// selected → logout. Commands are handled one at a time in the order they came.

import { SessionDeadlines } from '../input-deadline.js';
import {
  createSaslExchange,
  isPlaintextMechanism,
  SASL_MECHANISMS,
  type SaslExchange,
  type SaslIdentity,
  type SaslMechanismName,
  type SaslStep,
} from '../sasl/sasl-exchange.js';
import {
  LOGIN_TOO_BIG_BYE,
  literalRefusal,
  loginReaderLimits,
  sessionReaderLimits,
  tooLong,
} from './command-limits.js';
import { type ImapCommand, ImapCommandReader, type ImapToken, type ReaderEvent } from './command-reader.js';
import { MailboxCommands } from './mailbox-commands.js';
import { MessageCommands } from './message-commands.js';
import type { ImapChunk } from './response.js';
import type { SelectedMailbox, ViewUpdate } from './selected-mailbox.js';
import type { ImapAccount, ImapHooks, ImapSessionOptions } from './session-types.js';
import { astringOf, ImapSyntaxError, isAtom } from './wire-values.js';

export type ImapState = 'not-authenticated' | 'authenticated' | 'selected' | 'logout';
export type ImapAction = 'continue' | 'close' | 'starttls';
/** Writes to the client; a promise holds the session back until the socket drains. */
export type ImapSend = (chunk: ImapChunk) => void | Promise<void>;

/** A tagged answer, thrown or returned by command handlers. */
export class ImapReply {
  constructor(
    readonly status: 'OK' | 'NO' | 'BAD',
    readonly text: string,
  ) {}
}

export const bad = (text: string) => new ImapReply('BAD', text);
export const no = (text: string) => new ImapReply('NO', text);
export const ok = (text: string) => new ImapReply('OK', text);

/** What command handlers share with the session. */
export interface SessionContext {
  readonly options: ImapSessionOptions;
  readonly account: ImapAccount;
  selected: SelectedMailbox | undefined;
  /** UTF-8 names and quoted strings (ENABLE IMAP4rev2 / UTF8=ACCEPT). */
  readonly utf8: boolean;
  readonly rev2: boolean;
  /** Writes an untagged response or a literal, in order. */
  write(chunks: ImapChunk | readonly ImapChunk[]): Promise<void>;
  /** Tells the client what changed (EXISTS, RECENT, FETCH FLAGS, and EXPUNGE when allowed). */
  announce(update: ViewUpdate): Promise<void>;
  /** Selects (or deselects, with undefined) a mailbox. */
  select(mailbox: SelectedMailbox | undefined): void;
  /** ESEARCH SAVE result ($, RFC 5182), as UIDs. */
  savedResult: readonly number[];
}

export class ImapSession implements SessionContext {
  state: ImapState = 'not-authenticated';
  identity: SaslIdentity | undefined;
  selected: SelectedMailbox | undefined;
  savedResult: readonly number[] = [];
  private accountHandle: ImapAccount | undefined;
  private tls: ImapSessionOptions['tls'];
  private enabled = new Set<string>();
  private readonly reader: ImapCommandReader;
  private readonly deadlines: SessionDeadlines;
  private input: Promise<unknown> = Promise.resolve();
  private pendingRefusal: string | undefined;
  private sasl:
    | { tag: string; exchange: SaslExchange; mechanism: SaslMechanismName; successSent?: SaslStep }
    | undefined;
  private idling: { tag: string; unwatch: () => void; wake: () => void } | undefined;
  private awaitingTls = false;
  private closed = false;
  private readonly mailboxCommands = new MailboxCommands(this);
  private readonly messageCommands = new MessageCommands(this);

  constructor(
    readonly options: ImapSessionOptions,
    private readonly hooks: ImapHooks,
    private readonly send: ImapSend,
  ) {
    this.tls = options.tls;
    this.reader = new ImapCommandReader(loginReaderLimits(options.maxLoginCommandSize));
    this.deadlines = new SessionDeadlines(options.deadlines);
  }

  get account(): ImapAccount {
    if (!this.accountHandle) throw new Error('not authenticated');
    return this.accountHandle;
  }

  get utf8(): boolean {
    return this.enabled.has('IMAP4REV2') || this.enabled.has('UTF8=ACCEPT');
  }

  get rev2(): boolean {
    return this.enabled.has('IMAP4REV2');
  }

  get isIdle(): boolean {
    return this.idling !== undefined;
  }

  greeting(): void {
    void this.write(
      `* OK [CAPABILITY ${this.capabilities().join(' ')}] ${this.options.hostname} IMAP server ready\r\n`,
    );
  }

  /** The service upgraded the connection after STARTTLS. */
  tlsStarted(): void {
    this.tls = 'active';
    this.awaitingTls = false;
    this.reader.discardBuffered();
  }

  /** The connection is gone: let go of the mailbox and the account. */
  end(): void {
    this.closed = true;
    this.idling?.unwatch();
    this.idling = undefined;
    this.selected?.box.close();
    this.selected = undefined;
    this.accountHandle?.close();
    this.accountHandle = undefined;
  }

  /**
   * When the client runs out of time for what it has begun (a line, a literal) or for
   * logging in, and the BYE to close with then; undefined when no deadline stands.
   */
  inputDeadline(): { readonly at: number; readonly goodbye: string } | undefined {
    const next = this.deadlines.next();
    return next && { at: next.at, goodbye: `* BYE timeout: ${next.why}\r\n` };
  }

  /** For the service's shutdown: `* BYE` and close. */
  async bye(text: string): Promise<void> {
    await this.write(`* BYE ${text}\r\n`);
  }

  /**
   * Bytes from the client. Calls may overlap; input is handled strictly in order. Resolves
   * with what the service must do: 'close' after LOGOUT (or a fatal error), 'starttls' once.
   */
  receive(chunk: Uint8Array): Promise<ImapAction> {
    const run = this.input.then(() => this.consume(chunk));
    this.input = run.catch(() => undefined);
    return run;
  }

  private async consume(chunk: Uint8Array): Promise<ImapAction> {
    if (this.closed) return 'close';
    if (this.awaitingTls) return 'continue';
    this.reader.push(chunk);
    for (;;) {
      const event = this.reader.next();
      // While the session works on an event the client is not the one keeping it waiting.
      this.deadlines.observe(event ? undefined : this.reader.progress);
      if (!event) return 'continue';
      const action = await this.handle(event);
      if (action === 'close') {
        this.closed = true;
        this.reader.discardBuffered();
        return action;
      }
      if (action === 'starttls') {
        // Whatever was pipelined behind STARTTLS came in clear: dropped (CVE-2011-0411 class).
        this.awaitingTls = true;
        this.reader.discardBuffered();
        return action;
      }
    }
  }

  private async handle(event: ReaderEvent): Promise<ImapAction> {
    switch (event.kind) {
      case 'literal': {
        const loggedIn = this.state !== 'not-authenticated';
        const refusal = literalRefusal(event, loggedIn, this.options.maxMessageSize);
        if (refusal === undefined) {
          this.reader.acceptLiteral();
          if (event.synchronising) await this.write('+ Ready for literal data\r\n');
          return 'continue';
        }
        if (!loggedIn && event.over && !event.synchronising) {
          await this.write(`${refusal}\r\n${LOGIN_TOO_BIG_BYE}`);
          return 'close';
        }
        this.pendingRefusal = refusal;
        this.reader.rejectLiteral();
        return 'continue';
      }
      case 'too-long':
        this.hooks.commandDone?.('INVALID', 'BAD', 0);
        if (this.state === 'not-authenticated') {
          await this.write(`${tooLong(event.tag, event.limit)}\r\n${LOGIN_TOO_BIG_BYE}`);
          return 'close';
        }
        await this.write(`${tooLong(event.tag, event.limit)}\r\n`);
        return 'continue';
      case 'rejected':
        await this.write(`${this.pendingRefusal ?? `${event.tag} BAD command refused`}\r\n`);
        this.pendingRefusal = undefined;
        return 'continue';
      case 'bad':
        await this.write(`${event.tag ?? '*'} BAD ${event.text}\r\n`);
        this.hooks.commandDone?.('INVALID', 'BAD', 0);
        return 'continue';
      case 'line':
        return this.lineInput(event.text);
      case 'line-too-long':
        if (this.sasl && this.state === 'not-authenticated') {
          await this.write(`${this.sasl.tag} BAD [TOOBIG] response too long\r\n${LOGIN_TOO_BIG_BYE}`);
          return 'close';
        }
        return this.lineInput(undefined);
      case 'command':
        return this.command(event.command);
    }
  }

  private tokens = Number.POSITIVE_INFINITY;
  private refilledAt = 0;

  /** Waits, when the client runs commands faster than options.commandRate allows. */
  private async throttle(): Promise<void> {
    const rate = this.options.commandRate;
    if (!rate) return;
    const now = Date.now();
    if (this.refilledAt === 0) this.tokens = rate.burst;
    else this.tokens = Math.min(rate.burst, this.tokens + ((now - this.refilledAt) / 1000) * rate.perSecond);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return;
    }
    const waitMs = Math.ceil(((1 - this.tokens) / rate.perSecond) * 1000);
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    this.tokens = 0;
    this.refilledAt = Date.now();
  }

  private async command(command: ImapCommand): Promise<ImapAction> {
    const { tag, name } = command;
    await this.throttle();
    const started = performance.now();
    let reply: ImapReply;
    let action: ImapAction = 'continue';
    try {
      const result = await this.dispatch(command);
      if (result === 'idle' || result === 'sasl') return 'continue';
      if (result instanceof ImapReply) reply = result;
      else {
        reply = result.reply;
        action = result.action;
      }
    } catch (err) {
      if (err instanceof ImapReply) reply = err;
      else if (err instanceof ImapSyntaxError) reply = bad(err.message);
      else {
        // Storage trouble: the command failed, the session goes on.
        this.hooks.commandFailed?.(name, err);
        reply = no('[SERVERBUG] the command could not be completed, try again');
      }
    }
    if (this.state === 'selected' && this.selected && reply.status !== 'BAD' && action === 'continue') {
      await this.afterCommand(name, command);
    }
    await this.write(`${tag} ${reply.status} ${reply.text}\r\n`);
    if (this.hooks.commandDone) {
      const sub = command.args[0];
      const label = name === 'UID' && sub?.type === 'atom' ? `UID ${sub.value.toUpperCase()}` : name;
      this.hooks.commandDone(label, reply.status, (performance.now() - started) / 1000);
    }
    return action;
  }

  /** Untagged news before the tagged answer, where RFC 3501 §7.4.1 allows it. */
  private async afterCommand(name: string, command: ImapCommand): Promise<void> {
    const selected = this.selected!;
    const always = name === 'NOOP' || name === 'CHECK';
    if (!selected.dirty && !always) return;
    const sub = name === 'UID' ? undefined : name;
    const allowExpunge = !(sub === 'FETCH' || sub === 'STORE' || sub === 'SEARCH');
    try {
      await this.announce(await selected.sync(allowExpunge));
    } catch {
      // Seen next time: the tagged answer must not wait on a store hiccup.
      selected.dirty = true;
    }
    void command;
  }

  async announce(update: ViewUpdate): Promise<void> {
    const lines: string[] = [];
    for (const seq of update.expunged) lines.push(`* ${seq} EXPUNGE\r\n`);
    if (update.exists !== undefined) lines.push(`* ${update.exists} EXISTS\r\n`);
    if (update.recent !== undefined && !this.rev2) lines.push(`* ${update.recent} RECENT\r\n`);
    for (const change of update.flags) {
      lines.push(
        `* ${change.seq} FETCH (UID ${change.uid} FLAGS (${this.flagList(change.uid, change.flags)}))\r\n`,
      );
    }
    if (lines.length > 0) await this.write(lines.join(''));
  }

  flagList(uid: number, flags: readonly string[]): string {
    const all = this.selected?.isRecent(uid) && !this.rev2 ? [...flags, '\\Recent'] : flags;
    return all.join(' ');
  }

  select(mailbox: SelectedMailbox | undefined): void {
    if (this.selected && this.selected !== mailbox) this.selected.box.close();
    this.selected = mailbox;
    this.savedResult = [];
    this.state = mailbox ? 'selected' : 'authenticated';
    if (mailbox) {
      mailbox.box.watch(() => {
        mailbox.dirty = true;
        this.idling?.wake();
      });
    }
  }

  async write(chunks: ImapChunk | readonly ImapChunk[]): Promise<void> {
    const list = typeof chunks === 'string' || chunks instanceof Uint8Array ? [chunks] : chunks;
    for (const chunk of list) {
      const pending = this.send(chunk);
      if (pending) await pending;
    }
  }

  private async dispatch(
    command: ImapCommand,
  ): Promise<ImapReply | 'idle' | 'sasl' | { reply: ImapReply; action: ImapAction }> {
    const { name, args } = command;
    // Any state (RFC 3501 §6.1).
    switch (name) {
      case 'CAPABILITY':
        expectArgs(args, 0);
        await this.write(`* CAPABILITY ${this.capabilities().join(' ')}\r\n`);
        return ok('CAPABILITY completed');
      case 'NOOP':
        return ok('NOOP completed');
      case 'LOGOUT':
        await this.write(`* BYE ${this.options.hostname} IMAP server logging out\r\n`);
        this.state = 'logout';
        return { reply: ok('LOGOUT completed'), action: 'close' };
      case 'ID':
        await this.write(`* ID ("name" "Tegami" "vendor" "Tegami")\r\n`);
        return ok('ID completed');
    }
    if (this.state === 'not-authenticated') {
      switch (name) {
        case 'STARTTLS':
          expectArgs(args, 0);
          if (this.tls !== 'starttls')
            return bad(this.tls === 'active' ? 'TLS is on already' : 'STARTTLS is not available');
          return { reply: ok('Begin TLS negotiation now'), action: 'starttls' };
        case 'LOGIN':
          return this.login(args);
        case 'AUTHENTICATE':
          return this.authenticate(command);
        default:
          return knownCommand(name) ? bad('log in first') : bad('unknown command');
      }
    }
    switch (name) {
      case 'STARTTLS':
      case 'LOGIN':
      case 'AUTHENTICATE':
        return bad('already authenticated');
      case 'ENABLE':
        return this.enable(args);
      case 'NAMESPACE':
        expectArgs(args, 0);
        await this.write('* NAMESPACE (("" "/")) NIL NIL\r\n');
        return ok('NAMESPACE completed');
      case 'SELECT':
      case 'EXAMINE':
      case 'CREATE':
      case 'DELETE':
      case 'RENAME':
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE':
      case 'LIST':
      case 'LSUB':
      case 'STATUS':
        return this.mailboxCommands.run(name, args);
      case 'APPEND':
        return this.messageCommands.append(args);
      case 'IDLE':
        expectArgs(args, 0);
        return this.startIdle(command.tag);
    }
    if (this.state !== 'selected' || !this.selected) {
      return knownCommand(name) ? bad('no mailbox selected') : bad('unknown command');
    }
    switch (name) {
      case 'CHECK':
        return ok('CHECK completed');
      case 'CLOSE':
      case 'UNSELECT':
        return this.messageCommands.close(name === 'CLOSE');
      case 'EXPUNGE':
        return this.messageCommands.expunge(args, false);
      case 'UID': {
        const sub = args[0];
        if (sub?.type !== 'atom') return bad('UID needs a command');
        const subName = sub.value.toUpperCase();
        const rest = args.slice(1);
        if (subName === 'EXPUNGE') return this.messageCommands.expunge(rest, true);
        if (['FETCH', 'STORE', 'SEARCH', 'COPY', 'MOVE'].includes(subName)) {
          return this.messageCommands.run(subName, rest, true, command.tag);
        }
        return bad('unknown UID command');
      }
      case 'FETCH':
      case 'STORE':
      case 'SEARCH':
      case 'COPY':
      case 'MOVE':
        return this.messageCommands.run(name, args, false, command.tag);
    }
    return bad('unknown command');
  }

  capabilities(): string[] {
    // RFC 7888: one of LITERAL+ and LITERAL-; before login, literals are kept small.
    const literals = this.state === 'not-authenticated' ? 'LITERAL-' : 'LITERAL+';
    const caps = ['IMAP4rev1', 'IMAP4rev2', literals, 'SASL-IR', 'ID', 'ENABLE', 'IDLE'];
    if (this.state === 'not-authenticated') {
      if (this.tls === 'starttls') caps.push('STARTTLS');
      if (!this.plaintextOk()) caps.push('LOGINDISABLED');
      for (const mechanism of this.mechanisms()) caps.push(`AUTH=${mechanism}`);
      return caps;
    }
    caps.push(
      'NAMESPACE',
      'UNSELECT',
      'UIDPLUS',
      'MOVE',
      'CHILDREN',
      'SPECIAL-USE',
      'ESEARCH',
      'BINARY',
      `APPENDLIMIT=${this.options.maxMessageSize}`,
      'UTF8=ACCEPT',
    );
    return caps;
  }

  private plaintextOk(): boolean {
    return this.tls === 'active' || this.options.plaintextAllowed;
  }

  private mechanisms(): SaslMechanismName[] {
    return this.enabledMechanisms().filter((m) => !isPlaintextMechanism(m) || this.plaintextOk());
  }

  private enabledMechanisms(): readonly SaslMechanismName[] {
    return this.options.saslMechanisms ?? SASL_MECHANISMS;
  }

  private async enable(args: readonly ImapToken[]): Promise<ImapReply> {
    if (args.length === 0) return bad('ENABLE needs capabilities');
    // RFC 5161 §3: capability = atom. All are checked before any is enabled: a BAD command
    // has no effect.
    if (args.some((arg) => arg.type !== 'atom' || !isAtom(arg.value))) {
      return bad('capability names are atoms');
    }
    const newly: string[] = [];
    for (const arg of args) {
      if (arg.type !== 'atom') continue;
      const name = arg.value.toUpperCase();
      // Unknown capabilities are ignored (RFC 5161 §3.1).
      if ((name === 'IMAP4REV2' || name === 'UTF8=ACCEPT') && !this.enabled.has(name)) {
        this.enabled.add(name);
        newly.push(arg.value);
      }
    }
    await this.write(`* ENABLED${newly.map((n) => ` ${n}`).join('')}\r\n`);
    return ok('ENABLE completed');
  }

  // ---- authentication ----

  private async login(args: readonly ImapToken[]): Promise<ImapReply> {
    if (args.length !== 2) return bad('LOGIN needs a user name and a password');
    const [user, password] = args.map(astringOf);
    if (user === undefined || password === undefined) return bad('LOGIN needs a user name and a password');
    if (!this.plaintextOk()) return no('[PRIVACYREQUIRED] LOGIN is disabled until STARTTLS');
    // LOGIN is PLAIN by another name: one check of the password, one code path.
    const exchange = this.exchange('PLAIN');
    const step = await exchange.start(Buffer.from(`\u0000${user}\u0000${password}`, 'utf8'));
    return this.finishAuth(step, 'LOGIN');
  }

  private async authenticate(command: ImapCommand): Promise<ImapReply | 'sasl'> {
    const [mech, initial, ...extra] = command.args;
    if (mech?.type !== 'atom' || extra.length > 0) return bad('AUTHENTICATE needs a mechanism');
    const name = mech.value.toUpperCase() as SaslMechanismName;
    if (!this.enabledMechanisms().includes(name)) return no('unsupported authentication mechanism');
    if (isPlaintextMechanism(name) && !this.plaintextOk()) return no('[PRIVACYREQUIRED] use STARTTLS first');
    let initialResponse: Buffer | undefined;
    if (initial !== undefined) {
      // RFC 4959 SASL-IR: "=" is an empty initial response.
      const text = initial.type === 'atom' ? initial.value : undefined;
      const decoded = text === '=' ? Buffer.alloc(0) : text === undefined ? undefined : decodeBase64(text);
      if (!decoded) return bad('cannot decode the initial response');
      initialResponse = decoded;
    }
    const exchange = this.exchange(name);
    this.sasl = { tag: command.tag, exchange, mechanism: name };
    this.reader.setMode('line');
    return this.saslStep(await exchange.start(initialResponse));
  }

  private async saslStep(step: SaslStep): Promise<ImapReply | 'sasl'> {
    const sasl = this.sasl!;
    if (
      step.kind === 'challenge' ||
      (step.kind === 'success' && step.finalData && step.finalData.length > 0 && !sasl.successSent)
    ) {
      const data = step.kind === 'challenge' ? step.challenge : step.finalData!;
      if (step.kind === 'success') sasl.successSent = step;
      await this.write(`+ ${data.toString('base64')}\r\n`);
      return 'sasl';
    }
    this.sasl = undefined;
    this.reader.setMode('command');
    const reply = await this.finishAuth(step, sasl.mechanism);
    await this.write(`${sasl.tag} ${reply.status} ${reply.text}\r\n`);
    return 'sasl';
  }

  private async lineInput(text: string | undefined): Promise<ImapAction> {
    if (this.idling) {
      const idle = this.idling;
      if (text === undefined || text.toUpperCase() !== 'DONE') {
        // RFC 2177: only DONE ends IDLE; anything else is an error, and IDLE ends.
        await this.endIdle();
        await this.write(`${idle.tag} BAD expected DONE\r\n`);
        return 'continue';
      }
      await this.endIdle();
      await this.write(`${idle.tag} OK IDLE terminated\r\n`);
      return 'continue';
    }
    const sasl = this.sasl;
    if (!sasl) {
      this.reader.setMode('command');
      return 'continue';
    }
    if (text === undefined || text === '*') {
      this.sasl = undefined;
      this.reader.setMode('command');
      await this.write(
        `${sasl.tag} ${text === '*' ? 'BAD authentication cancelled' : 'BAD response too long'}\r\n`,
      );
      return 'continue';
    }
    if (sasl.successSent) {
      // The client acknowledged the server's final data (RFC 4422 §5): outcome now.
      const step = sasl.successSent;
      this.sasl = undefined;
      this.reader.setMode('command');
      const reply = await this.finishAuth(step, sasl.mechanism);
      await this.write(`${sasl.tag} ${reply.status} ${reply.text}\r\n`);
      return 'continue';
    }
    const decoded = decodeBase64(text);
    if (!decoded) {
      this.sasl = undefined;
      this.reader.setMode('command');
      await this.write(`${sasl.tag} BAD cannot decode the response\r\n`);
      return 'continue';
    }
    await this.saslStep(await sasl.exchange.respond(decoded));
    return 'continue';
  }

  private async finishAuth(step: SaslStep, mechanism: string): Promise<ImapReply> {
    if (step.kind === 'success') {
      const account = await this.hooks.openAccount(step.identity).catch(() => 'temp' as const);
      if (account === 'temp')
        return no('[UNAVAILABLE] the mail store cannot be reached now, try again later');
      if (account === 'too-many') return no('[LIMIT] too many sessions of this user at once');
      this.accountHandle = account;
      this.identity = step.identity;
      this.state = 'authenticated';
      this.reader.setLimits(sessionReaderLimits(this.options.maxMessageSize, this.options.maxCommandSize));
      this.deadlines.loggedIn();
      try {
        this.hooks.authSucceeded?.(step.identity, mechanism);
      } catch {
        // Bookkeeping only.
      }
      return ok(`[CAPABILITY ${this.capabilities().join(' ')}] ${step.identity.address} logged in`);
    }
    if (step.kind === 'failure' && step.reason === 'temporary') {
      return no('[UNAVAILABLE] authentication is unavailable now, try again later');
    }
    await this.hooks.authFailed?.(mechanism);
    return no('[AUTHENTICATIONFAILED] authentication failed');
  }

  private exchange(mechanism: SaslMechanismName): SaslExchange {
    return createSaslExchange(mechanism, {
      service: 'imap',
      hostname: this.options.hostname,
      realms: this.options.realms(),
      lookup: this.hooks.lookupCredentials,
    });
  }

  // ---- IDLE (RFC 2177) ----

  private async startIdle(tag: string): Promise<'idle'> {
    let waking = false;
    const wake = () => {
      if (waking || !this.idling || !this.selected) return;
      waking = true;
      // Pushed at once, in the input chain so it never interleaves with a response.
      this.input = this.input.then(async () => {
        waking = false;
        if (!this.idling || !this.selected) return;
        try {
          await this.announce(await this.selected.sync(true));
        } catch {
          this.selected.dirty = true;
        }
      });
    };
    this.idling = { tag, unwatch: () => undefined, wake };
    this.reader.setMode('line');
    await this.write('+ idling\r\n');
    if (this.selected) {
      await this.announce(await this.selected.sync(true)).catch(() => undefined);
    }
    return 'idle';
  }

  private async endIdle(): Promise<void> {
    this.idling?.unwatch();
    this.idling = undefined;
    this.reader.setMode('command');
  }
}

function expectArgs(args: readonly ImapToken[], count: number): void {
  if (args.length !== count) throw bad('wrong number of arguments');
}

function decodeBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  return Buffer.from(text, 'base64');
}

const KNOWN = new Set([
  'CAPABILITY',
  'NOOP',
  'LOGOUT',
  'STARTTLS',
  'LOGIN',
  'AUTHENTICATE',
  'ENABLE',
  'ID',
  'NAMESPACE',
  'SELECT',
  'EXAMINE',
  'CREATE',
  'DELETE',
  'RENAME',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'LIST',
  'LSUB',
  'STATUS',
  'APPEND',
  'CHECK',
  'CLOSE',
  'UNSELECT',
  'EXPUNGE',
  'SEARCH',
  'FETCH',
  'STORE',
  'COPY',
  'MOVE',
  'UID',
  'IDLE',
]);

function knownCommand(name: string): boolean {
  return KNOWN.has(name);
}
