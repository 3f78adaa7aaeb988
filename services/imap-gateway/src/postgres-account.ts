import { randomUUID } from 'node:crypto';
import type { MailBus, MailboxChanged, MailboxChangeKind } from '@tegami/bus';
import {
  type AppendMessage,
  type AppendResult,
  type CopyResult,
  describeMessage,
  type FetchedMessage,
  type ImapAccount,
  type MailboxOperationResult,
  type MailboxSnapshot,
  type MessageFacts,
  type MessageMetadata,
  type MultiAppendResult,
  mailboxIdOf,
  type OpenMailbox,
  type ReplaceResult,
  type SharedMailboxStates,
  type ShelvedStart,
} from '@tegami/protocol';
import {
  appendMessageByName,
  appendMessagesByName,
  copyMessages,
  createMailbox,
  deleteMailbox,
  describeImapMessages,
  expungeMessagesAt,
  fetchImapMessages,
  findMailbox,
  imapChangesSince,
  imapMailboxStatusByName,
  imapModseqHistory,
  listMailboxEntries,
  listMailboxes,
  openImapMailbox,
  openImapSnapshot,
  quotaUsage,
  readImapMetadata,
  renameMailbox,
  replaceMessage,
  StoreError,
  searchImapMessages,
  setSubscribed,
  updateFlags,
  updateFlagsChecked,
  writeImapMetadata,
} from '@tegami/store';
import type pg from 'pg';
import { watchAccountEvents } from './account-events.js';
import type { MailboxIds } from './mailbox-ids.js';
import type { MailboxWatchers } from './mailbox-watchers.js';
import type { MessageFactsCache } from './message-facts-cache.js';
import { OwnChanges } from './own-changes.js';
import { postgresSharing } from './postgres-sharing.js';
import { learningOf, type SpamLearning } from './spam-learning.js';

// One user's mail as the IMAP engine sees it, over the Postgres store. Every query is
// scoped by this account's id: a name or a mailbox id of another user is never reachable,
// except through `sharing`, where the owner's grant (RFC 4314 ACL) leads to its account.
// Every change is published on the bus afterwards ("look"), for sessions on any replica.

export interface AccountDeps {
  readonly pool: pg.Pool;
  readonly bus: MailBus;
  readonly watchers: MailboxWatchers;
  /** The process's shelf where sessions on one mailbox share its UIDs and flags; none when absent. */
  readonly states?: SharedMailboxStates;
  /** The process's memory of which id a name had (with `states`, a SELECT reads only changes); none when absent. */
  readonly mailboxIds?: MailboxIds;
  /** The process's cache of messages' unchanging facts (FETCH ENVELOPE…); none when absent. */
  readonly facts?: MessageFactsCache;
  /** Teaches rspamd from COPY and MOVE into and out of Junk; none when absent. */
  readonly learning?: SpamLearning;
}

export function openPostgresAccount(deps: AccountDeps, accountId: string, address: string): ImapAccount {
  const { pool } = deps;
  // This session's changes carry it, so its own NOTIFY watch knows their echo (account-events.ts).
  const origin = randomUUID();
  const publish = (
    mailboxId: string,
    kind: MailboxChangeKind,
    uids?: readonly number[],
    modseq?: string,
    names?: Pick<MailboxChanged, 'name' | 'oldName' | 'subscribed'>,
  ) =>
    deps.bus
      .publishMailboxChanged({
        accountId,
        mailboxId,
        kind,
        ...(uids && uids.length > 0 && { uids: [...uids] }),
        ...(modseq !== undefined && { modseq }),
        ...names,
        origin,
      })
      .catch(() => undefined);
  /** A change of the list of mailboxes (NOTIFY MailboxName, SubscriptionChange), for sessions anywhere. */
  const publishListChange = async (
    kind: 'created' | 'deleted' | 'renamed' | 'subscription',
    name: string,
    extra: Pick<MailboxChanged, 'oldName' | 'subscribed'> & { mailboxId?: string } = {},
  ) => {
    const { mailboxId: known, ...fields } = extra;
    const mailboxId = known ?? (await findMailbox(pool, accountId, name).catch(() => undefined))?.id;
    // A name with no mailbox row (UNSUBSCRIBE of a deleted one) has no id to publish under.
    if (mailboxId !== undefined) await publish(mailboxId, kind, undefined, undefined, { name, ...fields });
  };
  const storeResult = async (run: () => Promise<unknown>): Promise<MailboxOperationResult> => {
    try {
      await run();
      return 'ok';
    } catch (err) {
      if (err instanceof StoreError) {
        if (err.code === 'duplicate') return 'exists';
        if (err.code === 'not_found') return 'nonexistent';
        if (err.code === 'invalid') return 'invalid';
      }
      throw err;
    }
  };

  /** The same description delivery stores: FETCH and SEARCH never parse again. */
  const described = (message: AppendMessage) => {
    const description = describeMessage(message.raw);
    return {
      raw: message.raw,
      flags: message.flags,
      ...(message.internalDate && { internalDate: message.internalDate }),
      metadata: description.metadata,
      searchText: description.searchText,
    };
  };

  const rawOf = async (mailboxId: string, uid: number): Promise<Buffer | undefined> =>
    (await fetchImapMessages(pool, mailboxId, [uid], { metadata: false, raw: true }))[0]?.raw;

  const open = async (name: string, readOnly: boolean): Promise<OpenMailbox | undefined> => {
    // Found and read in one statement: every message, or, when the shelf holds a state of
    // the mailbox this name named last time, only what changed since that state. What was
    // read answers the SELECT that asks right after opening, in the same turn of the event
    // loop; a snapshot asked later, when the mailbox may have changed meanwhile, is read again.
    const guess = deps.states && deps.mailboxIds?.get(accountId, name);
    const shelved = guess ? deps.states!.latest(guess) : undefined;
    const found = await openImapMailbox(
      pool,
      accountId,
      name,
      readOnly,
      shelved && { id: guess!, modseq: shelved.modseq },
    );
    if (!found) {
      deps.mailboxIds?.delete(accountId, name);
      return undefined;
    }
    deps.mailboxIds?.set(accountId, name, found.id);
    // Only the snapshot's own variable may hold it: the closures below live as long as the
    // session, and a session holding the whole list of a 10,000-message mailbox (found's
    // snapshot) would undo the views' sharing (bench/imap: 5,000 sessions ran out of heap).
    const { snapshot, changes, ...mailbox } = found;
    const mailboxId = mailbox.id;
    // The cache's name for this mailbox: its UIDs mean these messages only under this UIDVALIDITY.
    const factsKey = `${mailboxId}/${mailbox.uidValidity}`;
    let opened: MailboxSnapshot | ShelvedStart | undefined =
      snapshot ?? (changes && shelved && { state: shelved.state, modseq: shelved.modseq, changes });
    setImmediate(() => {
      opened = undefined;
    });
    const unwatchers = new Set<() => void>();
    const own = new OwnChanges();
    /** One event, one MODSEQ for a STORE's changes: the session knows it as its own when it comes back. */
    const publishFlagChanges = async (changed: readonly { uid: number; modseq: bigint }[]): Promise<void> => {
      if (changed.length > 0)
        await publish(
          mailboxId,
          'flags',
          changed.map((c) => c.uid),
          own.note(changed[0]!.modseq),
        );
    };
    return {
      name: mailbox.name,
      readOnly,
      mailboxId: mailboxIdOf(mailboxId),
      ...(deps.states && { sharing: { shelf: deps.states, key: mailboxId } }),
      snapshotInHand() {
        const first = opened;
        opened = undefined;
        return first;
      },
      async snapshot() {
        const first = opened;
        opened = undefined;
        return first && 'messages' in first ? first : openImapSnapshot(pool, mailboxId, readOnly);
      },
      changesSince: (modseq) => imapChangesSince(pool, mailboxId, modseq, readOnly),
      async fetch(uids, needs): Promise<FetchedMessage[]> {
        const rows = await fetchImapMessages(pool, mailboxId, uids, needs);
        return rows.map((row) => ({
          uid: row.uid,
          flags: row.flags,
          modseq: row.modseq,
          internalDate: row.internalDate,
          size: row.size,
          savedAt: row.savedAt,
          ...(needs.metadata && { metadata: metadataOf(row.metadata, row.raw) }),
          ...(row.raw && { raw: row.raw }),
          ...(row.emailId && { emailId: row.emailId }),
        }));
      },
      // A row stored without metadata (never by Tegami) is described from its bytes: the
      // "header" the store returns for such a row is the whole message.
      async describe(uids, header): Promise<MessageFacts[]> {
        const cache = deps.facts;
        const found: MessageFacts[] = [];
        const missing: number[] = [];
        for (const uid of uids) {
          const facts = cache?.get(factsKey, uid, header);
          if (facts) found.push(facts);
          else missing.push(uid);
        }
        if (missing.length === 0) return found;
        for (const row of await describeImapMessages(pool, mailboxId, missing, header)) {
          const raw = row.metadataJson ? undefined : (row.header ?? (await rawOf(mailboxId, row.uid)));
          if (!row.metadataJson && !raw) continue; // expunged meanwhile
          const metadata = row.metadataJson
            ? (JSON.parse(row.metadataJson) as MessageMetadata)
            : describeMessage(raw!).metadata;
          const facts: MessageFacts = {
            uid: row.uid,
            internalDate: row.internalDate,
            size: row.size,
            metadata,
            emailId: row.emailId,
            ...(row.header && { header: row.header }),
          };
          // Never a row without metadata: the next FETCH asks the store, as this one did.
          if (row.metadataJson) cache?.set(factsKey, facts, row.metadataJson.length);
          found.push(facts);
        }
        // Hits and misses interleave: back into UID order, as promised.
        return missing.length === uids.length ? found : found.sort((a, b) => a.uid - b.uid);
      },
      async store(uids, operation, flags) {
        const changed = await updateFlags(pool, mailboxId, uids, operation, flags);
        await publishFlagChanges(changed);
        return changed;
      },
      async storeChecked(uids, operation, flags, unchangedSince) {
        const results = await updateFlagsChecked(pool, mailboxId, uids, operation, flags, unchangedSince);
        await publishFlagChanges(results.filter((r) => r.outcome === 'changed'));
        return results;
      },
      history: (modseq) => imapModseqHistory(pool, mailboxId, modseq),
      async expunge(uids) {
        // \Deleted is checked in the same statement that removes: a flag cleared by
        // another session a moment ago saves its message.
        const removed = await expungeMessagesAt(pool, mailboxId, uids, { deletedOnly: true });
        // The session syncs right after its EXPUNGE: the echo is not news either.
        if (removed.modseq !== undefined)
          await publish(mailboxId, 'expunge', removed.uids, own.note(removed.modseq));
        return removed.uids;
      },
      search: (criteria) => searchImapMessages(pool, mailboxId, criteria),
      async copy(uids, target, move): Promise<CopyResult> {
        const result = await copyMessages(pool, accountId, mailboxId, uids, target, move);
        if (typeof result === 'string') return result;
        if (result.target.length > 0) {
          const targetBox = await findMailbox(pool, accountId, target);
          if (targetBox) await publish(targetBox.id, 'exists', result.target);
          if (move) await publish(mailboxId, 'expunge', result.source);
          // The copies are committed, so the command's answer is OK: only now is the
          // learning queued, to run after it and never to change it.
          const kind = targetBox && learningOf(mailbox.specialUse, targetBox.specialUse);
          if (kind && deps.learning) {
            deps.learning.report({
              kind,
              account: address,
              from: mailbox.name,
              to: targetBox.name,
              mailboxId: targetBox.id,
              uids: result.target,
            });
          }
        }
        return result;
      },
      async replace(uid, target, message): Promise<ReplaceResult> {
        const replaced = await replaceMessage(pool, accountId, mailboxId, uid, target, described(message));
        if (typeof replaced === 'string') return replaced;
        await publish(replaced.targetId, 'exists', [replaced.uid]);
        // The session syncs right after its REPLACE: the expunge's echo is not news to it.
        if (replaced.expungeModseq !== undefined)
          await publish(mailboxId, 'expunge', [uid], own.note(replaced.expungeModseq));
        return {
          uidValidity: replaced.uidValidity,
          uid: replaced.uid,
          expunged: replaced.expungeModseq !== undefined,
        };
      },
      watch(listener) {
        const unwatch = deps.watchers.watch(accountId, mailboxId, (event) => {
          if (!own.isOwn(event)) listener();
        });
        unwatchers.add(unwatch);
        return () => {
          unwatch();
          unwatchers.delete(unwatch);
        };
      },
      close() {
        for (const unwatch of unwatchers) unwatch();
        unwatchers.clear();
      },
    };
  };

  return {
    address,
    // IMAP ACL: the engine reaches other accounts' shared mailboxes through their owners'
    // accounts, opened as this one is (postgres-sharing.ts).
    sharing: postgresSharing(pool, accountId, (ownerId, owner) => openPostgresAccount(deps, ownerId, owner)),
    async listMailboxes() {
      return (await listMailboxEntries(pool, accountId)).map((m) => ({
        name: m.name,
        specialUse: m.specialUse,
        subscribed: m.subscribed,
        ...(m.noselect && { noselect: true }),
        ...(m.nonexistent && { nonexistent: true }),
      }));
    },
    async createMailbox(name, specialUse) {
      const created = await storeResult(() => createMailbox(pool, accountId, name, specialUse ?? null));
      if (created === 'ok') await publishListChange('created', name);
      return created;
    },
    async deleteMailbox(name) {
      const deleted = await deleteMailbox(pool, accountId, name);
      if (typeof deleted === 'string') return deleted;
      // Sessions with it selected (here or on another replica) see its messages expunged.
      if (deleted.expunged.length > 0) await publish(deleted.mailboxId, 'expunge', deleted.expunged);
      await publishListChange('deleted', name, { mailboxId: deleted.mailboxId });
      return 'ok';
    },
    async renameMailbox(from, to) {
      // INBOX in any case (RFC 3501 §5.1), as the store's mailboxName takes it.
      if (from.toUpperCase() !== 'INBOX') {
        // The children move too, and each is a MailboxName event of its own (RFC 5465 §5.4).
        const before = await listMailboxes(pool, accountId);
        const renamed = await storeResult(() => renameMailbox(pool, accountId, from, to));
        if (renamed !== 'ok') return renamed;
        for (const m of before) {
          if (m.name !== from && !m.name.startsWith(`${from}/`)) continue;
          const name = to + m.name.slice(from.length);
          await publishListChange('renamed', name, { mailboxId: m.id, oldName: m.name });
        }
        return 'ok';
      }
      // RFC 3501 §6.3.5: renaming INBOX moves its messages to the new name; INBOX stays, empty.
      const created = await storeResult(() => createMailbox(pool, accountId, to));
      if (created !== 'ok') return created;
      await publishListChange('created', to);
      const inbox = await findMailbox(pool, accountId, 'INBOX');
      if (!inbox) return 'nonexistent';
      const all = await searchImapMessages(pool, inbox.id, { op: 'all' });
      if (all.length > 0) {
        const moved = await copyMessages(pool, accountId, inbox.id, all, to, true);
        if (typeof moved !== 'string') await publish(inbox.id, 'expunge', moved.source);
      }
      return 'ok';
    },
    async setSubscribed(name, subscribed) {
      const done = await storeResult(() => setSubscribed(pool, accountId, name, subscribed));
      if (done === 'ok') await publishListChange('subscription', name, { subscribed });
      return done;
    },
    watchAccount: (listener) =>
      watchAccountEvents(
        {
          origin,
          watch: (l) => deps.watchers.watchAccount(accountId, l),
          mailboxNames: async () =>
            new Map((await listMailboxes(pool, accountId)).map((m) => [m.id, m.name])),
        },
        listener,
      ),
    // Found and counted in one statement; undefined for a \Noselect name too.
    status: (name) => imapMailboxStatusByName(pool, accountId, name),
    async quota() {
      const usage = await quotaUsage(pool, accountId);
      return { usedBytes: usage?.usedBytes ?? 0, limitBytes: usage?.quotaBytes ?? null };
    },
    getMetadata: (mailbox, entries, depth) => readImapMetadata(pool, accountId, mailbox, entries, depth),
    setMetadata: (mailbox, changes, maxEntries) =>
      writeImapMetadata(pool, accountId, mailbox, changes, maxEntries),
    open,
    async append(name, message): Promise<AppendResult> {
      // The same description delivery stores: FETCH and SEARCH never parse again.
      const description = describeMessage(message.raw);
      // Mailbox found, quota checked and message stored in one statement.
      const appended = await appendMessageByName(pool, accountId, name, {
        raw: message.raw,
        flags: message.flags,
        ...(message.internalDate && { internalDate: message.internalDate }),
        metadata: description.metadata,
        searchText: description.searchText,
      });
      if (typeof appended === 'string') return appended;
      await publish(appended.mailboxId, 'exists', [appended.uid]);
      return { uidValidity: appended.uidValidity, uid: appended.uid };
    },
    async appendMessages(name, messages): Promise<MultiAppendResult> {
      // Described before the transaction opens: it holds the mailbox row no longer than the writes.
      const appended = await appendMessagesByName(pool, accountId, name, messages.map(described));
      if (typeof appended === 'string') return appended;
      await publish(appended.mailboxId, 'exists', appended.uids);
      return { uidValidity: appended.uidValidity, uids: appended.uids };
    },
    async storedMessage(name, uidValidity, uid) {
      const mailbox = await findMailbox(pool, accountId, name);
      if (!mailbox || mailbox.noselect) return undefined;
      if (uidValidity !== undefined && mailbox.uidValidity !== uidValidity) return undefined;
      const [row] = await fetchImapMessages(pool, mailbox.id, [uid], { metadata: true, raw: true });
      if (!row) return undefined;
      return {
        uid: row.uid,
        flags: row.flags,
        modseq: row.modseq,
        internalDate: row.internalDate,
        size: row.size,
        metadata: metadataOf(row.metadata, row.raw),
        ...(row.raw && { raw: row.raw }),
      };
    },
    close() {
      // Sessions close their mailboxes; nothing is held per account.
    },
  };
}

/** Stored metadata; a row stored without it (never by Tegami itself) is described now. */
function metadataOf(stored: MessageMetadata | null | undefined, raw: Buffer | undefined): MessageMetadata {
  if (stored) return stored;
  if (raw) return describeMessage(raw).metadata;
  throw new Error('message metadata missing');
}
