import { describeMessage, type SpecialUseAttribute } from '@tegami/protocol';
import type pg from 'pg';
import { findAccount } from './accounts.js';
import {
  type ArchivedAccountState,
  createAccountFromArchive,
  isArchivedAccountState,
  readArchivedAccountState,
} from './archived-credentials.js';
import { withTransaction } from './db.js';
import { StoreError } from './errors.js';
import { bumpModseq } from './mailboxes.js';
import {
  MESSAGE_BYTES_COLUMNS,
  MESSAGE_BYTES_JOIN,
  type MessageBytesRow,
  messageBytes,
} from './message-bytes.js';
import { insertWholeMessage } from './messages.js';

// One account as a portable archive (`tegami export` / `tegami restore`, issue 20), as
// named entries the CLI writes to and reads from a tar file:
//
//   manifest.json                                 first: the account, its mailboxes (name,
//                                                 special-use, UIDVALIDITY, UIDNEXT,
//                                                 subscribed, message count), its
//                                                 subscriptions and Sieve scripts
//   maildir/<folder>/tegami-messages.<n>.jsonl    a page of up to PAGE_SIZE messages' UID,
//                                                 flags and keywords, internal date, file
//   maildir/<folder>/cur/<uid>.<epoch>:2,<letters> then those messages, Maildir-style
//
// The message metadata travels in pages just before the messages they describe, so both
// sides stream in constant memory: export pages through Postgres by (mailbox, uid) and
// writes as it goes, restore inserts as it reads. A message file holds the exact bytes IMAP
// serves (header_prefix || blob); the Maildir letters in its name say the system flags for
// tools that read the tree as a Maildir, the keywords are only in the JSON lines.
//
// Aliases that deliver to the account are the domain's data, not the account's: left out.

export const ACCOUNT_ARCHIVE_FORMAT = 'tegami-account-archive';
export const ACCOUNT_ARCHIVE_VERSION = 1;
export const MANIFEST_ENTRY = 'manifest.json';

/** Messages per metadata page on export, and per transaction on restore. */
const PAGE_SIZE = 500;
/** A restore batch also ends at this many message bytes, however few messages. */
const BATCH_BYTES = 64 * 1024 * 1024;
/** Export reads message bytes in groups of at most this many bytes. */
const READ_BYTES = 16 * 1024 * 1024;

export interface ArchivedMailbox {
  readonly name: string;
  /** Its directory in the archive, under maildir/. */
  readonly folder: string;
  readonly specialUse: SpecialUseAttribute | null;
  readonly uidValidity: number;
  readonly uidNext: number;
  readonly subscribed: boolean;
  readonly noselect: boolean;
  readonly messages: number;
}

export interface AccountArchiveManifest {
  readonly format: typeof ACCOUNT_ARCHIVE_FORMAT;
  readonly version: number;
  readonly address: string;
  readonly quotaBytes: number | null;
  /**
   * The password's verifiers (or imported hash) and the disabled state, for a restore that
   * makes the user again (archived-credentials.ts). Absent from archives of before it.
   */
  readonly account?: ArchivedAccountState;
  readonly exportedAt: string;
  readonly mailboxes: readonly ArchivedMailbox[];
  /** Every subscribed name, those with no mailbox too (RFC 3501 §6.3.6). */
  readonly subscriptions: readonly string[];
  readonly sieveScripts: readonly {
    readonly name: string;
    readonly content: string;
    readonly active: boolean;
  }[];
  /** What an account archive never holds, for whoever reads one. */
  readonly notIncluded: readonly string[];
}

/** One line of a tegami-messages.<n>.jsonl page. */
export interface ArchivedMessage {
  readonly uid: number;
  readonly flags: readonly string[];
  /** ISO 8601, to the millisecond, as stored. */
  readonly internalDate: string;
  /** The entry holding its bytes. */
  readonly file: string;
}

export interface ArchiveTotals {
  readonly mailboxes: number;
  readonly messages: number;
  readonly bytes: number;
  readonly sieveScripts: number;
}

/** Where export hands each entry on: resolve when it may take the next. */
export type ArchiveEntrySink = (path: string, data: Buffer) => Promise<void>;
export type ArchiveProgress = (
  done: { readonly messages: number; readonly bytes: number },
  total: number,
) => void;

/**
 * A mailbox name as a path under maildir/: its hierarchy levels as directories ('/' is the
 * delimiter), with '%' and the levels '.' and '..' percent-encoded so no tool extracting
 * the tar leaves the directory or confuses two names.
 */
export function archiveFolder(name: string): string {
  return name
    .split('/')
    .map((level) => {
      const escaped = level.replaceAll('%', '%25');
      return escaped === '.' || escaped === '..' ? escaped.replaceAll('.', '%2E') : escaped;
    })
    .join('/');
}

/** Maildir's info letters (ASCII order) for the system flags that have one. */
const MAILDIR_LETTERS: readonly [string, string][] = [
  ['\\Draft', 'D'],
  ['\\Flagged', 'F'],
  ['$Forwarded', 'P'],
  ['\\Answered', 'R'],
  ['\\Seen', 'S'],
  ['\\Deleted', 'T'],
];

export function maildirFileName(uid: number, internalDate: Date, flags: readonly string[]): string {
  const lower = new Set(flags.map((flag) => flag.toLowerCase()));
  const letters = MAILDIR_LETTERS.filter(([flag]) => lower.has(flag.toLowerCase()))
    .map(([, letter]) => letter)
    .join('');
  return `${uid}.${Math.floor(internalDate.getTime() / 1000)}:2,${letters}`;
}

/**
 * Writes the account's archive to `sink`, from one snapshot (REPEATABLE READ): what a
 * client changes meanwhile is either all in or all out. Memory stays at one page of
 * metadata and READ_BYTES of messages, whatever the account holds.
 */
export async function exportAccountArchive(
  pool: pg.Pool,
  address: string,
  sink: ArchiveEntrySink,
  progress?: ArchiveProgress,
): Promise<ArchiveTotals> {
  return withTransaction(
    pool,
    async (client) => {
      const row = await findAccount(client, address);
      if (!row) throw new StoreError('not_found', `no user ${address.toLowerCase()}`);
      const mailboxes = await client.query<{
        id: string;
        name: string;
        special_use: SpecialUseAttribute | null;
        uidvalidity: string;
        uidnext: string;
        noselect: boolean;
        subscribed: boolean;
        messages: string;
        bytes: string;
      }>(
        `SELECT m.id, m.name, m.special_use, m.uidvalidity, m.uidnext, m.noselect,
                EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = m.account_id AND s.name = m.name) AS subscribed,
                (SELECT count(*) FROM messages x WHERE x.mailbox_id = m.id) AS messages,
                (SELECT coalesce(sum(size), 0) FROM messages x WHERE x.mailbox_id = m.id) AS bytes
           FROM mailboxes m WHERE m.account_id = $1 ORDER BY m.name`,
        [row.id],
      );
      const subscriptions = await client.query<{ name: string }>(
        'SELECT name FROM subscriptions WHERE account_id = $1 ORDER BY name',
        [row.id],
      );
      const scripts = await client.query<{ name: string; content: string; active: boolean }>(
        'SELECT name, content, active FROM sieve_scripts WHERE account_id = $1 ORDER BY name',
        [row.id],
      );
      const manifest: AccountArchiveManifest = {
        format: ACCOUNT_ARCHIVE_FORMAT,
        version: ACCOUNT_ARCHIVE_VERSION,
        address: row.address,
        quotaBytes: row.quotaBytes,
        account: await readArchivedAccountState(client, row.id),
        exportedAt: new Date().toISOString(),
        mailboxes: mailboxes.rows.map((m) => ({
          name: m.name,
          folder: archiveFolder(m.name),
          specialUse: m.special_use,
          uidValidity: Number(m.uidvalidity),
          uidNext: Number(m.uidnext),
          subscribed: m.subscribed,
          noselect: m.noselect,
          messages: Number(m.messages),
        })),
        subscriptions: subscriptions.rows.map((s) => s.name),
        sieveScripts: scripts.rows,
        notIncluded: [
          'aliases delivering to the account (domain data: tegami alias list)',
          'the password itself: only its verifiers (scrypt, SCRAM-SHA-256) or imported hash, as the database holds them',
          'CRAM-MD5/DIGEST-MD5 secrets (sealed with this server key: those work again once the password is set anew)',
          'IMAP METADATA annotations (imap_metadata) and mailbox ACLs (mailbox_acl)',
          'SAVEDATE (messages.created_at): a restored message is saved at the restore',
        ],
      };
      await sink(MANIFEST_ENTRY, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8'));

      const total = mailboxes.rows.reduce((n, m) => n + Number(m.messages), 0);
      let messages = 0;
      let bytes = 0;
      for (const mailbox of mailboxes.rows) {
        const folder = archiveFolder(mailbox.name);
        let afterUid = 0;
        for (let page = 1; ; page++) {
          // Keyset by (mailbox, uid): each page starts where the last ended, from the index.
          const rows = await client.query<{
            uid: string;
            flags: string[];
            internal_date: Date;
            size: string;
          }>(
            `SELECT uid, flags, internal_date, size FROM messages
              WHERE mailbox_id = $1 AND uid > $2 ORDER BY uid LIMIT ${PAGE_SIZE}`,
            [mailbox.id, afterUid],
          );
          if (rows.rows.length === 0) break;
          const described = rows.rows.map((m) => {
            const internalDate = new Date(m.internal_date);
            const uid = Number(m.uid);
            return {
              uid,
              flags: m.flags,
              internalDate: internalDate.toISOString(),
              file: `maildir/${folder}/cur/${maildirFileName(uid, internalDate, m.flags)}`,
              size: Number(m.size),
            };
          });
          await sink(
            `maildir/${folder}/tegami-messages.${String(page).padStart(6, '0')}.jsonl`,
            Buffer.from(
              described
                .map(
                  ({ uid, flags, internalDate, file }) =>
                    `${JSON.stringify({ uid, flags, internalDate, file })}\n`,
                )
                .join(''),
              'utf8',
            ),
          );
          for (const group of byBytes(described, READ_BYTES)) {
            const found = await client.query<MessageBytesRow & { uid: string }>(
              `SELECT m.uid, ${MESSAGE_BYTES_COLUMNS} FROM messages m ${MESSAGE_BYTES_JOIN}
                WHERE m.mailbox_id = $1 AND m.uid = ANY($2::bigint[]) ORDER BY m.uid`,
              [mailbox.id, group.map((m) => m.uid)],
            );
            const files = new Map(group.map((m) => [m.uid, m.file]));
            for (const foundRow of found.rows) {
              const data = messageBytes(foundRow);
              await sink(files.get(Number(foundRow.uid))!, data);
              messages++;
              bytes += data.length;
            }
            progress?.({ messages, bytes }, total);
          }
          afterUid = described[described.length - 1]!.uid;
        }
      }
      return {
        mailboxes: mailboxes.rows.length,
        messages,
        bytes,
        sieveScripts: scripts.rows.length,
      };
    },
    { isolation: 'REPEATABLE READ' },
  );
}

/** Consecutive groups of at most `limit` bytes (a larger message alone). */
function byBytes<T extends { readonly size: number }>(items: readonly T[], limit: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    if (current.length > 0 && size + item.size > limit) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += item.size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** The manifest, checked enough that a restore can rely on its shape. */
export function parseArchiveManifest(data: Buffer): AccountArchiveManifest {
  let manifest: AccountArchiveManifest;
  try {
    manifest = JSON.parse(data.toString('utf8')) as AccountArchiveManifest;
  } catch {
    throw new StoreError('invalid', 'the archive manifest is not JSON');
  }
  if (manifest?.format !== ACCOUNT_ARCHIVE_FORMAT)
    throw new StoreError('invalid', 'not a Tegami account archive (manifest.json says otherwise)');
  if (manifest.version !== ACCOUNT_ARCHIVE_VERSION)
    throw new StoreError(
      'invalid',
      `account archive version ${manifest.version} (this Tegami reads ${ACCOUNT_ARCHIVE_VERSION})`,
    );
  if (
    !Array.isArray(manifest.mailboxes) ||
    !Array.isArray(manifest.sieveScripts) ||
    !Array.isArray(manifest.subscriptions)
  )
    throw new StoreError(
      'invalid',
      'the archive manifest lacks its mailboxes, subscriptions or Sieve scripts',
    );
  if (manifest.account !== undefined && !isArchivedAccountState(manifest.account))
    throw new StoreError('invalid', "the archive manifest's account (password verifiers) is malformed");
  return manifest;
}

export interface ArchiveEntry {
  readonly path: string;
  readonly data: Buffer;
}

/**
 * Reads the archive's entries through without storing anything: its manifest first, every
 * message described by a page before it, the counts as the manifest says. A restore runs
 * this over the whole file first, so a truncated or damaged archive changes nothing.
 */
export async function checkAccountArchive(
  entries: AsyncIterable<ArchiveEntry>,
): Promise<AccountArchiveManifest> {
  const reading = new ArchiveReading();
  for await (const entry of entries) reading.take(entry);
  return reading.finish();
}

/** What restore and check share: the order and counts an archive must keep. */
class ArchiveReading {
  manifest: AccountArchiveManifest | undefined;
  private readonly folders = new Map<string, ArchivedMailbox>();
  /** The current page's messages by file, not yet read. */
  private readonly pending = new Map<string, ArchivedMessage & { readonly mailbox: ArchivedMailbox }>();
  private readonly counts = new Map<string, number>();

  /** The message an entry holds, if it is one (undefined for the manifest and pages). */
  take(entry: ArchiveEntry): (ArchivedMessage & { readonly mailbox: ArchivedMailbox }) | undefined {
    if (!this.manifest) {
      if (entry.path !== MANIFEST_ENTRY)
        throw new StoreError('invalid', 'not a Tegami account archive (no manifest.json first)');
      this.manifest = parseArchiveManifest(entry.data);
      for (const mailbox of this.manifest.mailboxes) this.folders.set(mailbox.folder, mailbox);
      return undefined;
    }
    const page = /^maildir\/(.+)\/tegami-messages\.\d+\.jsonl$/.exec(entry.path);
    if (page) {
      const mailbox = this.folders.get(page[1]!);
      if (!mailbox) throw new StoreError('invalid', `${entry.path}: no such mailbox in the manifest`);
      for (const line of entry.data.toString('utf8').split('\n')) {
        if (line === '') continue;
        const message = JSON.parse(line) as ArchivedMessage;
        if (!Number.isSafeInteger(message.uid) || message.uid < 1 || message.uid >= mailbox.uidNext)
          throw new StoreError('invalid', `${entry.path}: UID ${message.uid} outside 1..UIDNEXT-1`);
        this.pending.set(message.file, { ...message, mailbox });
      }
      return undefined;
    }
    const message = this.pending.get(entry.path);
    if (!message) throw new StoreError('invalid', `${entry.path}: not described by the archive`);
    this.pending.delete(entry.path);
    this.counts.set(message.mailbox.name, (this.counts.get(message.mailbox.name) ?? 0) + 1);
    return message;
  }

  finish(): AccountArchiveManifest {
    if (!this.manifest) throw new StoreError('invalid', 'the archive is empty');
    if (this.pending.size > 0)
      throw new StoreError(
        'invalid',
        `the archive lacks ${[...this.pending.keys()][0]} (and ${this.pending.size - 1} more)`,
      );
    for (const mailbox of this.manifest.mailboxes) {
      const found = this.counts.get(mailbox.name) ?? 0;
      if (found !== mailbox.messages)
        throw new StoreError(
          'invalid',
          `mailbox ${mailbox.name}: ${found} messages in the archive, the manifest says ${mailbox.messages}`,
        );
    }
    return this.manifest;
  }
}

interface BatchMessage {
  readonly mailboxId: string;
  readonly uid: number;
  readonly flags: readonly string[];
  readonly internalDate: Date;
  readonly raw: Buffer;
}

/**
 * Restores an archive into the account at `address`, which must hold no messages and no
 * Sieve scripts (a new `tegami user add`, or one emptied). The mailboxes take the
 * archive's UIDVALIDITY and UIDNEXT (a mailbox of the same name, empty, is taken over:
 * a new UIDVALIDITY tells clients to forget what they knew of it), the messages their
 * UIDs, flags and internal dates, described as APPEND describes them (describeMessage);
 * the subscriptions and Sieve scripts are the archive's, the quota too. Messages go in a
 * transaction per PAGE_SIZE messages (or BATCH_BYTES); the quota counters follow by
 * migration 0015's triggers.
 *
 * Run checkAccountArchive over the same file first: then only a failure of Postgres
 * itself can stop a restore half way, and this removes the messages and scripts it had
 * stored (the mailboxes stay, empty, with the archive's UIDVALIDITY) before throwing.
 */
export async function restoreAccountArchive(
  pool: pg.Pool,
  address: string,
  entries: AsyncIterable<ArchiveEntry>,
  options: { readonly progress?: ArchiveProgress; readonly batchMessages?: number } = {},
): Promise<ArchiveTotals> {
  const { progress, batchMessages = PAGE_SIZE } = options;
  const reading = new ArchiveReading();
  const iterator = entries[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new StoreError('invalid', 'the archive is empty');
  reading.take(first.value);
  const manifest = reading.manifest!;
  const { accountId, mailboxIds } = await prepareAccount(pool, address, manifest);
  const total = manifest.mailboxes.reduce((n, m) => n + m.messages, 0);
  let messages = 0;
  let bytes = 0;
  try {
    let batch: BatchMessage[] = [];
    let batchBytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      await insertBatch(pool, batch);
      messages += batch.length;
      bytes += batchBytes;
      batch = [];
      batchBytes = 0;
      progress?.({ messages, bytes }, total);
    };
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      const message = reading.take(next.value);
      if (!message) continue;
      batch.push({
        mailboxId: mailboxIds.get(message.mailbox.name)!,
        uid: message.uid,
        flags: message.flags,
        internalDate: new Date(message.internalDate),
        raw: next.value.data,
      });
      batchBytes += next.value.data.length;
      if (batch.length >= batchMessages || batchBytes >= BATCH_BYTES) await flush();
    }
    await flush();
    reading.finish();
  } catch (err) {
    await undoRestore(pool, accountId).catch(() => undefined);
    throw err;
  }
  return {
    mailboxes: manifest.mailboxes.length,
    messages,
    bytes,
    sieveScripts: manifest.sieveScripts.length,
  };
}

/** The account ready for the messages: mailboxes, subscriptions, scripts, quota, in one transaction. */
async function prepareAccount(
  pool: pg.Pool,
  address: string,
  manifest: AccountArchiveManifest,
): Promise<{ accountId: string; mailboxIds: Map<string, string> }> {
  return withTransaction(pool, async (client) => {
    let found = await findAccount(client, address);
    // A user removed since the export (or a new address for them) is made with the archive's
    // password verifiers: they log in as before.
    if (!found && manifest.account) {
      await createAccountFromArchive(client, address, manifest.account);
      found = await findAccount(client, address);
    }
    if (!found)
      throw new StoreError('not_found', `no user ${address.toLowerCase()} (create it with tegami user add)`);
    const accountId = found.id;
    // One restore into an account at a time: a second waits here, then finds it not empty.
    await client.query('SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE', [accountId]);
    const held = await client.query<{ messages: string; scripts: string }>(
      `SELECT (SELECT count(*) FROM messages x JOIN mailboxes m ON m.id = x.mailbox_id WHERE m.account_id = $1) AS messages,
              (SELECT count(*) FROM sieve_scripts WHERE account_id = $1) AS scripts`,
      [accountId],
    );
    const { messages, scripts } = held.rows[0]!;
    if (Number(messages) > 0 || Number(scripts) > 0)
      throw new StoreError(
        'conflict',
        `user ${found.address} is not empty (${messages} messages, ${scripts} Sieve scripts): restore only into an account with none`,
      );
    const mailboxIds = new Map<string, string>();
    for (const mailbox of manifest.mailboxes) {
      // A default mailbox of the new account (INBOX, Sent…) is taken over with the archive's
      // UIDVALIDITY; what expunges it recorded belong to the old one and go.
      const made = await client.query<{ id: string }>(
        `INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext, special_use, noselect)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (account_id, name) DO UPDATE SET uidvalidity = EXCLUDED.uidvalidity, uidnext = EXCLUDED.uidnext,
                special_use = EXCLUDED.special_use, noselect = EXCLUDED.noselect,
                highestmodseq = mailboxes.highestmodseq + 1
         RETURNING id`,
        [accountId, mailbox.name, mailbox.uidValidity, mailbox.uidNext, mailbox.specialUse, mailbox.noselect],
      );
      const id = made.rows[0]!.id;
      await client.query('DELETE FROM expunged_messages WHERE mailbox_id = $1', [id]);
      mailboxIds.set(mailbox.name, id);
    }
    await client.query('DELETE FROM subscriptions WHERE account_id = $1', [accountId]);
    await client.query(
      'INSERT INTO subscriptions (account_id, name) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING',
      [accountId, manifest.subscriptions],
    );
    for (const script of manifest.sieveScripts)
      await client.query(
        'INSERT INTO sieve_scripts (account_id, name, content, active) VALUES ($1, $2, $3, $4)',
        [accountId, script.name, script.content, script.active],
      );
    await client.query('UPDATE accounts SET quota_bytes = $2 WHERE id = $1', [
      accountId,
      manifest.quotaBytes,
    ]);
    return { accountId, mailboxIds };
  });
}

/** One transaction: a new MODSEQ per mailbox, each message at its own UID. */
async function insertBatch(pool: pg.Pool, batch: readonly BatchMessage[]): Promise<void> {
  await withTransaction(pool, async (client) => {
    const modseqs = new Map<string, bigint>();
    // Mailboxes locked in id order, as COPY and REPLACE take them, so no deadlock with a client.
    for (const id of [...new Set(batch.map((m) => m.mailboxId))].sort((a, b) => Number(a) - Number(b))) {
      const modseq = await bumpModseq(client, id);
      if (modseq === undefined)
        throw new StoreError('conflict', 'a mailbox being restored was deleted meanwhile');
      modseqs.set(id, modseq);
    }
    for (const message of batch) {
      const described = describeMessage(message.raw);
      await insertWholeMessage(client, {
        mailboxId: message.mailboxId,
        uid: message.uid,
        raw: message.raw,
        internalDate: message.internalDate,
        flags: message.flags,
        modseq: modseqs.get(message.mailboxId)!,
        metadata: described.metadata,
        searchText: described.searchText,
      });
    }
  });
}

/** After a failed restore: the account's messages and scripts out again (it had none). */
async function undoRestore(pool: pg.Pool, accountId: string): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query(
      'DELETE FROM messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = $1)',
      [accountId],
    );
    await client.query('DELETE FROM sieve_scripts WHERE account_id = $1', [accountId]);
  });
}
