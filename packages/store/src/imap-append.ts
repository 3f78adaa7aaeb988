import type { MessageMetadata } from '@tegami/protocol';
import type pg from 'pg';
import { quotaUsage } from './account-usage.js';
import { withTransaction } from './db.js';
import { StoreError } from './errors.js';
import { allocateUids, mailboxName } from './mailboxes.js';
import { expungeMessagesAt, insertWholeMessage } from './messages.js';

// The IMAP APPEND extensions that store several changes as one: MULTIAPPEND (RFC 3502,
// every message of the command or none) and REPLACE (RFC 8508, the new message in and the
// old one out, or neither). Each runs in one transaction: a failure anywhere (a message
// over the quota, the connection to Postgres lost, a UID space used up) rolls it all back.

/** One message to store, described by packages/protocol/mime once before the transaction. */
export interface NewImapMessage {
  readonly raw: Buffer;
  readonly flags: readonly string[];
  readonly internalDate?: Date;
  readonly metadata?: MessageMetadata;
  readonly searchText?: string;
}

export interface AppendedMessages {
  readonly mailboxId: string;
  readonly uidValidity: number;
  /** In the order the messages were given. */
  readonly uids: readonly number[];
  readonly modseq: bigint;
}

interface TargetRow {
  id: string;
}

async function selectableMailbox(
  client: pg.PoolClient,
  accountId: string,
  name: string,
): Promise<TargetRow | undefined> {
  const found = await client.query<TargetRow>(
    'SELECT id FROM mailboxes WHERE account_id = $1 AND name = $2 AND NOT noselect',
    [accountId, mailboxName(name)],
  );
  return found.rows[0];
}

/** Stores the blobs and inserts the messages at consecutive UIDs from `firstUid`. */
async function insertAt(
  client: pg.PoolClient,
  mailboxId: string,
  messages: readonly NewImapMessage[],
  firstUid: number,
  modseq: bigint,
): Promise<void> {
  // One statement per message: a MULTIAPPEND's total is bounded by the command-size rules
  // (APPENDLIMIT plus 64 KiB), so there are never more rows than a command has literals.
  for (const [i, message] of messages.entries()) {
    await insertWholeMessage(client, {
      mailboxId,
      uid: firstUid + i,
      raw: message.raw,
      internalDate: message.internalDate ?? new Date(),
      flags: message.flags,
      modseq,
      metadata: message.metadata,
      searchText: message.searchText,
    });
  }
}

/**
 * MULTIAPPEND by mailbox name: the messages at consecutive UIDs in the order given, under
 * one MODSEQ, in one transaction. The quota is checked against their sum before anything
 * is written. 'nonexistent' for no such mailbox or a \Noselect one.
 */
export async function appendMessagesByName(
  pool: pg.Pool,
  accountId: string,
  name: string,
  messages: readonly NewImapMessage[],
): Promise<AppendedMessages | 'nonexistent' | 'over-quota'> {
  if (messages.length === 0) throw new StoreError('invalid', 'nothing to append');
  return withTransaction(pool, async (client) => {
    const target = await selectableMailbox(client, accountId, name);
    if (!target) return 'nonexistent';
    const adding = messages.reduce((n, m) => n + m.raw.length, 0);
    const usage = await quotaUsage(client, accountId);
    if (usage && !usage.fits(adding)) return 'over-quota';
    const allocated = await allocateUids(client, target.id, messages.length);
    if (!allocated) throw new StoreError('invalid', `mailbox ${name} has run out of UIDs`);
    await insertAt(client, target.id, messages, allocated.firstUid, allocated.modseq);
    return {
      mailboxId: target.id,
      uidValidity: allocated.uidValidity,
      uids: messages.map((_, i) => allocated.firstUid + i),
      modseq: allocated.modseq,
    };
  });
}

export interface ReplacedMessage {
  readonly targetId: string;
  readonly uidValidity: number;
  readonly uid: number;
  /** The source's expunge MODSEQ; undefined when the old message was gone already. */
  readonly expungeModseq: bigint | undefined;
}

/**
 * REPLACE (RFC 8508): appends `message` to the target and expunges `uid` from the source,
 * in one transaction. The quota counts what the account holds afterwards (the old message
 * goes as the new one comes), so saving a draft again near the limit still works.
 */
export async function replaceMessage(
  pool: pg.Pool,
  accountId: string,
  sourceMailboxId: string,
  uid: number,
  targetName: string,
  message: NewImapMessage,
): Promise<ReplacedMessage | 'nonexistent' | 'over-quota'> {
  return withTransaction(pool, async (client) => {
    const target = await selectableMailbox(client, accountId, targetName);
    if (!target) return 'nonexistent';
    // Lock order as COPY's: lower mailbox id first, so two REPLACEs across two mailboxes
    // (or a REPLACE and a MOVE) cannot deadlock.
    const ids = [...new Set([sourceMailboxId, target.id])].sort((a, b) => Number(a) - Number(b));
    for (const id of ids) await client.query('SELECT 1 FROM mailboxes WHERE id = $1 FOR UPDATE', [id]);
    const old = await client.query<{ size: string }>(
      'SELECT size FROM messages WHERE mailbox_id = $1 AND uid = $2',
      [sourceMailboxId, uid],
    );
    const freed = Number(old.rows[0]?.size ?? 0);
    const usage = await quotaUsage(client, accountId);
    if (usage && !usage.fits(message.raw.length - freed)) return 'over-quota';
    const allocated = await allocateUids(client, target.id, 1);
    if (!allocated) throw new StoreError('invalid', `mailbox ${targetName} has run out of UIDs`);
    await insertAt(client, target.id, [message], allocated.firstUid, allocated.modseq);
    const removed = old.rows.length > 0 ? await expungeMessagesAt(client, sourceMailboxId, [uid]) : undefined;
    return {
      targetId: target.id,
      uidValidity: allocated.uidValidity,
      uid: allocated.firstUid,
      expungeModseq: removed?.modseq,
    };
  });
}
