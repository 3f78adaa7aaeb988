import type { MailboxChanged } from '@tegami/bus';
import type { ImportMessage, StorePool } from '@tegami/store';

// The part of `tegami import` that both sources share: each folder's mailbox found or made
// (with the source's UIDVALIDITY), its messages described once (as APPEND describes them)
// and stored in batches, a transaction each, so memory stays bounded whatever the source's
// size and an interrupted import keeps what it committed (running it again skips that).

/** One message as a source (Maildir, mbox) reads it. */
export interface SourceMessage {
  readonly raw: Buffer;
  readonly flags: readonly string[];
  readonly internalDate: Date;
  /** Its UID in the source (dovecot-uidlist). */
  readonly uid?: number;
}

/** One folder of a source, its messages read on demand. */
export interface SourceFolder {
  /** Tegami's name: `/` between levels. */
  readonly name: string;
  readonly subscribed: boolean;
  /** The number of messages, when known beforehand (for the progress line). */
  readonly count?: number;
  readonly uidValidity?: number;
  readonly uidNext?: number;
  /** Messages with a UID come first, by UID. */
  messages(): AsyncIterable<SourceMessage>;
}

export interface FolderResult {
  readonly name: string;
  readonly created: boolean;
  readonly keptUids: boolean;
  /** The source had UIDs that could not be kept: the mailbox held other messages. */
  readonly renumbered: boolean;
  readonly uidValidity: number;
  readonly messages: number;
  readonly bytes: number;
  readonly skipped: number;
}

/** Where the import tells its progress: progress.ts's Progress is one. */
export interface ImportProgress {
  tick(count: number, bytes: number): void;
  setDetail(folder: string | undefined): void;
}

/** The number of messages of the folders, when each knows its own beforehand. */
export function totalMessages(folders: readonly SourceFolder[]): number | undefined {
  return folders.every((f) => f.count !== undefined) ? folders.reduce((n, f) => n + f.count!, 0) : undefined;
}

/** A batch's bounds: this many messages, or this many bytes, whichever comes first. */
const BATCH_MESSAGES = 500;
const BATCH_BYTES = 32 * 1024 * 1024;

/**
 * Tells open IMAP sessions of a new mailbox or new messages, as APPEND and delivery do (the
 * bus's publishMailboxChanged, at most once: a session that misses it catches up at its next
 * command). Never throws.
 */
export type ImportAnnouncer = (event: MailboxChanged) => Promise<void>;

export async function importFolders(
  store: StorePool,
  accountId: string,
  folders: readonly SourceFolder[],
  progress: ImportProgress,
  announce: ImportAnnouncer = async () => undefined,
): Promise<FolderResult[]> {
  const { describeMessage } = await import('@tegami/protocol');
  const { finishImportMailbox, ImportCopies, importMessages, prepareImportMailbox } = await import(
    '@tegami/store'
  );
  const results: FolderResult[] = [];
  for (const folder of folders) {
    progress.setDetail(folder.name);
    const target = await prepareImportMailbox(store.pool, accountId, folder.name, {
      ...(folder.uidValidity !== undefined && { uidValidity: folder.uidValidity }),
      subscribe: folder.subscribed,
    });
    if (target.created)
      await announce({ accountId, mailboxId: target.mailboxId, kind: 'created', name: target.name });
    // Which copies of which bytes this folder's earlier batches brought (a rerun's skips).
    const copies = new ImportCopies();
    let batch: ImportMessage[] = [];
    let batchBytes = 0;
    let messages = 0;
    let bytes = 0;
    let skipped = 0;
    // One batch is stored while the next is read and parsed: Postgres and this process work
    // at once. At most one store at a time, in order, so UIDs and the copies' counts stay as
    // if one after the other; memory is two batches.
    let storing: Promise<void> | undefined;
    const storeBatch = async (sending: ImportMessage[], sendingBytes: number) => {
      const stored = await importMessages(store.pool, target, sending, copies);
      messages += stored.imported;
      bytes += stored.bytes;
      skipped += stored.skipped;
      if (stored.uids.length > 0)
        await announce({
          accountId,
          mailboxId: target.mailboxId,
          kind: 'exists',
          uids: stored.uids,
          ...(stored.modseq !== undefined && { modseq: stored.modseq.toString() }),
        });
      // Every message read counts towards the total, skipped ones too; the bytes are those read.
      progress.tick(sending.length, sendingBytes);
    };
    const flush = async () => {
      const sending = batch;
      const sendingBytes = batchBytes;
      batch = [];
      batchBytes = 0;
      await storing;
      storing = storeBatch(sending, sendingBytes);
      // Its failure is thrown where it is awaited next (the next flush, or the end of the folder).
      storing.catch(() => undefined);
    };
    try {
      for await (const message of folder.messages()) {
        const description = describeMessage(message.raw);
        batch.push({
          raw: message.raw,
          flags: message.flags,
          internalDate: message.internalDate,
          metadata: description.metadata,
          searchText: description.searchText,
          ...(message.uid !== undefined && { uid: message.uid }),
        });
        batchBytes += message.raw.length;
        if (batch.length >= BATCH_MESSAGES || batchBytes >= BATCH_BYTES) await flush();
      }
      if (batch.length > 0) await flush();
    } finally {
      // A read that failed still waits for the store under way, so nothing runs on after the command.
      await storing?.catch(() => undefined);
    }
    await storing;
    if (target.keepUids && folder.uidNext !== undefined)
      await finishImportMailbox(store.pool, target.mailboxId, folder.uidNext);
    results.push({
      name: target.name,
      created: target.created,
      keptUids: target.keepUids,
      renumbered: folder.uidValidity !== undefined && !target.keepUids,
      uidValidity: target.uidValidity,
      messages,
      bytes,
      skipped,
    });
  }
  return results;
}
