/**
 * An in-memory mail store behind the ImapAccount / OpenMailbox interfaces, for engine tests,
 * and a harness that drives an ImapSession over it. It follows what the Postgres store does
 * (packages/store/src/imap-mailbox.ts and services/imap-gateway/src/postgres-account.ts):
 * one MODSEQ per change of a mailbox, an expunge log, \Recent claimed by the first
 * read-write session to look, flags normalised (system flags canonical, no duplicates,
 * sorted), SEARCH matched against the normalised search text describeMessage stores. It
 * throws where the Postgres store throws (test-postgres-rules.ts), so a value the engine
 * should have refused shows up here as the SERVERBUG it would be in the service.
 *
 * Several sessions can share one MemoryMailStore: a change made through one account wakes
 * the mailboxes the other accounts (sessions) watch, as the gateway's NATS fan-out does.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { describeMessage } from '../mime/describe-message.js';
import type { HeaderDate } from '../mime/header-date.js';
import type { SearchHeader } from '../mime/search-text.js';
import { derivePasswordSecrets } from '../sasl/password-secrets.js';
import type { SaslCredentials, SaslIdentity } from '../sasl/sasl-step.js';
import { type ImapAction, ImapSession } from './session.js';
import type {
  AppendResult,
  CopyResult,
  FetchedMessage,
  FetchNeeds,
  FlagOperation,
  ImapAccount,
  ImapHooks,
  ImapSessionOptions,
  MailboxChanges,
  MailboxInfo,
  MailboxOperationResult,
  MailboxSnapshot,
  MailboxStatus,
  MessageState,
  OpenMailbox,
  RecentRange,
  SearchNode,
  SpecialUseAttribute,
  StoredMetadata,
} from './session-types.js';
import { normaliseFlags } from './system-flags.js';
import {
  creatableName,
  storedDate,
  storedName,
  storedSearch,
  storedText,
  validName,
} from './test-postgres-rules.js';

export const USER = 'alice@example.org';
export const PASSWORD = 'tanstaaftanstaaf';

// ---------------------------------------------------------------------------
// The store

export interface MemoryMessage {
  readonly uid: number;
  flags: string[];
  modseq: bigint;
  readonly internalDate: Date;
  readonly raw: Buffer;
  readonly metadata: StoredMetadata & {
    readonly searchHeaders?: readonly SearchHeader[];
    readonly searchPartHeaders?: string;
    readonly headerDate?: HeaderDate | null;
  };
  readonly searchText: string;
}

export interface MemoryMailbox {
  name: string;
  specialUse: SpecialUseAttribute | null;
  subscribed: boolean;
  /** Kept only as a parent (RFC 3501 §6.3.4): not selectable, holds no messages. */
  noselect: boolean;
  readonly uidValidity: number;
  uidNext: number;
  highestModseq: bigint;
  /** UIDs at or above this one have not been claimed as \Recent by any session yet. */
  recentUid: number;
  /** In UID order. */
  messages: MemoryMessage[];
  readonly expunged: { readonly uid: number; readonly modseq: bigint }[];
}

interface Watcher {
  readonly mailbox: MemoryMailbox;
  /** The account (session) that registered it: its own changes do not wake it. */
  readonly owner: object;
  readonly listener: () => void;
}

/** Message n of the default INBOX. */
export function messageOf(n: number): Buffer {
  return Buffer.from(
    `From: Bob <bob@example.net>\r\nTo: alice@example.org\r\nSubject: message ${n}\r\n` +
      `Date: Mon, 0${n} Jun 2025 10:00:00 +0200\r\nMessage-ID: <${n}@example.net>\r\n\r\n` +
      `${'body line\r\n'.repeat(n)}`,
  );
}

export class MemoryMailStore {
  readonly mailboxes: MemoryMailbox[] = [];
  private readonly watchers = new Set<Watcher>();
  private nextUidValidity = 1_000;
  /** Accounts handed out and closed, for tests. */
  opened = 0;
  closed = 0;
  /** Bytes the account may hold; undefined for no quota. */
  quota: number | undefined;
  /** The owner of changes made by the test itself (delivery, "another client"). */
  static readonly OUTSIDE = Object.freeze({});

  constructor(names: readonly (string | [string, SpecialUseAttribute])[] = ['INBOX']) {
    for (const entry of names) {
      const [name, use] = typeof entry === 'string' ? [entry, null] : entry;
      this.create(name, use);
    }
  }

  /** A store with INBOX holding messages 1..count, Sent, Trash and Archive. */
  static withMessages(count = 3): MemoryMailStore {
    const store = new MemoryMailStore([
      'INBOX',
      ['Sent', '\\Sent'],
      ['Trash', '\\Trash'],
      ['Archive', '\\Archive'],
    ]);
    for (let n = 1; n <= count; n++) store.deliver('INBOX', messageOf(n));
    return store;
  }

  mailbox(name: string): MemoryMailbox | undefined {
    return this.mailboxes.find((m) => m.name === name);
  }

  /** The mailbox when it can be selected, appended and copied to (not \Noselect). */
  selectable(name: string): MemoryMailbox | undefined {
    const mailbox = this.mailbox(name);
    return mailbox?.noselect ? undefined : mailbox;
  }

  create(name: string, specialUse: SpecialUseAttribute | null = null): MemoryMailbox {
    const mailbox: MemoryMailbox = {
      name,
      specialUse,
      subscribed: true,
      noselect: false,
      uidValidity: this.nextUidValidity++,
      uidNext: 1,
      highestModseq: 1n,
      recentUid: 1,
      messages: [],
      expunged: [],
    };
    this.mailboxes.push(mailbox);
    return mailbox;
  }

  /** A message arriving from outside any session (delivery). Returns its UID. */
  deliver(
    name: string,
    raw: Buffer,
    options: { flags?: readonly string[]; internalDate?: Date; owner?: object } = {},
  ): number {
    const mailbox = this.mailbox(name);
    if (!mailbox) throw new Error(`no mailbox ${name}`);
    const uid = this.insert(mailbox, raw, options.flags ?? [], options.internalDate);
    this.changed(mailbox, options.owner ?? MemoryMailStore.OUTSIDE);
    return uid;
  }

  /** Flags set from outside any session. */
  setFlags(name: string, uids: readonly number[], operation: FlagOperation, flags: readonly string[]) {
    const mailbox = this.mailbox(name)!;
    const changed = this.storeFlags(mailbox, uids, operation, flags);
    if (changed.length > 0) this.changed(mailbox, MemoryMailStore.OUTSIDE);
    return changed;
  }

  /** Expunged from outside any session, \Deleted or not. */
  expungeNow(name: string, uids: readonly number[]): number[] {
    const mailbox = this.mailbox(name)!;
    const removed = this.remove(mailbox, uids);
    if (removed.length > 0) this.changed(mailbox, MemoryMailStore.OUTSIDE);
    return removed;
  }

  /** One session's view of the store. */
  account(address = USER): MemoryAccount {
    this.opened++;
    return new MemoryAccount(this, address);
  }

  // ---- primitives (no notification) ----

  insert(mailbox: MemoryMailbox, raw: Buffer, flags: readonly string[], internalDate?: Date): number {
    const description = describeMessage(raw);
    const uid = mailbox.uidNext++;
    mailbox.highestModseq++;
    mailbox.messages.push({
      uid,
      flags: normaliseFlags(flags),
      modseq: mailbox.highestModseq,
      internalDate: internalDate ?? new Date(Date.UTC(2025, 5, 1, 12, 0, 0)),
      raw,
      metadata: description.metadata as MemoryMessage['metadata'],
      searchText: description.searchText,
    });
    return uid;
  }

  storeFlags(
    mailbox: MemoryMailbox,
    uids: readonly number[],
    operation: FlagOperation,
    flagsInput: readonly string[],
  ): MessageState[] {
    const flags = normaliseFlags(flagsInput);
    const wanted = new Set(uids);
    const modseq = mailbox.highestModseq + 1n;
    const changed: MessageState[] = [];
    for (const message of mailbox.messages) {
      if (!wanted.has(message.uid)) continue;
      const next =
        operation === 'replace'
          ? flags
          : operation === 'add'
            ? normaliseFlags([...message.flags, ...flags])
            : message.flags.filter((f) => !flags.includes(f));
      if (next.length === message.flags.length && next.every((f, i) => f === message.flags[i])) continue;
      message.flags = next;
      message.modseq = modseq;
      changed.push({ uid: message.uid, flags: [...next], modseq });
    }
    if (changed.length > 0) mailbox.highestModseq = modseq;
    return changed;
  }

  remove(mailbox: MemoryMailbox, uids: readonly number[]): number[] {
    const wanted = new Set(uids);
    const removed = mailbox.messages.filter((m) => wanted.has(m.uid)).map((m) => m.uid);
    if (removed.length === 0) return [];
    const modseq = ++mailbox.highestModseq;
    mailbox.messages = mailbox.messages.filter((m) => !wanted.has(m.uid));
    for (const uid of removed) mailbox.expunged.push({ uid, modseq });
    return removed;
  }

  usage(): number {
    return this.mailboxes.reduce((n, b) => n + b.messages.reduce((s, m) => s + m.raw.length, 0), 0);
  }

  // ---- watching ----

  watch(mailbox: MemoryMailbox, owner: object, listener: () => void): () => void {
    const watcher: Watcher = { mailbox, owner, listener };
    this.watchers.add(watcher);
    return () => {
      this.watchers.delete(watcher);
    };
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Wakes every watcher of the mailbox that another owner registered. */
  changed(mailbox: MemoryMailbox, owner: object): void {
    for (const watcher of [...this.watchers]) {
      if (watcher.mailbox === mailbox && watcher.owner !== owner) watcher.listener();
    }
  }

  removeMailbox(mailbox: MemoryMailbox): void {
    this.mailboxes.splice(this.mailboxes.indexOf(mailbox), 1);
  }
}

// ---------------------------------------------------------------------------
// One session's account

export class MemoryAccount implements ImapAccount {
  closed = false;
  /** Every mailbox this account opened (SELECT, EXAMINE). */
  readonly opened: MemoryOpenMailbox[] = [];

  constructor(
    readonly store: MemoryMailStore,
    readonly address: string,
  ) {}

  async listMailboxes(): Promise<readonly MailboxInfo[]> {
    return [...this.store.mailboxes]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((m) => ({
        name: m.name,
        specialUse: m.specialUse,
        subscribed: m.subscribed,
        ...(m.noselect && { noselect: true }),
      }));
  }

  async createMailbox(name: string): Promise<MailboxOperationResult> {
    if (!creatableName(name)) return 'invalid';
    const existing = this.store.mailbox(name);
    if (existing?.noselect) {
      existing.noselect = false;
      return 'ok';
    }
    if (existing) return 'exists';
    this.store.create(name);
    return 'ok';
  }

  async deleteMailbox(name: string): Promise<MailboxOperationResult> {
    if (storedName(name) === 'INBOX') return 'inbox';
    const mailbox = this.store.mailbox(name);
    if (!mailbox) return 'nonexistent';
    if (this.store.mailboxes.some((m) => m.name.startsWith(`${name}/`))) {
      // RFC 3501 §6.3.4: the messages go, the name stays as \Noselect for its children.
      if (mailbox.noselect) return 'has-children';
      mailbox.noselect = true;
      this.store.remove(
        mailbox,
        mailbox.messages.map((m) => m.uid),
      );
      this.store.changed(mailbox, this);
      return 'ok';
    }
    this.store.removeMailbox(mailbox);
    return 'ok';
  }

  async renameMailbox(from: string, to: string): Promise<MailboxOperationResult> {
    if (!validName(from) || !creatableName(to)) return 'invalid';
    const source = this.store.mailbox(from);
    if (!source) return 'nonexistent';
    if (this.store.mailbox(to)) return 'exists';
    if (from === 'INBOX') {
      // RFC 3501 §6.3.5: INBOX's messages move to the new name; INBOX stays, empty.
      const target = this.store.create(to);
      for (const message of source.messages) {
        this.store.insert(target, message.raw, message.flags, message.internalDate);
      }
      this.store.remove(
        source,
        source.messages.map((m) => m.uid),
      );
      this.store.changed(source, this);
      return 'ok';
    }
    const moving = this.store.mailboxes.filter((m) => m.name === from || m.name.startsWith(`${from}/`));
    for (const m of moving) {
      const renamed = to + m.name.slice(from.length);
      if (this.store.mailbox(renamed)) return 'exists';
      // Each renamed child is a new index entry too.
      creatableName(renamed);
    }
    for (const m of moving) m.name = to + m.name.slice(from.length);
    return 'ok';
  }

  async setSubscribed(name: string, subscribed: boolean): Promise<MailboxOperationResult> {
    if (!validName(name)) return 'invalid';
    const mailbox = this.store.mailbox(name);
    if (!mailbox) return 'nonexistent';
    mailbox.subscribed = subscribed;
    return 'ok';
  }

  async status(name: string): Promise<MailboxStatus | undefined> {
    const mailbox = this.store.selectable(storedName(name));
    if (!mailbox) return undefined;
    return {
      messages: mailbox.messages.length,
      recent: mailbox.messages.filter((m) => m.uid >= mailbox.recentUid).length,
      uidNext: mailbox.uidNext,
      uidValidity: mailbox.uidValidity,
      unseen: mailbox.messages.filter((m) => !m.flags.includes('\\Seen')).length,
      size: mailbox.messages.reduce((n, m) => n + m.raw.length, 0),
      highestModseq: mailbox.highestModseq,
    };
  }

  async open(name: string, readOnly: boolean): Promise<OpenMailbox | undefined> {
    const mailbox = this.store.selectable(storedName(name));
    if (!mailbox) return undefined;
    const box = new MemoryOpenMailbox(this, mailbox, readOnly);
    this.opened.push(box);
    return box;
  }

  async append(
    name: string,
    message: { readonly raw: Buffer; readonly flags: readonly string[]; readonly internalDate?: Date },
  ): Promise<AppendResult> {
    const mailbox = this.store.selectable(storedName(name));
    message.flags.forEach(storedText);
    if (message.internalDate) storedDate(message.internalDate);
    if (!mailbox) return 'nonexistent';
    if (this.store.quota !== undefined && this.store.usage() + message.raw.length > this.store.quota) {
      return 'over-quota';
    }
    const uid = this.store.insert(mailbox, message.raw, message.flags, message.internalDate);
    this.store.changed(mailbox, this);
    return { uidValidity: mailbox.uidValidity, uid };
  }

  close(): void {
    this.closed = true;
    this.store.closed++;
  }
}

export class MemoryOpenMailbox implements OpenMailbox {
  private readonly unwatchers = new Set<() => void>();
  closed = false;

  constructor(
    private readonly account: MemoryAccount,
    readonly mailbox: MemoryMailbox,
    readonly readOnly: boolean,
  ) {}

  get name(): string {
    return this.mailbox.name;
  }

  private get mem(): MemoryMailStore {
    return this.account.store;
  }

  /** As claimRecent: a read-write look takes every UID not claimed yet; EXAMINE takes none. */
  private claimRecent(): RecentRange {
    const mailbox = this.mailbox;
    if (this.readOnly) return { from: mailbox.recentUid, to: mailbox.uidNext };
    const range = { from: mailbox.recentUid, to: mailbox.uidNext };
    mailbox.recentUid = mailbox.uidNext;
    return range;
  }

  async snapshot(): Promise<MailboxSnapshot> {
    const recent = this.claimRecent();
    const mailbox = this.mailbox;
    return {
      uidValidity: mailbox.uidValidity,
      uidNext: mailbox.uidNext,
      highestModseq: mailbox.highestModseq,
      messages: mailbox.messages.map(stateOf),
      recent,
    };
  }

  async changesSince(modseq: bigint): Promise<MailboxChanges> {
    const recent = this.claimRecent();
    const mailbox = this.mailbox;
    return {
      highestModseq: mailbox.highestModseq,
      uidNext: mailbox.uidNext,
      changed: mailbox.messages.filter((m) => m.modseq > modseq).map(stateOf),
      expunged: mailbox.expunged
        .filter((e) => e.modseq > modseq)
        .map((e) => e.uid)
        .sort((a, b) => a - b),
      recent,
    };
  }

  async fetch(uids: readonly number[], needs: FetchNeeds): Promise<readonly FetchedMessage[]> {
    const wanted = new Set(uids);
    return this.mailbox.messages
      .filter((m) => wanted.has(m.uid))
      .map((m) => ({
        uid: m.uid,
        flags: [...m.flags],
        modseq: m.modseq,
        internalDate: m.internalDate,
        size: m.raw.length,
        ...(needs.metadata && { metadata: m.metadata }),
        ...(needs.raw && { raw: m.raw }),
      }));
  }

  async store(
    uids: readonly number[],
    operation: FlagOperation,
    flags: readonly string[],
  ): Promise<readonly MessageState[]> {
    flags.forEach(storedText);
    const changed = this.mem.storeFlags(this.mailbox, uids, operation, flags);
    if (changed.length > 0) this.mem.changed(this.mailbox, this.account);
    return changed;
  }

  async expunge(uids: readonly number[]): Promise<readonly number[]> {
    const wanted = new Set(uids);
    const deleted = this.mailbox.messages
      .filter((m) => wanted.has(m.uid) && m.flags.includes('\\Deleted'))
      .map((m) => m.uid);
    const removed = this.mem.remove(this.mailbox, deleted);
    if (removed.length > 0) this.mem.changed(this.mailbox, this.account);
    return removed;
  }

  async search(criteria: SearchNode): Promise<readonly number[]> {
    storedSearch(criteria);
    return this.mailbox.messages.filter((m) => matches(criteria, m)).map((m) => m.uid);
  }

  async copy(uids: readonly number[], targetName: string, move: boolean): Promise<CopyResult> {
    const target = this.mem.selectable(storedName(targetName));
    if (!target) return 'nonexistent';
    const wanted = new Set(uids);
    const sources = this.mailbox.messages.filter((m) => wanted.has(m.uid));
    if (sources.length === 0) return { uidValidity: target.uidValidity, source: [], target: [] };
    if (!move && this.mem.quota !== undefined) {
      const adding = sources.reduce((n, m) => n + m.raw.length, 0);
      if (this.mem.usage() + adding > this.mem.quota) return 'over-quota';
    }
    const targetUids = sources.map((m) => this.mem.insert(target, m.raw, m.flags, m.internalDate));
    const source = sources.map((m) => m.uid);
    if (move) this.mem.remove(this.mailbox, source);
    this.mem.changed(target, this.account);
    if (move) this.mem.changed(this.mailbox, this.account);
    return { uidValidity: target.uidValidity, source, target: targetUids };
  }

  watch(listener: () => void): () => void {
    const unwatch = this.mem.watch(this.mailbox, this.account, listener);
    this.unwatchers.add(unwatch);
    return () => {
      unwatch();
      this.unwatchers.delete(unwatch);
    };
  }

  close(): void {
    this.closed = true;
    for (const unwatch of this.unwatchers) unwatch();
    this.unwatchers.clear();
  }
}

function stateOf(m: MemoryMessage): MessageState {
  return { uid: m.uid, flags: [...m.flags], modseq: m.modseq };
}

// ---------------------------------------------------------------------------
// SEARCH, as packages/store/src/imap-search.ts compiles it to SQL

function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function compareDays(value: string, compare: 'before' | 'on' | 'since', day: string): boolean {
  return compare === 'before' ? value < day : compare === 'on' ? value === day : value >= day;
}

export function matches(node: SearchNode, m: MemoryMessage): boolean {
  switch (node.op) {
    case 'all':
      return true;
    case 'and':
      return node.nodes.every((n) => matches(n, m));
    case 'or':
      return matches(node.left, m) || matches(node.right, m);
    case 'not':
      return !matches(node.node, m);
    case 'uids':
      return node.uids.includes(m.uid);
    case 'flag': {
      const wanted = node.flag.toLowerCase();
      const has = m.flags.some((f) => f.toLowerCase() === wanted);
      return has === node.set;
    }
    case 'date': {
      const day = utcDay(node.day);
      if (node.field === 'internal') return compareDays(utcDay(m.internalDate), node.compare, day);
      const sentOn = m.metadata.headerDate?.sentOn;
      return sentOn ? compareDays(sentOn, node.compare, day) : false;
    }
    case 'size':
      return node.compare === 'larger' ? m.raw.length > node.size : m.raw.length < node.size;
    case 'header':
      return (m.metadata.searchHeaders ?? []).some(
        (h) => h.name === node.name && h.value.includes(node.value),
      );
    case 'text': {
      if (m.searchText.includes(node.value)) return true;
      if (node.where === 'body') return false;
      if ((m.metadata.searchPartHeaders ?? '').includes(node.value)) return true;
      return (m.metadata.searchHeaders ?? []).some(
        (h) => h.value.includes(node.value) || h.name.includes(node.value),
      );
    }
    case 'modseq':
      return m.modseq >= node.modseq;
  }
}

// ---------------------------------------------------------------------------
// Credentials: real secrets, with a cheap scrypt verifier so LOGIN stays fast

function cheapScryptVerifier(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, { N: 16, r: 1, p: 1 });
  return `$scrypt$ln=4,r=1,p=1$${salt.toString('base64')}$${hash.toString('base64')}`;
}

let secrets: Promise<SaslCredentials> | undefined;

/** alice's credentials, derived once per test file. */
export function credentials(): Promise<SaslCredentials> {
  secrets ??= derivePasswordSecrets(USER, 'example.org', PASSWORD).then((s) => ({
    ...s,
    scrypt: cheapScryptVerifier(PASSWORD),
    accountId: '1',
    address: USER,
  }));
  return secrets;
}

// ---------------------------------------------------------------------------
// The harness

export interface ImapHarness {
  session: ImapSession;
  readonly store: MemoryMailStore;
  /** Everything written so far, latin1 (one character per octet). */
  output(): string;
  /** Each line with CRLF added, through receive, one after another; what was written meanwhile. */
  say(...lines: string[]): Promise<string>;
  /** Raw chunks through receive, one after another; what was written meanwhile. */
  feed(...chunks: (string | Uint8Array)[]): Promise<string>;
  /** Waits for pushed output (IDLE) and returns what was written since the last call of any of these. */
  settle(): Promise<string>;
  readonly actions: ImapAction[];
  readonly accounts: MemoryAccount[];
  authFailures: number;
}

export const DEFAULT_OPTIONS: ImapSessionOptions = {
  hostname: 'imap.example.org',
  tls: 'starttls',
  plaintextAllowed: true,
  realms: () => ['example.org'],
  maxMessageSize: 10_000,
  maxCommandSize: 1_000,
};

export function startImap(
  options: Partial<ImapSessionOptions> = {},
  store: MemoryMailStore = MemoryMailStore.withMessages(),
  hooks: Partial<ImapHooks> = {},
): ImapHarness {
  let out = '';
  let mark = 0;
  const since = () => {
    const text = out.slice(mark);
    mark = out.length;
    return text;
  };
  const accounts: MemoryAccount[] = [];
  const h: ImapHarness = {
    session: undefined as unknown as ImapSession,
    store,
    output: () => out,
    actions: [],
    accounts,
    authFailures: 0,
    say: (...lines) => h.feed(...lines.map((line) => `${line}\r\n`)),
    feed: async (...chunks) => {
      since();
      for (const chunk of chunks) {
        h.actions.push(
          await h.session.receive(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk),
        );
      }
      return since();
    },
    settle: async () => {
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      return since();
    },
  };
  h.session = new ImapSession(
    { ...DEFAULT_OPTIONS, ...options },
    {
      lookupCredentials: async (user) => (user.toLowerCase() === USER ? credentials() : undefined),
      openAccount: async (identity: SaslIdentity) => {
        const account = store.account(identity.address);
        accounts.push(account);
        return account;
      },
      authFailed: () => {
        h.authFailures++;
      },
      ...hooks,
    },
    (chunk) => {
      // As the socket writes it: strings as UTF-8, then one character per octet here.
      out += (typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk)).toString('latin1');
    },
  );
  h.session.greeting();
  since();
  return h;
}

/** A session logged in with LOGIN (and, with `select`, that mailbox selected); the output so far forgotten. */
export async function loggedIn(
  options: Partial<ImapSessionOptions> = {},
  store?: MemoryMailStore,
  select?: string,
): Promise<ImapHarness> {
  const h = startImap(options, store);
  const answer = await h.say(`L1 LOGIN ${USER} ${PASSWORD}`);
  if (h.session.state !== 'authenticated') throw new Error(`login failed: ${answer}`);
  if (select) {
    const selected = await h.say(`S1 SELECT ${select}`);
    if ((h.session.state as string) !== 'selected') throw new Error(`select failed: ${selected}`);
  }
  return h;
}
