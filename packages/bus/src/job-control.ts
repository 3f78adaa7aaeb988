import type { BusLogger, JobControl, JobHandler } from './bus.js';
import type { DeliveryJob } from './events.js';

// The settle-once rules of one delivery, shared by both buses so that they cannot
// drift apart: first of ack/nak/term wins, returning unsettled acks, throwing unsettled
// naks with a delay (retried, never lost).

/** What a transport does with one delivered job. */
export interface JobDelivery {
  readonly deliveryCount: number;
  ack(): Promise<void>;
  nak(delayMs: number): void;
  term(): void;
  working(): void;
}

export interface HandleOptions {
  readonly retryDelayMs: number;
  readonly logger: BusLogger;
  /**
   * Receives the job's hand-over: a nak(0) through the same settle-once rule, for a
   * consumer that stops before the handler is done.
   */
  readonly onHandOver?: (handOver: () => void) => void;
}

/** Runs the handler for one job; never rejects (a handler's error becomes a nak). */
export async function handleDelivery(
  job: DeliveryJob,
  delivery: JobDelivery,
  handler: JobHandler,
  { retryDelayMs, logger, onHandOver }: HandleOptions,
): Promise<void> {
  let settled: 'ack' | 'nak' | 'term' | undefined;
  const settle = (how: 'ack' | 'nak' | 'term'): boolean => {
    if (settled) {
      logger.warn({ queueId: job.queueId, settled, ignored: how }, 'job already settled');
      return false;
    }
    settled = how;
    return true;
  };
  const control: JobControl = {
    deliveryCount: delivery.deliveryCount,
    ack: async () => {
      if (settle('ack')) await delivery.ack();
    },
    nak: (delayMs = 0) => {
      if (settle('nak')) delivery.nak(Number.isFinite(delayMs) && delayMs > 0 ? Math.round(delayMs) : 0);
    },
    term: (reason) => {
      if (!settle('term')) return;
      // The 2.9 server takes no reason with +TERM, so the reason lives in the log.
      logger.warn({ queueId: job.queueId, reason, deliveryCount: delivery.deliveryCount }, 'job terminated');
      delivery.term();
    },
    working: () => {
      if (!settled) delivery.working();
    },
  };
  onHandOver?.(() => {
    if (settled) return;
    settled = 'nak';
    logger.warn({ queueId: job.queueId }, 'stopping: job handed over to another worker');
    delivery.nak(0);
  });

  try {
    await handler(job, control);
  } catch (err) {
    if (settled) {
      logger.error(
        { queueId: job.queueId, settled, err: errorMessage(err) },
        'job handler threw after settling',
      );
      return;
    }
    logger.warn(
      { queueId: job.queueId, deliveryCount: delivery.deliveryCount, retryDelayMs, err: errorMessage(err) },
      'job handler failed; redelivering',
    );
    settled = 'nak';
    delivery.nak(retryDelayMs);
    return;
  }
  if (!settled) {
    settled = 'ack';
    // If the ack is lost the job comes back after the ack wait; handlers are idempotent.
    await delivery.ack().catch((err: unknown) => {
      logger.warn({ queueId: job.queueId, err: errorMessage(err) }, 'job ack failed; it will be redelivered');
    });
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Bounds a caller-given concurrency to a sane positive integer. */
export function concurrencyOf(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`concurrency must be a positive integer: ${value}`);
  return value;
}

/** 'deadline' when `ms` pass before the promise settles. */
export async function raceDeadline(promise: Promise<unknown>, ms: number): Promise<'done' | 'deadline'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), ms);
  });
  try {
    return await Promise.race([promise.then(() => 'done' as const), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
