import { type DkimAlgorithm, generateDkimKeyPair } from '@tegami/protocol/dkim';
import type pg from 'pg';
import { type Queryable, withTransaction } from './db.js';
import { boundTo, domainIdOf, KEY_COLUMNS, type KeyRow, selectorName, toKey } from './dkim-key-rows.js';
import type { DkimKey } from './dkim-keys.js';
import { domainName } from './domains.js';
import { isUniqueViolation, StoreError } from './errors.js';
import { type SecretsKeyring, sealSecret } from './sealed-secrets.js';

// Making keys: the first of an algorithm (create), and a new one in place of the active one
// (rotate), which keeps the old one as retiring for its grace period (dkim-keys.ts reads them).

/** The grace period of a rotated key when the operator names none. */
export const DEFAULT_DKIM_GRACE_MS = 7 * 24 * 3600 * 1000;

export interface NewDkimKey {
  readonly domain: string;
  readonly algorithm: DkimAlgorithm;
  /** Default: `<rsa|ed25519>-<yyyymmdd>`, with `-2`, `-3`… when that one is taken. */
  readonly selector?: string | undefined;
  /** For the default selector's date (default: now). */
  readonly now?: Date;
}

/**
 * Makes the domain's first key of `algorithm`, active at once. Refused when the domain
 * already signs with that algorithm (rotate replaces a key) or has the selector.
 */
export async function createDkimKey(
  pool: pg.Pool,
  keyring: SecretsKeyring,
  input: NewDkimKey,
): Promise<DkimKey> {
  const domain = domainName(input.domain);
  const selector = input.selector === undefined ? undefined : selectorName(input.selector);
  const pair = await generateDkimKeyPair(input.algorithm);
  return withTransaction(pool, async (client) => {
    const domainId = await lockDomain(client, domain);
    const active = await activeKeys(client, domainId);
    const current = active.find((k) => k.algorithm === input.algorithm);
    if (current) {
      throw new StoreError(
        'conflict',
        `${domain} already signs with ${input.algorithm} (selector ${current.selector}): use tegami dkim rotate to replace it`,
      );
    }
    const chosen =
      selector ?? (await defaultSelector(client, domainId, input.algorithm, input.now ?? new Date()));
    return insertKey(client, keyring, domainId, domain, chosen, pair);
  });
}

export interface DkimRotation {
  readonly domain: string;
  /** Only this algorithm's key (default: each algorithm the domain signs with). */
  readonly algorithm?: DkimAlgorithm | undefined;
  /** The new key's selector, when one algorithm is rotated. */
  readonly selector?: string | undefined;
  /** How long the old key stays published as retiring (default 7 days). */
  readonly graceMs?: number | undefined;
  readonly now?: Date;
}

/**
 * Replaces the active key(s) of the domain by new ones, which sign from the next message
 * on (within the signers' cache time); the old ones become retiring for the grace period.
 */
export async function rotateDkimKeys(
  pool: pg.Pool,
  keyring: SecretsKeyring,
  rotation: DkimRotation,
): Promise<{ readonly created: DkimKey[]; readonly retiring: DkimKey[] }> {
  const domain = domainName(rotation.domain);
  const graceMs = rotation.graceMs ?? DEFAULT_DKIM_GRACE_MS;
  if (!Number.isFinite(graceMs) || graceMs < 0)
    throw new StoreError('invalid', 'a grace period cannot be negative');
  const wanted = async (db: Queryable, domainId: string) => {
    const active = await activeKeys(db, domainId);
    const chosen = rotation.algorithm ? active.filter((k) => k.algorithm === rotation.algorithm) : active;
    if (chosen.length === 0) {
      throw new StoreError(
        'not_found',
        `${domain} has no active ${rotation.algorithm ?? 'DKIM'} key to rotate: make one with tegami dkim create`,
      );
    }
    return chosen;
  };
  const before = await wanted(pool, await domainIdOf(pool, domain));
  if (rotation.selector !== undefined && before.length > 1) {
    throw new StoreError(
      'invalid',
      `${domain} signs with two algorithms: name the one whose selector is given`,
    );
  }
  const selector = rotation.selector === undefined ? undefined : selectorName(rotation.selector);
  // Key generation takes a moment (RSA): before the transaction, so no lock waits on it.
  const pairs = new Map(
    await Promise.all(
      before.map(async (k) => [k.algorithm, await generateDkimKeyPair(k.algorithm)] as const),
    ),
  );
  return withTransaction(pool, async (client) => {
    const domainId = await lockDomain(client, domain);
    const old = await wanted(client, domainId);
    const created: DkimKey[] = [];
    const retiring: DkimKey[] = [];
    for (const key of old) {
      const pair = pairs.get(key.algorithm);
      if (!pair) throw new StoreError('conflict', `${domain}'s keys changed meanwhile: try again`);
      const retired = await client.query<KeyRow>(
        `UPDATE dkim_keys k SET state = 'retiring', retired_at = now(),
                retire_until = now() + $3 * interval '1 millisecond'
           FROM domains d
          WHERE d.id = k.domain_id AND k.domain_id = $1 AND k.selector = $2
         RETURNING ${KEY_COLUMNS}`,
        [domainId, key.selector, graceMs],
      );
      retiring.push(toKey(retired.rows[0]!));
      const chosen =
        selector ?? (await defaultSelector(client, domainId, key.algorithm, rotation.now ?? new Date()));
      created.push(await insertKey(client, keyring, domainId, domain, chosen, pair));
    }
    return { created, retiring };
  });
}

/** Serialises key changes of one domain (two rotations at once would both retire the same key). */
async function lockDomain(client: pg.PoolClient, domain: string): Promise<string> {
  const result = await client.query<{ id: string }>(
    'SELECT id FROM domains WHERE name = $1 FOR NO KEY UPDATE',
    [domain],
  );
  const id = result.rows[0]?.id;
  if (id === undefined)
    throw new StoreError('not_found', `no domain ${domain} (tegami domain add ${domain})`);
  return id;
}

async function activeKeys(
  db: Queryable,
  domainId: string,
): Promise<{ selector: string; algorithm: DkimAlgorithm }[]> {
  const result = await db.query<{ selector: string; algorithm: DkimAlgorithm }>(
    `SELECT selector, algorithm FROM dkim_keys WHERE domain_id = $1 AND state = 'active' ORDER BY algorithm DESC`,
    [domainId],
  );
  return result.rows;
}

async function defaultSelector(
  db: Queryable,
  domainId: string,
  algorithm: DkimAlgorithm,
  now: Date,
): Promise<string> {
  const base = `${algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519'}-${now.toISOString().slice(0, 10).replaceAll('-', '')}`;
  const taken = await db.query<{ selector: string }>(
    `SELECT selector FROM dkim_keys WHERE domain_id = $1 AND (selector = $2 OR selector LIKE $2 || '-%')`,
    [domainId, base],
  );
  const names = new Set(taken.rows.map((r) => r.selector));
  if (!names.has(base)) return base;
  for (let n = 2; ; n++) if (!names.has(`${base}-${n}`)) return `${base}-${n}`;
}

async function insertKey(
  client: pg.PoolClient,
  keyring: SecretsKeyring,
  domainId: string,
  domain: string,
  selector: string,
  pair: { readonly algorithm: DkimAlgorithm; readonly privateKeyPem: string; readonly publicKey: string },
): Promise<DkimKey> {
  const sealed = sealSecret(
    keyring,
    Buffer.from(pair.privateKeyPem, 'utf8'),
    boundTo(domain, selector, pair.algorithm),
  );
  try {
    const result = await client.query<KeyRow>(
      `WITH k AS (
         INSERT INTO dkim_keys (domain_id, selector, algorithm, public_key, secrets_key_id, private_key_sealed, state)
         VALUES ($1, $2, $3, $4, $5, $6, 'active') RETURNING *
       )
       SELECT ${KEY_COLUMNS} FROM k JOIN domains d ON d.id = k.domain_id`,
      [domainId, selector, pair.algorithm, pair.publicKey, sealed.keyId, sealed.sealed],
    );
    return toKey(result.rows[0]!);
  } catch (err) {
    if (isUniqueViolation(err, 'dkim_keys_domain_id_selector_key')) {
      throw new StoreError('duplicate', `${domain} has a DKIM key with selector ${selector} already`);
    }
    if (isUniqueViolation(err, 'dkim_keys_one_active')) {
      throw new StoreError(
        'conflict',
        `${domain} already signs with ${pair.algorithm}: use tegami dkim rotate`,
      );
    }
    throw err;
  }
}
