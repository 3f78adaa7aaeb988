import { normaliseFlags } from '@tegami/protocol';
import type pg from 'pg';
import { usedBytesSql } from './account-usage.js';
import { storeBlobsSql } from './blobs.js';
import { withTransaction } from './db.js';
import { insertReport, type ReportMessage } from './deliveries.js';
import {
  insertCopy,
  type SieveCopyContent,
  type SieveCopyTarget,
  type StoredSieveCopy,
  targetMailbox,
} from './sieve-copies.js';

export type { SieveCopyContent, StoredSieveCopy } from './sieve-copies.js';

// A Sieve script's actions for one recipient, all in one transaction with the delivery row
// (RFC 5228 §2.10.6 leaves the order of actions to the implementation; exactly once is ours).
// The row is locked first and must still be this worker's and waiting: a job run again after
// a crash finds it delivered and does nothing, and a crash before the commit leaves nothing,
// not a copy in one folder and a vacation reply never sent. What leaves the system (a redirect,
// a vacation reply, a reject) is a row here too, sent afterwards by the normal queue path.

/** One line of what Sieve did, kept on the delivery row (deliveries.sieve_actions) for `tegami trace`. */
export interface SieveActionRecord {
  /** keep, fileinto, redirect, vacation, reject, notify, discard, or error. */
  readonly action: string;
  readonly mailbox?: string;
  readonly flags?: readonly string[];
  readonly uid?: number;
  /** fileinto :create made the mailbox. */
  readonly created?: boolean;
  readonly to?: string;
  /** The queue id of the message it sent (vacation, reject, notify). */
  readonly queueId?: string;
  /** What did not go as the script said, or why nothing was done. */
  readonly note?: string;
}

export type SieveDeliveryStep =
  /** keep (mailbox null: the delivery's default mailbox, INBOX or Junk) or fileinto. */
  | {
      readonly kind: 'store';
      readonly action: 'keep' | 'fileinto';
      readonly mailbox: string | null;
      readonly create: boolean;
      readonly flags: readonly string[];
    }
  /** A new recipient of the same queued message, sent on as forwarding through an alias is. */
  | { readonly kind: 'redirect'; readonly address: string }
  /**
   * A message from `<>` to queue (vacation, reject, notify). `once`: only when this account
   * has not answered this sender for this handle in the last `seconds` (RFC 5230 §4.6).
   */
  | {
      readonly kind: 'send';
      readonly action: 'vacation' | 'reject' | 'notify';
      readonly message: ReportMessage;
      /** Recipients besides message.recipient (a notification's Cc). */
      readonly moreRecipients?: readonly string[];
      readonly once?: { readonly sender: string; readonly handle: string; readonly seconds: number };
    }
  /** Nothing to write but the record (discard, a reply not sent, an error). */
  | { readonly kind: 'note'; readonly record: SieveActionRecord };

export interface SieveDeliveryPlan {
  readonly deliveryId: string;
  readonly worker: string;
  readonly queueId: string;
  readonly accountId: string;
  readonly quotaBytes: number | null;
  /** The INBOX: where a fileinto to a mailbox that does not exist goes instead (as Pigeonhole does). */
  readonly inbox: { readonly id: string; readonly name: string };
  /** Where keep puts the message: the INBOX, or Junk when the inbound checks said so. */
  readonly keepTarget: { readonly id: string; readonly name: string };
  /** Who the redirected copies say they came through (the user's address, as alias forwarding does). */
  readonly redirectedFrom: string;
  readonly content: SieveCopyContent;
  readonly steps: readonly SieveDeliveryStep[];
  readonly duplicateMarks: readonly { readonly key: string; readonly seconds: number }[];
  /**
   * A script failed: this message goes into the INBOX too, unless the owner was told about
   * this version of the script already (sieve_error_notices).
   */
  readonly errorNotice?: {
    readonly script: string;
    readonly version: string;
    readonly content: SieveCopyContent;
  };
  readonly internalDate: Date;
  /** The delivery's reply for the trace, e.g. "250 2.0.0 delivered by Sieve". */
  readonly reply: string;
}

export type SieveDeliveryResult =
  /** Already settled (an earlier run of the job), or held by another worker: nothing done. */
  | { readonly kind: 'not-held' }
  /** The copies do not fit the account's quota: nothing done, the delivery waits. */
  | { readonly kind: 'over-quota'; readonly usedBytes: number }
  | {
      readonly kind: 'delivered';
      readonly copies: readonly StoredSieveCopy[];
      /** New queue entries (replies, notices): their jobs are the caller's to publish. */
      readonly queued: readonly string[];
      /** Redirects that added a recipient to the message: the caller delivers them next. */
      readonly redirected: number;
      readonly records: readonly SieveActionRecord[];
      /** The message has no recipient left waiting: its queue row is done. */
      readonly queueDone: boolean;
    };

class RolledBack {
  constructor(readonly result: SieveDeliveryResult) {}
}

/** Applies a recipient's Sieve actions and settles its delivery row, all or nothing. */
export async function applySieveDelivery(
  pool: pg.Pool,
  plan: SieveDeliveryPlan,
): Promise<SieveDeliveryResult> {
  try {
    return await withTransaction(pool, (client) => applyInTransaction(client, plan));
  } catch (err) {
    if (err instanceof RolledBack) return err.result;
    throw err;
  }
}

async function applyInTransaction(
  client: pg.PoolClient,
  plan: SieveDeliveryPlan,
): Promise<SieveDeliveryResult> {
  const held = await client.query(
    `SELECT id FROM deliveries WHERE id = $1 AND claimed_by = $2 AND status IN ('pending', 'deferred') FOR UPDATE`,
    [plan.deliveryId, plan.worker],
  );
  if (held.rowCount === 0) return { kind: 'not-held' };

  const records: SieveActionRecord[] = [];
  const targets = new Map<string, SieveCopyTarget>();
  const addTarget = (
    id: string,
    name: string,
    flags: readonly string[],
    record: number,
    content: SieveCopyContent,
  ) => {
    const existing = targets.get(id);
    // RFC 5228 §4.1: the same mailbox twice is one copy; its flags are those of both.
    if (existing) {
      existing.flags = normaliseFlags([...existing.flags, ...flags]);
      existing.records.push(record);
      return;
    }
    targets.set(id, { id, name, flags: normaliseFlags(flags), records: [record], content });
  };

  for (const step of plan.steps) {
    if (step.kind !== 'store') continue;
    if (step.mailbox === null) {
      records.push({ action: step.action, mailbox: plan.keepTarget.name, flags: step.flags });
      addTarget(plan.keepTarget.id, plan.keepTarget.name, step.flags, records.length - 1, plan.content);
      continue;
    }
    const found = await targetMailbox(client, plan.accountId, step.mailbox, step.create);
    if (found.kind === 'found') {
      records.push({
        action: step.action,
        mailbox: found.name,
        flags: step.flags,
        ...(found.created && { created: true }),
      });
      addTarget(found.id, found.name, step.flags, records.length - 1, plan.content);
    } else {
      records.push({
        action: step.action,
        mailbox: plan.inbox.name,
        flags: step.flags,
        note: `${found.why}: filed into ${plan.inbox.name} instead`,
      });
      addTarget(plan.inbox.id, plan.inbox.name, step.flags, records.length - 1, plan.content);
    }
  }

  let notice: SieveCopyTarget | undefined;
  if (plan.errorNotice) {
    const told = await client.query(
      `INSERT INTO sieve_error_notices (account_id, script, version) VALUES ($1, $2, $3::timestamptz)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [plan.accountId, plan.errorNotice.script, plan.errorNotice.version],
    );
    if ((told.rowCount ?? 0) > 0) {
      notice = {
        id: plan.inbox.id,
        name: plan.inbox.name,
        flags: [],
        records: [],
        content: plan.errorNotice.content,
      };
    }
  }

  const copies = [...targets.values(), ...(notice ? [notice] : [])];
  if (plan.quotaBytes !== null && copies.length > 0) {
    const usage = await client.query<{ used: string | null }>(`SELECT ${usedBytesSql('$1')} AS used`, [
      plan.accountId,
    ]);
    const usedBytes = Number(usage.rows[0]?.used ?? 0);
    const adding = copies.reduce((sum, c) => sum + c.content.headerPrefix.length + c.content.blob.size, 0);
    if (usedBytes + adding > plan.quotaBytes) throw new RolledBack({ kind: 'over-quota', usedBytes });
  }
  for (const content of new Set(copies.map((c) => c.content))) {
    if (!content.data) continue;
    await client.query(storeBlobsSql('(SELECT $1::bytea AS sha, $2::bigint AS size, $3::bytea AS data) b'), [
      content.blob.sha256,
      content.blob.size,
      content.data,
    ]);
  }

  // In mailbox id order: two deliveries filing into the same mailboxes lock them in one
  // order, and never wait for each other crosswise.
  const stored: StoredSieveCopy[] = [];
  const uids = new Map<SieveCopyTarget, number>();
  for (const target of [...copies].sort((a, b) => Number(a.id) - Number(b.id))) {
    const copy = await insertCopy(client, target, plan.internalDate);
    stored.push(copy);
    uids.set(target, copy.uid);
  }
  for (const target of targets.values()) {
    for (const i of target.records) records[i] = { ...records[i]!, uid: uids.get(target)! };
  }

  const queued: string[] = [];
  let redirected = 0;
  for (const step of plan.steps) {
    if (step.kind === 'note') records.push(step.record);
    if (step.kind === 'redirect') {
      const added = await client.query(
        `INSERT INTO deliveries (queue_id, recipient, dsn_notify, dsn_orcpt, expanded_from)
         SELECT d.queue_id, $2, d.dsn_notify, COALESCE(d.dsn_orcpt, 'rfc822;' || d.recipient), $3
           FROM deliveries d WHERE d.id = $1
         ON CONFLICT (queue_id, recipient) DO NOTHING RETURNING id`,
        [plan.deliveryId, step.address, plan.redirectedFrom],
      );
      const isNew = (added.rowCount ?? 0) > 0;
      redirected += isNew ? 1 : 0;
      records.push({
        action: 'redirect',
        to: step.address,
        ...(!isNew && { note: 'already a recipient of this message' }),
      });
    }
    if (step.kind === 'send') {
      if (step.once && !(await firstReplyInPeriod(client, plan.accountId, step.once))) {
        records.push({
          action: step.action,
          to: step.message.recipient,
          note: `not sent: ${step.once.sender} was answered within ${describeSeconds(step.once.seconds)}`,
        });
        continue;
      }
      await insertReport(client, step.message);
      if (step.moreRecipients && step.moreRecipients.length > 0) {
        await client.query(
          `INSERT INTO deliveries (queue_id, recipient) SELECT $1, r FROM unnest($2::text[]) AS r
           ON CONFLICT (queue_id, recipient) DO NOTHING`,
          [step.message.queueId, step.moreRecipients],
        );
      }
      queued.push(step.message.queueId);
      records.push({ action: step.action, to: step.message.recipient, queueId: step.message.queueId });
    }
  }

  if (plan.duplicateMarks.length > 0) {
    // Expired ids go as new ones come: the table holds each account's live ids only.
    await client.query('DELETE FROM sieve_duplicates WHERE account_id = $1 AND expires_at <= now()', [
      plan.accountId,
    ]);
    await client.query(
      `INSERT INTO sieve_duplicates (account_id, key, expires_at)
       SELECT $1, k.key, now() + make_interval(secs => k.seconds) FROM unnest($2::text[], $3::double precision[]) AS k(key, seconds)
       ON CONFLICT (account_id, key) DO UPDATE SET expires_at = GREATEST(sieve_duplicates.expires_at, EXCLUDED.expires_at)`,
      [plan.accountId, plan.duplicateMarks.map((m) => m.key), plan.duplicateMarks.map((m) => m.seconds)],
    );
  }

  const first = stored.find((s) => s.mailboxId === plan.keepTarget.id) ?? stored[0];
  await client.query(
    `UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, last_attempt_at = now(), last_reply = $2,
            status_code = '2.0.0', finished_at = now(), next_attempt_at = NULL, mailbox_id = $3, uid = $4,
            sieve_actions = $5::jsonb, claimed_by = NULL, claimed_until = NULL
      WHERE id = $1`,
    [plan.deliveryId, plan.reply, first?.mailboxId ?? null, first?.uid ?? null, JSON.stringify(records)],
  );
  await client.query(
    `INSERT INTO delivery_attempts (delivery_id, outcome, reply) VALUES ($1, 'delivered', $2)`,
    [plan.deliveryId, plan.reply],
  );
  const done = await client.query(
    `UPDATE queue SET state = 'done'
      WHERE id = $1 AND state = 'queued'
        AND NOT EXISTS (SELECT 1 FROM deliveries WHERE queue_id = $1 AND status IN ('pending', 'deferred'))
      RETURNING 1`,
    [plan.queueId],
  );
  return {
    kind: 'delivered',
    copies: stored,
    queued,
    redirected,
    records,
    queueDone: (done.rowCount ?? 0) > 0,
  };
}

/**
 * vacation's memory (RFC 5230 §4.2, §4.6): records the reply and says true only when this
 * account has not answered this sender for this handle within the period. One statement:
 * of two transactions delivering to one user from one sender at once, the second waits for
 * the first's row and then finds it too recent.
 */
async function firstReplyInPeriod(
  client: pg.PoolClient,
  accountId: string,
  once: { readonly sender: string; readonly handle: string; readonly seconds: number },
): Promise<boolean> {
  const result = await client.query(
    `INSERT INTO sieve_vacation_replies (account_id, sender, handle, last_sent_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (account_id, sender, handle) DO UPDATE SET last_sent_at = now()
      WHERE sieve_vacation_replies.last_sent_at <= now() - make_interval(secs => $4::double precision)
     RETURNING 1`,
    [accountId, once.sender.toLowerCase(), once.handle, once.seconds],
  );
  return (result.rowCount ?? 0) > 0;
}

function describeSeconds(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} day${seconds === 86_400 ? '' : 's'}`;
  return `${seconds} seconds`;
}
