import type { MailboxAddress } from '@tegami/protocol/address';
import type pg from 'pg';
import type { Queryable } from './db.js';
import { StoreError } from './errors.js';

// Where an alias leads. A destination in a local domain must be a user or another alias:
// anything else is accepted at RCPT (the alias exists) and bounced at delivery.

/**
 * Refuses local destinations that are neither a user nor an alias. FOR SHARE keeps those
 * that exist until the caller's transaction commits: a concurrent `user remove` or `alias
 * remove` of one waits, then sees the new alias and refuses (refuseWhileDestination).
 */
export async function refuseDanglingDestinations(
  client: pg.PoolClient,
  destinations: readonly MailboxAddress[],
): Promise<void> {
  const domains = [...new Set(destinations.map((d) => d.domain))];
  const local = await client.query<{ name: string }>('SELECT name FROM domains WHERE name = ANY($1)', [
    domains,
  ]);
  const localDomains = new Set(local.rows.map((row) => row.name));
  const candidates = destinations.filter((d) => localDomains.has(d.domain));
  if (candidates.length === 0) return;
  const addresses = candidates.map((d) => d.canonical);
  const users = await client.query<{ address: string }>(
    'SELECT address FROM accounts WHERE address = ANY($1) FOR SHARE',
    [addresses],
  );
  const aliases = await client.query<{ address: string }>(
    'SELECT address FROM aliases WHERE address = ANY($1) FOR SHARE',
    [addresses],
  );
  const found = new Set([...users.rows, ...aliases.rows].map((row) => row.address));
  const missing = candidates.find((d) => !found.has(d.canonical));
  if (missing === undefined) return;
  throw new StoreError(
    'not_found',
    `${missing.canonical} is neither a user nor an alias, and ${missing.domain} is a local domain: ` +
      `mail to it would bounce. Add the user first (\`tegami user add ${missing.canonical}\`)`,
  );
}

/**
 * Refuses to remove a user or an alias while aliases deliver to it: they would accept mail
 * and bounce it. The caller holds the row (FOR UPDATE) so that no alias to it can be added
 * meanwhile. Refusing, rather than dropping those destinations, leaves the choice to the
 * operator: a role address such as postmaster@ or abuse@ (RFC 2142) must be pointed at
 * someone else, not vanish with the person who read it.
 */
export async function refuseWhileDestination(
  db: Queryable,
  address: string,
  what: 'user' | 'alias',
  /** An alias the caller hands on itself (a user's domain's postmaster: postmaster.ts). */
  handedOn?: string,
): Promise<void> {
  const result = await db.query<{ address: string }>(
    'SELECT DISTINCT address FROM aliases WHERE destination = $1 AND address IS DISTINCT FROM $2 ORDER BY address',
    [address, handedOn ?? null],
  );
  const aliases = result.rows.map((row) => row.address);
  if (aliases.length === 0) return;
  const which =
    aliases.length === 1 ? `the alias ${aliases[0]}` : `${aliases.length} aliases: ${aliases.join(', ')}`;
  const them = aliases.length === 1 ? 'it' : 'them';
  throw new StoreError(
    'conflict',
    `${what} ${address} is a destination of ${which}. Point ${them} elsewhere first, or remove ${address} ` +
      `from ${them} (\`tegami alias remove ${aliases[0]} ${address}\`)`,
  );
}

/** SQL: the destination column is in a local domain and is neither a user nor an alias. */
export function danglingDestination(column: string): string {
  return `(EXISTS (SELECT 1 FROM domains l WHERE l.name = substring(${column} FROM '@([^@]*)$'))
    AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.address = ${column})
    AND NOT EXISTS (SELECT 1 FROM aliases y WHERE y.address = ${column}))`;
}
