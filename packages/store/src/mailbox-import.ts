import type { MessageMetadata } from '@tegami/protocol';
import type pg from 'pg';
import { blobId } from './blobs.js';
import { withTransaction } from './db.js';
import { StoreError } from './errors.js';
import { allocateUids, bumpModseq, MAX_UID, mailboxName } from './mailboxes.js';
import { insertWholeMessage } from './messages.js';

// `tegami import`: mail moved in from another server (a Maildir++ tree, an mbox file). A
// mailbox that is new or empty takes the source's UIDVALIDITY and each message its UID, so
// clients that synchronised with the old server keep their caches; otherwise the messages
// get new UIDs. The account's usage counters follow by themselves (migration 0015's
// triggers); the operator's import is not held to the quota.

/** A mailbox ready to take imported messages. */
export interface ImportTarget {
  readonly mailboxId: string;
  readonly name: string;
  readonly uidValidity: number;
  /** The messages keep the source's UIDs (the mailbox was new or empty, or has its UIDVALIDITY already). */
  readonly keepUids: boolean;
  /** The mailbox was made by this call. */
  readonly created: boolean;
}

export interface ImportTargetOptions {
  /** The source's UIDVALIDITY, when it has one (Dovecot's dovecot-uidlist). */
  readonly uidValidity?: number;
  /** Subscribe to the name (a new mailbox only is subscribed by default: not an existing one). */
  readonly subscribe: boolean;
}

/**
 * Finds or makes the account's mailbox `name` for an import. With a `uidValidity`, a new
 * mailbox takes it, and so does an existing one with no messages (its expunge history goes:
 * a new UIDVALIDITY tells clients to forget what they knew, RFC 3501 §2.3.1.1); a mailbox
 * with that UIDVALIDITY already (an import run again) keeps UIDs too.
 */
export async function prepareImportMailbox(
  pool: pg.Pool,
  accountId: string,
  nameInput: string,
  options: ImportTargetOptions,
): Promise<ImportTarget> {
  const name = mailboxName(nameInput);
  const uidValidity = options.uidValidity;
  if (
    uidValidity !== undefined &&
    !(Number.isInteger(uidValidity) && uidValidity >= 1 && uidValidity <= MAX_UID)
  )
    throw new StoreError('invalid', `UIDVALIDITY ${uidValidity} is out of range`);
  return withTransaction(pool, async (client) => {
    const made = await client.query<{ id: string; uidvalidity: string }>(
      `INSERT INTO mailboxes (account_id, name, uidvalidity)
       VALUES ($1, $2, COALESCE($3::bigint, nextval('mailbox_uidvalidity_seq')))
       ON CONFLICT (account_id, name) DO NOTHING RETURNING id, uidvalidity`,
      [accountId, name, uidValidity ?? null],
    );
    let target: ImportTarget;
    if (made.rows[0]) {
      target = {
        mailboxId: made.rows[0].id,
        name,
        uidValidity: Number(made.rows[0].uidvalidity),
        keepUids: uidValidity !== undefined,
        created: true,
      };
    } else {
      const found = await client.query<{
        id: string;
        uidvalidity: string;
        noselect: boolean;
        empty: boolean;
      }>(
        `SELECT id, uidvalidity, noselect, NOT EXISTS (SELECT 1 FROM messages m WHERE m.mailbox_id = mailboxes.id) AS empty
           FROM mailboxes WHERE account_id = $1 AND name = $2 FOR UPDATE`,
        [accountId, name],
      );
      const row = found.rows[0];
      if (!row) throw new StoreError('conflict', `mailbox ${name} changed during the import; run it again`);
      const same = uidValidity !== undefined && Number(row.uidvalidity) === uidValidity;
      if (uidValidity !== undefined && !same && row.empty) {
        await client.query(
          `UPDATE mailboxes SET uidvalidity = $2, uidnext = 1, noselect = false, highestmodseq = highestmodseq + 1
            WHERE id = $1`,
          [row.id, uidValidity],
        );
        await client.query('DELETE FROM expunged_messages WHERE mailbox_id = $1', [row.id]);
      } else if (row.noselect) {
        await client.query(
          'UPDATE mailboxes SET noselect = false, highestmodseq = highestmodseq + 1 WHERE id = $1',
          [row.id],
        );
      }
      const kept = uidValidity !== undefined && (same || row.empty);
      target = {
        mailboxId: row.id,
        name,
        uidValidity: kept ? uidValidity : Number(row.uidvalidity),
        keepUids: kept,
        created: false,
      };
    }
    if (options.subscribe)
      await client.query(
        'INSERT INTO subscriptions (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [accountId, name],
      );
    return target;
  });
}

/** One message of the source, described by packages/protocol/mime (describeMessage) once. */
export interface ImportMessage {
  readonly raw: Buffer;
  /** Its UID in the source; honoured when the target keeps UIDs. */
  readonly uid?: number;
  readonly flags: readonly string[];
  readonly internalDate: Date;
  readonly metadata?: MessageMetadata;
  readonly searchText?: string;
}

/**
 * What the batches of one folder's import have seen so far, for skipping what an earlier
 * run stored. A message is known by its bytes (blob hash) and by which copy of those bytes
 * it is in the source: the k-th copy is present already when the mailbox held k copies
 * before this run. So a rerun skips every copy it stored, and two copies a user kept (the
 * same bytes in two files) both come in. One entry per distinct message of the folder.
 */
export class ImportCopies {
  /** Per blob hash (hex): copies read from the source so far. */
  readonly read = new Map<string, number>();
  /** Per blob hash: copies the mailbox held before this run. */
  readonly before = new Map<string, number>();
}

export interface ImportedBatch {
  readonly imported: number;
  readonly bytes: number;
  /** Present already: a UID below the mailbox's UIDNEXT, or a copy of the same bytes stored before (ImportCopies). */
  readonly skipped: number;
  /** The UIDs stored, and the MODSEQ they share: what IMAP sessions are told (an 'exists' event). */
  readonly uids: readonly number[];
  readonly modseq?: bigint;
}

/**
 * Inserts a batch of messages in one transaction under one new MODSEQ. With `keepUids`,
 * a message with a UID takes it, unless it is below the mailbox's UIDNEXT (present already,
 * or expunged since: UIDs never go back, RFC 3501 §2.3.1.1), and UIDNEXT moves past the
 * highest. A message without a UID (or when UIDs are not kept) gets the next ones, unless
 * it is a copy of bytes the mailbox held before the run (ImportCopies, shared by the batches
 * of a folder): that is how a second run of the same import skips what the first stored.
 * Messages with UIDs come in ascending order,
 * in this batch and across batches, and before any without one (whose new UIDs would pass theirs).
 */
export async function importMessages(
  pool: pg.Pool,
  target: Pick<ImportTarget, 'mailboxId' | 'keepUids'>,
  messages: readonly ImportMessage[],
  copies: ImportCopies = new ImportCopies(),
): Promise<ImportedBatch> {
  if (messages.length === 0) return { imported: 0, bytes: 0, skipped: 0, uids: [] };
  return withTransaction(pool, async (client) => {
    const locked = await client.query<{ uidnext: string }>(
      'SELECT uidnext FROM mailboxes WHERE id = $1 FOR UPDATE',
      [target.mailboxId],
    );
    if (!locked.rows[0]) throw new StoreError('not_found', `mailbox ${target.mailboxId} is gone`);
    let uidNext = Number(locked.rows[0].uidnext);
    const hashes = messages.map((m) => blobId(m.raw));
    const unknown = [...new Map(hashes.map((h) => [h.toString('hex'), h])).entries()]
      .filter(([hex]) => !copies.before.has(hex))
      .map(([, hash]) => hash);
    if (unknown.length > 0) {
      // Counted the first time the run meets the bytes: before this run stored any copy of them.
      const present = await client.query<{ blob_sha256: Buffer; copies: string }>(
        `SELECT blob_sha256, count(*) AS copies FROM messages
          WHERE mailbox_id = $1 AND blob_sha256 = ANY($2::bytea[]) GROUP BY blob_sha256`,
        [target.mailboxId, unknown],
      );
      for (const hash of unknown) copies.before.set(hash.toString('hex'), 0);
      for (const row of present.rows) copies.before.set(row.blob_sha256.toString('hex'), Number(row.copies));
    }
    const withUid: { message: ImportMessage; sha: Buffer; uid: number }[] = [];
    const withoutUid: { message: ImportMessage; sha: Buffer }[] = [];
    let skipped = 0;
    for (const [i, message] of messages.entries()) {
      const sha = hashes[i]!;
      if (target.keepUids && message.uid !== undefined) {
        if (message.uid < uidNext || message.uid > MAX_UID) skipped++;
        else {
          withUid.push({ message, sha, uid: message.uid });
          uidNext = message.uid + 1;
        }
        continue;
      }
      const hex = sha.toString('hex');
      const copy = (copies.read.get(hex) ?? 0) + 1;
      copies.read.set(hex, copy);
      if (copy <= copies.before.get(hex)!) skipped++;
      else withoutUid.push({ message, sha });
    }
    if (withUid.length + withoutUid.length === 0) return { imported: 0, bytes: 0, skipped, uids: [] };
    // UIDNEXT past the kept UIDs first, then the new ones allocated after them, all in one MODSEQ.
    await client.query('UPDATE mailboxes SET uidnext = GREATEST(uidnext, $2::bigint) WHERE id = $1', [
      target.mailboxId,
      uidNext,
    ]);
    let firstUid = 0;
    let modseq: bigint | undefined;
    if (withoutUid.length > 0) {
      const allocated = await allocateUids(client, target.mailboxId, withoutUid.length);
      if (!allocated) throw new StoreError('invalid', `mailbox ${target.mailboxId} has run out of UIDs`);
      firstUid = allocated.firstUid;
      modseq = allocated.modseq;
    } else {
      modseq = await bumpModseq(client, target.mailboxId);
    }
    const rows = [...withUid, ...withoutUid.map((m, i) => ({ ...m, uid: firstUid + i }))];
    let bytes = 0;
    for (const { message, sha, uid } of rows) {
      bytes += message.raw.length;
      await insertWholeMessage(client, {
        mailboxId: target.mailboxId,
        uid,
        raw: message.raw,
        sha256: sha,
        internalDate: message.internalDate,
        flags: message.flags,
        modseq: modseq!,
        metadata: message.metadata,
        searchText: message.searchText,
      });
    }
    return {
      imported: rows.length,
      bytes,
      skipped,
      uids: rows.map((r) => r.uid),
      ...(modseq !== undefined && { modseq }),
    };
  });
}

/** After the last batch: UIDNEXT at least the source's (Dovecot's N<nextuid>), as clients cached it. */
export async function finishImportMailbox(pool: pg.Pool, mailboxId: string, uidNext: number): Promise<void> {
  await pool.query('UPDATE mailboxes SET uidnext = GREATEST(uidnext, $2::bigint) WHERE id = $1', [
    mailboxId,
    Math.min(uidNext, MAX_UID + 1),
  ]);
}
