import { type DkimAlgorithm, parseDkimSelector } from '@tegami/protocol/dkim';
import type { Queryable } from './db.js';
import { StoreError } from './errors.js';

// What dkim-keys.ts and dkim-key-rotation.ts share: the row shape, the key as it is shown,
// and how a sealed private key is bound to its row.

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

export interface KeyRow {
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

export const KEY_COLUMNS = `d.name AS domain, k.selector, k.algorithm, k.state, k.public_key, k.created_at,
  k.retired_at, k.retire_until, k.secrets_key_id`;

export function selectorName(input: string): string {
  const parsed = parseDkimSelector(input);
  if (!parsed.ok) throw new StoreError('invalid', parsed.problem);
  return parsed.selector;
}

export async function domainIdOf(db: Queryable, domain: string): Promise<string> {
  const result = await db.query<{ id: string }>('SELECT id FROM domains WHERE name = $1', [domain]);
  const id = result.rows[0]?.id;
  if (id === undefined)
    throw new StoreError('not_found', `no domain ${domain} (tegami domain add ${domain})`);
  return id;
}

/**
 * Associated data of a sealed private key: a sealed key moved to another domain's row, or
 * published under another selector, no longer opens.
 */
export function boundTo(domain: string, selector: string, algorithm: DkimAlgorithm): Buffer {
  return Buffer.from(`tegami dkim v1\0${domain}\0${selector}\0${algorithm}`, 'utf8');
}

export function toKey(row: KeyRow): DkimKey {
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
