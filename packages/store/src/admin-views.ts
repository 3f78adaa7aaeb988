import { mailboxAddress } from './accounts.js';
import { LOGIN_TALLY_PROTOCOLS, type LoginTallyProtocol } from './activity-tallies.js';
import type { Queryable } from './db.js';
import { StoreError } from './errors.js';

// What the admin API reads and changes beyond what the CLI's store functions give: domain
// settings beside their counts, an account's disabled flag, and the dashboard's numbers.

export interface DomainDetails {
  readonly name: string;
  readonly users: number;
  readonly aliases: number;
  readonly plusAddressing: boolean;
  readonly createdAt: Date;
}

export async function listDomainDetails(db: Queryable): Promise<DomainDetails[]> {
  const result = await db.query<{
    name: string;
    users: string;
    aliases: string;
    plus_addressing: boolean;
    created_at: Date;
  }>(
    `SELECT d.name, d.plus_addressing, d.created_at,
            (SELECT count(*) FROM accounts a WHERE a.domain_id = d.id) AS users,
            (SELECT count(DISTINCT address) FROM aliases x WHERE x.domain_id = d.id) AS aliases
       FROM domains d ORDER BY d.name`,
  );
  return result.rows.map((row) => ({
    name: row.name,
    users: Number(row.users),
    aliases: Number(row.aliases),
    plusAddressing: row.plus_addressing,
    createdAt: row.created_at,
  }));
}

/**
 * Disables or enables an account. A disabled account cannot log in (findAuthSecrets skips
 * it); mail to it is still accepted and delivered, so nothing bounces while it is off.
 */
export async function setAccountDisabled(
  db: Queryable,
  addressInput: string,
  disabled: boolean,
): Promise<void> {
  const address = mailboxAddress(addressInput);
  const result = await db.query('UPDATE accounts SET disabled = $2 WHERE address = $1', [
    address.canonical,
    disabled,
  ]);
  if (result.rowCount === 0) throw new StoreError('not_found', `no user ${address.canonical}`);
}

export interface MailStats {
  readonly queue: {
    /** Recipients of accepted messages not yet delivered, bounced or dropped. */
    readonly waiting: number;
    /** When the oldest message with a waiting recipient was accepted. */
    readonly oldestQueuedAt: Date | null;
    /** Of those, the ones whose last attempt failed temporarily. */
    readonly deferred: number;
  };
  readonly last24h: {
    /** Recipients whose delivery finished as delivered (local or remote) in the last 24 hours. */
    readonly delivered: number;
    /** Recipients that bounced (a DSN went to the sender). */
    readonly bounced: number;
    /** Delivery attempts that failed temporarily (one recipient may count several times). */
    readonly deferred: number;
    /** Messages smtp-ingress accepted (not those Tegami wrote itself: DSNs, Sieve replies). */
    readonly received: number;
    /** Logins whose credentials were verified, over all protocols (activity_tallies). */
    readonly loginsOk: number;
    /** Logins refused for their credentials (wrong password, unknown user, bad SASL data). */
    readonly loginsFailed: number;
    readonly loginsByProtocol: Readonly<
      Record<LoginTallyProtocol, { readonly ok: number; readonly failed: number }>
    >;
    /**
     * The spam filter's verdicts on mail received on port 25 (activity_tallies): accepted as
     * ham, accepted and filed as junk, refused for good at SMTP.
     */
    readonly spam: { readonly ham: number; readonly spam: number; readonly rejected: number };
  };
  readonly domains: number;
  readonly users: number;
  /** Messages in all mailboxes, and their sizes: what the quotas count (a copy counts each time). */
  readonly messages: number;
  readonly storedBytes: number;
}

/**
 * The dashboard's numbers, in one round trip; each comes from an indexed or small table. The
 * logins and spam verdicts come from the hourly activity_tallies: "the last 24 hours" is the
 * current hour and the 23 before it (between 23 and 24 hours), and the services write their
 * counts every few seconds, so the latest seconds may not be in yet.
 */
export async function mailStats(db: Queryable): Promise<MailStats> {
  const result = await db.query(
    `WITH waiting AS (
       SELECT d.status, q.received_at FROM deliveries d JOIN queue q ON q.id = d.queue_id
        WHERE q.state = 'queued' AND d.status IN ('pending', 'deferred')
     ), finished AS (
       SELECT status, count(*) AS n FROM deliveries
        WHERE status IN ('delivered', 'bounced') AND finished_at >= now() - interval '24 hours'
        GROUP BY status
     ), received AS (
       SELECT 1 FROM queue
        WHERE state <> 'accepting' AND reports_on IS NULL AND received_at >= now() - interval '24 hours'
     ), activity AS (
       SELECT kind, outcome, sum(count) AS n FROM activity_tallies
        WHERE hour > now() - interval '24 hours' GROUP BY kind, outcome
     )
     SELECT (SELECT count(*) FROM waiting) AS waiting,
            (SELECT min(received_at) FROM waiting) AS oldest,
            (SELECT count(*) FROM waiting WHERE status = 'deferred') AS waiting_deferred,
            (SELECT coalesce(sum(n), 0) FROM finished WHERE status = 'delivered') AS delivered,
            (SELECT coalesce(sum(n), 0) FROM finished WHERE status = 'bounced') AS bounced,
            (SELECT count(*) FROM delivery_attempts
              WHERE outcome = 'deferred' AND attempted_at >= now() - interval '24 hours') AS deferred,
            (SELECT count(*) FROM received) AS received,
            (SELECT coalesce(jsonb_object_agg(kind || ' ' || outcome, n), '{}') FROM activity) AS activity,
            (SELECT count(*) FROM domains) AS domains,
            (SELECT count(*) FROM accounts) AS users,
            (SELECT coalesce(sum(messages), 0) FROM account_usage) AS messages,
            (SELECT coalesce(sum(bytes), 0) FROM account_usage) AS stored_bytes`,
  );
  const row = result.rows[0];
  const activity = row.activity as Record<string, number | string>;
  const tally = (kind: string, outcome: string) => Number(activity[`${kind} ${outcome}`] ?? 0);
  const loginsByProtocol = Object.fromEntries(
    LOGIN_TALLY_PROTOCOLS.map((p) => [
      p,
      { ok: tally(`login:${p}`, 'ok'), failed: tally(`login:${p}`, 'failed') },
    ]),
  ) as Record<LoginTallyProtocol, { ok: number; failed: number }>;
  const logins = Object.values(loginsByProtocol);
  return {
    queue: {
      waiting: Number(row.waiting),
      oldestQueuedAt: row.oldest ?? null,
      deferred: Number(row.waiting_deferred),
    },
    last24h: {
      delivered: Number(row.delivered),
      bounced: Number(row.bounced),
      deferred: Number(row.deferred),
      received: Number(row.received),
      loginsOk: logins.reduce((sum, l) => sum + l.ok, 0),
      loginsFailed: logins.reduce((sum, l) => sum + l.failed, 0),
      loginsByProtocol,
      spam: { ham: tally('spam', 'ham'), spam: tally('spam', 'spam'), rejected: tally('spam', 'rejected') },
    },
    domains: Number(row.domains),
    users: Number(row.users),
    messages: Number(row.messages),
    storedBytes: Number(row.stored_bytes),
  };
}
