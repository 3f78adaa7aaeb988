import type pg from 'pg';
import { lockDomain, mailboxAddress } from './accounts.js';
import {
  danglingDestination,
  refuseDanglingDestinations,
  refuseWhileDestination,
} from './alias-destinations.js';
import type { Queryable } from './db.js';
import { withTransaction } from './db.js';
import { isUniqueViolation, StoreError } from './errors.js';

export interface Alias {
  readonly address: string;
  readonly destinations: readonly string[];
}

export interface ListedAlias extends Alias {
  /**
   * Destinations in a local domain that are neither a user nor an alias: mail to them is
   * accepted for the alias, then bounces. addAlias, removeAlias and removeAccount let none
   * arise, but databases from before them may hold some.
   */
  readonly dangling: readonly string[];
}

/**
 * Adds destinations to an alias (creating it); the alias must be in a local domain. A
 * destination in a local domain must be a user or an alias already: anything else would
 * accept mail at RCPT and bounce it later. Other domains' addresses are forwarding.
 */
export async function addAlias(
  pool: pg.Pool,
  aliasInput: string,
  destinationInputs: readonly string[],
): Promise<Alias> {
  const alias = mailboxAddress(aliasInput);
  if (destinationInputs.length === 0)
    throw new StoreError('invalid', 'an alias needs at least one destination');
  const destinations = destinationInputs.map((input) => mailboxAddress(input));
  if (destinations.some((d) => d.canonical === alias.canonical))
    throw new StoreError('invalid', 'an alias cannot point at itself');
  try {
    await withTransaction(pool, async (client) => {
      const domainId = await lockDomain(client, alias.domain);
      const account = await client.query('SELECT 1 FROM accounts WHERE address = $1', [alias.canonical]);
      if (account.rowCount) throw new StoreError('duplicate', `${alias.canonical} is a user already`);
      await refuseDanglingDestinations(client, destinations);
      for (const destination of destinations) {
        await client.query('INSERT INTO aliases (domain_id, address, destination) VALUES ($1, $2, $3)', [
          domainId,
          alias.canonical,
          destination.canonical,
        ]);
      }
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new StoreError('duplicate', `${alias.canonical} already points there`);
    throw err;
  }
  return (await findAlias(pool, alias.canonical))!;
}

export async function listAliases(db: Queryable, domain?: string): Promise<ListedAlias[]> {
  const result = await db.query<{ address: string; destinations: string[]; dangling: string[] }>(
    `SELECT x.address, array_agg(x.destination ORDER BY x.destination) AS destinations,
            array_remove(array_agg(CASE WHEN ${danglingDestination('x.destination')} THEN x.destination END ORDER BY x.destination), NULL)
              AS dangling
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

/**
 * Removes the whole alias, or only the named destinations of it. An alias that other
 * aliases deliver to stays while they do, as a user does (removeAccount).
 */
export async function removeAlias(
  pool: pg.Pool,
  aliasInput: string,
  destinationInputs: readonly string[] = [],
): Promise<void> {
  const alias = mailboxAddress(aliasInput).canonical;
  const destinations = destinationInputs.map((input) => mailboxAddress(input).canonical);
  await withTransaction(pool, async (client) => {
    const rows = await client.query<{ destination: string }>(
      'SELECT destination FROM aliases WHERE address = $1 FOR UPDATE',
      [alias],
    );
    if (rows.rowCount === 0) throw new StoreError('not_found', `no alias ${alias}`);
    const doomed = rows.rows.filter((r) => destinations.length === 0 || destinations.includes(r.destination));
    if (doomed.length === 0) throw new StoreError('not_found', `${alias} has no such destination`);
    if (doomed.length === rows.rowCount) await refuseWhileDestination(client, alias, 'alias');
    await client.query('DELETE FROM aliases WHERE address = $1 AND destination = ANY($2)', [
      alias,
      doomed.map((r) => r.destination),
    ]);
  });
}
