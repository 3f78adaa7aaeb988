import { LOGIN_TALLY_PROTOCOLS, listAdminAudit, mailStats } from '@tegami/store';
import type { AdminRoute } from './route.js';
import { anyObject, arrayOf, count, iso, nullableTimestamp, object, timestamp } from './schemas.js';

export const whoamiRoute: AdminRoute = {
  method: 'GET',
  path: '/whoami',
  operationId: 'whoami',
  summary: 'The token this request carries: its name and scope',
  tag: 'overview',
  write: false,
  success: {
    status: 200,
    schema: object({ name: { type: 'string' }, scope: { type: 'string', enum: ['read', 'full'] } }),
  },
  handle: async (_ctx, req) => ({ body: { name: req.token.name, scope: req.token.scope } }),
};

export const statsRoute: AdminRoute = {
  method: 'GET',
  path: '/stats',
  operationId: 'getStats',
  summary: 'The numbers of the dashboard: queue, the last 24 hours, totals',
  description: `queue: recipients waiting (pending or deferred), when the oldest of their messages was
accepted, and how many of them are deferred. last24h: recipients delivered and bounced (by when
their delivery finished), deferred attempts, messages received over SMTP (not DSNs or Sieve
replies). loginsOk and loginsFailed: logins over SMTP AUTH, POP3, IMAP and ManageSieve whose
credentials were verified or refused (loginsByProtocol: the same per protocol). spam: the spam
filter's verdicts on mail received on port 25 (ham: accepted; spam: accepted and filed as junk;
rejected: refused at SMTP for good). Logins and verdicts are counted per hour: their last 24
hours are the current hour and the 23 before it, and each service writes its counts every few
seconds. messages and storedBytes: all mailboxes together, as the quotas count them.`,
  tag: 'overview',
  write: false,
  success: {
    status: 200,
    schema: object({
      queue: object({ waiting: count, oldestQueuedAt: nullableTimestamp, deferred: count }),
      last24h: object({
        delivered: count,
        bounced: count,
        deferred: count,
        received: count,
        loginsOk: count,
        loginsFailed: count,
        loginsByProtocol: object(
          Object.fromEntries(LOGIN_TALLY_PROTOCOLS.map((p) => [p, object({ ok: count, failed: count })])),
        ),
        spam: object({ ham: count, spam: count, rejected: count }),
      }),
      domains: count,
      users: count,
      messages: count,
      storedBytes: count,
    }),
  },
  handle: async (ctx) => {
    const stats = await mailStats(ctx.pool);
    return { body: { ...stats, queue: { ...stats.queue, oldestQueuedAt: iso(stats.queue.oldestQueuedAt) } } };
  },
};

export const auditRoute: AdminRoute = {
  method: 'GET',
  path: '/audit',
  operationId: 'listAudit',
  summary: 'The latest changes made through the API, and the writes it refused (newest first)',
  tag: 'overview',
  write: false,
  query: {
    type: 'object',
    additionalProperties: false,
    properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
  },
  success: {
    status: 200,
    schema: object({
      entries: arrayOf(
        object({
          id: { type: 'string' },
          at: timestamp,
          /** null: the request had no valid token (a refused write, 401). */
          token: { type: ['string', 'null'] },
          method: { type: 'string' },
          route: { type: 'string' },
          target: { type: ['string', 'null'] },
          status: { type: 'integer' },
          detail: { anyOf: [anyObject, { type: 'null' }] },
        }),
      ),
    }),
  },
  handle: async (ctx, req) => {
    const entries = await listAdminAudit(ctx.pool, (req.query.limit as number | undefined) ?? 100);
    return {
      body: {
        entries: entries.map((e) => ({
          id: e.id,
          at: iso(e.at),
          token: e.tokenName,
          method: e.method,
          route: e.route,
          target: e.target,
          status: e.status,
          detail: e.detail,
        })),
      },
    };
  },
};
