import type { Queryable } from './db.js';

// RFC 5321 §4.5.1: every local domain takes mail for postmaster@ it, and §4.1.1.3: a bare
// <Postmaster> is this host's postmaster. In Tegami the postmaster of a domain is an
// ordinary alias (or account) postmaster@<domain>, so `tegami alias` shows and changes it.
// The domain's first user becomes its postmaster unless one exists; when that user is
// removed, the next one takes over.

/**
 * Makes `address` the postmaster of its domain when the domain has none (no account and
 * no alias postmaster@<domain>). Run in the transaction that creates the account.
 * Returns whether it did.
 */
export async function adoptPostmaster(db: Queryable, domainId: string, address: string): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO aliases (domain_id, address, destination)
     SELECT d.id, 'postmaster@' || d.name, $2 FROM domains d
      WHERE d.id = $1
        AND NOT EXISTS (SELECT 1 FROM aliases x WHERE x.address = 'postmaster@' || d.name)
        AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.address = 'postmaster@' || d.name)`,
    [domainId, address],
  );
  return result.rowCount === 1;
}

export interface RemovedAccount {
  readonly removed: boolean;
  /** The user who is postmaster of the domain now, when the removed one was. */
  readonly newPostmaster?: string;
}

/**
 * Deletes the account (its mailboxes and messages go with it) and, when the domain's
 * postmaster alias delivered to it and nowhere else, hands the alias to the domain's
 * oldest remaining user, or drops it when none is left: a postmaster that bounces is
 * worse than one refused at RCPT. One statement, so nobody sees the alias dangling.
 */
export async function deleteAccount(db: Queryable, address: string): Promise<RemovedAccount> {
  const result = await db.query<{ removed: boolean; heir: string | null }>(
    `WITH gone AS (
       DELETE FROM accounts WHERE address = $1 RETURNING id, domain_id
     ), postmaster AS (
       SELECT 'postmaster@' || d.name AS address, g.domain_id, g.id AS gone_id
         FROM gone g JOIN domains d ON d.id = g.domain_id
     ), dropped AS (
       DELETE FROM aliases x USING postmaster p
        WHERE x.address = p.address AND x.destination = $1 RETURNING x.id
     ), heir AS (
       INSERT INTO aliases (domain_id, address, destination)
       SELECT p.domain_id, p.address, next_user.address FROM postmaster p
         JOIN LATERAL (SELECT a.address FROM accounts a
                        WHERE a.domain_id = p.domain_id AND a.id <> p.gone_id AND NOT a.disabled
                        ORDER BY a.id LIMIT 1) next_user ON true
        WHERE EXISTS (SELECT 1 FROM dropped)
          AND NOT EXISTS (SELECT 1 FROM aliases x WHERE x.address = p.address AND x.destination <> $1)
       RETURNING destination
     )
     SELECT EXISTS (SELECT 1 FROM gone) AS removed, (SELECT destination FROM heir) AS heir`,
    [address],
  );
  const row = result.rows[0]!;
  return row.heir ? { removed: row.removed, newPostmaster: row.heir } : { removed: row.removed };
}

/**
 * The local domain whose postmaster a bare <Postmaster> reaches: the host name when it is
 * a local domain, else the local domain the host name is in (mx.example.org →
 * example.org), else the first domain added. Undefined when there is no local domain.
 */
export async function postmasterDomain(db: Queryable, hostname: string): Promise<string | undefined> {
  const result = await db.query<{ name: string }>(
    `SELECT name FROM domains
      ORDER BY CASE WHEN name = $1 OR right($1, length(name) + 1) = '.' || name THEN length(name) ELSE 0 END DESC,
               id
      LIMIT 1`,
    [hostname.toLowerCase()],
  );
  return result.rows[0]?.name;
}
