import {
  dropQueued,
  listPendingRecipients,
  retryNow,
  StoreError,
  type TraceMessage,
  traceMessages,
} from '@tegami/store';
import type { AdminRoute } from './route.js';
import { anyObject, arrayOf, bytes, iso, nullableTimestamp, object, timestamp } from './schemas.js';

// The queue as `tegami queue` and `tegami trace` see it. Retrying only makes recipients due:
// the delivery-workers' due scan publishes their jobs within seconds.

const queueId = { type: 'string', minLength: 1, maxLength: 64 };

const recipient = object({
  queueId: { type: 'string' },
  sender: { type: 'string' },
  recipient: { type: 'string' },
  status: { type: 'string', enum: ['pending', 'deferred'] },
  attempts: { type: 'integer', minimum: 0 },
  nextAttemptAt: nullableTimestamp,
  lastReply: { type: ['string', 'null'] },
  receivedAt: timestamp,
  size: bytes,
});

const attempt = object({
  at: timestamp,
  outcome: { type: 'string' },
  mxHost: { type: ['string', 'null'] },
  address: { type: ['string', 'null'] },
  reply: { type: ['string', 'null'] },
});

const tracedMessage = object({
  queueId: { type: 'string' },
  state: { type: 'string' },
  sender: { type: 'string' },
  messageId: { type: ['string', 'null'] },
  size: bytes,
  receivedAt: timestamp,
  clientAddress: { type: ['string', 'null'] },
  listener: { type: ['string', 'null'] },
  reportsOn: { type: ['string', 'null'] },
  verdict: { anyOf: [anyObject, { type: 'null' }] },
  recipients: arrayOf(
    object({
      recipient: { type: 'string' },
      expandedFrom: { type: ['string', 'null'] },
      status: { type: 'string' },
      nextAttemptAt: nullableTimestamp,
      attempts: arrayOf(attempt),
      sieveActions: { anyOf: [arrayOf(anyObject), { type: 'null' }] },
    }),
  ),
});

function traceOut(m: TraceMessage) {
  return {
    ...m,
    receivedAt: iso(m.receivedAt),
    recipients: m.recipients.map((r) => ({
      ...r,
      nextAttemptAt: iso(r.nextAttemptAt),
      attempts: r.attempts.map((a) => ({ ...a, at: iso(a.at) })),
    })),
  };
}

const retried = object({ messages: { type: 'integer', minimum: 0 } });

export const queueRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: '/queue',
    operationId: 'listQueue',
    summary: 'Recipients waiting for delivery: attempts, next try, last reply (oldest first)',
    tag: 'queue',
    write: false,
    query: object({ limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 1000 } }, []),
    success: { status: 200, schema: object({ recipients: arrayOf(recipient) }) },
    handle: async (ctx, req) => {
      const pending = await listPendingRecipients(ctx.pool, (req.query.limit as number | undefined) ?? 1000);
      return {
        body: {
          recipients: pending.map((p) => ({
            ...p,
            nextAttemptAt: iso(p.nextAttemptAt),
            receivedAt: iso(p.receivedAt),
          })),
        },
      };
    },
  },
  {
    method: 'POST',
    path: '/queue/{queueId}/retry',
    operationId: 'retryQueued',
    summary: 'Make the waiting recipients of one message due now',
    tag: 'queue',
    write: true,
    params: object({ queueId }),
    success: { status: 200, schema: retried },
    errors: [404],
    handle: async (ctx, req) => {
      const ids = await retryNow(ctx.pool, req.params.queueId!);
      if (ids.length === 0)
        throw new StoreError('not_found', `no waiting recipients for ${req.params.queueId}`);
      return { body: { messages: ids.length } };
    },
  },
  {
    method: 'POST',
    path: '/queue/retry-all',
    operationId: 'retryAllQueued',
    summary: 'Make every waiting recipient due now',
    tag: 'queue',
    write: true,
    success: { status: 200, schema: retried },
    target: () => null,
    handle: async (ctx) => {
      const ids = await retryNow(ctx.pool);
      return { body: { messages: ids.length }, detail: { messages: ids.length } };
    },
  },
  {
    method: 'DELETE',
    path: '/queue/{queueId}',
    operationId: 'dropQueued',
    summary: 'Give up on the waiting recipients of a message, without telling its sender',
    tag: 'queue',
    write: true,
    params: object({ queueId }),
    success: { status: 200, schema: object({ dropped: { type: 'integer', minimum: 0 } }) },
    errors: [404],
    handle: async (ctx, req) => {
      const dropped = await dropQueued(ctx.pool, req.params.queueId!);
      if (dropped === 0) throw new StoreError('not_found', `no waiting recipients for ${req.params.queueId}`);
      return { body: { dropped }, detail: { dropped } };
    },
  },
  {
    method: 'GET',
    path: '/trace/{key}',
    operationId: 'traceMessage',
    summary: 'What became of a message, by queue id or Message-ID: each recipient and attempt',
    description: '404 when no message has that queue id or Message-ID (with or without its angle brackets).',
    tag: 'queue',
    write: false,
    params: object({ key: { type: 'string', minLength: 1, maxLength: 998 } }),
    success: { status: 200, schema: object({ messages: arrayOf(tracedMessage) }) },
    errors: [404],
    handle: async (ctx, req) => {
      const messages = await traceMessages(ctx.pool, req.params.key!);
      if (messages.length === 0)
        throw new StoreError('not_found', `no message with queue id or Message-ID ${req.params.key}`);
      return { body: { messages: messages.map(traceOut) } };
    },
  },
];
