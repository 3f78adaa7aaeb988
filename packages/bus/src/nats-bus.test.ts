import { JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { freePort, startTcpProxy, testNats } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeBusContract, newJob, sleep, waitFor } from './bus.contract.js';
import type { BusLogger, MailBus } from './bus.js';
import type { DeliveryJob, MailboxChanged } from './events.js';
import { connectNatsBus, type NatsBusOptions } from './nats-bus.js';
import { busNames } from './subjects.js';

// Short enough that "redelivered after the ack wait" fits the file's time budget.
const ACK_WAIT_MS = 1500;

let url: string;
let basePrefix: string;
let admin: NatsConnection;
const prefixes = new Set<string>();

beforeAll(async () => {
  ({ url, prefix: basePrefix } = await testNats());
  admin = await connect({ servers: url });
});

afterAll(async () => {
  const jsm = await jetstreamManager(admin);
  for (const prefix of prefixes) {
    await jsm.streams.delete(busNames(prefix).jobStream).catch((err: unknown) => {
      if (!(err instanceof JetStreamApiError)) throw err;
    });
  }
  await admin.close();
});

function capture(): BusLogger & { lines: { level: string; obj: object; msg?: string }[] } {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) =>
    lines.push({ level, obj, ...(msg ? { msg } : {}) });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

function busFor(scope: string, options: Partial<NatsBusOptions> = {}): Promise<MailBus> {
  const prefix = `${basePrefix}-${scope}`;
  prefixes.add(prefix);
  return connectNatsBus({ servers: url, prefix, ackWaitMs: ACK_WAIT_MS, logger: capture(), ...options });
}

describeBusContract('NATS JetStream', (scope) => busFor(scope), { ackWaitMs: ACK_WAIT_MS });

describe('connectNatsBus', () => {
  it('rejects quickly, naming the URL, when nothing listens there', async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(
      connectNatsBus({ servers: `nats://127.0.0.1:${port}`, prefix: 'nowhere', connectTimeoutMs: 1000 }),
    ).rejects.toThrow(`cannot connect to NATS at nats://127.0.0.1:${port}`);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('makes the stream a file-backed work queue with a duplicate window, and restores it idempotently', async () => {
    const names = busNames(`${basePrefix}-setup`);
    // Several processes starting at once all ensure the same stream.
    const buses = await Promise.all([busFor('setup'), busFor('setup'), busFor('setup')]);
    const jsm = await jetstreamManager(admin);
    const info = await jsm.streams.info(names.jobStream);
    expect(info.config).toMatchObject({
      subjects: [names.jobSubject],
      retention: 'workqueue',
      storage: 'file',
      duplicate_window: nanos(120_000),
    });

    // Someone changed it by hand: the next bus to connect puts it back, keeping the jobs.
    await buses[0]!.publishJob(newJob());
    await jsm.streams.update(names.jobStream, { duplicate_window: nanos(10_000) });
    buses.push(await busFor('setup'));
    const restored = await jsm.streams.info(names.jobStream);
    expect(restored.config.duplicate_window).toBe(nanos(120_000));
    expect(restored.state.messages).toBe(1);

    const seen: DeliveryJob[] = [];
    const consumer = buses[1]!.consumeJobs(async (job) => {
      seen.push(job);
    });
    await waitFor(() => seen.length === 1);
    const ci = await jsm.consumers.info(names.jobStream, names.jobConsumer);
    expect(ci.config).toMatchObject({
      durable_name: names.jobConsumer,
      ack_policy: 'explicit',
      ack_wait: nanos(ACK_WAIT_MS),
      max_deliver: -1,
      filter_subject: names.jobSubject,
    });
    await consumer.stop();
    await Promise.all(buses.map((bus) => bus.close()));
  });

  it('terms a malformed job from the wire and drops malformed events, without crashing', async () => {
    const logger = capture();
    const bus = await busFor('wire', { logger });
    const names = busNames(`${basePrefix}-wire`);
    const handled: DeliveryJob[] = [];
    const events: MailboxChanged[] = [];
    const consumer = bus.consumeJobs(async (job) => {
      handled.push(job);
    });
    bus.subscribeMailboxChanged('acct1', (e) => events.push(e));
    await bus.ping();

    const js = (await jetstreamManager(admin)).jetstream();
    await js.publish(names.jobSubject, 'not json', { msgID: 'garbage-1' });
    await js.publish(names.jobSubject, JSON.stringify({ queueId: 'q x', enqueuedAt: 'now' }), {
      msgID: 'garbage-2',
    });
    const good = newJob();
    await bus.publishJob(good);
    admin.publish(names.mailboxChanged('acct1'), '{"accountId":');
    admin.publish(
      names.mailboxChanged('acct1'),
      JSON.stringify({ accountId: 'acct2', mailboxId: 'm', kind: 'exists' }),
    );
    admin.publish(
      names.mailboxChanged('acct1'),
      JSON.stringify({ accountId: 'acct1', mailboxId: 'm', kind: 'flags' }),
    );

    await waitFor(() => handled.length === 1 && events.length === 1);
    await sleep(ACK_WAIT_MS + 500);
    expect(handled).toEqual([good]);
    expect(events.map((e) => e.kind)).toEqual(['flags']);
    expect(logger.lines.filter((l) => l.msg === 'malformed job terminated')).toHaveLength(2);
    expect(logger.lines.filter((l) => l.msg === 'malformed mailbox event dropped')).toHaveLength(2);
    await consumer.stop();
    await bus.close();
  });

  it('rejects publishJob and ping within their timeouts while the server is away, then reconnects', async () => {
    const proxy = await startTcpProxy({ host: new URL(url).hostname, port: Number(new URL(url).port) });
    const bus = await busFor('away', {
      servers: `nats://127.0.0.1:${proxy.port}`,
      requestTimeoutMs: 700,
      pingTimeoutMs: 500,
      reconnectWaitMs: 100,
    });
    try {
      await bus.publishJob(newJob());
      await bus.ping();

      proxy.cut();
      const started = Date.now();
      await expect(bus.publishJob(newJob())).rejects.toThrow(/queueing job .* failed/);
      await expect(bus.ping()).rejects.toThrow(/did not answer/);
      expect(Date.now() - started).toBeLessThan(3000);

      proxy.restore();
      await eventually(() => bus.ping(), 5000);
      const seen: string[] = [];
      const consumer = bus.consumeJobs(async (job) => {
        seen.push(job.queueId);
      });
      const after = newJob();
      await bus.publishJob(after);
      await waitFor(() => seen.includes(after.queueId));
      await consumer.stop();
    } finally {
      await bus.close();
      await proxy.close();
    }
  });
});

/** Retries fn until it resolves, for up to timeoutMs. */
async function eventually(fn: () => Promise<unknown>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fn();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}
