import type { MessageMetadata } from '@tegami/protocol';
import type pg from 'pg';
import { mailboxName, uidAllocationSql } from './mailboxes.js';
import { insertMessagesSql, metadataParam } from './messages.js';

// The copies a Sieve script files (keep, fileinto): which mailbox a name is (made when
// :create says so), and one message inserted into it. Inside the caller's transaction.

/** The bytes of the copies: the queue's blob behind this recipient's header lines, or a blob of its own. */
export interface SieveCopyContent {
  readonly blob: { readonly sha256: Buffer; readonly size: number };
  readonly headerPrefix: Buffer;
  /** The bytes of `blob` when it is not the queue's (editheader changed the message): stored with the copy. */
  readonly data?: Buffer;
  /** Describes headerPrefix + blob (withHeaderPrefix). */
  readonly metadata?: MessageMetadata;
  readonly searchText?: string;
}

/** One mailbox the message goes into, with the flags of every action that filed it there. */
export interface SieveCopyTarget {
  readonly id: string;
  readonly name: string;
  flags: string[];
  /** Indexes of the records that name this copy, to fill in its UID. */
  readonly records: number[];
  readonly content: SieveCopyContent;
}

export interface StoredSieveCopy {
  readonly mailboxId: string;
  readonly name: string;
  readonly uid: number;
  readonly modseq: bigint;
}

type TargetLookup =
  | { readonly kind: 'found'; readonly id: string; readonly name: string; readonly created: boolean }
  | { readonly kind: 'missing'; readonly why: string };

/**
 * The mailbox a fileinto names, made when :create says so (RFC 5490 §3.2). Made with ON
 * CONFLICT, never failing on a mailbox an IMAP client creates at the same moment: a failed
 * statement would end the whole transaction.
 */
export async function targetMailbox(
  client: pg.PoolClient,
  accountId: string,
  requested: string,
  create: boolean,
): Promise<TargetLookup> {
  let name: string;
  try {
    name = mailboxName(requested);
  } catch {
    return { kind: 'missing', why: `"${requested}" is not a valid mailbox name` };
  }
  const found = await client.query<{ id: string }>(
    'SELECT id FROM mailboxes WHERE account_id = $1 AND name = $2 AND NOT noselect',
    [accountId, name],
  );
  if (found.rows[0]) return { kind: 'found', id: String(found.rows[0].id), name, created: false };
  if (!create) return { kind: 'missing', why: `no mailbox "${name}"` };
  const made = await client.query<{ id: string }>(
    `WITH made AS (
       INSERT INTO mailboxes (account_id, name) VALUES ($1, $2)
       ON CONFLICT (account_id, name) DO UPDATE SET noselect = false, highestmodseq = mailboxes.highestmodseq + 1
        WHERE mailboxes.noselect
       RETURNING id, account_id, name
     ), subscribed AS (
       INSERT INTO subscriptions (account_id, name) SELECT account_id, name FROM made ON CONFLICT DO NOTHING
     )
     SELECT id FROM made
     UNION ALL
     SELECT id FROM mailboxes WHERE account_id = $1 AND name = $2 AND NOT noselect AND NOT EXISTS (SELECT 1 FROM made)`,
    [accountId, name],
  );
  if (!made.rows[0]) return { kind: 'missing', why: `could not create "${name}"` };
  return { kind: 'found', id: String(made.rows[0].id), name, created: true };
}

export async function insertCopy(
  client: pg.PoolClient,
  target: SieveCopyTarget,
  internalDate: Date,
): Promise<StoredSieveCopy> {
  const { content } = target;
  const result = await client.query<{ first_uid: string; modseq: string }>(
    `WITH allocated AS (${uidAllocationSql('$1', '1')}
     ), message AS (${insertMessagesSql(
       {
         mailboxId: '$1',
         uid: 'first_uid',
         blobSha256: '$2',
         size: '$3',
         internalDate: '$4',
         flags: '$5::text[]',
         modseq: 'modseq',
         metadata: '$6::jsonb',
         searchText: '$7::text',
         headerPrefix: '$8::bytea',
       },
       'allocated',
     )})
     SELECT first_uid, modseq FROM allocated`,
    [
      target.id,
      content.blob.sha256,
      content.headerPrefix.length + content.blob.size,
      internalDate,
      target.flags,
      metadataParam(content.metadata),
      content.searchText ?? null,
      content.headerPrefix,
    ],
  );
  const row = result.rows[0];
  // The mailbox's UIDs are used up (2^32 - 1): the whole delivery fails and is retried.
  if (!row) throw new Error(`mailbox ${target.name} (${target.id}) cannot take another message`);
  return { mailboxId: target.id, name: target.name, uid: Number(row.first_uid), modseq: BigInt(row.modseq) };
}
