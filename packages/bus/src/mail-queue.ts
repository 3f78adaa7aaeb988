import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { BusLogger } from './bus.js';
import type { BusNames } from './subjects.js';

// The MAIL_QUEUE stream and its durable consumer, made idempotently: every process that
// connects ensures them, in any order and at the same time, and the last configuration
// wins without losing the jobs already stored.

export interface MailQueueSettings {
  /** Same Nats-Msg-Id within this window: the server drops the second publish. */
  readonly duplicateWindowMs: number;
  readonly replicas: number;
}

export interface DeliveryConsumerSettings {
  /** Unacked for this long (no working() either): the job goes to another worker. */
  readonly ackWaitMs: number;
  /**
   * Jobs delivered and not yet acked, across all workers. A job nak'd with a delay counts
   * until it is redelivered, so this bounds the retries waiting, not only the work.
   */
  readonly maxAckPending: number;
}

// JetStream API error codes not named by the client library.
const STREAM_NAME_IN_USE = 10058;
// What nats-server 2.9 answers instead when the racing creator's stream (same name, same
// subjects) landed a moment before ours.
const STREAM_SUBJECT_OVERLAP = 10065;

export async function ensureMailQueue(
  jsm: JetStreamManager,
  names: BusNames,
  settings: MailQueueSettings,
  logger: BusLogger,
): Promise<void> {
  const wanted = {
    subjects: [names.jobSubject],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: nanos(settings.duplicateWindowMs),
    num_replicas: settings.replicas,
    discard: DiscardPolicy.Old,
  } satisfies Partial<StreamConfig>;

  for (let attempt = 0; ; attempt++) {
    const current = await streamConfig(jsm, names.jobStream);
    if (!current) {
      try {
        await jsm.streams.add({ name: names.jobStream, ...wanted });
        logger.info({ stream: names.jobStream }, 'created the mail queue stream');
        return;
      } catch (err) {
        // Another process created it between our look and our add: look again (if the
        // overlap is with some other stream, the second look finds none and add fails again).
        if (attempt === 0 && (isApiError(err, STREAM_NAME_IN_USE) || isApiError(err, STREAM_SUBJECT_OVERLAP)))
          continue;
        throw err;
      }
    }
    const differs =
      current.retention !== wanted.retention ||
      current.storage !== wanted.storage ||
      current.duplicate_window !== wanted.duplicate_window ||
      current.num_replicas !== wanted.num_replicas ||
      current.subjects.length !== 1 ||
      current.subjects[0] !== names.jobSubject;
    if (differs) {
      // Retention and storage cannot change in place; the server's refusal says so.
      await jsm.streams.update(names.jobStream, wanted);
      logger.info({ stream: names.jobStream }, 'updated the mail queue stream configuration');
    }
    return;
  }
}

export async function ensureDeliveryConsumer(
  jsm: JetStreamManager,
  names: BusNames,
  settings: DeliveryConsumerSettings,
  logger: BusLogger,
): Promise<void> {
  const wanted = {
    ack_wait: nanos(settings.ackWaitMs),
    max_ack_pending: settings.maxAckPending,
    // Unlimited: giving up is the delivery-worker's decision (expiry, bounce), not the bus's.
    max_deliver: -1,
  };
  for (let attempt = 0; ; attempt++) {
    const current = await consumerConfig(jsm, names);
    if (!current) {
      try {
        await jsm.consumers.add(names.jobStream, {
          durable_name: names.jobConsumer,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          filter_subject: names.jobSubject,
          ...wanted,
        });
        logger.info(
          { stream: names.jobStream, consumer: names.jobConsumer },
          'created the delivery consumer',
        );
        return;
      } catch (err) {
        if (attempt === 0) continue;
        throw err;
      }
    }
    if (
      current.ack_wait !== wanted.ack_wait ||
      current.max_ack_pending !== wanted.max_ack_pending ||
      current.max_deliver !== wanted.max_deliver
    ) {
      await jsm.consumers.update(names.jobStream, names.jobConsumer, wanted);
      logger.info({ consumer: names.jobConsumer }, 'updated the delivery consumer configuration');
    }
    return;
  }
}

async function streamConfig(jsm: JetStreamManager, stream: string) {
  try {
    return (await jsm.streams.info(stream)).config;
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return undefined;
    throw err;
  }
}

async function consumerConfig(jsm: JetStreamManager, names: BusNames) {
  try {
    return (await jsm.consumers.info(names.jobStream, names.jobConsumer)).config;
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.ConsumerNotFound)) return undefined;
    throw err;
  }
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}
