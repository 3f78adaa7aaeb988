import type { Queryable } from './db.js';

// What the delivery-worker reads before it runs a recipient's Sieve script: the scripts, and
// what a run may ask about the user (their addresses, their mailboxes, the ids `duplicate`
// recorded). Only recipients whose route says they have a script come here
// (routeLocalRecipients' `sieve`), so a user without one never pays for these queries.

/** One script as stored, with what names its version (for the compiled-script cache). */
export interface StoredSieveScript {
  /** `personal:<script id>` or `global:<name>`: stable across renames of a personal script. */
  readonly key: string;
  readonly name: string;
  readonly content: string;
  /** updated_at exactly as Postgres has it (microseconds), so it can be matched again. */
  readonly version: string;
}

export interface SieveDeliveryContext {
  /** The account's active script; null: none. */
  readonly personal: StoredSieveScript | null;
  /** domains.sieve_before: the global script run first for every recipient of the domain. */
  readonly beforeName: string | null;
  /** That script, or null when none is set or the name matches no global script. */
  readonly before: StoredSieveScript | null;
  /**
   * Changes whenever any of the account's scripts or any global script changes: `include`
   * (RFC 6609) may name any of them, so a compiled script is only as fresh as these.
   */
  readonly includeVersion: string;
  /** The account's address and the aliases that deliver to it (vacation's :addresses, RFC 5230 §4.5). */
  readonly ownAddresses: readonly string[];
  /** The spam filter's verdict stored on the queue row (migration 0010), for spamtest (RFC 5235). */
  readonly spam: { readonly score: number; readonly threshold: number } | null;
  /** The SMTP client the message came from (RFC 5183 `remote-ip`), when it came over SMTP. */
  readonly clientAddress: string | null;
  /** Who submitted it with SMTP AUTH (RFC 5228 §5.4 `envelope "auth"`), when someone did. */
  readonly authenticatedAs: string | null;
  /**
   * The account's mailboxes that can take mail (not \Noselect), name → id: for mailboxexists
   * (RFC 5490), and so a fileinto into one that exists needs no lookup of its own.
   */
  readonly mailboxes: ReadonlyMap<string, string>;
}

function storedScript(
  value: unknown,
  key: (row: Record<string, unknown>) => string,
): StoredSieveScript | null {
  if (value === null || value === undefined) return null;
  const row = value as Record<string, unknown>;
  return {
    key: key(row),
    name: String(row.name),
    content: String(row.content),
    version: String(row.version),
  };
}

/** Everything a Sieve run for this account and queued message needs, in one round trip. */
export async function loadSieveDeliveryContext(
  db: Queryable,
  accountId: string,
  queueId: string,
): Promise<SieveDeliveryContext | undefined> {
  const result = await db.query<{
    personal: unknown;
    before_name: string | null;
    before: unknown;
    include_version: string;
    addresses: string[];
    spam: { score?: unknown; required?: unknown } | null;
    client_address: string | null;
    authenticated_as: string | null;
    mailboxes: Record<string, string | number> | null;
  }>({
    name: 'tegami_sieve_context',
    text: `SELECT
       (SELECT json_build_object('id', s.id, 'name', s.name, 'content', s.content, 'version', s.updated_at::text)
          FROM sieve_scripts s WHERE s.account_id = a.id AND s.active) AS personal,
       d.sieve_before AS before_name,
       (SELECT json_build_object('name', g.name, 'content', g.content, 'version', g.updated_at::text)
          FROM sieve_global_scripts g WHERE g.name = d.sieve_before) AS before,
       (SELECT count(*) || '@' || COALESCE(max(updated_at)::text, '') FROM sieve_scripts WHERE account_id = a.id)
         || ';' || (SELECT count(*) || '@' || COALESCE(max(updated_at)::text, '') FROM sieve_global_scripts)
         AS include_version,
       ARRAY[a.address] || COALESCE((SELECT array_agg(x.address ORDER BY x.address) FROM aliases x
                                     WHERE x.destination = a.address), '{}') AS addresses,
       q.verdict -> 'spam' AS spam, q.client_address,
       (SELECT s.address FROM accounts s WHERE s.id = q.authenticated_as) AS authenticated_as,
       (SELECT json_object_agg(m.name, m.id) FROM mailboxes m WHERE m.account_id = a.id AND NOT m.noselect) AS mailboxes
       FROM accounts a JOIN domains d ON d.id = a.domain_id LEFT JOIN queue q ON q.id = $2
      WHERE a.id = $1`,
    values: [accountId, queueId],
  });
  const row = result.rows[0];
  if (!row) return undefined;
  const spam = row.spam;
  return {
    personal: storedScript(row.personal, (s) => `personal:${s.id}`),
    beforeName: row.before_name,
    before: storedScript(row.before, (s) => `global:${s.name}`),
    includeVersion: row.include_version,
    ownAddresses: row.addresses,
    // An unscanned message ({ unscanned: why }) has no score: spamtest then says 0 (RFC 5235 §3.2).
    spam:
      typeof spam?.score === 'number' && typeof spam.required === 'number'
        ? { score: spam.score, threshold: spam.required }
        : null,
    clientAddress: row.client_address,
    authenticatedAs: row.authenticated_as,
    mailboxes: new Map(Object.entries(row.mailboxes ?? {}).map(([name, id]) => [name, String(id)])),
  };
}

/** The scripts `include` names (RFC 6609): the account's own by name, and global ones. */
export async function loadSieveIncludes(
  db: Queryable,
  accountId: string,
  names: { readonly personal: readonly string[]; readonly global: readonly string[] },
): Promise<{ personal: Map<string, string>; global: Map<string, string> }> {
  const result = await db.query<{ location: 'personal' | 'global'; name: string; content: string }>(
    `SELECT 'personal' AS location, name, content FROM sieve_scripts WHERE account_id = $1 AND name = ANY($2::text[])
     UNION ALL
     SELECT 'global', name, content FROM sieve_global_scripts WHERE name = ANY($3::text[])`,
    [accountId, names.personal, names.global],
  );
  const found = { personal: new Map<string, string>(), global: new Map<string, string>() };
  for (const row of result.rows) found[row.location].set(row.name, row.content);
  return found;
}

/** Which of these `duplicate` ids (RFC 7352) the account recorded and that have not expired. */
export async function findSieveDuplicates(
  db: Queryable,
  accountId: string,
  keys: readonly string[],
): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const result = await db.query<{ key: string }>(
    'SELECT key FROM sieve_duplicates WHERE account_id = $1 AND key = ANY($2::text[]) AND expires_at > now()',
    [accountId, keys],
  );
  return new Set(result.rows.map((row) => row.key));
}
