import { createHash } from 'node:crypto';
import { createLogger } from '@tegami/runtime';
import type pg from 'pg';

// What the admin API's tests share: a logger whose lines they can read, an HTTP caller, the
// sample values that fill every route's path, and a fingerprint of what the API can change.

export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export function capturingLogger() {
  const lines: LogLine[] = [];
  const logger = createLogger({
    service: 'admin-test',
    level: 'info',
    destination: { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
  });
  return { logger, lines };
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: a test reads whatever JSON came back
  readonly body: any;
}

export function caller(baseUrl: string) {
  return async (
    method: string,
    path: string,
    options: { token?: string; body?: unknown; rawBody?: string; contentType?: string } = {},
  ): Promise<Answer> => {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body, redirect: 'manual' });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    return {
      status: response.status,
      headers: response.headers,
      body: type.includes('json') && text !== '' ? JSON.parse(text) : text,
    };
  };
}

/** Fills `{name}` parameters of an OpenAPI path from `values`. */
export function fillPath(path: string, values: Readonly<Record<string, string>>): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no sample value for {${name}}`);
    return encodeURIComponent(value);
  });
}

/**
 * Everything a write could change, as one string: two equal fingerprints mean a refused
 * request changed nothing.
 */
export async function storeFingerprint(pool: pg.Pool): Promise<string> {
  const result = await pool.query<{ state: string }>(
    `SELECT concat_ws('|',
       (SELECT string_agg(name || plus_addressing, ',' ORDER BY id) FROM domains),
       (SELECT string_agg(concat_ws(':', address, disabled, quota_bytes, password_scrypt), ',' ORDER BY id) FROM accounts),
       (SELECT string_agg(address || '>' || destination, ',' ORDER BY id) FROM aliases),
       (SELECT string_agg(concat_ws(':', account_id, name, active, md5(content)), ',' ORDER BY id) FROM sieve_scripts),
       (SELECT string_agg(concat_ws(':', selector, state), ',' ORDER BY id) FROM dkim_keys),
       (SELECT string_agg(concat_ws(':', queue_id, recipient, status, next_attempt_at), ',' ORDER BY id) FROM deliveries)
     ) AS state`,
  );
  return result.rows[0]!.state;
}

/** A queued message with one deferred recipient, as the delivery-worker leaves one. */
export async function queueDeferredMessage(pool: pg.Pool, queueId: string, recipient: string): Promise<void> {
  const data = Buffer.from(`Message-ID: <${queueId}@example.test>\r\nSubject: test\r\n\r\nbody\r\n`);
  const sha = createHash('sha256').update(data).digest();
  await pool.query(
    'INSERT INTO blobs (sha256, size, data) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING',
    [sha, data.length, data],
  );
  await pool.query(
    `INSERT INTO queue (id, state, blob_sha256, size, sender, message_id, listener)
     VALUES ($1, 'queued', $2, $3, 'sender@remote.test', $4, 'submission')`,
    [queueId, sha, data.length, `<${queueId}@example.test>`],
  );
  await pool.query(
    `INSERT INTO deliveries (queue_id, recipient, status, attempts, next_attempt_at, last_attempt_at, last_reply)
     VALUES ($1, $2, 'deferred', 1, now() + interval '1 hour', now(), '451 4.7.1 try again later')`,
    [queueId, recipient],
  );
}
