import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from './db.js';
import { isUniqueViolation, StoreError } from './errors.js';

// The admin API's bearer tokens and its audit log (migration 0026). A token is `tgm_` and 43
// base64url characters (32 random bytes); only its SHA-256 is stored, so the database never
// holds anything that opens the API. `tegami admin token create` prints the token once.

export type AdminScope = 'read' | 'full';

export interface AdminToken {
  readonly id: string;
  readonly name: string;
  readonly scope: AdminScope;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
}

const TOKEN_PATTERN = /^tgm_[A-Za-z0-9_-]{43}$/;
/** Names appear in logs, audit rows and the CLI's table: printable, short, no spaces. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export function adminTokenSha256(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Creates a token and returns it with the one copy of its secret that will ever exist. */
export async function createAdminToken(
  db: Queryable,
  name: string,
  scope: AdminScope,
): Promise<{ readonly token: string; readonly record: AdminToken }> {
  if (!NAME_PATTERN.test(name))
    throw new StoreError(
      'invalid',
      `a token name is 1 to 64 letters, digits and . _ @ - (starting with a letter or digit), not "${name}"`,
    );
  const token = `tgm_${randomBytes(32).toString('base64url')}`;
  try {
    const result = await db.query<TokenRow>(
      `INSERT INTO admin_tokens (name, scope, token_sha256) VALUES ($1, $2, $3) RETURNING ${TOKEN_COLUMNS}`,
      [name, scope, adminTokenSha256(token)],
    );
    return { token, record: toToken(result.rows[0]!) };
  } catch (err) {
    if (isUniqueViolation(err, 'admin_tokens_name_key'))
      throw new StoreError(
        'duplicate',
        `a token named ${name} exists already (revoked tokens keep their name)`,
      );
    throw err;
  }
}

export async function listAdminTokens(db: Queryable): Promise<AdminToken[]> {
  const result = await db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM admin_tokens ORDER BY name`);
  return result.rows.map(toToken);
}

/** Revokes the token from its next request on; revoking a revoked one is not_found. */
export async function revokeAdminToken(db: Queryable, name: string): Promise<AdminToken> {
  const result = await db.query<TokenRow>(
    `UPDATE admin_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL RETURNING ${TOKEN_COLUMNS}`,
    [name],
  );
  if (!result.rows[0]) throw new StoreError('not_found', `no token named ${name} that is not revoked`);
  return toToken(result.rows[0]);
}

/**
 * The live token a bearer string stands for, or undefined (malformed, unknown, revoked). Marks
 * it used, at most once a minute, so a busy console does not write a row per request.
 */
export async function findAdminToken(db: Queryable, token: string): Promise<AdminToken | undefined> {
  if (!TOKEN_PATTERN.test(token)) return undefined;
  const result = await db.query<TokenRow>(
    `SELECT ${TOKEN_COLUMNS} FROM admin_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL`,
    [adminTokenSha256(token)],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  await db.query(
    `UPDATE admin_tokens SET last_used_at = now()
      WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
    [row.id],
  );
  return toToken(row);
}

export interface AdminAuditEntry {
  readonly id: string;
  readonly at: Date;
  /** Null: the request had no valid token (401). */
  readonly tokenName: string | null;
  readonly method: string;
  readonly route: string;
  readonly target: string | null;
  readonly status: number;
  readonly detail: Record<string, unknown> | null;
}

export interface AdminAuditRecord {
  readonly tokenId: string | null;
  readonly tokenName: string | null;
  readonly method: string;
  readonly route: string;
  readonly target: string | null;
  readonly status: number;
  readonly detail?: Record<string, unknown> | undefined;
}

export async function recordAdminAudit(db: Queryable, entry: AdminAuditRecord): Promise<void> {
  await db.query(
    `INSERT INTO admin_audit (token_id, token_name, method, route, target, status, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      entry.tokenId,
      entry.tokenName,
      entry.method,
      entry.route,
      entry.target,
      entry.status,
      entry.detail === undefined ? null : JSON.stringify(entry.detail),
    ],
  );
}

/** The latest entries, newest first. */
export async function listAdminAudit(db: Queryable, limit = 100): Promise<AdminAuditEntry[]> {
  const result = await db.query<{
    id: string;
    at: Date;
    token_name: string | null;
    method: string;
    route: string;
    target: string | null;
    status: number;
    detail: Record<string, unknown> | null;
  }>(
    `SELECT id, at, token_name, method, route, target, status, detail
       FROM admin_audit ORDER BY id DESC LIMIT $1`,
    [limit],
  );
  return result.rows.map((row) => ({
    id: row.id,
    at: row.at,
    tokenName: row.token_name,
    method: row.method,
    route: row.route,
    target: row.target,
    status: row.status,
    detail: row.detail,
  }));
}

interface TokenRow {
  id: string;
  name: string;
  scope: AdminScope;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const TOKEN_COLUMNS = 'id, name, scope, created_at, last_used_at, revoked_at';

function toToken(row: TokenRow): AdminToken {
  return {
    id: row.id,
    name: row.name,
    scope: row.scope,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}
