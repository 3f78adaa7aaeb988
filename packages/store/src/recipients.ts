import type { Queryable } from './db.js';
import { baseAddress, DEFAULT_RECIPIENT_DELIMITER } from './subaddress.js';

export type RecipientKind = 'account' | 'alias' | 'unknown-user' | 'remote';

/**
 * What an envelope address is to this installation: a user, an alias, an unknown name in a
 * local domain (550 5.1.1 at RCPT), or another domain's address. The local part is
 * compared case-insensitively, as accounts and aliases are stored. A subaddress
 * (`user+detail`, RFC 5233) is what its base address is, unless something has the whole
 * address or the domain turned subaddresses off; `recipientDelimiter` '' turns them off.
 */
export async function classifyRecipient(
  db: Queryable,
  localPart: string,
  domain: string,
  recipientDelimiter: string = DEFAULT_RECIPIENT_DELIMITER,
): Promise<RecipientKind> {
  const address = `${localPart.toLowerCase()}@${domain.toLowerCase()}`;
  // Named, so each pooled connection parses and plans it once: it runs for every RCPT.
  const result = await db.query<{ local_domain: boolean; account: boolean; alias: boolean }>({
    name: 'tegami_classify_recipient',
    text: `WITH target AS (
       SELECT CASE WHEN $3::text IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM accounts WHERE address = $1 AND NOT disabled)
                    AND NOT EXISTS (SELECT 1 FROM aliases WHERE address = $1)
                    AND EXISTS (SELECT 1 FROM domains WHERE name = $2 AND plus_addressing)
                   THEN $3::text ELSE $1 END AS address
     )
     SELECT EXISTS (SELECT 1 FROM domains WHERE name = $2) AS local_domain,
            EXISTS (SELECT 1 FROM accounts a, target t WHERE a.address = t.address AND NOT a.disabled) AS account,
            EXISTS (SELECT 1 FROM aliases x, target t WHERE x.address = t.address) AS alias`,
    values: [address, domain.toLowerCase(), baseAddress(address, recipientDelimiter) ?? null],
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
