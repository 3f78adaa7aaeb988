import {
  type BusLogger,
  DEFAULT_CONCURRENCY,
  DEFAULT_RETRY_DELAY_MS,
  type JobConsumer,
  type JobHandler,
  type MailBus,
  type StopConsumerOptions,
  type Subscription,
  stderrLogger,
} from './bus.js';
import {
  decodeDeliveryJob,
  decodeMailboxChanged,
  encodeDeliveryJob,
  encodeMailboxChanged,
} from './events.js';
import { concurrencyOf, handleDelivery, type JobDelivery, raceDeadline } from './job-control.js';
import { busNames, DEFAULT_PREFIX } from './subjects.js';

// The bus for the single-process mode (`pnpm start`): the same semantics as NATS, kept
// in memory. Jobs are lost when the process exits, which is fine there: the Postgres
// queue rows survive and the delivery-worker re-queues them on start.

/**
 * What NATS is to the distributed deployment: buses created on one hub with one prefix
 * share their queue and events, as processes connected to one server do.
 */
export interface MemoryHub {
  readonly queues: Map<string, MemoryMailQueue>;
  readonly listeners: Map<string, Set<(data: Uint8Array) => void>>;
}

export function createMemoryHub(): MemoryHub {
  return { queues: new Map(), listeners: new Map() };
}

// Buses created without a hub share this one, so services of one process that each make
// their own bus still reach the same queue.
const processHub = createMemoryHub();

export interface MemoryBusOptions {
  readonly prefix?: string;
  readonly hub?: MemoryHub;
  readonly logger?: BusLogger;
  /** A queue id published again within this window is dropped. Default 2 min. */
  readonly duplicateWindowMs?: number;
}

export function createMemoryBus(options: MemoryBusOptions = {}): MailBus {
  const names = busNames(options.prefix ?? DEFAULT_PREFIX);
  const hub = options.hub ?? processHub;
  const logger = options.logger ?? stderrLogger;
  const duplicateWindowMs = options.duplicateWindowMs ?? 120_000;
  let queue = hub.queues.get(names.jobStream);
  if (!queue) {
    queue = new MemoryMailQueue(logger);
    hub.queues.set(names.jobStream, queue);
  }
  const jobs = queue;
  const consumers = new Set<MemoryJobConsumer>();
  const subscriptions = new Set<Subscription>();
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new Error('the bus is closed');
  };

  return {
    prefix: names.prefix,

    async publishJob(job, publishOptions) {
      assertOpen();
      jobs.publish(publishOptions?.dedupeId ?? job.queueId, encodeDeliveryJob(job), duplicateWindowMs);
    },

    consumeJobs(handler, consumeOptions) {
      assertOpen();
      const consumer = new MemoryJobConsumer(
        jobs,
        handler,
        concurrencyOf(consumeOptions?.concurrency, DEFAULT_CONCURRENCY),
        consumeOptions?.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
        logger,
      );
      consumers.add(consumer);
      jobs.attach(consumer);
      return {
        stop: async (stopOptions) => {
          await consumer.stop(stopOptions);
          consumers.delete(consumer);
        },
      } satisfies JobConsumer;
    },

    async publishMailboxChanged(event) {
      assertOpen();
      const data = encodeMailboxChanged(event);
      for (const listener of hub.listeners.get(names.mailboxChanged(event.accountId)) ?? []) {
        // Never inside publish: the publisher's transaction code must not run handlers.
        setImmediate(() => listener(data));
      }
    },

    subscribeMailboxChanged(accountId, handler) {
      assertOpen();
      const subject = names.mailboxChanged(accountId);
      const listener = (data: Uint8Array) => {
        const decoded = decodeMailboxChanged(data);
        if (!decoded.ok) {
          logger.warn({ subject, reason: decoded.reason }, 'malformed mailbox event dropped');
          return;
        }
        try {
          handler(decoded.value);
        } catch (err) {
          logger.error(
            { accountId, err: err instanceof Error ? err.message : String(err) },
            'mailbox event handler threw',
          );
        }
      };
      let set = hub.listeners.get(subject);
      if (!set) {
        set = new Set();
        hub.listeners.set(subject, set);
      }
      const listeners = set;
      listeners.add(listener);
      const subscription: Subscription = {
        unsubscribe: () => {
          subscriptions.delete(subscription);
          listeners.delete(listener);
          if (listeners.size === 0 && hub.listeners.get(subject) === listeners) hub.listeners.delete(subject);
        },
      };
      subscriptions.add(subscription);
      return subscription;
    },

    async ping() {
      assertOpen();
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const consumer of consumers) consumer.abandon();
      consumers.clear();
      for (const subscription of subscriptions) subscription.unsubscribe();
    },
  };
}

/** A job in the queue: the encoded bytes, as they would travel, and its delivery count. */
interface QueuedJob {
  readonly queueId: string;
  readonly data: Uint8Array;
  deliveries: number;
}

/** One prefix's work queue: what the MAIL_QUEUE stream and its durable consumer do. */
export class MemoryMailQueue {
  private readonly ready: QueuedJob[] = [];
  /** Queue id to publish time, oldest first: the duplicate window. */
  private readonly recent = new Map<string, number>();
  private readonly consumers: MemoryJobConsumer[] = [];
  private nextConsumer = 0;
  private dispatchScheduled = false;

  constructor(private readonly logger: BusLogger) {}

  publish(queueId: string, data: Uint8Array, duplicateWindowMs: number): void {
    const now = Date.now();
    for (const [id, at] of this.recent) {
      if (now - at < duplicateWindowMs) break;
      this.recent.delete(id);
    }
    if (this.recent.has(queueId)) {
      this.logger.info({ queueId }, 'job already queued');
      return;
    }
    this.recent.set(queueId, now);
    this.ready.push({ queueId, data, deliveries: 0 });
    this.scheduleDispatch();
  }

  attach(consumer: MemoryJobConsumer): void {
    this.consumers.push(consumer);
    this.scheduleDispatch();
  }

  detach(consumer: MemoryJobConsumer): void {
    const index = this.consumers.indexOf(consumer);
    if (index >= 0) this.consumers.splice(index, 1);
  }

  /** Back in line after delayMs (a nak, or a consumer that went away holding it). */
  requeue(job: QueuedJob, delayMs: number): void {
    if (delayMs <= 0) {
      this.ready.push(job);
      this.scheduleDispatch();
      return;
    }
    // Unref'd: a pending retry alone must not keep the process alive, as on NATS.
    setTimeout(() => this.requeue(job, 0), delayMs).unref();
  }

  /** A consumer has a free slot: hand out waiting jobs. */
  scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.ready.length > 0) {
      const consumer = this.pickConsumer();
      if (!consumer) return;
      const job = this.ready.shift()!;
      job.deliveries++;
      consumer.deliver(job);
    }
  }

  /** Round robin among consumers with a free slot, like pull requests from several workers. */
  private pickConsumer(): MemoryJobConsumer | undefined {
    for (let i = 0; i < this.consumers.length; i++) {
      const index = (this.nextConsumer + i) % this.consumers.length;
      const consumer = this.consumers[index]!;
      if (consumer.hasCapacity()) {
        this.nextConsumer = index + 1;
        return consumer;
      }
    }
    return undefined;
  }
}

interface InFlight {
  readonly job: QueuedJob;
  settled: boolean;
  /** False once the bus closed under it: its later ack/nak/term no longer count. */
  owned: boolean;
  done?: Promise<void>;
  handOver?: () => void;
}

class MemoryJobConsumer {
  private readonly inFlight = new Set<InFlight>();
  private stopping = false;

  constructor(
    private readonly queue: MemoryMailQueue,
    private readonly handler: JobHandler,
    private readonly concurrency: number,
    private readonly retryDelayMs: number,
    private readonly logger: BusLogger,
  ) {}

  hasCapacity(): boolean {
    return !this.stopping && this.inFlight.size < this.concurrency;
  }

  deliver(job: QueuedJob): void {
    const decoded = decodeDeliveryJob(job.data);
    if (!decoded.ok) {
      // Unreachable through publishJob, which validates; kept so both buses agree.
      this.logger.error({ queueId: job.queueId, reason: decoded.reason }, 'malformed job terminated');
      return;
    }
    const queue = this.queue;
    const settle = (entry: InFlight): boolean => {
      if (!entry.owned || entry.settled) return false;
      entry.settled = true;
      return true;
    };
    const entry: InFlight = { job, settled: false, owned: true };
    const delivery: JobDelivery = {
      deliveryCount: job.deliveries,
      ack: async () => {
        if (!entry.owned) throw new Error('the bus is closed');
        settle(entry);
      },
      nak: (delayMs) => {
        if (settle(entry)) queue.requeue(job, delayMs);
      },
      term: () => {
        settle(entry);
      },
      // No ack wait to restart in memory.
      working: () => {},
    };
    this.inFlight.add(entry);
    entry.done = handleDelivery(decoded.value, delivery, this.handler, {
      retryDelayMs: this.retryDelayMs,
      logger: this.logger,
      onHandOver: (fn) => {
        entry.handOver = fn;
      },
    }).finally(() => {
      this.inFlight.delete(entry);
      queue.scheduleDispatch();
    });
  }

  async stop(options?: StopConsumerOptions): Promise<void> {
    this.stopping = true;
    this.queue.detach(this);
    const drained = (async () => {
      while (this.inFlight.size > 0) await Promise.all([...this.inFlight].map((entry) => entry.done));
    })();
    if (options?.handOverAfterMs === undefined) return drained;
    if ((await raceDeadline(drained, options.handOverAfterMs)) === 'deadline') {
      for (const entry of this.inFlight) entry.handOver?.();
    }
  }

  /** The bus closed: unsettled jobs go back to the queue at once, as after an ack wait. */
  abandon(): void {
    this.stopping = true;
    this.queue.detach(this);
    for (const entry of this.inFlight) {
      entry.owned = false;
      if (!entry.settled) this.queue.requeue(entry.job, 0);
    }
    this.inFlight.clear();
  }
}
