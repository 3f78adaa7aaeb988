import type { Consumer, ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { BusLogger, JobConsumer, JobHandler } from './bus.js';
import { decodeDeliveryJob } from './events.js';
import { errorMessage, handleDelivery, type JobDelivery, raceDeadline } from './job-control.js';
import type { BusNames } from './subjects.js';

// A fetch loop rather than consumer.consume(): consume() refills its buffer as messages
// arrive, not as handlers finish, so jobs would wait in this process with their ack-wait
// clock running while another worker sits idle. Fetching only as many jobs as there are
// free handler slots keeps every waiting job on the server, available to any worker.

export interface NatsJobConsumerOptions {
  readonly js: JetStreamClient;
  readonly names: BusNames;
  /** Makes sure the durable consumer exists (idempotent; retried until it works). */
  readonly ensureConsumer: () => Promise<void>;
  readonly handler: JobHandler;
  readonly concurrency: number;
  readonly retryDelayMs: number;
  /** How long ack() waits for the server's confirmation. */
  readonly ackTimeoutMs: number;
  readonly logger: BusLogger;
}

export interface NatsJobConsumer extends JobConsumer {
  /** Stops fetching without waiting for handlers (the connection is closing). */
  abandon(): void;
}

// A pull request stays open this long when the queue is empty; stop() cuts it short.
const FETCH_EXPIRES_MS = 10_000;
const FETCH_RETRY_MS = 1000;

export function startNatsJobConsumer(options: NatsJobConsumerOptions): NatsJobConsumer {
  const { js, names, handler, concurrency, retryDelayMs, ackTimeoutMs, logger } = options;
  const inFlight = new Set<Promise<void>>();
  const handOvers = new Map<Promise<void>, () => void>();
  let stopping = false;
  let currentFetch: ConsumerMessages | undefined;
  let wake: (() => void) | undefined;

  const wakeUp = () => {
    wake?.();
    wake = undefined;
  };
  const nap = (ms?: number) =>
    new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const dispatch = (msg: JsMsg) => {
    const decoded = decodeDeliveryJob(msg.data);
    if (!decoded.ok) {
      // Redelivering it would fail the same way forever.
      logger.error(
        { subject: msg.subject, seq: msg.seq, reason: decoded.reason },
        'malformed job terminated',
      );
      guard(() => msg.term());
      return;
    }
    const delivery: JobDelivery = {
      deliveryCount: msg.info.deliveryCount,
      ack: async () => {
        await msg.ackAck({ timeout: ackTimeoutMs });
      },
      nak: (delayMs) => guard(() => msg.nak(delayMs)),
      term: () => guard(() => msg.term()),
      working: () => guard(() => msg.working()),
    };
    let handOver: (() => void) | undefined;
    const running: Promise<void> = handleDelivery(decoded.value, delivery, handler, {
      retryDelayMs,
      logger,
      onHandOver: (fn) => {
        handOver = fn;
      },
    }).finally(() => {
      inFlight.delete(running);
      handOvers.delete(running);
      wakeUp();
    });
    inFlight.add(running);
    if (handOver) handOvers.set(running, handOver);
  };

  // On a closed connection the settle calls throw; the job then comes back after the ack
  // wait, which is exactly what an unreachable server means anyway.
  const guard = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'could not settle a job; it will be redelivered');
    }
  };

  const loop = async () => {
    let consumer: Consumer | undefined;
    while (!stopping) {
      const free = concurrency - inFlight.size;
      if (free <= 0) {
        await nap();
        continue;
      }
      const started = Date.now();
      let received = 0;
      try {
        if (!consumer) {
          await options.ensureConsumer();
          consumer = await js.consumers.get(names.jobStream, names.jobConsumer);
        }
        // stop() may have come while the consumer was being looked up: a pull opened now
        // would not be closed by it, and closing one not yet started can wait for its expiry.
        if (stopping) break;
        const batch = await consumer.fetch({ max_messages: free, expires: FETCH_EXPIRES_MS });
        currentFetch = batch;
        if (stopping) {
          // Messages already pulled into it are not dispatched: redelivered after ack_wait.
          batch.close().catch(() => undefined);
          break;
        }
        for await (const msg of batch) {
          received++;
          dispatch(msg);
        }
      } catch (err) {
        if (stopping) break;
        // Look the consumer up again: it may have been deleted, or the server restarted.
        consumer = undefined;
        logger.warn(
          { consumer: names.jobConsumer, err: errorMessage(err) },
          'fetching jobs failed; retrying',
        );
        await nap(FETCH_RETRY_MS);
        continue;
      } finally {
        currentFetch = undefined;
      }
      // A pull that ends at once and empty (not by expiring) must not become a busy loop.
      if (received === 0 && Date.now() - started < 100 && !stopping) await nap(FETCH_RETRY_MS);
    }
  };

  const halt = () => {
    stopping = true;
    currentFetch?.close().catch(() => undefined);
    wakeUp();
  };

  const done = loop().catch((err: unknown) => {
    if (!stopping)
      logger.error({ consumer: names.jobConsumer, err: errorMessage(err) }, 'job consumer failed');
  });

  return {
    stop: async (stopOptions) => {
      halt();
      const drained = (async () => {
        await done;
        // Handlers started after the loop ended are in the set too; wait until it is empty.
        while (inFlight.size > 0) await Promise.all(inFlight);
      })();
      if (stopOptions?.handOverAfterMs === undefined) return drained;
      if ((await raceDeadline(drained, stopOptions.handOverAfterMs)) === 'deadline') {
        for (const handOver of handOvers.values()) handOver();
      }
    },
    abandon: halt,
  };
}
