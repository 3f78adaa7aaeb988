import type { AdminToken, LegacySaslPolicy, SecretsKeyring } from '@tegami/store';
import type pg from 'pg';

// One API route is data: its method, path, JSON schemas and handler. The server registers
// each with fastify (which validates input against the schemas), and the OpenAPI document
// is generated from the same objects, so the two cannot disagree.

/** A JSON Schema (draft 2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = Readonly<Record<string, unknown>>;

export interface AdminContext {
  readonly pool: pg.Pool;
  /** Seals new DKIM private keys; without it rotation is refused. */
  readonly secretsKeyring?: SecretsKeyring | undefined;
  /** Whether a new password gets CRAM-MD5/DIGEST-MD5 secrets (as `tegami user add`). */
  readonly legacySasl: LegacySaslPolicy;
}

export interface RouteRequest {
  readonly token: AdminToken;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, unknown>>;
  /** Validated against the route's body schema before the handler runs. */
  readonly body: unknown;
}

export interface RouteAnswer {
  readonly status?: number;
  readonly body: unknown;
  /** What the audit row keeps beside the target (never a password or a script). */
  readonly detail?: Record<string, unknown>;
}

export interface AdminRoute {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** OpenAPI style, below /api/v1: `/domains/{name}`. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  /** A change: needs a full token, is rate-limited as a write and audited. */
  readonly write: boolean;
  readonly params?: JsonSchema;
  readonly query?: JsonSchema;
  readonly body?: JsonSchema;
  /** The status of success (200 unless 201 for a creation) and its body. */
  readonly success: { readonly status: 200 | 201; readonly schema: JsonSchema };
  /** The 4xx answers it may give besides 400/401/403/429 (each route has those). */
  readonly errors?: readonly (404 | 409)[];
  /** What the audit row names: the domain, address, queue id…; default the first path parameter. */
  readonly target?: (req: RouteRequest) => string | null;
  handle(ctx: AdminContext, req: RouteRequest): Promise<RouteAnswer>;
}

export const API_PREFIX = '/api/v1';
