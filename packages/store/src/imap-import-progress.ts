import type { SpecialUseAttribute } from '@tegami/protocol';
import type pg from 'pg';
import { blobId } from './blobs.js';
import { withTransaction } from './db.js';
import { StoreError } from './errors.js';
import type { ImportMessage } from './mailbox-import.js';
import { allocateUids, MAX_UID } from './mailboxes.js';
import { insertWholeMessage } from './messages.js';

// `tegami import imap`: the copy of a live server's folders, resumable. Each folder's row
// (migration 0028) says up to which source UID its messages are in Tegami; a batch and the
// advance of that row commit together, so a run stopped anywhere is continued by the next
// one without a gap or a duplicate. The messages get new UIDs (as imapsync gives them): the
// mailboxes may be receiving mail during the copy, so the source's UIDs cannot be kept.
// Into a mailbox that was empty when the folder's copy began, the copy is exact (identical
// copies in the source stay two). Into one that held messages (INBOX with new mail, two
// source folders merged into one mailbox), or when the copy begins again (the source's
// UIDVALIDITY changed), a message whose very bytes the mailbox holds is skipped, as imapsync
// skips duplicates by default: so a folder copied again is not doubled.

/** One source folder's copy, as far as it has got. */
export interface ImapFolderProgress {
  readonly uidValidity: number;
  /** Every message up to this source UID is copied. */
  readonly lastUid: number;
  readonly mailboxId: string;
  readonly messages: number;
  readonly bytes: number;
}

export interface ImapFolderKey {
  readonly accountId: string;
  /** user@host:port of the source. */
  readonly source: string;
  /** The folder's name as the source lists it. */
  readonly sourceFolder: string;
}

export interface ImapFolderStart {
  readonly lastUid: number;
  /** Messages whose bytes the mailbox holds are skipped (it was not empty, or the copy began again). */
  readonly dedupe: boolean;
  /** Why the copy of this folder starts from its first message again, when it does. */
  readonly restarted?: 'uidvalidity' | 'mailbox';
}

/** What the account's earlier runs copied from this source, by source folder. */
export async function readImapImportProgress(
  pool: pg.Pool,
  accountId: string,
  source: string,
): Promise<Map<string, ImapFolderProgress>> {
  const result = await pool.query<{
    source_folder: string;
    uidvalidity: string;
    last_uid: string;
    mailbox_id: string;
    messages: string;
    bytes: string;
  }>(
    `SELECT source_folder, uidvalidity, last_uid, mailbox_id, messages, bytes
       FROM imap_import_progress WHERE account_id = $1 AND source = $2`,
    [accountId, source],
  );
  return new Map(
    result.rows.map((r) => [
      r.source_folder,
      {
        uidValidity: Number(r.uidvalidity),
        lastUid: Number(r.last_uid),
        mailboxId: r.mailbox_id,
        messages: Number(r.messages),
        bytes: Number(r.bytes),
      },
    ]),
  );
}

/**
 * The folder's row for this run: kept when its UIDVALIDITY and mailbox are those of the
 * earlier run, otherwise begun again from UID 0 (RFC 3501 §2.3.1.1: a new UIDVALIDITY means
 * the old UIDs say nothing about the messages now).
 */
export async function beginImapImportFolder(
  pool: pg.Pool,
  key: ImapFolderKey,
  uidValidity: number,
  mailboxId: string,
): Promise<ImapFolderStart> {
  if (!(Number.isInteger(uidValidity) && uidValidity >= 1 && uidValidity <= MAX_UID))
    throw new StoreError('invalid', `the source's UIDVALIDITY ${uidValidity} is out of range`);
  return withTransaction(pool, async (client) => {
    const found = await client.query<{
      uidvalidity: string;
      last_uid: string;
      mailbox_id: string;
      dedupe: boolean;
    }>(
      `SELECT uidvalidity, last_uid, mailbox_id, dedupe FROM imap_import_progress
        WHERE account_id = $1 AND source = $2 AND source_folder = $3 FOR UPDATE`,
      [key.accountId, key.source, key.sourceFolder],
    );
    const row = found.rows[0];
    if (row && Number(row.uidvalidity) === uidValidity && row.mailbox_id === mailboxId)
      return { lastUid: Number(row.last_uid), dedupe: row.dedupe };
    const held = await client.query('SELECT 1 FROM messages WHERE mailbox_id = $1 LIMIT 1', [mailboxId]);
    const dedupe = row !== undefined || (held.rowCount ?? 0) > 0;
    await client.query(
      `INSERT INTO imap_import_progress (account_id, source, source_folder, uidvalidity, mailbox_id, dedupe)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (account_id, source, source_folder) DO UPDATE
          SET uidvalidity = EXCLUDED.uidvalidity, mailbox_id = EXCLUDED.mailbox_id, last_uid = 0,
              dedupe = EXCLUDED.dedupe, messages = 0, bytes = 0, updated_at = now()`,
      [key.accountId, key.source, key.sourceFolder, uidValidity, mailboxId, dedupe],
    );
    if (!row) return { lastUid: 0, dedupe };
    return {
      lastUid: 0,
      dedupe,
      restarted: Number(row.uidvalidity) === uidValidity ? 'mailbox' : 'uidvalidity',
    };
  });
}

/** One message of the source folder, with its UID there. */
export interface ImapImportMessage extends ImportMessage {
  readonly sourceUid: number;
}

export interface ImapImportedBatch {
  readonly imported: number;
  readonly bytes: number;
  /** Copied by an earlier run, or the same bytes in the mailbox already. */
  readonly skipped: number;
  /** The UIDs the new messages got, and their MODSEQ: for the mailbox's change event. */
  readonly uids: readonly number[];
  readonly modseq?: bigint;
}

/**
 * Stores a batch of the folder's messages (all of its UIDs from the row's last one up to
 * `throughUid`, less any the source expunged meanwhile) and moves the row to `throughUid`, in
 * one transaction. The row's lock makes two runs of the same import at once take turns, and
 * the second skips what the first stored.
 */
export async function importImapBatch(
  pool: pg.Pool,
  key: ImapFolderKey,
  target: { readonly mailboxId: string; readonly uidValidity: number },
  messages: readonly ImapImportMessage[],
  throughUid: number,
): Promise<ImapImportedBatch> {
  return withTransaction(pool, async (client) => {
    const found = await client.query<{
      uidvalidity: string;
      last_uid: string;
      mailbox_id: string;
      dedupe: boolean;
    }>(
      `SELECT uidvalidity, last_uid, mailbox_id, dedupe FROM imap_import_progress
        WHERE account_id = $1 AND source = $2 AND source_folder = $3 FOR UPDATE`,
      [key.accountId, key.source, key.sourceFolder],
    );
    const row = found.rows[0];
    if (!row || Number(row.uidvalidity) !== target.uidValidity || row.mailbox_id !== target.mailboxId)
      throw new StoreError(
        'conflict',
        `another import of ${key.sourceFolder} began meanwhile (or its mailbox was deleted); run it again`,
      );
    const lastUid = Number(row.last_uid);
    const fresh = messages.filter((m) => m.sourceUid > lastUid);
    const hashes = fresh.map((m) => blobId(m.raw));
    const stored: { message: ImapImportMessage; sha: Buffer }[] = [];
    if (row.dedupe) {
      const present = await client.query<{ blob_sha256: Buffer }>(
        'SELECT blob_sha256 FROM messages WHERE mailbox_id = $1 AND blob_sha256 = ANY($2::bytea[])',
        [target.mailboxId, hashes],
      );
      const seen = new Set(present.rows.map((r) => r.blob_sha256.toString('hex')));
      for (const [i, message] of fresh.entries()) {
        const hex = hashes[i]!.toString('hex');
        if (seen.has(hex)) continue;
        seen.add(hex);
        stored.push({ message, sha: hashes[i]! });
      }
    } else {
      for (const [i, message] of fresh.entries()) stored.push({ message, sha: hashes[i]! });
    }
    const uids: number[] = [];
    let bytes = 0;
    let modseq: bigint | undefined;
    if (stored.length > 0) {
      const allocated = await allocateUids(client, target.mailboxId, stored.length);
      if (!allocated) throw new StoreError('invalid', `mailbox ${target.mailboxId} has run out of UIDs`);
      modseq = allocated.modseq;
      for (const [i, { message, sha }] of stored.entries()) {
        const uid = allocated.firstUid + i;
        await insertWholeMessage(client, {
          mailboxId: target.mailboxId,
          uid,
          raw: message.raw,
          sha256: sha,
          internalDate: message.internalDate,
          flags: message.flags,
          modseq: allocated.modseq,
          metadata: message.metadata,
          searchText: message.searchText,
        });
        uids.push(uid);
        bytes += message.raw.length;
      }
    }
    await client.query(
      `UPDATE imap_import_progress
          SET last_uid = GREATEST(last_uid, $4::bigint), messages = messages + $5, bytes = bytes + $6,
              updated_at = now()
        WHERE account_id = $1 AND source = $2 AND source_folder = $3`,
      [key.accountId, key.source, key.sourceFolder, throughUid, stored.length, bytes],
    );
    return {
      imported: stored.length,
      bytes,
      skipped: messages.length - stored.length,
      uids,
      ...(modseq !== undefined && { modseq }),
    };
  });
}

/**
 * Gives a mailbox the special use of the source folder it receives (\Sent…), unless the
 * account has a mailbox with that use already: a user whose Sent was deleted gets one again.
 */
export async function claimSpecialUse(
  pool: pg.Pool,
  accountId: string,
  mailboxId: string,
  use: SpecialUseAttribute,
): Promise<boolean> {
  const result = await pool.query(
    `UPDATE mailboxes SET special_use = $3, highestmodseq = highestmodseq + 1
      WHERE id = $2 AND account_id = $1 AND special_use IS NULL
        AND NOT EXISTS (SELECT 1 FROM mailboxes o WHERE o.account_id = $1 AND o.special_use = $3)`,
    [accountId, mailboxId, use],
  );
  return (result.rowCount ?? 0) > 0;
}
