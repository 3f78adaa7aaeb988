import type { DkimAlgorithm } from '@tegami/protocol/dkim';
import type pg from 'pg';
import { type Queryable, withTransaction } from './db.js';
import {
  boundTo,
  type DkimKey,
  domainIdOf,
  KEY_COLUMNS,
  type KeyRow,
  selectorName,
  toKey,
} from './dkim-key-rows.js';
import { domainName } from './domains.js';
import { StoreError } from './errors.js';
import { type SecretsKeyring, sealSecret, type UnsealProblem, unsealSecret } from './sealed-secrets.js';

// The DKIM keys of the local domains (RFC 6376; Ed25519 per RFC 8463). One active key per
// domain and algorithm signs; `rotate` puts a new one in its place and keeps the old one as
// "retiring" for a grace period, still published, so that mail it signed and that is still
// on its way (queued elsewhere, read later) verifies; `delete` removes it. The private key is
// sealed under the operator's secrets key and is opened only to sign.

export type { DkimKey, DkimKeyState } from './dkim-key-rows.js';

export interface DkimSigningKey {
  readonly domain: string;
  readonly selector: string;
  readonly algorithm: 'rsa-sha256' | 'ed25519-sha256';
  readonly privateKeyPem: string;
}

/** An active key of the domain that the keyring could not open. */
export interface UnreadableDkimKey {
  readonly domain: string;
  readonly selector: string;
  readonly algorithm: DkimAlgorithm;
  readonly secretsKeyId: string;
  readonly problem: UnsealProblem;
}

/**
 * The active keys of `domain`, unsealed (both algorithms when both exist). A key the
 * keyring cannot open is left out and told to `onUnreadable`: the mail goes out with the
 * signatures that can be made.
 */
export async function dkimSigningKeys(
  pool: pg.Pool,
  keyring: SecretsKeyring,
  domain: string,
  onUnreadable?: (key: UnreadableDkimKey) => void,
): Promise<DkimSigningKey[]> {
  const result = await pool.query<{
    domain: string;
    selector: string;
    algorithm: DkimAlgorithm;
    secrets_key_id: string;
    private_key_sealed: Buffer;
  }>(
    `SELECT d.name AS domain, k.selector, k.algorithm, k.secrets_key_id, k.private_key_sealed
       FROM dkim_keys k JOIN domains d ON d.id = k.domain_id
      WHERE d.name = $1 AND k.state = 'active'
      ORDER BY k.algorithm DESC`,
    [domain.toLowerCase()],
  );
  const keys: DkimSigningKey[] = [];
  for (const row of result.rows) {
    const opened = unsealSecret(
      keyring,
      { keyId: row.secrets_key_id, sealed: row.private_key_sealed },
      boundTo(row.domain, row.selector, row.algorithm),
    );
    if (!opened.ok) {
      onUnreadable?.({
        domain: row.domain,
        selector: row.selector,
        algorithm: row.algorithm,
        secretsKeyId: row.secrets_key_id,
        problem: opened.problem,
      });
      continue;
    }
    keys.push(signingKey(row.domain, row.selector, row.algorithm, opened.plaintext.toString('utf8')));
  }
  return keys;
}

/**
 * A signing key whose PEM stays out of logs and JSON: a logger given the object (or
 * anything holding it) writes domain, selector and algorithm only.
 */
function signingKey(
  domain: string,
  selector: string,
  algorithm: DkimAlgorithm,
  privateKeyPem: string,
): DkimSigningKey {
  const key = { domain, selector, algorithm, privateKeyPem };
  Object.defineProperty(key, 'toJSON', {
    enumerable: false,
    value: () => ({ domain, selector, algorithm, privateKeyPem: '[sealed]' }),
  });
  Object.defineProperty(key, Symbol.for('nodejs.util.inspect.custom'), {
    enumerable: false,
    value: () => `DkimSigningKey { ${selector}._domainkey.${domain} ${algorithm} }`,
  });
  return key;
}

/** Every key, of one domain or of all, by domain, then newest first. */
export async function listDkimKeys(db: Queryable, domain?: string): Promise<DkimKey[]> {
  const name = domain === undefined ? undefined : domainName(domain);
  if (name !== undefined) await domainIdOf(db, name);
  const result = await db.query<KeyRow>(
    `SELECT ${KEY_COLUMNS} FROM dkim_keys k JOIN domains d ON d.id = k.domain_id
      WHERE $1::text IS NULL OR d.name = $1
      ORDER BY d.name, k.state, k.created_at DESC, k.id DESC`,
    [name ?? null],
  );
  return result.rows.map(toKey);
}

/** Removes a key, whatever its state: an active one stops signing (a key that leaked must). */
export async function deleteDkimKey(db: Queryable, domain: string, selector: string): Promise<DkimKey> {
  const name = domainName(domain);
  const chosen = selectorName(selector);
  const result = await db.query<KeyRow>(
    `DELETE FROM dkim_keys k USING domains d
      WHERE d.id = k.domain_id AND d.name = $1 AND k.selector = $2
     RETURNING ${KEY_COLUMNS}`,
    [name, chosen],
  );
  const row = result.rows[0];
  if (!row) throw new StoreError('not_found', `${name} has no DKIM key with selector ${chosen}`);
  return toKey(row);
}

/** What resealDkimKeys did: keys sealed again with the current key, and keys no key here opens. */
export interface DkimResealing {
  readonly resealed: number;
  /** By secrets key id: those keys sign nothing until that key is back in the keyring. */
  readonly unreadable: Readonly<Record<string, number>>;
}

/**
 * Seals every DKIM key that an older key of the keyring sealed with the current one, so the
 * older key can leave the key file (rotation of TEGAMI_SECRETS_KEY_FILE, as the login
 * services do for the CRAM-MD5 secrets). Run at each delivery-worker start; replicas starting
 * together skip the rows another one holds, and a second run finds nothing to do.
 */
export async function resealDkimKeys(pool: pg.Pool, keyring: SecretsKeyring): Promise<DkimResealing> {
  return withTransaction(pool, async (client) => {
    const rows = await client.query<{
      id: string;
      domain: string;
      selector: string;
      algorithm: DkimAlgorithm;
      secrets_key_id: string;
      private_key_sealed: Buffer;
    }>(
      `SELECT k.id, d.name AS domain, k.selector, k.algorithm, k.secrets_key_id, k.private_key_sealed
         FROM dkim_keys k JOIN domains d ON d.id = k.domain_id
        WHERE k.secrets_key_id <> $1
        FOR UPDATE OF k SKIP LOCKED`,
      [keyring.current.id],
    );
    let resealed = 0;
    const unreadable: Record<string, number> = {};
    for (const row of rows.rows) {
      const bound = boundTo(row.domain, row.selector, row.algorithm);
      const opened = unsealSecret(
        keyring,
        { keyId: row.secrets_key_id, sealed: row.private_key_sealed },
        bound,
      );
      if (!opened.ok) {
        unreadable[row.secrets_key_id] = (unreadable[row.secrets_key_id] ?? 0) + 1;
        continue;
      }
      const sealed = sealSecret(keyring, opened.plaintext, bound);
      await client.query('UPDATE dkim_keys SET secrets_key_id = $2, private_key_sealed = $3 WHERE id = $1', [
        row.id,
        sealed.keyId,
        sealed.sealed,
      ]);
      resealed++;
    }
    return { resealed, unreadable };
  });
}
