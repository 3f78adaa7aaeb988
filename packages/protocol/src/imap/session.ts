// The IMAP server engine (RFC 3501 IMAP4rev1 and RFC 9051 IMAP4rev2, with IDLE, UIDPLUS,
// MOVE, NAMESPACE, ID, ENABLE, LITERAL+ (LITERAL- before login), SASL-IR, UNSELECT,
// CHILDREN, SPECIAL-USE, ESEARCH, BINARY, APPENDLIMIT), I/O-free like the POP3 one: the
// service hands it the client's bytes and writes what it sends. States (RFC 3501 §3): not
// authenticated → authenticated ⇄ selected → logout. Commands are handled one at a time in
// the order they came; what each does is in commands/, found through dispatcher.ts.
// After COMPRESS (RFC 4978) the session inflates what it is handed and deflates what it
// sends (deflate-layer.ts), so the service's sockets never learn of it.

import { SessionDeadlines } from '../input-deadline.js';
import { SaslDialogue } from '../sasl/sasl-dialogue.js';
import {
  isPlaintextMechanism,
  SASL_MECHANISMS,
  type SaslIdentity,
  type SaslMechanismName,
} from '../sasl/sasl-exchange.js';
import {
  LOGIN_TOO_BIG_BYE,
  literalRefusal,
  loginReaderLimits,
  sessionReaderLimits,
  tooLong,
} from './command-limits.js';
import { CommandRate } from './command-rate.js';
import { type ImapCommand, ImapCommandReader, type ReaderEvent } from './command-reader.js';
import {
  type CapabilityView,
  type EnableableCapability,
  type ImapContext,
  type ImapDialogue,
  ImapReply,
  type ImapState,
  type NotifyPlan,
} from './commands/command-spec.js';
import { flagList } from './commands/flags.js';
import { CompressedInputError, DeflateLayer } from './deflate-layer.js';
import { capabilityList, dispatch, metricLabel } from './dispatcher.js';
import { NotifyDelivery } from './notify-delivery.js';
import type { ImapChunk } from './response.js';
import type { SelectedMailbox, ViewUpdate } from './selected-mailbox.js';
import { formatSequenceSet } from './sequence-set.js';
import type { ImapAccount, ImapHooks, ImapSessionOptions } from './session-types.js';
import { withSharedMailboxes } from './shared-mailboxes.js';

export type { ImapState } from './commands/command-spec.js';
export type ImapAction = 'continue' | 'close' | 'starttls';
/** Within the session: COMPRESS answered OK, the DEFLATE layer starts here. */
type SessionAction = ImapAction | 'compress';
/** Writes to the client; a promise holds the session back until the socket drains. */
export type ImapSend = (chunk: ImapChunk) => void | Promise<void>;

export class ImapSession implements ImapContext {
  state: ImapState = 'not-authenticated';
  identity: SaslIdentity | undefined;
  selected: SelectedMailbox | undefined;
  savedResult: readonly number[] = [];
  private accountHandle: ImapAccount | undefined;
  private tlsState: ImapSessionOptions['tls'];
  private enabled = new Set<string>();
  private readonly reader: ImapCommandReader;
  private readonly deadlines: SessionDeadlines;
  private input: Promise<unknown> = Promise.resolve();
  private pendingRefusal: string | undefined;
  /** IDLE or AUTHENTICATE, reading lines until it answers. */
  private dialogue: { readonly tag: string; readonly dialogue: ImapDialogue; waking: boolean } | undefined;
  private awaitingTls = false;
  private closed = false;
  /** COMPRESS=DEFLATE (RFC 4978): on from the octet after its tagged OK to the end. */
  private compression: DeflateLayer | undefined;
  private readonly rate: CommandRate;
  /** NOTIFY (RFC 5465): the account watch and the unsolicited responses it sends. */
  private readonly notifying = new NotifyDelivery(this, (job) => this.unsolicited(job));

  constructor(
    readonly options: ImapSessionOptions,
    private readonly hooks: ImapHooks,
    private readonly send: ImapSend,
  ) {
    this.tlsState = options.tls;
    this.reader = new ImapCommandReader(loginReaderLimits(options.maxLoginCommandSize));
    this.deadlines = new SessionDeadlines(options.deadlines);
    this.rate = new CommandRate(options.commandRate);
  }

  get account(): ImapAccount {
    if (!this.accountHandle) throw new Error('not authenticated');
    return this.accountHandle;
  }

  get tls(): ImapSessionOptions['tls'] {
    return this.tlsState;
  }

  get utf8(): boolean {
    return this.enabled.has('IMAP4REV2') || this.enabled.has('UTF8=ACCEPT');
  }

  get rev2(): boolean {
    return this.enabled.has('IMAP4REV2');
  }

  /** CONDSTORE is on (RFC 7162 §3.1: ENABLE, or any CONDSTORE-enabling command): FETCHes it sends unasked carry MODSEQ. */
  get condstore(): boolean {
    return this.enabled.has('CONDSTORE');
  }

  /** QRESYNC is on (RFC 7162 §3.2.3): expunges are told as VANISHED, by UID. */
  get qresync(): boolean {
    return this.enabled.has('QRESYNC');
  }

  get compressed(): boolean {
    return this.compression !== undefined;
  }

  get isIdle(): boolean {
    return this.dialogue?.dialogue.changed !== undefined;
  }

  greeting(): void {
    void this.write(
      `* OK [CAPABILITY ${this.capabilities().join(' ')}] ${this.options.hostname} IMAP server ready\r\n`,
    );
  }

  /** The service upgraded the connection after STARTTLS. */
  tlsStarted(): void {
    this.tlsState = 'active';
    this.awaitingTls = false;
    this.reader.discardBuffered();
  }

  /** The connection is gone: let go of the mailbox and the account. */
  end(): void {
    this.closed = true;
    this.notifying.stop();
    this.dialogue = undefined;
    this.selected?.box.close();
    this.selected = undefined;
    this.accountHandle?.close();
    this.accountHandle = undefined;
    this.compression?.close();
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
    await this.compression?.flush();
  }

  /**
   * A goodbye of the service's own (idle timeout, input deadline): once COMPRESS is on it
   * must go through the DEFLATE layer too, so the session writes it; undefined when the
   * service may write it as it is.
   */
  sayGoodbye(text: string): Promise<void> | undefined {
    const layer = this.compression;
    return layer?.write(text).then(() => layer.flush());
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
    const action = this.compression ? await this.inflate(chunk) : await this.parse(chunk);
    // The end of a burst of responses: what the deflater holds goes out now, and before the
    // service closes the connection after LOGOUT.
    await this.compression?.flush();
    return action;
  }

  /** The client's compressed octets, inflated a step at a time into the reader. */
  private async inflate(compressed: Uint8Array): Promise<ImapAction> {
    const layer = this.compression!;
    try {
      for await (const plain of layer.inflate(compressed)) {
        const action = await this.parse(plain);
        if (action !== 'continue') return action;
      }
      return 'continue';
    } catch (err) {
      if (!(err instanceof CompressedInputError)) throw err;
      // Nothing after the bad octets can be read: the stream cannot be resynchronised.
      try {
        this.hooks.compressedInputFailed?.(err);
      } catch {
        // Bookkeeping only.
      }
      this.closed = true;
      this.reader.discardBuffered();
      await this.write('* BYE invalid compressed data\r\n');
      return 'close';
    }
  }

  private async parse(bytes: Uint8Array): Promise<ImapAction> {
    this.reader.push(bytes);
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
      if (action === 'compress') return this.startCompression();
    }
  }

  /**
   * COMPRESS's OK is out, in clear: from here on both ways are DEFLATE. RFC 4978 §3: the
   * client compresses from the first octet after its COMPRESS line, so what it pipelined
   * behind the command is compressed already and is inflated, not read as commands.
   */
  private startCompression(): Promise<ImapAction> {
    const pipelined = this.reader.takeBuffered();
    this.compression = new DeflateLayer(this.send);
    return pipelined.length > 0 ? this.inflate(pipelined) : Promise.resolve('continue');
  }

  private async handle(event: ReaderEvent): Promise<SessionAction> {
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
        // Only AUTHENTICATE reads lines before login.
        if (this.dialogue && this.state === 'not-authenticated') {
          await this.write(`${this.dialogue.tag} BAD [TOOBIG] response too long\r\n${LOGIN_TOO_BIG_BYE}`);
          return 'close';
        }
        return this.lineInput(undefined);
      case 'command':
        return this.command(event.command);
    }
  }

  private async command(command: ImapCommand): Promise<SessionAction> {
    await this.rate.next();
    const started = performance.now();
    const outcome = await dispatch(command, this, (name, err) => this.hooks.commandFailed?.(name, err));
    let reply: ImapReply;
    let action: SessionAction = 'continue';
    if (outcome instanceof ImapReply) reply = outcome;
    else if (outcome.kind === 'connection') {
      reply = outcome.reply;
      action = outcome.next;
      if (action === 'close') this.state = 'logout';
    } else if (outcome.kind === 'dialogue') {
      // IDLE and AUTHENTICATE last as long as the client wants: not timed as commands.
      this.dialogue = { tag: command.tag, dialogue: outcome.dialogue, waking: false };
      this.reader.setMode('line');
      if (this.selected?.dirty) this.wake();
      return 'continue';
    } else {
      await this.write(`${command.tag} ${outcome.reply.status} ${outcome.reply.text}\r\n`);
      return 'continue';
    }
    await this.write(`${command.tag} ${reply.status} ${reply.text}\r\n`);
    this.hooks.commandDone?.(metricLabel(command), reply.status, (performance.now() - started) / 1000);
    return action;
  }

  /** A line while a dialogue runs: its answer ends it. */
  private async lineInput(text: string | undefined): Promise<ImapAction> {
    const current = this.dialogue;
    if (!current) {
      this.reader.setMode('command');
      return 'continue';
    }
    const reply = await current.dialogue.line(text);
    if (reply === undefined) return 'continue';
    this.dialogue = undefined;
    this.reader.setMode('command');
    await this.write(`${current.tag} ${reply.status} ${reply.text}\r\n`);
    return 'continue';
  }

  /** The selected mailbox changed during IDLE: pushed at once, in the input chain so it never interleaves with a response. */
  private wake(): void {
    const current = this.dialogue;
    if (!current?.dialogue.changed || current.waking || !this.selected) return;
    current.waking = true;
    this.input = this.input.then(async () => {
      current.waking = false;
      if (this.dialogue === current && this.selected) await current.dialogue.changed?.();
      // IDLE's pushes are a burst of their own: out at once, not when the client speaks.
      await this.compression?.flush();
    });
  }

  async announce(update: ViewUpdate, highest: 'untagged' | 'tagged' = 'untagged'): Promise<void> {
    const lines: string[] = [];
    const news = this.selected?.keywordNews(update.flags.map((change) => change.flags));
    if (news) lines.push(news);
    if (this.qresync) {
      if (update.vanished.length > 0) lines.push(`* VANISHED ${formatSequenceSet(update.vanished)}\r\n`);
      // VANISHED carries no MODSEQ: the mailbox's new one follows, so a client that saves it
      // misses no expunge (RFC 7162 §3.2.10, errata 1810); EXPUNGE and MOVE put it in
      // their tagged OK instead.
      if (update.vanished.length > 0 && highest === 'untagged' && this.selected)
        lines.push(`* OK [HIGHESTMODSEQ ${this.selected.highestModseq}] Highest\r\n`);
    } else for (const seq of update.expunged) lines.push(`* ${seq} EXPUNGE\r\n`);
    if (update.exists !== undefined) lines.push(`* ${update.exists} EXISTS\r\n`);
    if (update.recent !== undefined && !this.rev2) lines.push(`* ${update.recent} RECENT\r\n`);
    for (const change of update.flags) {
      const modseq = this.condstore ? ` MODSEQ (${change.modseq})` : '';
      lines.push(
        `* ${change.seq} FETCH (UID ${change.uid} FLAGS (${flagList(this.selected, this.rev2, change)})${modseq})\r\n`,
      );
    }
    if (lines.length > 0) await this.write(lines.join(''));
  }

  select(mailbox: SelectedMailbox | undefined): void {
    if (this.selected && this.selected !== mailbox) this.selected.box.close();
    this.selected = mailbox;
    this.savedResult = [];
    this.state = mailbox ? 'selected' : 'authenticated';
    if (mailbox) {
      mailbox.box.watch(() => {
        mailbox.dirty = true;
        // NOTIFY's SELECTED filter tells the news at once, IDLE or not (RFC 5465 §3).
        if (!this.notifying.selectedChanged(mailbox)) this.wake();
      });
    }
  }

  notify(notifications: NotifyPlan | undefined): void {
    this.notifying.start(notifications);
  }

  /**
   * Untagged responses nobody asked for (NOTIFY): queued on the input chain, so they go out
   * between commands or during IDLE, never inside another response.
   */
  private unsolicited(job: () => Promise<void>): Promise<void> {
    const run = this.input.then(async () => {
      if (this.closed || (this.state !== 'authenticated' && this.state !== 'selected')) return;
      await job();
      await this.compression?.flush();
    });
    this.input = run.catch(() => undefined);
    return run;
  }

  async write(chunks: ImapChunk | readonly ImapChunk[]): Promise<void> {
    const list = typeof chunks === 'string' || chunks instanceof Uint8Array ? [chunks] : chunks;
    for (const chunk of list) {
      const pending = this.compression ? this.compression.write(chunk) : this.send(chunk);
      if (pending) await pending;
    }
  }

  capabilities(): string[] {
    return capabilityList(this.capabilityView());
  }

  capabilityView(): CapabilityView {
    const plaintextOk = this.tlsState === 'active' || this.options.plaintextAllowed;
    const enabled = this.options.saslMechanisms ?? SASL_MECHANISMS;
    return {
      state: this.state,
      options: this.options,
      tls: this.tlsState,
      compressed: this.compression !== undefined,
      plaintextOk,
      mechanisms: enabled.filter((m) => !isPlaintextMechanism(m) || plaintextOk),
    };
  }

  enable(capability: EnableableCapability): boolean {
    if (this.enabled.has(capability)) return false;
    this.enabled.add(capability);
    // QRESYNC implies CONDSTORE (RFC 7162 §3.2.3).
    if (capability === 'QRESYNC') this.enabled.add('CONDSTORE');
    return true;
  }

  saslDialogue(mechanism: SaslMechanismName): SaslDialogue {
    return new SaslDialogue(mechanism, {
      service: 'imap',
      hostname: this.options.hostname,
      realms: this.options.realms(),
      lookup: this.hooks.lookupCredentials,
    });
  }

  async logIn(identity: SaslIdentity, mechanism: SaslMechanismName): Promise<'ok' | 'temp' | 'too-many'> {
    const account = await this.hooks.openAccount(identity);
    if (account === 'temp' || account === 'too-many') return account;
    // With the store's ACLs: the "Other Users" namespace, each name checked for its rights.
    this.accountHandle = withSharedMailboxes(account);
    this.identity = identity;
    this.state = 'authenticated';
    this.reader.setLimits(sessionReaderLimits(this.options.maxMessageSize, this.options.maxCommandSize));
    this.deadlines.loggedIn();
    try {
      this.hooks.authSucceeded?.(identity, mechanism);
    } catch {
      // Bookkeeping only.
    }
    return 'ok';
  }

  logOut(): void {
    const identity = this.identity;
    this.notifying.stop();
    this.select(undefined);
    this.accountHandle?.close();
    this.accountHandle = undefined;
    this.identity = undefined;
    this.state = 'not-authenticated';
    // RFC 8437 §3: everything the session set up since it connected is undone, ENABLEd
    // extensions and the saved search result too; TLS stays.
    this.enabled.clear();
    this.savedResult = [];
    this.reader.setLimits(loginReaderLimits(this.options.maxLoginCommandSize));
    this.deadlines.loggedOut();
    if (identity) {
      try {
        this.hooks.loggedOut?.(identity);
      } catch {
        // Bookkeeping only.
      }
    }
  }

  async authFailed(mechanism: string): Promise<void> {
    await this.hooks.authFailed?.(mechanism);
  }
}
