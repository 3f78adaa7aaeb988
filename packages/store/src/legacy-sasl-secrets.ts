import type { PasswordSecrets } from '@tegami/protocol';
import type pg from 'pg';
import { withTransaction } from './db.js';
import {
  type SealedSecret,
  type SecretsKeyring,
  sealSecret,
  type UnsealProblem,
  unsealSecret,
} from './sealed-secrets.js';
import { SecretsKeyError } from './secrets-key-file.js';

// The CRAM-MD5 and DIGEST-MD5 secrets of each account ("legacy": RFC 6331 made DIGEST-MD5
// historic, and both rest on MD5). They are password-equivalent, so a database dump must not
// hold them in clear: either sealed under the operator's key, bound to their account, or
// not stored at all when the operator turned the two mechanisms off.

/** Whether CRAM-MD5 and DIGEST-MD5 are on, and then the key that seals their secrets. */
export type LegacySaslPolicy =
  | { readonly enabled: false }
  | { readonly enabled: true; readonly keyring: SecretsKeyring };

export const LEGACY_SASL_OFF: LegacySaslPolicy = { enabled: false };

/**
 * The policy from the operator's two settings: `wanted` true needs a key; false is off;
 * unset (undefined) means on exactly when a key is given, so a deployment without one
 * stores nothing password-equivalent.
 */
export function legacySaslPolicy(
  keyring: SecretsKeyring | undefined,
  wanted: boolean | undefined,
): LegacySaslPolicy {
  if (wanted === false || (wanted === undefined && !keyring)) return LEGACY_SASL_OFF;
  if (!keyring) {
    throw new SecretsKeyError(
      'TEGAMI_SASL_LEGACY_MECHANISMS is true, but there is no key to seal their secrets: set TEGAMI_SECRETS_KEY_FILE',
    );
  }
  return { enabled: true, keyring };
}

/** The legacy secrets of one account, as the mechanisms read them. */
export interface LegacySecrets {
  readonly cramMd5: { readonly inner: Buffer; readonly outer: Buffer };
  readonly digestMd5Ha1: Buffer;
}

export interface LegacyAccount {
  readonly id: string;
  readonly address: string;
}

/** The columns that hold legacy secrets, in clear (rows from before migration 0008) or sealed. */
export const LEGACY_SECRET_COLUMNS =
  'cram_md5_inner, cram_md5_outer, digest_md5_ha1, legacy_sasl_key_id, legacy_sasl_sealed';

/** A row's legacy columns as pg returns them. */
export interface LegacySecretRow {
  readonly cram_md5_inner: Buffer | null;
  readonly cram_md5_outer: Buffer | null;
  readonly digest_md5_ha1: Buffer | null;
  readonly legacy_sasl_key_id: string | null;
  readonly legacy_sasl_sealed: Buffer | null;
}

/** What to write into the legacy columns for new secrets: sealed, or nothing at all. */
export function legacyColumnValues(
  policy: LegacySaslPolicy,
  account: LegacyAccount,
  secrets: PasswordSecrets,
): { keyId: string | null; sealed: Buffer | null } {
  if (!policy.enabled || !secrets.cramMd5 || !secrets.digestMd5) return { keyId: null, sealed: null };
  const value = sealLegacySecrets(policy.keyring, account, {
    cramMd5: secrets.cramMd5,
    digestMd5Ha1: secrets.digestMd5.ha1,
  });
  return { keyId: value.keyId, sealed: value.sealed };
}

export function sealLegacySecrets(
  keyring: SecretsKeyring,
  account: LegacyAccount,
  secrets: LegacySecrets,
): SealedSecret {
  const plaintext = Buffer.concat([secrets.cramMd5.inner, secrets.cramMd5.outer, secrets.digestMd5Ha1]);
  return sealSecret(keyring, plaintext, boundTo(account));
}

export type OpenedLegacySecrets =
  | { readonly kind: 'secrets'; readonly secrets: LegacySecrets }
  | { readonly kind: 'none' }
  | { readonly kind: 'unreadable'; readonly keyId: string; readonly problem: UnsealProblem };

/**
 * The secrets a row holds, for a login. With the mechanisms off there are none, whatever
 * the row still holds. Clear columns win over sealed ones: only a writer from before
 * migration 0008 (an old replica during an upgrade) sets them, and it leaves the sealed
 * value of the previous password behind.
 */
export function openLegacySecrets(
  policy: LegacySaslPolicy,
  account: LegacyAccount,
  row: LegacySecretRow,
): OpenedLegacySecrets {
  if (!policy.enabled) return { kind: 'none' };
  const clear = clearSecrets(row);
  if (clear) return { kind: 'secrets', secrets: clear };
  if (row.legacy_sasl_key_id === null || row.legacy_sasl_sealed === null) return { kind: 'none' };
  return unsealRow(policy.keyring, account, row.legacy_sasl_key_id, row.legacy_sasl_sealed);
}

function clearSecrets(row: LegacySecretRow): LegacySecrets | undefined {
  const { cram_md5_inner: inner, cram_md5_outer: outer, digest_md5_ha1: ha1 } = row;
  return inner && outer && ha1 ? { cramMd5: { inner, outer }, digestMd5Ha1: ha1 } : undefined;
}

function unsealRow(
  keyring: SecretsKeyring,
  account: LegacyAccount,
  keyId: string,
  sealed: Buffer,
): OpenedLegacySecrets {
  const opened = unsealSecret(keyring, { keyId, sealed }, boundTo(account));
  if (!opened.ok) return { kind: 'unreadable', keyId, problem: opened.problem };
  if (opened.plaintext.length !== 48) return { kind: 'unreadable', keyId, problem: 'not-authentic' };
  const bytes = opened.plaintext;
  return {
    kind: 'secrets',
    secrets: {
      cramMd5: { inner: bytes.subarray(0, 16), outer: bytes.subarray(16, 32) },
      digestMd5Ha1: bytes.subarray(32, 48),
    },
  };
}

/**
 * Associated data: the account's id and address. A sealed value copied onto another row
 * (someone with write access to the database giving mallory alice's secrets, or the other
 * way round) no longer opens.
 */
function boundTo(account: LegacyAccount): Buffer {
  return Buffer.from(`tegami legacy-sasl v1\0${account.id}\0${account.address}`, 'utf8');
}

/** What settleLegacySaslSecrets did at start, for the log. */
export interface LegacySaslSettlement {
  /** Rows whose secrets from before migration 0008 were sealed in place. */
  readonly sealed: number;
  /** Rows sealed with an older key of the keyring, sealed again with the current one. */
  readonly resealed: number;
  /** Rows whose legacy secrets were deleted (the mechanisms are off). */
  readonly removed: number;
  /** Rows whose sealed secrets no key here opens, by key id: those logins fail until fixed. */
  readonly unreadable: Readonly<Record<string, number>>;
}

const BATCH = 200;

/**
 * Brings the stored legacy secrets in line with the policy, at each start of a service that
 * takes logins. On: clear rows (from before migration 0008) are sealed in place and rows of
 * an older key are sealed again with the current one. Off: every legacy secret, clear or
 * sealed, is deleted, so nothing password-equivalent stays behind.
 *
 * Safe with many replicas starting at once: each batch locks its rows with SKIP LOCKED, so
 * replicas share the work and none waits on another, and a row once done no longer matches.
 * Idempotent: a second run finds nothing to do.
 */
export async function settleLegacySaslSecrets(
  pool: pg.Pool,
  policy: LegacySaslPolicy,
): Promise<LegacySaslSettlement> {
  if (!policy.enabled) {
    const removed = await pool.query(
      `UPDATE accounts SET cram_md5_inner = NULL, cram_md5_outer = NULL, digest_md5_ha1 = NULL,
              legacy_sasl_key_id = NULL, legacy_sasl_sealed = NULL
        WHERE cram_md5_inner IS NOT NULL OR cram_md5_outer IS NOT NULL OR digest_md5_ha1 IS NOT NULL
           OR legacy_sasl_sealed IS NOT NULL`,
    );
    return { sealed: 0, resealed: 0, removed: removed.rowCount ?? 0, unreadable: {} };
  }
  const { keyring } = policy;
  const olderKeys = [...keyring.keys.keys()].filter((id) => id !== keyring.current.id);
  const counts = { sealed: 0, resealed: 0, removed: 0 };
  const unreadable: Record<string, number> = {};
  // Rows sealed with an older key that no longer open: left as they are, and not retried.
  const skipped: string[] = [];
  for (;;) {
    const done = await withTransaction(pool, async (client) => {
      const batch = await client.query<LegacySecretRow & { id: string; address: string }>(
        `SELECT id, address, ${LEGACY_SECRET_COLUMNS} FROM accounts
          WHERE (cram_md5_inner IS NOT NULL OR cram_md5_outer IS NOT NULL OR digest_md5_ha1 IS NOT NULL
                 OR legacy_sasl_key_id = ANY($1::text[]))
            AND NOT id = ANY($2::bigint[])
          ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
        [olderKeys, skipped],
      );
      for (const row of batch.rows) {
        const account = { id: row.id, address: row.address };
        const clear = clearSecrets(row);
        let secrets: LegacySecrets | undefined = clear;
        if (
          !secrets &&
          row.legacy_sasl_key_id &&
          row.legacy_sasl_sealed &&
          olderKeys.includes(row.legacy_sasl_key_id)
        ) {
          const opened = unsealRow(keyring, account, row.legacy_sasl_key_id, row.legacy_sasl_sealed);
          if (opened.kind === 'secrets') secrets = opened.secrets;
          else {
            skipped.push(row.id);
            unreadable[row.legacy_sasl_key_id] = (unreadable[row.legacy_sasl_key_id] ?? 0) + 1;
            continue;
          }
        }
        // A row with only part of the clear columns cannot log anyone in: it is emptied.
        const value = secrets ? sealLegacySecrets(keyring, account, secrets) : undefined;
        await client.query(
          `UPDATE accounts SET cram_md5_inner = NULL, cram_md5_outer = NULL, digest_md5_ha1 = NULL,
                  legacy_sasl_key_id = $2, legacy_sasl_sealed = $3
            WHERE id = $1`,
          [row.id, value?.keyId ?? null, value?.sealed ?? null],
        );
        if (!value) counts.removed++;
        else if (clear) counts.sealed++;
        else counts.resealed++;
      }
      return batch.rows.length === 0;
    });
    if (done) break;
  }
  // Sealed with keys this keyring does not have at all (a lost or removed key).
  const unknown = await pool.query<{ key_id: string; count: string }>(
    `SELECT legacy_sasl_key_id AS key_id, count(*) AS count FROM accounts
      WHERE legacy_sasl_key_id IS NOT NULL AND NOT legacy_sasl_key_id = ANY($1::text[])
      GROUP BY 1 ORDER BY 1`,
    [[...keyring.keys.keys()]],
  );
  for (const row of unknown.rows) unreadable[row.key_id] = (unreadable[row.key_id] ?? 0) + Number(row.count);
  return { ...counts, unreadable };
}
