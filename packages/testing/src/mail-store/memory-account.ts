import type {
  AccountEvent,
  AccountQuota,
  AppendMessage,
  AppendResult,
  FetchedMessage,
  ImapAccount,
  MailboxInfo,
  MailboxOperationResult,
  MailboxSharing,
  MailboxStatus,
  MetadataChange,
  MetadataDepth,
  MetadataEntry,
  MetadataWriteResult,
  MultiAppendResult,
  OpenMailbox,
  SpecialUseAttribute,
} from '@tegami/protocol';
import { mailboxIdOf } from '@tegami/protocol';
import { MemoryAccountEvents } from './memory-account-events.js';
import { insertMessage, type MemoryMailboxes, removeMessages } from './memory-mailbox.js';
import { MemoryMetadata } from './memory-metadata.js';
import { MemoryOpenMailbox } from './memory-open-mailbox.js';
import { MemoryDirectory } from './memory-sharing.js';
import { creatableName, storedDate, storedName, storedText, validName } from './postgres-refusals.js';

/** One session's view of the in-memory store, as services/imap-gateway postgres-account.ts is of Postgres. */
export class MemoryAccount implements ImapAccount {
  closed = false;
  /** Every mailbox this account opened (SELECT, EXAMINE). */
  readonly opened: MemoryOpenMailbox[] = [];

  constructor(
    readonly store: MemoryMailboxes,
    readonly address: string,
  ) {
    MemoryDirectory.of(store).register(address, store);
  }

  /** IMAP ACL: grants among the stores of one MemoryDirectory (memory-sharing.ts). */
  get sharing(): MailboxSharing {
    return MemoryDirectory.of(this.store).sharingOf(
      this.store,
      this.address,
      (store, address) => new MemoryAccount(store, address),
    );
  }

  async listMailboxes(): Promise<readonly MailboxInfo[]> {
    const existing = new Set(this.store.mailboxes.map((m) => m.name));
    const infos: MailboxInfo[] = [
      ...this.store.mailboxes.map((m) => ({
        name: m.name,
        specialUse: m.specialUse,
        subscribed: this.store.subscriptions.has(m.name),
        ...(m.noselect && { noselect: true }),
      })),
      ...[...this.store.subscriptions]
        .filter((name) => !existing.has(name))
        .map((name) => ({ name, specialUse: null, subscribed: true, nonexistent: true as const })),
    ];
    return infos.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async createMailbox(nameInput: string, specialUse?: SpecialUseAttribute): Promise<MailboxOperationResult> {
    if (!creatableName(nameInput)) return 'invalid';
    const name = storedName(nameInput);
    const existing = this.store.mailbox(name);
    if (existing?.noselect) {
      // A \Noselect name left by DELETE becomes a mailbox again, its UIDs going on.
      existing.noselect = false;
      if (specialUse) existing.specialUse = specialUse;
      existing.highestModseq++;
      this.listChanged({ kind: 'created', mailbox: name });
      return 'ok';
    }
    if (existing) return 'exists';
    this.store.create(name, specialUse ?? null);
    this.listChanged({ kind: 'created', mailbox: name });
    return 'ok';
  }

  /** NOTIFY (RFC 5465): changes anywhere in the store made by other sessions. */
  watchAccount(listener: (event: AccountEvent) => void): () => void {
    return MemoryAccountEvents.of(this.store).watch(this, listener);
  }

  private listChanged(event: AccountEvent): void {
    MemoryAccountEvents.of(this.store).listChanged(event, this);
  }

  async deleteMailbox(nameInput: string): Promise<MailboxOperationResult> {
    const name = storedName(nameInput);
    if (name === 'INBOX') return 'inbox';
    const mailbox = this.store.mailbox(name);
    if (!mailbox) return 'nonexistent';
    if (this.store.mailboxes.some((m) => m.name.startsWith(`${name}/`))) {
      // RFC 3501 §6.3.4: the messages go, the name stays as \Noselect for its children.
      if (mailbox.noselect) return 'has-children';
      mailbox.noselect = true;
      MemoryMetadata.of(this.store).forget(mailbox);
      MemoryDirectory.of(this.store).forget(mailbox);
      if (
        removeMessages(
          mailbox,
          mailbox.messages.map((m) => m.uid),
        ).length === 0
      ) {
        mailbox.highestModseq++;
      }
      this.store.changed(mailbox, this);
      this.listChanged({ kind: 'deleted', mailbox: name });
      return 'ok';
    }
    this.store.removeMailbox(mailbox);
    this.listChanged({ kind: 'deleted', mailbox: name });
    return 'ok';
  }

  async renameMailbox(fromInput: string, toInput: string): Promise<MailboxOperationResult> {
    if (!validName(fromInput) || !creatableName(toInput)) return 'invalid';
    const from = storedName(fromInput);
    const to = storedName(toInput);
    const source = this.store.mailbox(from);
    if (!source) return 'nonexistent';
    if (from === 'INBOX') return this.renameInbox(to);
    const moving = this.store.mailboxes.filter((m) => m.name === from || m.name.startsWith(`${from}/`));
    for (const m of moving) {
      const renamed = to + m.name.slice(from.length);
      if (this.store.mailbox(renamed)) return 'exists';
      // Each renamed child is a new index entry too.
      creatableName(renamed);
    }
    for (const m of moving) {
      const renamed = to + m.name.slice(from.length);
      // The subscription goes with the mailbox.
      if (this.store.subscriptions.delete(m.name)) this.store.subscriptions.add(renamed);
      const oldName = m.name;
      m.name = renamed;
      m.highestModseq++;
      this.listChanged({ kind: 'renamed', mailbox: renamed, oldName });
    }
    return 'ok';
  }

  /** RFC 3501 §6.3.5: INBOX's messages move to the new name; INBOX stays, empty. */
  private async renameInbox(to: string): Promise<MailboxOperationResult> {
    const created = await this.createMailbox(to);
    if (created !== 'ok') return created;
    const inbox = this.store.mailbox('INBOX')!;
    const target = this.store.mailbox(to)!;
    for (const message of inbox.messages) {
      insertMessage(target, message.raw, message.flags, message.internalDate);
    }
    if (
      removeMessages(
        inbox,
        inbox.messages.map((m) => m.uid),
      ).length > 0
    ) {
      this.store.changed(inbox, this);
    }
    return 'ok';
  }

  async setSubscribed(nameInput: string, subscribed: boolean): Promise<MailboxOperationResult> {
    if (!validName(nameInput)) return 'invalid';
    const name = storedName(nameInput);
    // UNSUBSCRIBE takes any subscribed name out, its mailbox gone or not; SUBSCRIBE wants one.
    if (!subscribed && this.store.subscriptions.delete(name)) {
      this.listChanged({ kind: 'subscription', mailbox: name, subscribed });
      return 'ok';
    }
    if (!this.store.mailbox(name)) return 'nonexistent';
    if (subscribed) this.store.subscriptions.add(name);
    this.listChanged({ kind: 'subscription', mailbox: name, subscribed });
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
      deleted: mailbox.messages.filter((m) => m.flags.includes('\\Deleted')).length,
      deletedSize: mailbox.messages
        .filter((m) => m.flags.includes('\\Deleted'))
        .reduce((n, m) => n + m.raw.length, 0),
      mailboxId: mailboxIdOf(mailbox.id),
    };
  }

  async quota(): Promise<AccountQuota> {
    return { usedBytes: this.store.usage(), limitBytes: this.store.quota ?? null };
  }

  async getMetadata(
    mailbox: string | null,
    entries: readonly string[],
    depth: MetadataDepth,
  ): Promise<readonly MetadataEntry[] | 'nonexistent'> {
    const target = mailbox === null ? null : this.store.selectable(storedName(mailbox));
    return MemoryMetadata.of(this.store).read(target, entries, depth);
  }

  async setMetadata(
    mailbox: string | null,
    changes: readonly MetadataChange[],
    maxEntries: number,
  ): Promise<MetadataWriteResult> {
    const target = mailbox === null ? null : this.store.selectable(storedName(mailbox));
    return MemoryMetadata.of(this.store).write(target, changes, maxEntries, this.store.mailboxes);
  }

  async open(name: string, readOnly: boolean): Promise<OpenMailbox | undefined> {
    const mailbox = this.store.selectable(storedName(name));
    if (!mailbox) return undefined;
    const box = new MemoryOpenMailbox(this.store, this, mailbox, readOnly);
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
    const quota = this.store.quota;
    if (quota !== undefined && this.store.usage() + message.raw.length > quota) return 'over-quota';
    const uid = insertMessage(mailbox, message.raw, message.flags, message.internalDate);
    this.store.changed(mailbox, this);
    return { uidValidity: mailbox.uidValidity, uid };
  }

  /** All or nothing, as the Postgres transaction: every check runs before the first insert. */
  async appendMessages(name: string, messages: readonly AppendMessage[]): Promise<MultiAppendResult> {
    const mailbox = this.store.selectable(storedName(name));
    for (const message of messages) {
      message.flags.forEach(storedText);
      if (message.internalDate) storedDate(message.internalDate);
    }
    if (!mailbox) return 'nonexistent';
    const adding = messages.reduce((n, m) => n + m.raw.length, 0);
    const quota = this.store.quota;
    if (quota !== undefined && this.store.usage() + adding > quota) return 'over-quota';
    const uids = messages.map((m) => insertMessage(mailbox, m.raw, m.flags, m.internalDate));
    this.store.changed(mailbox, this);
    return { uidValidity: mailbox.uidValidity, uids };
  }

  async storedMessage(
    name: string,
    uidValidity: number | undefined,
    uid: number,
  ): Promise<FetchedMessage | undefined> {
    const mailbox = this.store.selectable(storedName(name));
    if (!mailbox || (uidValidity !== undefined && mailbox.uidValidity !== uidValidity)) return undefined;
    const m = mailbox.messages.find((message) => message.uid === uid);
    return (
      m && {
        uid: m.uid,
        flags: [...m.flags],
        modseq: m.modseq,
        internalDate: m.internalDate,
        size: m.raw.length,
        metadata: m.metadata,
        raw: m.raw,
      }
    );
  }

  close(): void {
    this.closed = true;
    this.store.closed++;
  }
}
