import type { Queryable } from './db.js';

export type RecipientKind = 'account' | 'alias' | 'unknown-user' | 'remote';

/**
 * What an envelope address is to this installation: a user, an alias, an unknown name in a
 * local domain (550 5.1.1 at RCPT), or another domain's address. The local part is
 * compared case-insensitively, as accounts and aliases are stored.
 */
export async function classifyRecipient(
  db: Queryable,
  localPart: string,
  domain: string,
): Promise<RecipientKind> {
  const address = `${localPart.toLowerCase()}@${domain.toLowerCase()}`;
  // Named, so each pooled connection parses and plans it once: it runs for every RCPT.
  const result = await db.query<{ local_domain: boolean; account: boolean; alias: boolean }>({
    name: 'tegami_classify_recipient',
    text: `SELECT EXISTS (SELECT 1 FROM domains WHERE name = $2) AS local_domain,
                  EXISTS (SELECT 1 FROM accounts WHERE address = $1 AND NOT disabled) AS account,
                  EXISTS (SELECT 1 FROM aliases WHERE address = $1) AS alias`,
    values: [address, domain.toLowerCase()],
  });
  const row = result.rows[0]!;
  if (!row.local_domain) return 'remote';
  if (row.account) return 'account';
  if (row.alias) return 'alias';
  return 'unknown-user';
}

/**
 * May this account send with this envelope sender? Its own address, or an alias that
 * delivers to it (RFC 6409 §6.1: the submission server checks the sender is authorised).
 */
export async function isSenderAllowed(db: Queryable, accountId: string, sender: string): Promise<boolean> {
  const result = await db.query(
    `SELECT 1 FROM accounts a
      WHERE a.id = $1 AND (a.address = $2 OR EXISTS (SELECT 1 FROM aliases x WHERE x.address = $2 AND x.destination = a.address))`,
    [accountId, sender.toLowerCase()],
  );
  return (result.rowCount ?? 0) > 0;
}

export async function listLocalDomains(db: Queryable): Promise<string[]> {
  const result = await db.query<{ name: string }>('SELECT name FROM domains ORDER BY name');
  return result.rows.map((row) => row.name);
}
