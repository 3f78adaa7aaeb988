import { parseLegacyPasswordHash } from '@tegami/protocol/legacy-password-hash';
import { derivePasswordSecrets, type PasswordSecrets } from '@tegami/protocol/password-secrets';
import type pg from 'pg';
import { lockDomain, mailboxAddress, refuseIfAlias, SECRET_COLUMNS, secretValues } from './accounts.js';
import type { Queryable } from './db.js';
import { domainName } from './domains.js';
import { StoreError } from './errors.js';
import { LEGACY_SASL_OFF, type LegacySaslPolicy, legacyColumnValues } from './legacy-sasl-secrets.js';
import { createDefaultMailboxes } from './mailboxes.js';
import { adoptPostmaster } from './postmaster.js';

// Users moved in from another server with the password hashes it kept for them (migration
// 0027): nobody has to choose a new password. The hash stays until the user's first
// cleartext login, which checks it and writes Tegami's own secrets in its place.

export interface ImportedUser {
  readonly address: string;
  /** As the other server stored it: `{SHA512-CRYPT}$6$…`, `{BLF-CRYPT}$2y$…`, or a bare crypt string. */
  readonly passwordHash: string;
  /** undefined: leave as it is (none for a new user); null: no limit. */
  readonly quotaBytes?: number | null | undefined;
  readonly disabled?: boolean | undefined;
}

export interface ImportUserOptions {
  /**
   * For a user who exists: replace the imported hash (when they have not logged in to Tegami
   * yet: a Tegami password is never replaced) and set the quota and state given.
   */
  readonly update?: boolean;
  /** Create the user's domain when it is not a local domain yet (otherwise refused). */
  readonly createDomain?: boolean;
  /** Do everything in a transaction that is rolled back: what would happen, nothing written. */
  readonly dryRun?: boolean;
}

export type ImportUserOutcome =
  | {
      readonly kind: 'created';
      readonly address: string;
      readonly scheme: string;
      readonly postmaster: boolean;
      readonly domainCreated: boolean;
    }
  | {
      readonly kind: 'updated';
      readonly address: string;
      readonly scheme: string;
      /** The imported hash was replaced (quota or state may have changed alone). */
      readonly passwordReplaced: boolean;
      /** The user has a Tegami password, which an import never replaces. */
      readonly passwordKept: boolean;
    }
  | { readonly kind: 'unchanged'; readonly address: string; readonly passwordKept: boolean }
  | { readonly kind: 'exists'; readonly address: string };

/**
 * Creates (or with `update`, re-imports) one user with an imported hash, in one transaction:
 * a line that fails leaves nothing behind. Running it again changes nothing: a user who
 * exists is reported, not touched, unless `update`, which replaces the imported hash of a
 * user who has not logged in yet (and sets the quota and state given); an update with what
 * is stored already is `unchanged`.
 */
export async function importUser(
  pool: pg.Pool,
  user: ImportedUser,
  options: ImportUserOptions = {},
): Promise<ImportUserOutcome> {
  const address = mailboxAddress(user.address);
  const parsed = parseLegacyPasswordHash(user.passwordHash);
  if (!parsed.ok) throw new StoreError('invalid', `password hash: ${parsed.problem}`);
  const stored = parsed.hash.stored;
  const { quotaBytes, disabled } = user;
  if (
    quotaBytes !== undefined &&
    quotaBytes !== null &&
    (!Number.isSafeInteger(quotaBytes) || quotaBytes < 0)
  )
    throw new StoreError('invalid', 'a quota is a number of bytes, 0 or more');
  const client = await pool.connect();
  let outcome: ImportUserOutcome | undefined;
  try {
    await client.query('BEGIN');
    outcome = await importInTransaction(client, address.canonical, address.localPart, address.domain, {
      stored,
      scheme: parsed.hash.scheme,
      quotaBytes,
      disabled,
      options,
    });
    await client.query(options.dryRun ? 'ROLLBACK' : 'COMMIT');
    return outcome;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function importInTransaction(
  client: pg.PoolClient,
  address: string,
  localPart: string,
  domain: string,
  user: {
    stored: string;
    scheme: string;
    quotaBytes: number | null | undefined;
    disabled: boolean | undefined;
    options: ImportUserOptions;
  },
): Promise<ImportUserOutcome> {
  let domainCreated = false;
  if (user.options.createDomain) {
    const made = await client.query('INSERT INTO domains (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [
      domainName(domain),
    ]);
    domainCreated = made.rowCount === 1;
  }
  const domainId = await lockDomain(client, domain);
  const existing = await client.query<{ id: string; password_legacy_hash: string | null }>(
    'SELECT id, password_legacy_hash FROM accounts WHERE address = $1 FOR UPDATE',
    [address],
  );
  const found = existing.rows[0];
  if (found) {
    if (!user.options.update) return { kind: 'exists', address };
    // A user who has a Tegami password (logged in since the import, or made here) keeps it:
    // the hash from the other server is older than what they have used here.
    const replaceHash = found.password_legacy_hash !== null && found.password_legacy_hash !== user.stored;
    const result = await client.query(
      `UPDATE accounts SET
              password_legacy_hash = CASE WHEN $2 THEN $3 ELSE password_legacy_hash END,
              password_changed_at = CASE WHEN $2 THEN now() ELSE password_changed_at END,
              quota_bytes = CASE WHEN $4 THEN $5::bigint ELSE quota_bytes END,
              disabled = COALESCE($6, disabled)
        WHERE id = $1
          AND ($2 OR ($4 AND quota_bytes IS DISTINCT FROM $5::bigint)
               OR ($6::boolean IS NOT NULL AND disabled <> $6))`,
      [
        found.id,
        replaceHash,
        user.stored,
        user.quotaBytes !== undefined,
        user.quotaBytes ?? null,
        user.disabled ?? null,
      ],
    );
    const passwordKept = found.password_legacy_hash === null;
    if (result.rowCount === 0) return { kind: 'unchanged', address, passwordKept };
    return { kind: 'updated', address, scheme: user.scheme, passwordReplaced: replaceHash, passwordKept };
  }
  await refuseIfAlias(client, address);
  const inserted = await client.query<{ id: string }>(
    `INSERT INTO accounts (domain_id, local_part, address, digest_md5_realm, password_legacy_hash, quota_bytes, disabled)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [domainId, localPart, address, domain, user.stored, user.quotaBytes ?? null, user.disabled ?? false],
  );
  await createDefaultMailboxes(client, inserted.rows[0]!.id);
  const postmaster = await adoptPostmaster(client, domainId, address);
  return { kind: 'created', address, scheme: user.scheme, postmaster, domainCreated };
}

/**
 * The first cleartext login that matched the imported hash: Tegami's own secrets (and the
 * sealed CRAM-MD5/DIGEST-MD5 ones, when the operator keeps them) replace it, written only if
 * the row still holds the hash the login checked, so a password set or re-imported meanwhile
 * is not overwritten. Returns the new scrypt verifier when it was written.
 */
export async function upgradeImportedPassword(
  db: Queryable,
  account: { readonly accountId: string; readonly address: string },
  checkedHash: string,
  password: string,
  legacy: LegacySaslPolicy = LEGACY_SASL_OFF,
): Promise<string | undefined> {
  const address = mailboxAddress(account.address);
  const secrets: PasswordSecrets = await derivePasswordSecrets(address.canonical, address.domain, password, {
    legacy: legacy.enabled,
  });
  const sealed = legacyColumnValues(legacy, { id: account.accountId, address: address.canonical }, secrets);
  const first = SECRET_COLUMNS.length + 4;
  const result = await db.query(
    `UPDATE accounts SET ${SECRET_COLUMNS.map((column, i) => `${column} = $${i + 4}`).join(', ')},
            legacy_sasl_key_id = $${first}, legacy_sasl_sealed = $${first + 1},
            password_legacy_hash = NULL, password_changed_at = now()
      WHERE id = $1 AND address = $2 AND password_legacy_hash = $3`,
    [
      account.accountId,
      address.canonical,
      checkedHash,
      ...secretValues(secrets, address.domain),
      sealed.keyId,
      sealed.sealed,
    ],
  );
  return (result.rowCount ?? 0) > 0 ? secrets.scrypt : undefined;
}
