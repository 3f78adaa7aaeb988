import type { AddressInfo } from 'node:net';
import type { Logger, TlsMaterial } from '@tegami/runtime';
import {
  type AdminToken,
  findAdminToken,
  LEGACY_SASL_OFF,
  type LegacySaslPolicy,
  recordAdminAudit,
  type SecretsKeyring,
} from '@tegami/store';
import { Ajv } from 'ajv';
import { type FastifyReply, type FastifyRequest, fastify } from 'fastify';
import type pg from 'pg';
import { consoleFile, DEFAULT_CONSOLE_DIR } from './console-files.js';
import { ApiError, errorReply } from './errors.js';
import { openApiDocument } from './openapi.js';
import { type Clock, type RateLimit, RateLimiter } from './rate-limit.js';
import { ADMIN_ROUTES, type AdminContext, type AdminRoute, API_PREFIX } from './routes/index.js';

export interface AdminServerOptions {
  readonly host: string;
  /** 0 picks a free port; the handle says which. */
  readonly port: number;
  readonly pool: pg.Pool;
  readonly logger: Logger;
  /** HTTPS with this certificate; plain HTTP without (a ClusterIP Service, loopback). */
  readonly tls?: TlsMaterial | undefined;
  /** Largest body read, in bytes (default 2 MiB); larger is 413. */
  readonly bodyLimit?: number;
  readonly readLimit?: RateLimit;
  readonly writeLimit?: RateLimit;
  readonly secretsKeyring?: SecretsKeyring | undefined;
  readonly legacySasl?: LegacySaslPolicy | undefined;
  /** The built web console (default: this package's console-dist/). */
  readonly consoleDir?: string;
  /** For the rate limits' buckets (tests). */
  readonly clock?: Clock;
}

export interface AdminServer {
  readonly port: number;
  /** http(s)://host:port, with a loopback address when the server listens on every address. */
  readonly url: string;
  stop(): Promise<void>;
}

export const DEFAULT_READ_LIMIT: RateLimit = { perSecond: 20, burst: 100 };
export const DEFAULT_WRITE_LIMIT: RateLimit = { perSecond: 5, burst: 20 };

/** What the hooks learn about a request on its way through, for the audit row. */
interface RequestState {
  route?: AdminRoute;
  token?: AdminToken;
  detail?: Record<string, unknown> | undefined;
  errorCode?: string;
}

/**
 * The admin API (/api/v1, OpenAPI at /api/openapi.json) and the web console (/console/), on a
 * fastify server of its own: the ops server stays as small as a probe needs, and the admin
 * port can be bound, exposed and protected on its own.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { logger } = options;
  const ctx: AdminContext = {
    pool: options.pool,
    secretsKeyring: options.secretsKeyring,
    legacySasl: options.legacySasl ?? LEGACY_SASL_OFF,
  };
  const limits = {
    read: new RateLimiter(options.readLimit ?? DEFAULT_READ_LIMIT, options.clock),
    write: new RateLimiter(options.writeLimit ?? DEFAULT_WRITE_LIMIT, options.clock),
  };
  const consoleDir = options.consoleDir ?? DEFAULT_CONSOLE_DIR;
  const bodyLimit = options.bodyLimit ?? 2 * 1024 * 1024;
  const states = new WeakMap<FastifyRequest, RequestState>();
  const stateOf = (request: FastifyRequest): RequestState => {
    const known = states.get(request);
    if (known) return known;
    const state: RequestState = {};
    states.set(request, state);
    return state;
  };

  const app = fastify({
    logger: false,
    bodyLimit,
    // An address is up to 320 octets, a Message-ID (trace) up to 998: not the default 100.
    routerOptions: { maxParamLength: 1000 },
    // No implicit HEAD twins of the GET routes: every route the API has is one declared here.
    exposeHeadRoutes: false,
    ...(options.tls && {
      https: { cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' as const },
    }),
  });

  // Query strings and paths are text, so their numbers are coerced (?limit=10); a JSON body
  // must have the types it says (no "5" for 5, no "false" for false). Unknown properties are
  // refused rather than dropped, so a misspelt field is an error, not a silent no-op.
  const coercing = new Ajv({
    coerceTypes: true,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    strict: false,
  });
  const strict = new Ajv({
    coerceTypes: false,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    strict: false,
  });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema),
  );

  // An empty body counts as none (a POST from a client that always sends the JSON type).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text as string));
    } catch (err) {
      done(
        new ApiError(400, 'invalid_request', `the body is not valid JSON: ${(err as Error).message}`),
        undefined,
      );
    }
  });

  app.setErrorHandler((err, request, reply) => {
    const { status, body, internal } = errorReply(err);
    if (internal) logger.error({ err, method: request.method, url: request.url }, 'admin API request failed');
    stateOf(request).errorCode = body.error.code;
    if (err instanceof RateLimited) reply.header('retry-after', String(err.retryAfterSeconds));
    if (status === 401) reply.header('www-authenticate', 'Bearer');
    void reply.code(status).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({
      error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` },
    });
  });

  app.addHook('onRequest', async (request) => {
    const route = (request.routeOptions.config as { adminRoute?: AdminRoute } | undefined)?.adminRoute;
    if (!route) return;
    const state = stateOf(request);
    state.route = route;
    const limiter = route.write ? limits.write : limits.read;
    // Per address before the token is even looked up, so guessing tokens is slow too.
    takeOrRefuse(limiter, `ip:${request.ip}`);
    const token = await authenticate(options.pool, request.headers.authorization);
    state.token = token;
    takeOrRefuse(limiter, `token:${token.id}`);
    if (route.write && token.scope !== 'full')
      throw new ApiError(403, 'forbidden', `the token ${token.name} is read-only: this needs a full token`);
  });

  // A body whose every field is optional may be left out (POST …/rotate with no options).
  app.addHook('preValidation', async (request) => {
    const route = states.get(request)?.route;
    if (route?.body && request.body === undefined && !(route.body.required as string[] | undefined)?.length)
      request.body = {};
  });

  // One audit row and one log line for every write, whatever its answer, before the answer
  // leaves: a client that sees 2xx can find its change in /audit. A write refused by the
  // address's rate limit is only logged: rows for those would let anyone fill the table.
  app.addHook('onSend', async (request, reply, payload) => {
    const state = states.get(request);
    if (!state?.route?.write) return payload;
    const entry = {
      tokenId: state.token?.id ?? null,
      tokenName: state.token?.name ?? null,
      method: request.method,
      route: `${API_PREFIX}${state.route.path}`,
      target: auditTarget(state.route, request, state.token),
      status: reply.statusCode,
      detail: reply.statusCode < 400 ? state.detail : { error: state.errorCode ?? 'unknown' },
    };
    const line = {
      token: entry.tokenName,
      method: entry.method,
      route: entry.route,
      target: entry.target,
      status: entry.status,
    };
    if (!state.token && reply.statusCode !== 401) {
      logger.warn(line, 'admin change refused');
      return payload;
    }
    logger.info(line, 'admin change');
    try {
      await recordAdminAudit(options.pool, entry);
    } catch (err) {
      logger.error({ err, ...line }, 'could not write the admin audit row');
    }
    return payload;
  });

  for (const route of ADMIN_ROUTES) {
    app.route({
      method: route.method,
      url: API_PREFIX + route.path.replace(/\{(\w+)\}/g, ':$1'),
      config: { adminRoute: route },
      schema: {
        ...(route.params && { params: route.params }),
        ...(route.query && { querystring: route.query }),
        ...(route.body && { body: route.body }),
        response: { [route.success.status]: route.success.schema },
      },
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const state = stateOf(request);
        const answer = await route.handle(ctx, {
          token: state.token!,
          params: (request.params ?? {}) as Record<string, string>,
          query: (request.query ?? {}) as Record<string, unknown>,
          body: request.body,
        });
        state.detail = answer.detail;
        void reply.code(answer.status ?? route.success.status);
        return answer.body;
      },
    });
  }

  const document = openApiDocument();
  app.get('/api/openapi.json', async () => document);

  app.get('/', async (_request, reply) => reply.redirect('/console/'));
  app.get('/console', async (_request, reply) => reply.redirect('/console/'));
  app.get('/console/*', async (request, reply) => {
    const relative = (request.params as { '*': string })['*'];
    const file = await consoleFile(consoleDir, relative);
    if (!file) {
      return reply.code(404).send({
        error: {
          code: 'not_found',
          message:
            relative === ''
              ? 'the web console is not built here (pnpm run console:build)'
              : `no file ${relative}`,
        },
      });
    }
    return reply
      .header('content-type', file.contentType)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header(
        'content-security-policy',
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
      )
      .send(file.data);
  });

  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await app.close();
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const url = `${options.tls ? 'https' : 'http'}://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
  logger.info({ url, tls: Boolean(options.tls) }, 'admin API listening');
  return { port, url, stop: () => app.close() };
}

class RateLimited extends ApiError {
  constructor(readonly retryAfterSeconds: number) {
    super(429, 'rate_limited', `too many requests: try again in ${retryAfterSeconds} s`);
  }
}

function takeOrRefuse(limiter: RateLimiter, key: string): void {
  const wait = limiter.take(key);
  if (wait > 0) throw new RateLimited(wait);
}

async function authenticate(pool: pg.Pool, header: string | undefined): Promise<AdminToken> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match)
    throw new ApiError(
      401,
      'unauthorized',
      'send Authorization: Bearer <token> (tegami admin token create <name>)',
    );
  const token = await findAdminToken(pool, match[1]!);
  if (!token) throw new ApiError(401, 'unauthorized', 'the token is not known here, or was revoked');
  return token;
}

function auditTarget(
  route: AdminRoute,
  request: FastifyRequest,
  token: AdminToken | undefined,
): string | null {
  const params = (request.params ?? {}) as Record<string, string>;
  try {
    if (route.target && token)
      return route.target({
        token,
        params,
        query: (request.query ?? {}) as Record<string, unknown>,
        body: request.body,
      });
  } catch {
    // The body was refused before it was read (401, 403, 413): it names no target then.
  }
  const first = Object.values(params)[0];
  return first === undefined ? null : first;
}
