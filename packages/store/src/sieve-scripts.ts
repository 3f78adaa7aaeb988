import type pg from 'pg';
import { type Queryable, withTransaction } from './db.js';
import { domainName } from './domains.js';
import { isUniqueViolation, StoreError } from './errors.js';

// Users' Sieve scripts and the administrator's global ones (migration 0024), as ManageSieve
// (RFC 5804) and `tegami sieve` change them and the delivery-worker reads them. Names are
// compared exactly, as stored. `updated_at` is when the content last changed (a cache of
// compiled scripts keys on it); activating or renaming a script leaves it.
//
// Refusals a client can act on are values (RFC 5804's response codes map onto them one to
// one); a thrown error is a failure of the store itself.

export interface SieveScriptSummary {
  readonly name: string;
  readonly active: boolean;
  readonly updatedAt: Date;
}

export interface SieveScript extends SieveScriptSummary {
  readonly content: string;
}

/** How much one account may keep: ManageSieve's QUOTA/MAXSCRIPTS and QUOTA/MAXSIZE (§1.3). */
export interface SieveScriptLimits {
  readonly maxScripts: number;
  /** Largest script, in UTF-8 octets. */
  readonly maxBytes: number;
}

export type SieveQuotaRefusal =
  | { readonly kind: 'quota'; readonly limit: 'maxscripts'; readonly maxScripts: number }
  | { readonly kind: 'quota'; readonly limit: 'maxsize'; readonly maxBytes: number };

export type SieveSpaceAnswer = { readonly kind: 'ok' } | SieveQuotaRefusal;

export type SieveScriptPutResult =
  /** `created`: a new script; otherwise the content of the one by that name was replaced. */
  { readonly kind: 'stored'; readonly created: boolean } | SieveQuotaRefusal;

export async function listSieveScripts(db: Queryable, accountId: string): Promise<SieveScriptSummary[]> {
  const result = await db.query<{ name: string; active: boolean; updated_at: Date }>(
    'SELECT name, active, updated_at FROM sieve_scripts WHERE account_id = $1 ORDER BY name',
    [accountId],
  );
  return result.rows.map((row) => ({ name: row.name, active: row.active, updatedAt: row.updated_at }));
}

export async function getSieveScript(
  db: Queryable,
  accountId: string,
  name: string,
): Promise<SieveScript | undefined> {
  const result = await db.query<{ name: string; content: string; active: boolean; updated_at: Date }>(
    'SELECT name, content, active, updated_at FROM sieve_scripts WHERE account_id = $1 AND name = $2',
    [accountId, name],
  );
  const row = result.rows[0];
  return row && { name: row.name, content: row.content, active: row.active, updatedAt: row.updated_at };
}

/**
 * HAVESPACE (RFC 5804 §2.5): whether a script of `bytes` octets named `name` would fit. A
 * script replacing one of the same name takes no new slot.
 */
export async function sieveScriptSpace(
  db: Queryable,
  accountId: string,
  name: string,
  bytes: number,
  limits: SieveScriptLimits,
): Promise<SieveSpaceAnswer> {
  if (bytes > limits.maxBytes) return { kind: 'quota', limit: 'maxsize', maxBytes: limits.maxBytes };
  const counted = await countScripts(db, accountId, name);
  if (!counted.exists && counted.total >= limits.maxScripts)
    return { kind: 'quota', limit: 'maxscripts', maxScripts: limits.maxScripts };
  return { kind: 'ok' };
}

/**
 * PUTSCRIPT (§2.6): stores the script, or replaces the content of the one by that name (an
 * active script stays active: the new content runs from the next delivery on). Within the
 * limits; the caller has compiled it already.
 */
export async function putSieveScript(
  pool: pg.Pool,
  accountId: string,
  name: string,
  content: string,
  limits: SieveScriptLimits,
): Promise<SieveScriptPutResult> {
  if (Buffer.byteLength(content, 'utf8') > limits.maxBytes)
    return { kind: 'quota', limit: 'maxsize', maxBytes: limits.maxBytes };
  return withTransaction(pool, async (client) => {
    // One writer per account at a time, so two sessions cannot both take the last free slot.
    // NO KEY: rows that only reference the account (messages, deliveries) go on.
    const account = await client.query('SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE', [accountId]);
    if (account.rowCount === 0) throw new StoreError('not_found', `no account ${accountId}`);
    const counted = await countScripts(client, accountId, name);
    if (!counted.exists && counted.total >= limits.maxScripts)
      return { kind: 'quota', limit: 'maxscripts', maxScripts: limits.maxScripts };
    await client.query(
      `INSERT INTO sieve_scripts (account_id, name, content) VALUES ($1, $2, $3)
       ON CONFLICT (account_id, name) DO UPDATE SET content = EXCLUDED.content, updated_at = now()`,
      [accountId, name, content],
    );
    return { kind: 'stored', created: !counted.exists };
  });
}

async function countScripts(
  db: Queryable,
  accountId: string,
  name: string,
): Promise<{ readonly total: number; readonly exists: boolean }> {
  const result = await db.query<{ total: string; present: boolean }>(
    `SELECT count(*) AS total, coalesce(bool_or(name = $2), false) AS present
       FROM sieve_scripts WHERE account_id = $1`,
    [accountId, name],
  );
  const row = result.rows[0]!;
  return { total: Number(row.total), exists: row.present };
}

/**
 * SETACTIVE (§2.8): makes `name` the account's active script and deactivates the one that
 * was, in one statement; null deactivates whichever is active. 'nonexistent' changes nothing.
 */
export async function activateSieveScript(
  pool: pg.Pool,
  accountId: string,
  name: string | null,
): Promise<'ok' | 'nonexistent'> {
  if (name === null) {
    await pool.query('UPDATE sieve_scripts SET active = false WHERE account_id = $1 AND active', [accountId]);
    return 'ok';
  }
  return withTransaction(pool, async (client) => {
    // One writer per account, as in putSieveScript: two sessions activating different scripts
    // at once would otherwise each wait on the row the other switches (a deadlock), or meet
    // in the one-active index. Serialised, each sees what the one before it left.
    await client.query('SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE', [accountId]);
    const target = await client.query('SELECT id FROM sieve_scripts WHERE account_id = $1 AND name = $2', [
      accountId,
      name,
    ]);
    if (target.rowCount === 0) return 'nonexistent';
    // The unique index allows one active row at every moment, so the old one goes off first.
    await client.query(
      'UPDATE sieve_scripts SET active = false WHERE account_id = $1 AND active AND name <> $2',
      [accountId, name],
    );
    await client.query('UPDATE sieve_scripts SET active = true WHERE id = $1 AND NOT active', [
      target.rows[0].id,
    ]);
    return 'ok';
  });
}

/** DELETESCRIPT (§2.10): the active script is not deleted ('active': deactivate it first). */
export async function deleteSieveScript(
  db: Queryable,
  accountId: string,
  name: string,
): Promise<'deleted' | 'active' | 'nonexistent'> {
  // `NOT active` is checked again on the row as it is when the DELETE gets to it, so a
  // SETACTIVE committed meanwhile is respected.
  const deleted = await db.query(
    'DELETE FROM sieve_scripts WHERE account_id = $1 AND name = $2 AND NOT active',
    [accountId, name],
  );
  if (deleted.rowCount !== 0) return 'deleted';
  const found = await db.query('SELECT 1 FROM sieve_scripts WHERE account_id = $1 AND name = $2', [
    accountId,
    name,
  ]);
  return found.rowCount === 0 ? 'nonexistent' : 'active';
}

/**
 * RENAMESCRIPT (§2.11.1): an active script stays active under its new name. A script by the
 * new name, the renamed one itself included, is 'already-exists'.
 */
export async function renameSieveScript(
  db: Queryable,
  accountId: string,
  oldName: string,
  newName: string,
): Promise<'renamed' | 'nonexistent' | 'already-exists'> {
  try {
    const result = await db.query(
      'UPDATE sieve_scripts SET name = $3 WHERE account_id = $1 AND name = $2 AND $2 <> $3',
      [accountId, oldName, newName],
    );
    if (result.rowCount !== 0) return 'renamed';
  } catch (err) {
    if (isUniqueViolation(err)) return 'already-exists';
    throw err;
  }
  const found = await db.query('SELECT 1 FROM sieve_scripts WHERE account_id = $1 AND name = $2', [
    accountId,
    oldName,
  ]);
  return found.rowCount === 0 ? 'nonexistent' : 'already-exists';
}

// ---- The administrator's scripts: `include :global` (RFC 6609 §3.2) and each domain's
// script run before its users' own.

export interface GlobalSieveScriptSummary {
  readonly name: string;
  readonly updatedAt: Date;
  /** The domains that run it before their users' scripts. */
  readonly beforeIn: readonly string[];
}

export interface GlobalSieveScript {
  readonly name: string;
  readonly content: string;
  readonly updatedAt: Date;
}

export async function putGlobalSieveScript(
  db: Queryable,
  name: string,
  content: string,
): Promise<{ readonly created: boolean }> {
  const result = await db.query<{ created: boolean }>(
    `INSERT INTO sieve_global_scripts (name, content) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET content = EXCLUDED.content, updated_at = now()
     RETURNING (xmax = 0) AS created`,
    [name, content],
  );
  return { created: result.rows[0]!.created };
}

export async function getGlobalSieveScript(
  db: Queryable,
  name: string,
): Promise<GlobalSieveScript | undefined> {
  const result = await db.query<{ name: string; content: string; updated_at: Date }>(
    'SELECT name, content, updated_at FROM sieve_global_scripts WHERE name = $1',
    [name],
  );
  const row = result.rows[0];
  return row && { name: row.name, content: row.content, updatedAt: row.updated_at };
}

export async function listGlobalSieveScripts(db: Queryable): Promise<GlobalSieveScriptSummary[]> {
  const result = await db.query<{ name: string; updated_at: Date; before_in: string[] }>(
    `SELECT g.name, g.updated_at,
            coalesce(array_agg(d.name ORDER BY d.name) FILTER (WHERE d.name IS NOT NULL), '{}') AS before_in
       FROM sieve_global_scripts g LEFT JOIN domains d ON d.sieve_before = g.name
      GROUP BY g.name, g.updated_at ORDER BY g.name`,
  );
  return result.rows.map((row) => ({ name: row.name, updatedAt: row.updated_at, beforeIn: row.before_in }));
}

/**
 * Deletes a global script, unless a domain runs it before its users' scripts ('in-use',
 * with those domains): mail to them would run nothing where the operator asked for a
 * script. Users' `include :global` of it are not looked for; a missing include is their
 * script's run-time error (RFC 6609 §3.2), or skipped when `:optional`.
 */
export async function deleteGlobalSieveScript(
  db: Queryable,
  name: string,
): Promise<
  | { readonly kind: 'deleted' }
  | { readonly kind: 'nonexistent' }
  | { readonly kind: 'in-use'; readonly domains: readonly string[] }
> {
  const result = await db.query<{ deleted: string; present: boolean; domains: string[] }>(
    `WITH users AS (SELECT coalesce(array_agg(name ORDER BY name), '{}') AS domains
                      FROM domains WHERE sieve_before = $1),
          gone AS (DELETE FROM sieve_global_scripts
                    WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM domains WHERE sieve_before = $1)
                   RETURNING 1)
     SELECT (SELECT count(*) FROM gone) AS deleted,
            EXISTS (SELECT 1 FROM sieve_global_scripts WHERE name = $1) AS present,
            (SELECT domains FROM users) AS domains`,
    [name],
  );
  const row = result.rows[0]!;
  if (Number(row.deleted) > 0) return { kind: 'deleted' };
  if (!row.present) return { kind: 'nonexistent' };
  return { kind: 'in-use', domains: row.domains };
}

/**
 * The global script every recipient in `domain` runs before their own (Pigeonhole's
 * sieve_before); null: none. The script must exist. A malformed domain name throws
 * StoreError('invalid').
 */
export async function setDomainSieveBefore(
  db: Queryable,
  domain: string,
  name: string | null,
): Promise<'ok' | 'no-domain' | 'no-script'> {
  if (name !== null) {
    const script = await db.query('SELECT 1 FROM sieve_global_scripts WHERE name = $1', [name]);
    if (script.rowCount === 0) return 'no-script';
  }
  const result = await db.query('UPDATE domains SET sieve_before = $2 WHERE name = $1', [
    domainName(domain),
    name,
  ]);
  return result.rowCount === 0 ? 'no-domain' : 'ok';
}
