import type { DeliveryJob, MailboxChanged } from './events.js';

/**
 * The mail bus as services see it: a durable work queue of delivery jobs and mailbox
 * change events. Two implementations keep the same semantics: NATS JetStream for the
 * distributed deployment (nats-bus.ts) and an in-process one for the single-process
 * mode (memory-bus.ts); bus.contract.ts holds the tests both must pass.
 */
export interface MailBus {
  /** The subject prefix every name of this bus carries. */
  readonly prefix: string;
  /**
   * Resolves only once the queue has stored the job (the JetStream PubAck), which is
   * what lets smtp-ingress answer 250. The queue id is the message id: a job published
   * again with the same queueId within the duplicate window is dropped, not queued twice.
   * Rejects (after a timeout at most) when the queue cannot be reached.
   */
  publishJob(job: DeliveryJob, options?: PublishJobOptions): Promise<void>;
  /**
   * Starts handling jobs from the durable consumer all workers share: each job goes to
   * one handler at a time. A handler that returns without settling acks; one that throws
   * without settling naks with a short delay, so the job is retried, never lost.
   */
  consumeJobs(handler: JobHandler, options?: ConsumeJobsOptions): JobConsumer;
  /** Core pub/sub: at most once, to whoever subscribes now (IMAP replicas). */
  publishMailboxChanged(event: MailboxChanged): Promise<void>;
  /** Events of that account only. The handler runs asynchronously, never inside publish. */
  subscribeMailboxChanged(accountId: string, handler: (event: MailboxChanged) => void): Subscription;
  /** For /readyz: rejects within a short timeout when the bus is down or closed. */
  ping(): Promise<void>;
  /**
   * Stops consumers and closes the connection without waiting for in-flight handlers:
   * their jobs stay unacked and are redelivered (call JobConsumer.stop() first to drain).
   */
  close(): Promise<void>;
}

export interface PublishJobOptions {
  /**
   * The duplicate-detection key instead of the queue id: for publishing a job again on
   * purpose (an operator's retry, a job found lost), which the window would otherwise drop.
   */
  readonly dedupeId?: string;
}

export type JobHandler = (job: DeliveryJob, control: JobControl) => Promise<void>;

/** How a handler settles the job it was given. The first of ack/nak/term counts. */
export interface JobControl {
  /** Done: the queue forgets the job. Resolves once the server confirmed the ack. */
  ack(): Promise<void>;
  /** Not now: redeliver after delayMs (0: as soon as possible). */
  nak(delayMs?: number): void;
  /** Never: the job is dropped for good (the reason is logged). */
  term(reason?: string): void;
  /** Still working: restarts the ack-wait timer, for deliveries that take long. */
  working(): void;
  /** 1 on the first delivery, 2 on the first redelivery, and so on. */
  readonly deliveryCount: number;
}

export interface ConsumeJobsOptions {
  /** Handlers running at once in this process. Default 8. */
  readonly concurrency?: number;
  /** Delay before a job whose handler threw is redelivered. Default 1000 ms. */
  readonly retryDelayMs?: number;
}

export interface JobConsumer {
  /**
   * Takes no more jobs, waits for the handlers in flight to finish, then resolves. With
   * `handOverAfterMs`, handlers still running then have their jobs nak'd at once, so
   * another worker takes them without waiting out the ack wait (a graceful shutdown's
   * deadline); their later ack or nak no longer counts.
   */
  stop(options?: StopConsumerOptions): Promise<void>;
}

export interface StopConsumerOptions {
  readonly handOverAfterMs?: number;
}

export interface Subscription {
  unsubscribe(): void;
}

/** The subset of pino the bus logs through, so the package does not depend on pino. */
export interface BusLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Without a logger, problems still reach stderr: a dropped message must not go unseen. */
export const stderrLogger: BusLogger = {
  info: () => {},
  warn: (obj, msg) => console.warn(JSON.stringify({ level: 'warn', msg, ...obj })),
  error: (obj, msg) => console.error(JSON.stringify({ level: 'error', msg, ...obj })),
};

export const DEFAULT_CONCURRENCY = 8;
export const DEFAULT_RETRY_DELAY_MS = 1000;
