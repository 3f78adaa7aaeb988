import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  type BusLogger,
  DEFAULT_CONCURRENCY,
  DEFAULT_RETRY_DELAY_MS,
  type MailBus,
  type Subscription,
  stderrLogger,
} from './bus.js';
import { decodeMailboxChanged, encodeDeliveryJob, encodeMailboxChanged } from './events.js';
import { concurrencyOf, errorMessage } from './job-control.js';
import { ensureDeliveryConsumer, ensureMailQueue } from './mail-queue.js';
import { type NatsJobConsumer, startNatsJobConsumer } from './nats-consumer.js';
import { busNames, DEFAULT_PREFIX } from './subjects.js';

export interface NatsBusOptions {
  /** e.g. nats://127.0.0.1:4222; several for a cluster. */
  readonly servers: string | readonly string[];
  /** Carried by every subject, stream and consumer name. Default `tegami`. */
  readonly prefix?: string;
  /** The client name the server's monitoring shows (the service's name). */
  readonly name?: string;
  readonly logger?: BusLogger;
  /** First connection: give up after this long. Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** PubAck, ack confirmation and JetStream API calls: reject after this long. Default 5000 ms. */
  readonly requestTimeoutMs?: number;
  /** ping(): reject after this long. Default 2000 ms. */
  readonly pingTimeoutMs?: number;
  /** Delay between reconnect attempts (which never stop). Default 2000 ms. */
  readonly reconnectWaitMs?: number;
  /** A delivered job unacked this long goes to another worker. Default 60 s. */
  readonly ackWaitMs?: number;
  /** A queue id published again within this window is dropped. Default 2 min. */
  readonly duplicateWindowMs?: number;
  /** Unacked jobs (including those nak'd with a delay) across all workers. Default 10,000. */
  readonly maxAckPending?: number;
  /** Stream replicas: 1 on a single server, 3 on a cluster. Default 1. */
  readonly replicas?: number;
}

/**
 * Connects, and makes sure the MAIL_QUEUE stream exists before resolving, so a job
 * published right after can be stored. Rejects with the server URL in the message when
 * the first connection fails; later disconnections are retried forever.
 */
export async function connectNatsBus(options: NatsBusOptions): Promise<MailBus> {
  const names = busNames(options.prefix ?? DEFAULT_PREFIX);
  const logger = options.logger ?? stderrLogger;
  const servers = typeof options.servers === 'string' ? [options.servers] : [...options.servers];
  const where = servers.join(', ');
  const requestTimeoutMs = options.requestTimeoutMs ?? 5000;
  const pingTimeoutMs = options.pingTimeoutMs ?? 2000;

  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: options.name ?? 'tegami',
      timeout: options.connectTimeoutMs ?? 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectWaitMs ?? 2000,
    });
  } catch (err) {
    throw new Error(`cannot connect to NATS at ${where}: ${errorMessage(err)}`, { cause: err });
  }

  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout: requestTimeoutMs });
    await ensureMailQueue(
      jsm,
      names,
      { duplicateWindowMs: options.duplicateWindowMs ?? 120_000, replicas: options.replicas ?? 1 },
      logger,
    );
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw new Error(`cannot set up the mail queue on NATS at ${where}: ${errorMessage(err)}`, { cause: err });
  }
  const js = jsm.jetstream();
  logConnectionStatus(nc, logger).catch(() => undefined);

  const consumerSettings = {
    ackWaitMs: options.ackWaitMs ?? 60_000,
    maxAckPending: options.maxAckPending ?? 10_000,
  };
  const consumers = new Set<NatsJobConsumer>();
  const subscriptions = new Set<Subscription>();
  let closing: Promise<void> | undefined;

  return {
    prefix: names.prefix,

    async publishJob(job, publishOptions) {
      const data = encodeDeliveryJob(job);
      try {
        const ack = await js.publish(names.jobSubject, data, {
          msgID: publishOptions?.dedupeId ?? job.queueId,
          timeout: requestTimeoutMs,
        });
        if (ack.duplicate) logger.info({ queueId: job.queueId, seq: ack.seq }, 'job already queued');
      } catch (err) {
        throw new Error(`queueing job ${job.queueId} on NATS at ${where} failed: ${errorMessage(err)}`, {
          cause: err,
        });
      }
    },

    consumeJobs(handler, consumeOptions) {
      if (closing) throw new Error('the bus is closed');
      const consumer = startNatsJobConsumer({
        js,
        names,
        ensureConsumer: () => ensureDeliveryConsumer(jsm, names, consumerSettings, logger),
        handler,
        concurrency: concurrencyOf(consumeOptions?.concurrency, DEFAULT_CONCURRENCY),
        retryDelayMs: consumeOptions?.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
        ackTimeoutMs: requestTimeoutMs,
        logger,
      });
      consumers.add(consumer);
      return {
        stop: async (stopOptions) => {
          await consumer.stop(stopOptions);
          consumers.delete(consumer);
        },
      };
    },

    async publishMailboxChanged(event) {
      nc.publish(names.mailboxChanged(event.accountId), encodeMailboxChanged(event));
    },

    subscribeMailboxChanged(accountId, handler) {
      const sub = nc.subscribe(names.mailboxChanged(accountId), {
        callback: (err, msg) => {
          if (err) {
            logger.warn({ accountId, err: errorMessage(err) }, 'mailbox event subscription failed');
            return;
          }
          const decoded = decodeMailboxChanged(msg.data);
          if (!decoded.ok || decoded.value.accountId !== accountId) {
            const reason = decoded.ok ? 'accountId differs from the subject' : decoded.reason;
            logger.warn({ subject: msg.subject, reason }, 'malformed mailbox event dropped');
            return;
          }
          try {
            handler(decoded.value);
          } catch (handlerErr) {
            logger.error({ accountId, err: errorMessage(handlerErr) }, 'mailbox event handler threw');
          }
        },
      });
      const subscription: Subscription = {
        unsubscribe: () => {
          subscriptions.delete(subscription);
          if (!sub.isClosed()) sub.unsubscribe();
        },
      };
      subscriptions.add(subscription);
      return subscription;
    },

    async ping() {
      if (nc.isClosed()) throw new Error(`the NATS connection to ${where} is closed`);
      try {
        await withTimeout(nc.flush(), pingTimeoutMs, `no answer within ${pingTimeoutMs} ms`);
      } catch (err) {
        throw new Error(`NATS at ${where} did not answer a ping: ${errorMessage(err)}`, { cause: err });
      }
    },

    close() {
      closing ??= (async () => {
        for (const consumer of consumers) consumer.abandon();
        consumers.clear();
        for (const subscription of subscriptions) subscription.unsubscribe();
        // drain() sends what is still buffered (the last events); a server that is away
        // would make it wait for the reconnect, so it gets a bound.
        await withTimeout(nc.drain(), requestTimeoutMs, 'drain timed out').catch(() => undefined);
        if (!nc.isClosed()) await nc.close();
      })();
      return closing;
    },
  };
}

async function logConnectionStatus(nc: NatsConnection, logger: BusLogger): Promise<void> {
  for await (const status of nc.status()) {
    switch (status.type) {
      case 'disconnect':
        logger.warn({ server: status.server }, 'NATS disconnected; reconnecting');
        break;
      case 'reconnect':
        logger.info({ server: status.server }, 'NATS reconnected');
        break;
      case 'error':
        logger.error({ err: errorMessage(status.error) }, 'NATS error');
        break;
      case 'staleConnection':
      case 'slowConsumer':
        logger.warn({ status: status.type }, 'NATS connection trouble');
        break;
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
