import type { Queryable } from './db.js';
import { domainName } from './domains.js';

// Subaddresses (RFC 5233): `user+detail@domain` is the mailbox `user@domain` with a detail the
// user chose when giving the address out (to sort by it, with Sieve's `:detail`, or to see
// who leaked it). The separator is a setting (TEGAMI_RECIPIENT_DELIMITER) as in Postfix's
// recipient_delimiter and Dovecot's: each of its characters separates, and the local part is
// cut at the first of them that occurs.

/** The recipient delimiter when nothing says otherwise. */
export const DEFAULT_RECIPIENT_DELIMITER = '+';

/**
 * The address without its detail, or undefined when it has none: no delimiter (an empty
 * string turns subaddresses off), no delimiter character in the local part, or one first
 * (`+tag@domain` has no user part to deliver to).
 */
export function baseAddress(address: string, delimiter: string): string | undefined {
  if (delimiter === '') return undefined;
  const at = address.lastIndexOf('@');
  if (at <= 0) return undefined;
  const localPart = address.slice(0, at);
  let cut = -1;
  for (const character of delimiter) {
    const found = localPart.indexOf(character);
    if (found >= 0 && (cut < 0 || found < cut)) cut = found;
  }
  if (cut <= 0) return undefined;
  return `${localPart.slice(0, cut)}${address.slice(at)}`;
}

/**
 * Turns subaddresses on or off for one domain (domains.plus_addressing): off, `user+x@domain`
 * is refused at RCPT unless something has that whole address. False: no such domain.
 */
export async function setPlusAddressing(db: Queryable, domain: string, enabled: boolean): Promise<boolean> {
  const result = await db.query('UPDATE domains SET plus_addressing = $2 WHERE name = $1', [
    domainName(domain),
    enabled,
  ]);
  return (result.rowCount ?? 0) > 0;
}

/** Whether the domain takes subaddresses; undefined: no such domain. */
export async function plusAddressing(db: Queryable, domain: string): Promise<boolean | undefined> {
  const result = await db.query<{ plus_addressing: boolean }>(
    'SELECT plus_addressing FROM domains WHERE name = $1',
    [domainName(domain)],
  );
  return result.rows[0]?.plus_addressing;
}
