import { connect } from '@nats-io/transport-node';

// What a crash test asks JetStream about the mail queue: whether a job is still stored,
// waiting, or handed out and not acknowledged. Through the JetStream API's own subjects
// ($JS.API, JSON over core NATS), so a test needs no stream client of its own.

export interface JobQueueState {
  /** Jobs stored in the stream: a work queue keeps a job until it is acknowledged. */
  readonly stored: number;
  /** Jobs no worker has been handed yet. */
  readonly waiting: number;
  /** Jobs handed to a worker and not acknowledged (nak'd ones count until redelivered). */
  readonly unacknowledged: number;
}

export async function jobQueueState(
  natsUrl: string,
  names: { readonly jobStream: string; readonly jobConsumer: string },
): Promise<JobQueueState> {
  const nc = await connect({ servers: natsUrl });
  try {
    const ask = async (subject: string) => {
      const reply = (await nc.request(subject, '', { timeout: 5_000 })).json<Record<string, unknown>>();
      if (reply.error) throw new Error(`${subject}: ${JSON.stringify(reply.error)}`);
      return reply;
    };
    const stream = await ask(`$JS.API.STREAM.INFO.${names.jobStream}`);
    const consumer = await ask(`$JS.API.CONSUMER.INFO.${names.jobStream}.${names.jobConsumer}`);
    return {
      stored: Number((stream.state as { messages: number }).messages),
      waiting: Number(consumer.num_pending),
      unacknowledged: Number(consumer.num_ack_pending),
    };
  } finally {
    await nc.close();
  }
}
