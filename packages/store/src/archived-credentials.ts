import type pg from 'pg';
import { lockDomain, mailboxAddress, refuseIfAlias } from './accounts.js';
import type { Queryable } from './db.js';
import { StoreError } from './errors.js';
import { createDefaultMailboxes } from './mailboxes.js';
import { adoptPostmaster } from './postmaster.js';

// What an account archive keeps of the password: the verifiers Postgres holds (scrypt, SCRAM
// keys) or the hash imported from another server (migration 0027), never the password. A
// restore that has to make the user again gives it these, so export → remove → restore
// brings back a user who logs in as before. They are what a database dump holds too: an
// archive is to be kept as carefully as one. CRAM-MD5/DIGEST-MD5 secrets are sealed with this
// server's key (legacy-sasl-secrets.ts) and stay out; those two mechanisms work again once
// the password is set anew.

export type ArchivedCredentials =
  | {
      readonly kind: 'verifiers';
      readonly scrypt: string;
      readonly scramSha256: {
        /** base64 */
        readonly salt: string;
        readonly iterations: number;
        /** base64 */
        readonly storedKey: string;
        /** base64 */
        readonly serverKey: string;
      };
    }
  | { readonly kind: 'imported-hash'; readonly hash: string };

export interface ArchivedAccountState {
  readonly disabled: boolean;
  readonly credentials: ArchivedCredentials;
}

export async function readArchivedAccountState(
  db: Queryable,
  accountId: string,
): Promise<ArchivedAccountState> {
  const result = await db.query<{
    disabled: boolean;
    password_legacy_hash: string | null;
    password_scrypt: string | null;
    scram_sha256_salt: Buffer | null;
    scram_sha256_iterations: number | null;
    scram_sha256_stored_key: Buffer | null;
    scram_sha256_server_key: Buffer | null;
  }>(
    `SELECT disabled, password_legacy_hash, password_scrypt, scram_sha256_salt, scram_sha256_iterations,
            scram_sha256_stored_key, scram_sha256_server_key
       FROM accounts WHERE id = $1`,
    [accountId],
  );
  const row = result.rows[0];
  if (!row) throw new StoreError('not_found', `no account ${accountId}`);
  if (row.password_legacy_hash !== null)
    return { disabled: row.disabled, credentials: { kind: 'imported-hash', hash: row.password_legacy_hash } };
  return {
    disabled: row.disabled,
    credentials: {
      kind: 'verifiers',
      scrypt: row.password_scrypt ?? '',
      scramSha256: {
        salt: row.scram_sha256_salt?.toString('base64') ?? '',
        iterations: row.scram_sha256_iterations ?? 0,
        storedKey: row.scram_sha256_stored_key?.toString('base64') ?? '',
        serverKey: row.scram_sha256_server_key?.toString('base64') ?? '',
      },
    },
  };
}

/** Whether a manifest's `account` is the shape readArchivedAccountState writes. */
export function isArchivedAccountState(value: unknown): value is ArchivedAccountState {
  if (typeof value !== 'object' || value === null) return false;
  const state = value as { disabled?: unknown; credentials?: Record<string, unknown> };
  const c = state.credentials;
  if (typeof state.disabled !== 'boolean' || typeof c !== 'object' || c === null) return false;
  if (c.kind === 'imported-hash') return typeof c.hash === 'string' && c.hash !== '';
  if (c.kind !== 'verifiers' || typeof c.scrypt !== 'string' || c.scrypt === '') return false;
  const scram = c.scramSha256 as Record<string, unknown> | undefined;
  return (
    typeof scram === 'object' &&
    scram !== null &&
    typeof scram.salt === 'string' &&
    Number.isInteger(scram.iterations) &&
    typeof scram.storedKey === 'string' &&
    typeof scram.serverKey === 'string'
  );
}

/**
 * Makes the account again with its archived password verifiers (or imported hash) and
 * disabled state, its standard mailboxes and, as `tegami user add` does, the postmaster role
 * when the domain has none. The domain must exist.
 */
export async function createAccountFromArchive(
  client: pg.PoolClient,
  addressInput: string,
  state: ArchivedAccountState,
): Promise<string> {
  const address = mailboxAddress(addressInput);
  const domainId = await lockDomain(client, address.domain);
  await refuseIfAlias(client, address.canonical);
  const c = state.credentials;
  const inserted = await client.query<{ id: string }>(
    `INSERT INTO accounts (domain_id, local_part, address, digest_md5_realm, disabled, password_legacy_hash,
                           password_scrypt, scram_sha256_salt, scram_sha256_iterations,
                           scram_sha256_stored_key, scram_sha256_server_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
    [
      domainId,
      address.localPart,
      address.canonical,
      address.domain,
      state.disabled,
      c.kind === 'imported-hash' ? c.hash : null,
      c.kind === 'verifiers' ? c.scrypt : null,
      c.kind === 'verifiers' ? Buffer.from(c.scramSha256.salt, 'base64') : null,
      c.kind === 'verifiers' ? c.scramSha256.iterations : null,
      c.kind === 'verifiers' ? Buffer.from(c.scramSha256.storedKey, 'base64') : null,
      c.kind === 'verifiers' ? Buffer.from(c.scramSha256.serverKey, 'base64') : null,
    ],
  );
  const id = inserted.rows[0]!.id;
  await createDefaultMailboxes(client, id);
  await adoptPostmaster(client, domainId, address.canonical);
  return id;
}
