import type { MetadataChange, MetadataDepth, MetadataEntry, MetadataWriteResult } from '@tegami/protocol';
import type pg from 'pg';
import { type Queryable, withTransaction } from './db.js';
import { mailboxName } from './mailboxes.js';

// IMAP METADATA (RFC 5464) annotations (table imap_metadata, migration 0022): a mailbox's,
// or the server's as one account sees them (mailbox null). Every statement is scoped by the
// account, and a mailbox is found by name within it, so another user's entries are never
// reachable. Entry names arrive checked and in lower case (the IMAP engine's
// metadataEntryProblem); the table's CHECK refuses any other.

/**
 * The entries named, or (depth 1) their children, or (depth infinity) all below them, in
 * SQL over `m.entry`, with the parameters holding the requested names and the depth. No
 * LIKE: entry names may hold `_` and `\`.
 */
const matches = (names: string, depth: string) => `EXISTS (
  SELECT 1 FROM unnest(${names}::text[]) AS r(name)
   WHERE m.entry = r.name
      OR (${depth}::text <> '0' AND left(m.entry, length(r.name) + 1) = r.name || '/'
          AND (${depth}::text = 'infinity' OR strpos(substr(m.entry, length(r.name) + 2), '/') = 0)))`;

interface EntryRow {
  entry: string | null;
  value: Buffer | null;
}

const toEntries = (rows: readonly EntryRow[]): MetadataEntry[] =>
  rows.filter((row) => row.entry !== null).map((row) => ({ entry: row.entry!, value: row.value! }));

/**
 * GETMETADATA: the stored entries of the server (mailbox null) or of a selectable mailbox
 * that match, sorted by name; 'nonexistent' when the account has no such mailbox.
 */
export async function readImapMetadata(
  db: Queryable,
  accountId: string,
  mailbox: string | null,
  entries: readonly string[],
  depth: MetadataDepth,
): Promise<MetadataEntry[] | 'nonexistent'> {
  if (mailbox === null) {
    const result = await db.query<EntryRow>(
      `SELECT m.entry, m.value FROM imap_metadata m
        WHERE m.account_id = $1 AND m.mailbox_id IS NULL AND ${matches('$2', '$3')}
        ORDER BY m.entry COLLATE "C"`,
      [accountId, entries, depth],
    );
    return toEntries(result.rows);
  }
  // Found and read in one statement: a mailbox without matching entries is one row of NULLs.
  const result = await db.query<EntryRow>(
    `SELECT m.entry, m.value FROM mailboxes b
       LEFT JOIN imap_metadata m ON m.account_id = b.account_id AND m.mailbox_id = b.id AND ${matches('$3', '$4')}
      WHERE b.account_id = $1 AND b.name = $2 AND NOT b.noselect
      ORDER BY m.entry COLLATE "C"`,
    [accountId, mailboxName(mailbox), entries, depth],
  );
  return result.rows.length === 0 ? 'nonexistent' : toEntries(result.rows);
}

/**
 * SETMETADATA: every change or none. 'too-many' when the account would hold more than
 * `maxEntries` entries and more than before; 'nonexistent' when it has no such selectable
 * mailbox. For an entry named twice, the last change counts.
 */
export async function writeImapMetadata(
  pool: pg.Pool,
  accountId: string,
  mailbox: string | null,
  changes: readonly MetadataChange[],
  maxEntries: number,
): Promise<MetadataWriteResult> {
  const last = new Map(changes.map((change) => [change.entry, change.value]));
  const sets = [...last].filter(([, value]) => value !== null) as [string, Buffer][];
  const removals = [...last].filter(([, value]) => value === null).map(([entry]) => entry);
  const name = mailbox === null ? null : mailboxName(mailbox);
  return withTransaction(pool, async (client) => {
    // One writer per account at a time, so two sessions cannot both take the last free
    // entry. NO KEY: rows that only reference the account (messages, deliveries) go on.
    await client.query('SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE', [accountId]);
    let mailboxId: string | null = null;
    if (name !== null) {
      // KEY SHARE holds off a DELETE of the mailbox until this commits.
      const found = await client.query<{ id: string }>(
        'SELECT id FROM mailboxes WHERE account_id = $1 AND name = $2 AND NOT noselect FOR KEY SHARE',
        [accountId, name],
      );
      if (!found.rows[0]) return 'nonexistent';
      mailboxId = found.rows[0].id;
    }
    if (last.size === 0) return 'ok';
    const counted = await client.query<{ total: string; present: string[] }>(
      `SELECT count(*) AS total,
              coalesce(array_agg(entry) FILTER (WHERE mailbox_id IS NOT DISTINCT FROM $2::bigint AND entry = ANY($3)), '{}') AS present
         FROM imap_metadata WHERE account_id = $1`,
      [accountId, mailboxId, [...last.keys()]],
    );
    const total = Number(counted.rows[0]!.total);
    const present = new Set(counted.rows[0]!.present);
    const after =
      total +
      sets.filter(([entry]) => !present.has(entry)).length -
      removals.filter((entry) => present.has(entry)).length;
    if (after > maxEntries && after > total) return 'too-many';
    if (removals.length > 0) {
      await client.query(
        `DELETE FROM imap_metadata
          WHERE account_id = $1 AND mailbox_id IS NOT DISTINCT FROM $2::bigint AND entry = ANY($3)`,
        [accountId, mailboxId, removals],
      );
    }
    if (sets.length > 0) {
      await client.query(
        `INSERT INTO imap_metadata (account_id, mailbox_id, entry, value)
         SELECT $1::bigint, $2::bigint, s.entry, s.value FROM unnest($3::text[], $4::bytea[]) AS s(entry, value)
         ON CONFLICT (account_id, (COALESCE(mailbox_id, 0)), entry) DO UPDATE SET value = EXCLUDED.value`,
        [accountId, mailboxId, sets.map(([entry]) => entry), sets.map(([, value]) => value)],
      );
    }
    return 'ok';
  });
}
