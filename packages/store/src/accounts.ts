import { createHash } from 'node:crypto';
// The two corners of @tegami/protocol this needs, not all of it (MIME, IMAP…): `tegami
// user add` loads the store and should start as fast as Node does.
import { type MailboxAddress, parseMailboxAddress } from '@tegami/protocol/address';
import {
  derivePasswordSecrets,
  type PasswordSecrets,
  SCRAM_ITERATIONS,
} from '@tegami/protocol/password-secrets';
import type pg from 'pg';
import { refuseWhileDestination } from './alias-destinations.js';
import type { Queryable } from './db.js';
import { withTransaction } from './db.js';
import { findDomainId } from './domains.js';
import { isUniqueViolation, StoreError } from './errors.js';
import {
  LEGACY_SASL_OFF,
  LEGACY_SECRET_COLUMNS,
  type LegacySaslPolicy,
  type LegacySecretRow,
  legacyColumnValues,
  openLegacySecrets,
} from './legacy-sasl-secrets.js';
import { finishMailRemoval, mailOfAccounts, type RemovedMail } from './mail-removal.js';
import { createDefaultMailboxes } from './mailboxes.js';
import { adoptPostmaster, deleteAccount } from './postmaster.js';
import type { UnsealProblem } from './sealed-secrets.js';

export interface Account {
  readonly id: string;
  readonly address: string;
  readonly domain: string;
  readonly disabled: boolean;
  readonly quotaBytes: number | null;
  readonly createdAt: Date;
}

export interface CreatedAccount extends Account {
  /** This account became its domain's postmaster (the alias postmaster@<domain> → it). */
  readonly postmaster: boolean;
}

/**
 * Creates the account and its standard mailboxes in one transaction: a user who exists
 * always has an INBOX to deliver to. The first user of a domain with no postmaster
 * becomes its postmaster (RFC 5321 §4.5.1). `legacy` says whether CRAM-MD5 and DIGEST-MD5
 * secrets are kept (sealed) or not derived at all.
 */
export async function createAccount(
  pool: pg.Pool,
  addressInput: string,
  password: string,
  legacy: LegacySaslPolicy = LEGACY_SASL_OFF,
): Promise<CreatedAccount> {
  const address = mailboxAddress(addressInput);
  checkPassword(password);
  const secrets = await derivePasswordSecrets(address.canonical, address.domain, password, {
    legacy: legacy.enabled,
  });
  try {
    return await withTransaction(pool, async (client) => {
      const domainId = await lockDomain(client, address.domain);
      await refuseIfAlias(client, address.canonical);
      const result = await client.query<AccountRow>(
        `INSERT INTO accounts AS a (domain_id, local_part, address, ${SECRET_COLUMNS.join(', ')})
         VALUES ($1, $2, $3, ${SECRET_COLUMNS.map((_, i) => `$${i + 4}`).join(', ')})
         RETURNING ${ACCOUNT_COLUMNS}`,
        [domainId, address.localPart, address.canonical, ...secretValues(secrets, address.domain)],
      );
      const account = toAccount(result.rows[0]!);
      // Sealed once the id exists: the ciphertext is bound to it.
      const sealed = legacyColumnValues(legacy, account, secrets);
      if (sealed.keyId !== null) {
        await client.query(
          'UPDATE accounts SET legacy_sasl_key_id = $2, legacy_sasl_sealed = $3 WHERE id = $1',
          [account.id, sealed.keyId, sealed.sealed],
        );
      }
      await createDefaultMailboxes(client, account.id);
      return { ...account, postmaster: await adoptPostmaster(client, domainId, account.address) };
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new StoreError('duplicate', `user ${address.canonical} exists already`);
    throw err;
  }
}

export async function setPassword(
  db: Queryable,
  addressInput: string,
  password: string,
  legacy: LegacySaslPolicy = LEGACY_SASL_OFF,
): Promise<void> {
  const address = mailboxAddress(addressInput);
  checkPassword(password);
  const secrets = await derivePasswordSecrets(address.canonical, address.domain, password, {
    legacy: legacy.enabled,
  });
  const found = await db.query<{ id: string }>('SELECT id FROM accounts WHERE address = $1', [
    address.canonical,
  ]);
  const id = found.rows[0]?.id;
  if (id === undefined) throw new StoreError('not_found', `no user ${address.canonical}`);
  const sealed = legacyColumnValues(legacy, { id, address: address.canonical }, secrets);
  const first = SECRET_COLUMNS.length + 3;
  // The clear CRAM-MD5/DIGEST-MD5 columns of a row from before migration 0008 go too.
  const result = await db.query(
    `UPDATE accounts SET ${SECRET_COLUMNS.map((column, i) => `${column} = $${i + 3}`).join(', ')},
            cram_md5_inner = NULL, cram_md5_outer = NULL, digest_md5_ha1 = NULL,
            legacy_sasl_key_id = $${first}, legacy_sasl_sealed = $${first + 1},
            password_legacy_hash = NULL, password_changed_at = now()
      WHERE id = $1 AND address = $2`,
    [id, address.canonical, ...secretValues(secrets, address.domain), sealed.keyId, sealed.sealed],
  );
  if (result.rowCount === 0) throw new StoreError('not_found', `no user ${address.canonical}`);
}

/**
 * A login's rehash at a new scrypt cost: the same password's verifier, written only if the
 * row still holds the one the login checked (a password set meanwhile is not overwritten).
 * The SCRAM and legacy secrets do not depend on the scrypt cost and stay as they are.
 */
export async function replaceScryptVerifier(
  db: Queryable,
  accountId: string,
  checked: string,
  fresh: string,
): Promise<boolean> {
  const result = await db.query(
    'UPDATE accounts SET password_scrypt = $3 WHERE id = $1 AND password_scrypt = $2',
    [accountId, checked, fresh],
  );
  return (result.rowCount ?? 0) > 0;
}

/** Sets the most bytes the user's mailboxes may hold together (null: no limit). */
export async function setQuota(
  db: Queryable,
  addressInput: string,
  quotaBytes: number | null,
): Promise<void> {
  const address = mailboxAddress(addressInput);
  if (quotaBytes !== null && (!Number.isSafeInteger(quotaBytes) || quotaBytes < 0))
    throw new StoreError('invalid', 'a quota is a number of bytes, 0 or more');
  const result = await db.query('UPDATE accounts SET quota_bytes = $2 WHERE address = $1', [
    address.canonical,
    quotaBytes,
  ]);
  if (result.rowCount === 0) throw new StoreError('not_found', `no user ${address.canonical}`);
}

export async function listAccounts(db: Queryable, domain?: string): Promise<Account[]> {
  const result = await db.query<AccountRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM accounts a JOIN domains d ON d.id = a.domain_id
      WHERE $1::text IS NULL OR d.name = $1 ORDER BY a.address`,
    [domain ?? null],
  );
  return result.rows.map(toAccount);
}

export async function findAccount(db: Queryable, addressInput: string): Promise<Account | undefined> {
  const parsed = parseMailboxAddress(addressInput);
  if (!parsed.ok) return undefined;
  const result = await db.query<AccountRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE a.address = $1`,
    [parsed.address.canonical],
  );
  return result.rows[0] ? toAccount(result.rows[0]) : undefined;
}

/**
 * Removes the account with its mailboxes and messages, and the blobs nothing else holds
 * (mail-removal.ts), saying how much went. Refused while aliases deliver to it
 * (refuseWhileDestination says why), except its domain's postmaster alias, which the next
 * user takes over (`newPostmaster` names them).
 */
export async function removeAccount(
  pool: pg.Pool,
  addressInput: string,
): Promise<{ readonly newPostmaster?: string; readonly mail: RemovedMail }> {
  const address = mailboxAddress(addressInput);
  return withTransaction(pool, async (client) => {
    const found = await client.query<{ id: string }>(
      'SELECT id FROM accounts WHERE address = $1 FOR UPDATE',
      [address.canonical],
    );
    if (found.rows.length === 0) throw new StoreError('not_found', `no user ${address.canonical}`);
    await refuseWhileDestination(client, address.canonical, 'user', `postmaster@${address.domain}`);
    const mail = await mailOfAccounts(client, [found.rows[0]!.id]);
    const { removed: _removed, ...handedOn } = await deleteAccount(client, address.canonical);
    return { ...handedOn, mail: await finishMailRemoval(client, mail) };
  });
}

export interface AccountUsage extends Account {
  /** What the quota counts: the sizes of the messages in all of the account's mailboxes. */
  readonly usedBytes: number;
  readonly messages: number;
}

/**
 * listAccounts with each account's stored bytes and messages (`tegami user list`): its
 * quota counters (account-usage.ts), one row each, however much mail it holds.
 */
export async function listAccountUsage(db: Queryable, domain?: string): Promise<AccountUsage[]> {
  const result = await db.query<AccountRow & { used_bytes: string | null; messages: string | null }>(
    `SELECT ${ACCOUNT_COLUMNS}, u.bytes AS used_bytes, u.messages
       FROM accounts a JOIN domains d ON d.id = a.domain_id
       LEFT JOIN account_usage u ON u.account_id = a.id
      WHERE $1::text IS NULL OR d.name = $1 ORDER BY a.address`,
    [domain ?? null],
  );
  return result.rows.map((row) => ({
    ...toAccount(row),
    usedBytes: Number(row.used_bytes ?? 0),
    messages: Number(row.messages ?? 0),
  }));
}

/** What the SASL mechanisms verify against; undefined for an unknown or disabled user. */
export interface AuthSecrets extends PasswordSecrets {
  readonly accountId: string;
  readonly address: string;
  /**
   * Set when the account's sealed CRAM-MD5/DIGEST-MD5 secrets could not be opened (a key
   * not given to this process, or bytes altered or moved from another account): they are
   * then absent, and those two mechanisms fail for the account like a wrong password.
   */
  readonly unreadableLegacySecrets?: { readonly keyId: string; readonly problem: UnsealProblem };
  /**
   * The hash imported from another server (`{SHA512-CRYPT}$6$…`) while the user has not
   * logged in since: cleartext logins check it, and the scrypt verifier and SCRAM keys are
   * then placeholders that match no password (unusableSecrets, below).
   */
  readonly legacyPasswordHash?: string;
}

/** `legacy`: whether CRAM-MD5 and DIGEST-MD5 are on, and the key to open their secrets. */
export async function findAuthSecrets(
  db: Queryable,
  addressInput: string,
  legacy: LegacySaslPolicy = LEGACY_SASL_OFF,
): Promise<AuthSecrets | undefined> {
  const parsed = parseMailboxAddress(addressInput);
  if (!parsed.ok) return undefined;
  const result = await db.query(
    `SELECT id, address, ${SECRET_COLUMNS.join(', ')}, ${LEGACY_SECRET_COLUMNS}, password_legacy_hash
       FROM accounts WHERE address = $1 AND NOT disabled`,
    [parsed.address.canonical],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  if (row.password_legacy_hash !== null) {
    return {
      ...unusableSecrets(row.address),
      accountId: row.id,
      address: row.address,
      legacyPasswordHash: row.password_legacy_hash,
    };
  }
  const secrets = {
    accountId: row.id,
    address: row.address,
    scrypt: row.password_scrypt,
    scramSha256: {
      salt: row.scram_sha256_salt,
      iterations: row.scram_sha256_iterations,
      storedKey: row.scram_sha256_stored_key,
      serverKey: row.scram_sha256_server_key,
    },
  };
  const opened = openLegacySecrets(legacy, { id: row.id, address: row.address }, row as LegacySecretRow);
  if (opened.kind === 'none') return secrets;
  if (opened.kind === 'unreadable') {
    return { ...secrets, unreadableLegacySecrets: { keyId: opened.keyId, problem: opened.problem } };
  }
  return {
    ...secrets,
    cramMd5: opened.secrets.cramMd5,
    digestMd5: { realm: row.digest_md5_realm, ha1: opened.secrets.digestMd5Ha1 },
  };
}

/**
 * What the SASL mechanisms get for an account that still has an imported hash: secrets of
 * the right shape that no client can match. SCRAM then fails as for a wrong password, with
 * a salt that stays the same on each try (derived from the address), so the exchange does
 * not tell such an account from another. The scrypt verifier is unused: the lookup's own
 * check reads the imported hash.
 */
function unusableSecrets(address: string): PasswordSecrets {
  const salt = createHash('sha256').update(`tegami imported-password\0${address}`, 'utf8').digest();
  return {
    scrypt: '',
    scramSha256: {
      salt: salt.subarray(0, 16),
      iterations: SCRAM_ITERATIONS,
      // RFC 5802: the server checks H(ClientKey) against StoredKey; no ClientKey hashes to zeros.
      storedKey: Buffer.alloc(32),
      serverKey: Buffer.alloc(32),
    },
  };
}

// The secrets every account has. CRAM-MD5's and DIGEST-MD5's HA1 are kept apart
// (legacy-sasl-secrets.ts); DIGEST's realm, the account's domain, is no secret.
export const SECRET_COLUMNS = [
  'password_scrypt',
  'digest_md5_realm',
  'scram_sha256_salt',
  'scram_sha256_iterations',
  'scram_sha256_stored_key',
  'scram_sha256_server_key',
] as const;

export function secretValues(s: PasswordSecrets, realm: string): unknown[] {
  return [
    s.scrypt,
    realm,
    s.scramSha256.salt,
    s.scramSha256.iterations,
    s.scramSha256.storedKey,
    s.scramSha256.serverKey,
  ];
}

const ACCOUNT_COLUMNS = `a.id, a.address, (SELECT name FROM domains WHERE id = a.domain_id) AS domain,
  a.disabled, a.quota_bytes, a.created_at`;

interface AccountRow {
  id: string;
  address: string;
  domain: string;
  disabled: boolean;
  quota_bytes: string | null;
  created_at: Date;
}

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    address: row.address,
    domain: row.domain,
    disabled: row.disabled,
    quotaBytes: row.quota_bytes === null ? null : Number(row.quota_bytes),
    createdAt: row.created_at,
  };
}

export function mailboxAddress(input: string): MailboxAddress {
  const parsed = parseMailboxAddress(input);
  if (!parsed.ok) throw new StoreError('invalid', `malformed address: ${parsed.problem}`);
  return parsed.address;
}

/** Locks the domain row against a concurrent `domain remove` until the transaction ends. */
export async function lockDomain(client: pg.PoolClient, domain: string): Promise<string> {
  const id = await findDomainId(client, domain);
  if (!id)
    throw new StoreError(
      'not_found',
      `unknown domain ${domain}: add it first with \`tegami domain add ${domain}\``,
    );
  await client.query('SELECT 1 FROM domains WHERE id = $1 FOR SHARE', [id]);
  return id;
}

export async function refuseIfAlias(client: pg.PoolClient, address: string): Promise<void> {
  const result = await client.query('SELECT 1 FROM aliases WHERE address = $1 LIMIT 1', [address]);
  if (result.rowCount) throw new StoreError('duplicate', `${address} is an alias already`);
}

const MAX_PASSWORD_BYTES = 1024;

function checkPassword(password: string): void {
  if (password.length === 0) throw new StoreError('invalid', 'the password is empty');
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
    throw new StoreError('invalid', `the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
}
