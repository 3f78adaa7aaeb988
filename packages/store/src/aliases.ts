import type pg from 'pg';
import { lockDomain, mailboxAddress } from './accounts.js';
import type { Queryable } from './db.js';
import { withTransaction } from './db.js';
import { isUniqueViolation, StoreError } from './errors.js';

export interface Alias {
  readonly address: string;
  readonly destinations: readonly string[];
}

/** Adds destinations to an alias (creating it); the alias must be in a local domain. */
export async function addAlias(
  pool: pg.Pool,
  aliasInput: string,
  destinationInputs: readonly string[],
): Promise<Alias> {
  const alias = mailboxAddress(aliasInput);
  if (destinationInputs.length === 0)
    throw new StoreError('invalid', 'an alias needs at least one destination');
  const destinations = destinationInputs.map((input) => mailboxAddress(input).canonical);
  if (destinations.includes(alias.canonical))
    throw new StoreError('invalid', 'an alias cannot point at itself');
  try {
    await withTransaction(pool, async (client) => {
      const domainId = await lockDomain(client, alias.domain);
      const account = await client.query('SELECT 1 FROM accounts WHERE address = $1', [alias.canonical]);
      if (account.rowCount) throw new StoreError('duplicate', `${alias.canonical} is a user already`);
      for (const destination of destinations) {
        await client.query('INSERT INTO aliases (domain_id, address, destination) VALUES ($1, $2, $3)', [
          domainId,
          alias.canonical,
          destination,
        ]);
      }
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new StoreError('duplicate', `${alias.canonical} already points there`);
    throw err;
  }
  return (await findAlias(pool, alias.canonical))!;
}

export async function listAliases(db: Queryable, domain?: string): Promise<Alias[]> {
  const result = await db.query<{ address: string; destinations: string[] }>(
    `SELECT x.address, array_agg(x.destination ORDER BY x.destination) AS destinations
       FROM aliases x JOIN domains d ON d.id = x.domain_id
      WHERE $1::text IS NULL OR d.name = $1
      GROUP BY x.address ORDER BY x.address`,
    [domain ?? null],
  );
  return result.rows;
}

export async function findAlias(db: Queryable, address: string): Promise<Alias | undefined> {
  const result = await db.query<{ destination: string }>(
    'SELECT destination FROM aliases WHERE address = $1 ORDER BY destination',
    [mailboxAddress(address).canonical],
  );
  if (result.rowCount === 0) return undefined;
  return {
    address: mailboxAddress(address).canonical,
    destinations: result.rows.map((row) => row.destination),
  };
}

/** Removes the whole alias, or only the named destinations of it. */
export async function removeAlias(
  db: Queryable,
  aliasInput: string,
  destinationInputs: readonly string[] = [],
): Promise<void> {
  const alias = mailboxAddress(aliasInput).canonical;
  const destinations = destinationInputs.map((input) => mailboxAddress(input).canonical);
  const result =
    destinations.length === 0
      ? await db.query('DELETE FROM aliases WHERE address = $1', [alias])
      : await db.query('DELETE FROM aliases WHERE address = $1 AND destination = ANY($2)', [
          alias,
          destinations,
        ]);
  if (result.rowCount === 0) {
    throw new StoreError(
      'not_found',
      destinations.length === 0 ? `no alias ${alias}` : `${alias} has no such destination`,
    );
  }
}
