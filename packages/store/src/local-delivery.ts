import type { MessageMetadata } from '@tegami/protocol';
import { usedBytesSql } from './account-usage.js';
import type { Queryable } from './db.js';
import { uidAllocationSql } from './mailboxes.js';
import { insertMessagesSql, metadataParam } from './messages.js';
import { baseAddress, DEFAULT_RECIPIENT_DELIMITER } from './subaddress.js';

// Local delivery. Every function here is one SQL statement: the delivery-worker makes a
// handful of round trips per message, and on a busy machine each round trip costs both
// sides CPU and a context switch; one statement is also one implicit transaction. The
// statement is put together from the aggregates' own pieces (the blob insert, the UID
// allocation, the message insert, the quota counter), so no rule is written twice.

export interface LocalMailbox {
  readonly accountId: string;
  readonly address: string;
  /** The mailbox a delivery goes into: the INBOX, or Junk for `junkMailbox(mailbox)`. */
  readonly inboxId: string;
  readonly quotaBytes: number | null;
  /** The account's mailbox with special-use \Junk (the oldest, if several), if it has one. */
  readonly junkId?: string | null;
  /** The name of the mailbox `inboxId` is, for delivery replies: INBOX unless said otherwise. */
  readonly name?: string;
}

/**
 * The same account's Junk mailbox as the target of a delivery (DMARC quarantine, spam);
 * INBOX when the user has none (deleted it): mail is never lost for want of a Junk folder.
 */
export function junkMailbox(mailbox: LocalMailbox): LocalMailbox {
  if (!mailbox.junkId) return mailbox;
  return { ...mailbox, inboxId: mailbox.junkId, name: 'Junk' };
}

export type LocalRoute =
  | {
      readonly kind: 'account';
      readonly mailbox: LocalMailbox;
      /**
       * The account has an active Sieve script, or its domain a script every recipient runs
       * first (sieve_before): the delivery goes through Sieve. False is the common case,
       * which then costs no further query.
       */
      readonly sieve: boolean;
    }
  | { readonly kind: 'alias'; readonly destinations: readonly string[] }
  | { readonly kind: 'unknown' };

export interface RouteOptions {
  /**
   * TEGAMI_RECIPIENT_DELIMITER: `user+detail@domain` reaches `user@domain` when nothing has
   * the whole address and the domain allows subaddresses (RFC 5233); '' turns that off.
   */
  readonly recipientDelimiter?: string;
}

/**
 * Where an address in a local domain leads: an enabled account's INBOX, an alias's
 * destinations (one level), or nowhere (no such user, or disabled).
 */
export async function routeLocalRecipient(
  db: Queryable,
  address: string,
  options: RouteOptions = {},
): Promise<LocalRoute> {
  const [route] = await routeLocalRecipients(db, [address], options);
  return route!;
}

/** routeLocalRecipient for several addresses in one statement; the answers in order. */
export async function routeLocalRecipients(
  db: Queryable,
  addresses: readonly string[],
  options: RouteOptions = {},
): Promise<LocalRoute[]> {
  if (addresses.length === 0) return [];
  const lower = addresses.map((a) => a.toLowerCase());
  const delimiter = options.recipientDelimiter ?? DEFAULT_RECIPIENT_DELIMITER;
  const result = await db.query<{
    ord: string;
    account_id: string | null;
    address: string | null;
    quota_bytes: string | null;
    inbox_id: string | null;
    junk_id: string | null;
    sieve: boolean | null;
    destinations: string[] | null;
  }>({
    // Named: it runs for every job the worker takes (see claimQueuedMessages).
    name: 'tegami_route_local',
    // A subaddress falls back to its base address only when no account or alias has the
    // whole one (an account named "a+b" keeps its mail) and its domain allows it.
    text: `WITH i AS (
       SELECT i.ord,
              CASE WHEN i.base IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.address = i.address AND NOT a.disabled)
                    AND NOT EXISTS (SELECT 1 FROM aliases x WHERE x.address = i.address)
                    AND EXISTS (SELECT 1 FROM domains d WHERE d.name = substring(i.base from '@([^@]*)$') AND d.plus_addressing)
                   THEN i.base ELSE i.address END AS address
         FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS i(address, base, ord)
     )
     SELECT i.ord, a.id AS account_id, a.address, a.quota_bytes, m.id AS inbox_id,
            (SELECT min(j.id) FROM mailboxes j WHERE j.account_id = a.id AND j.special_use = '\\Junk'
                AND NOT j.noselect) AS junk_id,
            (EXISTS (SELECT 1 FROM sieve_scripts s WHERE s.account_id = a.id AND s.active)
              OR EXISTS (SELECT 1 FROM domains d WHERE d.id = a.domain_id AND d.sieve_before IS NOT NULL)) AS sieve,
            (SELECT array_agg(x.destination ORDER BY x.destination) FROM aliases x WHERE x.address = i.address) AS destinations
       FROM i
       LEFT JOIN accounts a ON a.address = i.address AND NOT a.disabled
       LEFT JOIN mailboxes m ON m.account_id = a.id AND m.name = 'INBOX'
      ORDER BY i.ord`,
    values: [lower, lower.map((a) => baseAddress(a, delimiter) ?? null)],
  });
  return result.rows.map((row): LocalRoute => {
    if (row.account_id !== null && row.inbox_id !== null) {
      return {
        kind: 'account',
        mailbox: {
          accountId: String(row.account_id),
          address: row.address!,
          inboxId: String(row.inbox_id),
          quotaBytes: row.quota_bytes === null ? null : Number(row.quota_bytes),
          junkId: row.junk_id === null ? null : String(row.junk_id),
        },
        sieve: row.sieve === true,
      };
    }
    if (row.destinations && row.destinations.length > 0)
      return { kind: 'alias', destinations: row.destinations };
    return { kind: 'unknown' };
  });
}

export interface LocalDeliveryInput {
  readonly deliveryId: string;
  readonly worker: string;
  readonly mailbox: LocalMailbox;
  /**
   * The queue's blob, stored by smtp-ingress and held by the queue row (a foreign key):
   * every local copy of the message points at it, none stores bytes of its own.
   */
  readonly blob: { readonly sha256: Buffer; readonly size: number };
  /** This recipient's own header lines (Return-Path, Delivered-To), served before the blob. */
  readonly headerPrefix: Buffer;
  /** Describes headerPrefix + blob: offsets and size count the prefix (withHeaderPrefix). */
  readonly metadata?: MessageMetadata;
  readonly searchText?: string;
  readonly internalDate: Date;
  readonly reply: string;
  /** The message's flags (a Sieve keep or fileinto with imap4flags), normalised; none when absent. */
  readonly flags?: readonly string[];
  /**
   * What Sieve did, when a script's only action was this one copy: kept on the delivery row
   * (deliveries.sieve_actions, for `tegami trace`) with the copy's UID added. Such a
   * delivery goes through here, batched, instead of store/sieve-delivery.ts's transaction.
   */
  readonly sieveRecord?: object;
}

export type LocalDeliveryResult =
  | {
      readonly kind: 'delivered';
      readonly uid: number;
      readonly modseq: bigint;
      /**
       * The statement also marked the message's queue row done: it has no recipient left
       * to try. False says nothing (another recipient may be settled elsewhere at once):
       * then the worker asks finishOrRemaining as before.
       */
      readonly queueDone: boolean;
    }
  /** Already settled (by an earlier run of the same job), or claimed by another worker. */
  | { readonly kind: 'not-held' }
  | { readonly kind: 'over-quota'; readonly usedBytes: number }
  /** The INBOX is gone, or its UIDs are used up. */
  | { readonly kind: 'no-mailbox' };

/**
 * Local delivery, exactly once, in one statement (so one transaction): the delivery row is
 * checked and locked, the quota checked against the account's counter, the UID
 * allocated, the message inserted (on the queue's blob, which it never stores again) and
 * the delivery recorded. A job redelivered after a crash finds the row delivered and does nothing; a crash before the commit leaves
 * no copy. The INBOX row is locked from the UID allocation to the commit, which every
 * delivery to it waits for: that is one statement and its commit here, no more.
 */
export async function deliverToMailbox(
  db: Queryable,
  input: LocalDeliveryInput,
): Promise<LocalDeliveryResult> {
  const [result] = await deliverManyToMailbox(db, input.mailbox, [input]);
  return result!;
}

/**
 * deliverToMailbox for several deliveries to one mailbox in one statement: one lock of
 * the mailbox row, one commit, UIDs in the order given and one MODSEQ for the lot
 * (RFC 7162 lets one change share it). Each message is held against the quota as the
 * account stood before the statement, so a batch may pass it by all but its last message:
 * the worker delivers to a mailbox with a quota one message at a time.
 */
export async function deliverManyToMailbox(
  db: Queryable,
  mailbox: LocalMailbox,
  inputs: readonly Omit<LocalDeliveryInput, 'mailbox'>[],
): Promise<LocalDeliveryResult[]> {
  const result = await db.query<{
    delivery_id: string;
    held: boolean;
    fits: boolean;
    used: string | null;
    uid: string | null;
    modseq: string | null;
    queue_done: boolean;
  }>({
    // Named: planning this statement cost Postgres about 1.2 ms a call, more than running it.
    name: 'tegami_deliver_many',
    text: `WITH input AS (
       SELECT * FROM unnest($2::bigint[], $3::text[], $4::bytea[], $5::bigint[], $6::bytea[], $7::timestamptz[],
                            $8::jsonb[], $9::text[], $10::text[], $13::text[], $14::jsonb[])
                WITH ORDINALITY AS i(delivery_id, claimant, sha, size, header_prefix, internal_date, metadata, search_text,
                                     reply, flag_list, sieve_record, ord)
     ), held AS (
       SELECT d.id, d.queue_id FROM deliveries d JOIN input i ON i.delivery_id = d.id AND d.claimed_by = i.claimant
        WHERE d.status IN ('pending', 'deferred')
        FOR UPDATE OF d
     ), usage AS (
       SELECT CASE WHEN $11::bigint IS NULL THEN NULL ELSE COALESCE(${usedBytesSql('$12')}, 0) END AS used
     ), go AS (
       SELECT i.*, row_number() OVER (ORDER BY i.ord) AS n
         FROM input i JOIN held h ON h.id = i.delivery_id, usage
        WHERE $11::bigint IS NULL OR usage.used + i.size <= $11::bigint
     ), allocated AS (${uidAllocationSql('$1', '(SELECT count(*) FROM go)')}
     ), numbered AS (
       SELECT go.*, allocated.first_uid + go.n - 1 AS uid, allocated.modseq FROM go, allocated
     ), message AS (${insertMessagesSql(
       {
         mailboxId: '$1',
         uid: 'uid',
         blobSha256: 'sha',
         size: 'size',
         internalDate: 'internal_date',
         // Flags travel space-separated (no flag holds a space): unnest cannot carry arrays of arrays.
         flags: "string_to_array(flag_list, ' ')",
         modseq: 'modseq',
         metadata: 'metadata',
         searchText: 'search_text',
         headerPrefix: 'header_prefix',
       },
       'numbered',
     )}
     ), delivery AS (
       UPDATE deliveries d SET status = 'delivered', attempts = attempts + 1, last_attempt_at = now(),
              last_reply = n.reply, status_code = '2.0.0', finished_at = now(), next_attempt_at = NULL,
              mailbox_id = $1, uid = n.uid, claimed_by = NULL, claimed_until = NULL,
              sieve_actions = CASE WHEN n.sieve_record IS NULL THEN d.sieve_actions
                                   ELSE jsonb_build_array(n.sieve_record || jsonb_build_object('uid', n.uid)) END
         FROM numbered n
        WHERE d.id = n.delivery_id
     ), attempt AS (
       INSERT INTO delivery_attempts (delivery_id, outcome, reply) SELECT delivery_id, 'delivered', reply FROM numbered
     ), finished AS (
       -- The messages this statement delivers the last waiting recipient of. This statement's
       -- own updates are not visible to it, hence the NOT IN; a recipient settled by another
       -- transaction meanwhile still counts as waiting, which only leaves the row to
       -- finishOrRemaining. Locked in id order: two batches never wait on each other crosswise.
       SELECT q.id FROM queue q
        WHERE q.id IN (SELECT h.queue_id FROM held h JOIN numbered n ON n.delivery_id = h.id)
          AND q.state = 'queued'
          AND NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.queue_id = q.id AND o.status IN ('pending', 'deferred')
                             AND o.id NOT IN (SELECT delivery_id FROM numbered))
        ORDER BY q.id
        FOR UPDATE OF q
     ), done AS (
       UPDATE queue q SET state = 'done' FROM finished f WHERE q.id = f.id RETURNING q.id
     )
     SELECT i.delivery_id, EXISTS (SELECT 1 FROM held h WHERE h.id = i.delivery_id) AS held,
            EXISTS (SELECT 1 FROM go WHERE go.delivery_id = i.delivery_id) AS fits,
            (SELECT used FROM usage) AS used, n.uid, n.modseq,
            EXISTS (SELECT 1 FROM held h JOIN done ON done.id = h.queue_id WHERE h.id = i.delivery_id) AS queue_done
       FROM input i LEFT JOIN numbered n ON n.delivery_id = i.delivery_id
      ORDER BY i.ord`,
    values: [
      mailbox.inboxId,
      inputs.map((x) => x.deliveryId),
      inputs.map((x) => x.worker),
      inputs.map((x) => x.blob.sha256),
      inputs.map((x) => x.headerPrefix.length + x.blob.size),
      inputs.map((x) => x.headerPrefix),
      inputs.map((x) => x.internalDate),
      inputs.map((x) => metadataParam(x.metadata)),
      inputs.map((x) => x.searchText ?? null),
      inputs.map((x) => x.reply),
      mailbox.quotaBytes,
      mailbox.accountId,
      inputs.map((x) => (x.flags ?? []).join(' ')),
      inputs.map((x) => (x.sieveRecord ? JSON.stringify(x.sieveRecord) : null)),
    ],
  });
  return result.rows.map((row): LocalDeliveryResult => {
    if (!row.held) return { kind: 'not-held' };
    if (!row.fits) return { kind: 'over-quota', usedBytes: Number(row.used ?? 0) };
    if (row.uid === null || row.modseq === null) return { kind: 'no-mailbox' };
    return { kind: 'delivered', uid: Number(row.uid), modseq: BigInt(row.modseq), queueDone: row.queue_done };
  });
}
