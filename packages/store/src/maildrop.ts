import type { Queryable } from './db.js';

// What the pop-gateway needs from the store: an exclusive lock on a user's maildrop that
// holds across replicas, the maildrop itself (the INBOX), and POP-before-SMTP grants.

/**
 * Takes the account's maildrop lock for `holder` (a session id), or reports it taken.
 * A lease: renew it while the session lives; an expired one may be taken over.
 */
export async function acquireMaildropLock(
  db: Queryable,
  accountId: string,
  holder: string,
  leaseMs: number,
): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO maildrop_locks AS l (account_id, holder, expires_at)
     VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000))
     ON CONFLICT (account_id) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
      WHERE l.expires_at < now() OR l.holder = EXCLUDED.holder
     RETURNING holder`,
    [accountId, holder, leaseMs],
  );
  return (result.rowCount ?? 0) > 0;
}

/** Extends the lease; false when the lock is no longer this holder's (it expired and was taken). */
export async function renewMaildropLock(
  db: Queryable,
  accountId: string,
  holder: string,
  leaseMs: number,
): Promise<boolean> {
  const result = await db.query(
    `UPDATE maildrop_locks SET expires_at = now() + make_interval(secs => $3::double precision / 1000)
      WHERE account_id = $1 AND holder = $2`,
    [accountId, holder, leaseMs],
  );
  return (result.rowCount ?? 0) > 0;
}

export async function releaseMaildropLock(db: Queryable, accountId: string, holder: string): Promise<void> {
  await db.query('DELETE FROM maildrop_locks WHERE account_id = $1 AND holder = $2', [accountId, holder]);
}

/**
 * Records a POP3 login of the account unless the previous one was less than `delayMs` ago
 * (RFC 2449 LOGIN-DELAY, across every replica); false: too soon, and nothing recorded.
 */
export async function recordPopLogin(db: Queryable, accountId: string, delayMs: number): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO pop_logins AS l (account_id, logged_in_at) VALUES ($1, now())
     ON CONFLICT (account_id) DO UPDATE SET logged_in_at = EXCLUDED.logged_in_at
      WHERE l.logged_in_at <= now() - make_interval(secs => $2::double precision / 1000)
     RETURNING account_id`,
    [accountId, delayMs],
  );
  return (result.rowCount ?? 0) > 0;
}

export interface MaildropMessage {
  readonly uid: number;
  /** Octets with CRLF line ends (what POP3 counts), as the parser recorded; else stored size. */
  readonly size: number;
}

export interface Maildrop {
  readonly mailboxId: string;
  readonly uidValidity: number;
  /** In UID order: POP3 message n is messages[n - 1]. */
  readonly messages: readonly MaildropMessage[];
}

// The INBOX's messages as the maildrop lists them, in UID order, as one JSON array.
const MAILDROP_COLUMNS = `b.id AS mailbox_id, b.uidvalidity,
  (SELECT json_agg(json_build_object('uid', m.uid, 'size', COALESCE((m.metadata->>'crlfSize')::bigint, m.size))
                   ORDER BY m.uid)
     FROM messages m WHERE m.mailbox_id = b.id) AS messages`;

interface MaildropRow {
  mailbox_id: string;
  uidvalidity: string;
  messages: { uid: number; size: number }[] | null;
}

function toMaildrop(row: MaildropRow): Maildrop {
  return {
    mailboxId: String(row.mailbox_id),
    uidValidity: Number(row.uidvalidity),
    messages: (row.messages ?? []).map((m) => ({
      uid: Number(m.uid),
      size: Number(m.size),
    })),
  };
}

/**
 * The account's INBOX as a POP3 maildrop, snapshotted now. RETR and TOP read a message's
 * bytes by its UID (readMessageBytes): one that IMAP expunged since is gone.
 */
export async function openMaildrop(db: Queryable, accountId: string): Promise<Maildrop | undefined> {
  const result = await db.query<MaildropRow>(
    `SELECT ${MAILDROP_COLUMNS} FROM mailboxes b WHERE b.account_id = $1 AND b.name = 'INBOX'`,
    [accountId],
  );
  const row = result.rows[0];
  return row ? toMaildrop(row) : undefined;
}

/**
 * acquireMaildropLock and openMaildrop in one statement, one round trip of a POP3 login
 * instead of two: 'in-use' when another session holds the lock (the snapshot read with it
 * is dropped), undefined when the account has no INBOX (the lock is then taken, and the
 * caller releases it as after any session).
 */
export async function lockAndOpenMaildrop(
  db: Queryable,
  accountId: string,
  holder: string,
  leaseMs: number,
): Promise<Maildrop | 'in-use' | undefined> {
  const result = await db.query<MaildropRow & { locked: boolean }>(
    `WITH locked AS (
       INSERT INTO maildrop_locks AS l (account_id, holder, expires_at)
       VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000))
       ON CONFLICT (account_id) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
        WHERE l.expires_at < now() OR l.holder = EXCLUDED.holder
       RETURNING holder
     )
     SELECT EXISTS (SELECT 1 FROM locked) AS locked, snapshot.*
       FROM (SELECT 1) AS one
       LEFT JOIN (SELECT ${MAILDROP_COLUMNS} FROM mailboxes b WHERE b.account_id = $1 AND b.name = 'INBOX') AS snapshot
         ON true`,
    [accountId, holder, leaseMs],
  );
  const row = result.rows[0]!;
  if (!row.locked) return 'in-use';
  return row.mailbox_id === null ? undefined : toMaildrop(row);
}

/** Lets `address` relay through smtp-ingress without AUTH for ttlMs (POP-before-SMTP). */
export async function grantPopBeforeSmtp(db: Queryable, address: string, ttlMs: number): Promise<void> {
  await db.query(
    `INSERT INTO pop_before_smtp (client_address, expires_at)
     VALUES ($1, now() + make_interval(secs => $2::double precision / 1000))
     ON CONFLICT (client_address) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
    [address, ttlMs],
  );
}

export async function hasPopBeforeSmtp(db: Queryable, address: string): Promise<boolean> {
  const result = await db.query(
    'SELECT 1 FROM pop_before_smtp WHERE client_address = $1 AND expires_at > now()',
    [address],
  );
  return (result.rowCount ?? 0) > 0;
}
