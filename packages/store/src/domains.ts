import { parseDomain } from '@tegami/protocol/address';
import type { Queryable } from './db.js';
import { isUniqueViolation, StoreError } from './errors.js';

export interface Domain {
  readonly id: string;
  readonly name: string;
  readonly accounts: number;
  readonly aliases: number;
}

export async function addDomain(db: Queryable, input: string): Promise<Domain> {
  const name = domainName(input);
  try {
    const result = await db.query<{ id: string }>('INSERT INTO domains (name) VALUES ($1) RETURNING id', [
      name,
    ]);
    return { id: result.rows[0]!.id, name, accounts: 0, aliases: 0 };
  } catch (err) {
    if (isUniqueViolation(err)) throw new StoreError('duplicate', `domain ${name} exists already`);
    throw err;
  }
}

/** Creates the domain unless it exists (the standalone's first start). */
export async function ensureDomain(db: Queryable, input: string): Promise<{ created: boolean }> {
  const result = await db.query('INSERT INTO domains (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [
    domainName(input),
  ]);
  return { created: result.rowCount === 1 };
}

export async function listDomains(db: Queryable): Promise<Domain[]> {
  const result = await db.query<{ id: string; name: string; accounts: string; aliases: string }>(
    `SELECT d.id, d.name,
            (SELECT count(*) FROM accounts a WHERE a.domain_id = d.id) AS accounts,
            (SELECT count(DISTINCT address) FROM aliases x WHERE x.domain_id = d.id) AS aliases
       FROM domains d ORDER BY d.name`,
  );
  return result.rows.map((row) => ({ ...row, accounts: Number(row.accounts), aliases: Number(row.aliases) }));
}

/** Refuses while accounts or aliases remain: removing a domain must never drop mailboxes silently. */
export async function removeDomain(db: Queryable, input: string): Promise<void> {
  const name = domainName(input);
  const domain = (await listDomains(db)).find((d) => d.name === name);
  if (!domain) throw new StoreError('not_found', `no domain ${name}`);
  if (domain.accounts > 0 || domain.aliases > 0) {
    throw new StoreError(
      'conflict',
      `domain ${name} still has ${domain.accounts} account(s) and ${domain.aliases} alias(es): remove them first, or say --with-users (\`tegami domain remove ${name} --with-users\`)`,
    );
  }
  await db.query('DELETE FROM domains WHERE id = $1', [domain.id]);
}

export async function findDomainId(db: Queryable, name: string): Promise<string | undefined> {
  const result = await db.query<{ id: string }>('SELECT id FROM domains WHERE name = $1', [name]);
  return result.rows[0]?.id;
}

export function domainName(input: string): string {
  const parsed = parseDomain(input);
  if (!parsed.ok) throw new StoreError('invalid', parsed.problem);
  return parsed.domain;
}
