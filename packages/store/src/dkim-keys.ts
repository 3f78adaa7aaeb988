import { type DkimAlgorithm, generateDkimKeyPair, parseDkimSelector } from '@tegami/protocol/dkim';
import type pg from 'pg';
import { type Queryable, withTransaction } from './db.js';
import { domainName } from './domains.js';
import { isUniqueViolation, StoreError } from './errors.js';
import { type SecretsKeyring, sealSecret, type UnsealProblem, unsealSecret } from './sealed-secrets.js';

// The DKIM keys of the local domains (RFC 6376; Ed25519 per RFC 8463). One active key per
// domain and algorithm signs; `rotate` puts a new one in its place and keeps the old one as
// "retiring" for a grace period, still published, so that mail it signed and that is still
// on its way (queued elsewhere, read later) verifies; `delete` removes it. The private key is
// sealed under the operator's secrets key and is opened only to sign.

export type DkimKeyState = 'active' | 'retiring';

/** A key as `tegami dkim list` shows it: everything but the private key. */
export interface DkimKey {
  readonly domain: string;
  readonly selector: string;
  readonly algorithm: DkimAlgorithm;
  readonly state: DkimKeyState;
  /** The `p=` value to publish. */
  readonly publicKey: string;
  readonly createdAt: Date;
  /** Retiring: when it stopped signing, and the end of its grace period. */
  readonly retiredAt?: Date;
  readonly retireUntil?: Date;
  /** Which secrets key sealed it (secretsKeyId). */
  readonly secretsKeyId: string;
}

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

/** The grace period of a rotated key when the operator names none. */
export const DEFAULT_DKIM_GRACE_MS = 7 * 24 * 3600 * 1000;

interface KeyRow {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  state: DkimKeyState;
  public_key: string;
  created_at: Date;
  retired_at: Date | null;
  retire_until: Date | null;
  secrets_key_id: string;
}

const KEY_COLUMNS = `d.name AS domain, k.selector, k.algorithm, k.state, k.public_key, k.created_at,
  k.retired_at, k.retire_until, k.secrets_key_id`;

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

function selectorName(input: string): string {
  const parsed = parseDkimSelector(input);
  if (!parsed.ok) throw new StoreError('invalid', parsed.problem);
  return parsed.selector;
}

async function domainIdOf(db: Queryable, domain: string): Promise<string> {
  const result = await db.query<{ id: string }>('SELECT id FROM domains WHERE name = $1', [domain]);
  const id = result.rows[0]?.id;
  if (id === undefined)
    throw new StoreError('not_found', `no domain ${domain} (tegami domain add ${domain})`);
  return id;
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

/**
 * Associated data of a sealed private key: a sealed key moved to another domain's row, or
 * published under another selector, no longer opens.
 */
function boundTo(domain: string, selector: string, algorithm: DkimAlgorithm): Buffer {
  return Buffer.from(`tegami dkim v1\0${domain}\0${selector}\0${algorithm}`, 'utf8');
}

function toKey(row: KeyRow): DkimKey {
  return {
    domain: row.domain,
    selector: row.selector,
    algorithm: row.algorithm,
    state: row.state,
    publicKey: row.public_key,
    createdAt: row.created_at,
    ...(row.retired_at && { retiredAt: row.retired_at }),
    ...(row.retire_until && { retireUntil: row.retire_until }),
    secretsKeyId: row.secrets_key_id,
  };
}
