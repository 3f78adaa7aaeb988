import { randomBytes } from 'node:crypto';
import { describe, it } from 'vitest';
import type { JobConsumer, JobControl, MailBus } from './bus.js';
import type { DeliveryJob, MailboxChanged } from './events.js';

// The behaviour every MailBus must have, run against NATS and against the in-process bus
// (nats-bus.test.ts, memory-bus.test.ts), so the single-process mode cannot drift from
// the distributed one. Not a test file itself: it is imported by those.

/**
 * Makes a bus for one scope. Buses of the same scope share their queue and events (one
 * prefix); different scopes must be isolated from each other (different prefixes).
 * Every test uses scopes of its own, so no job left by one test reaches another.
 */
export type MakeBus = (scope: string) => Promise<MailBus>;

export interface BusContractOptions {
  /**
   * The ack wait the buses were made with: how long a job whose consumer vanished waits
   * before redelivery, and so how long to watch before concluding "never redelivered".
   * 0 for a bus that redelivers at once.
   */
  readonly ackWaitMs: number;
}

interface Delivery {
  readonly job: DeliveryJob;
  readonly deliveryCount: number;
  readonly at: number;
}

export function describeBusContract(name: string, makeBus: MakeBus, options: BusContractOptions): void {
  // Past this, a job that was going to come back has come back.
  const quietMs = options.ackWaitMs + 500;
  let scopes = 0;
  const newScope = () => `s${++scopes}${randomBytes(2).toString('hex')}`;

  /**
   * What one test uses: buses it makes and consumers it starts are closed when it ends,
   * so tests can run concurrently (most of their time is waiting for a job not to come).
   */
  const fixture = (onTestFinished: (fn: () => Promise<void>) => void) => {
    const open: MailBus[] = [];
    const consumers: JobConsumer[] = [];
    onTestFinished(async () => {
      // Consumers first, but without waiting forever on a handler a test left hanging.
      await Promise.all(consumers.splice(0).map((c) => Promise.race([c.stop(), sleep(200)])));
      await Promise.all(open.splice(0).map((bus) => bus.close()));
    });
    /** `count` buses on one scope (a fresh one unless given). */
    const busesOn = async (count = 1, scope = newScope()): Promise<MailBus[]> => {
      const buses: MailBus[] = [];
      for (let i = 0; i < count; i++) {
        const bus = await makeBus(scope);
        open.push(bus);
        buses.push(bus);
      }
      return buses;
    };
    return {
      busesOn,
      oneBus: async () => (await busesOn(1))[0]!,
      consume: (bus: MailBus, ...args: Parameters<MailBus['consumeJobs']>) => {
        const consumer = bus.consumeJobs(...args);
        consumers.push(consumer);
        return consumer;
      },
    };
  };

  /** A handler that records each delivery, then does what `then` says (default: ack). */
  const recorder = (
    log: Delivery[],
    then?: (job: DeliveryJob, ctl: JobControl, n: number) => Promise<void>,
  ) => {
    return async (job: DeliveryJob, ctl: JobControl) => {
      log.push({ job, deliveryCount: ctl.deliveryCount, at: Date.now() });
      if (then) await then(job, ctl, log.length);
      else await ctl.ack();
    };
  };

  describe.concurrent(`MailBus contract: ${name}`, () => {
    it('delivers a published job once, with deliveryCount 1', async ({ expect, onTestFinished }) => {
      const t = fixture(onTestFinished);
      const bus = await t.oneBus();
      const log: Delivery[] = [];
      t.consume(bus, recorder(log));
      const job = newJob();
      await bus.publishJob(job);
      await waitFor(() => log.length >= 1);
      await sleep(quietMs);
      expect(log.map((d) => d.job)).toEqual([job]);
      expect(log[0]!.deliveryCount).toBe(1);
    });

    it('queues a job published twice with the same queueId once', async ({ expect, onTestFinished }) => {
      const t = fixture(onTestFinished);
      const bus = await t.oneBus();
      const log: Delivery[] = [];
      const first = newJob();
      const second = newJob();
      await bus.publishJob(first);
      await bus.publishJob({ ...first, enqueuedAt: new Date(Date.now() + 1000).toISOString() });
      await bus.publishJob(second);
      t.consume(bus, recorder(log));
      await waitFor(() => log.length >= 2);
      await sleep(quietMs);
      expect(log.map((d) => d.job.queueId).sort()).toEqual([first.queueId, second.queueId].sort());
      expect(log.find((d) => d.job.queueId === first.queueId)!.job).toEqual(first);
    });

    it('queues a job again when published with a new dedupeId', async ({ expect, onTestFinished }) => {
      const t = fixture(onTestFinished);
      const bus = await t.oneBus();
      const log: Delivery[] = [];
      const job = newJob();
      await bus.publishJob(job);
      await bus.publishJob(job);
      await bus.publishJob(job, { dedupeId: `${job.queueId}.retry1` });
      t.consume(bus, recorder(log));
      await waitFor(() => log.length >= 2);
      await sleep(quietMs);
      expect(log.map((d) => d.job)).toEqual([job, job]);
    });

    it('shares jobs between two consumers: each of 50 handled exactly once in all', async ({
      expect,
      onTestFinished,
    }) => {
      const t = fixture(onTestFinished);
      const [a, b] = await t.busesOn(2);
      const byA: string[] = [];
      const byB: string[] = [];
      const handlerFor = (into: string[]) => async (job: DeliveryJob, ctl: JobControl) => {
        into.push(job.queueId);
        await sleep(5);
        await ctl.ack();
      };
      t.consume(a!, handlerFor(byA), { concurrency: 2 });
      t.consume(b!, handlerFor(byB), { concurrency: 2 });
      const jobs = Array.from({ length: 50 }, () => newJob());
      await Promise.all(jobs.map((job) => a!.publishJob(job)));
      await waitFor(() => byA.length + byB.length >= 50);
      await sleep(quietMs);
      const all = [...byA, ...byB].sort();
      expect(all).toEqual(jobs.map((j) => j.queueId).sort());
      expect(byA.length).toBeGreaterThan(0);
      expect(byB.length).toBeGreaterThan(0);
    });

    it('caps the handlers running at once at the concurrency', async ({ expect, onTestFinished }) => {
      const t = fixture(onTestFinished);
      const bus = await t.oneBus();
      let running = 0;
      let peak = 0;
      let done = 0;
      t.consume(
        bus,
        async (_job, ctl) => {
          running++;
          peak = Math.max(peak, running);
          await sleep(30);
          running--;
          done++;
          await ctl.ack();
        },
        { concurrency: 3 },
      );
      await Promise.all(Array.from({ length: 10 }, () => bus.publishJob(newJob())));
      await waitFor(() => done >= 10);
      expect(peak).toBe(3);
    });

    it('redelivers a nak(delay) job no earlier than the delay, with deliveryCount 2', async ({
      expect,
      onTestFinished,
    }) => {
      const t = fixture(onTestFinished);
      const bus = await t.oneBus();
      const log: Delivery[] = [];
      let nakAt = 0;
      t.consume(
        bus,
        recorder(log, async (_job, ctl, n) => {
          if (n === 1) {
            nakAt = Date.now();
            ctl.nak(700);
          } else await ctl.ack();
        }),
      );
      await bus.publishJob(newJob());
      await waitFor(() => log.length >= 2, 10_000);
      expect(log[1]!.deliveryCount).toBe(2);
      // Timers may fire a millisecond or two early by the wall clock.
      expect(log[1]!.at - nakAt).toBeGreaterThanOrEqual(690);
      await sleep(quietMs);
      expect(log).toHaveLength(2);
    });

    it('never redelivers a terminated job', async ({ expect, onTestFinished }) => {
      const t = fixture(onTestFinished);
      const bus = await t.oneBus();
      const log: Delivery[] = [];
      const doomed = newJob();
      t.consume(
        bus,
        recorder(log, async (job, ctl) => {
          if (job.queueId === doomed.queueId) ctl.term('unparseable recipient');
          else await ctl.ack();
        }),
      );
      await bus.publishJob(doomed);
      const after = newJob();
      await bus.publishJob(after);
      await waitFor(() => log.length >= 2);
      await sleep(quietMs + 300);
      expect(log.map((d) => d.job.queueId)).toEqual([doomed.queueId, after.queueId]);
    });

    it('redelivers the job of a handler that throws without settling', async ({ expect, onTestFinished }) => {
      const t = fixture(onTestFinished);
      const bus = await t.oneBus();
      const log: Delivery[] = [];
      t.consume(
        bus,
        recorder(log, async (_job, ctl, n) => {
          if (n === 1) throw new Error('Postgres went away');
          await ctl.ack();
        }),
        { retryDelayMs: 100 },
      );
      const job = newJob();
      await bus.publishJob(job);
      await waitFor(() => log.length >= 2, 10_000);
      expect(log[1]!.job).toEqual(job);
      expect(log[1]!.deliveryCount).toBe(2);
      await sleep(quietMs);
      expect(log).toHaveLength(2);
    });

    it('acks the job of a handler that returns without settling', async ({ expect, onTestFinished }) => {
      const t = fixture(onTestFinished);
      const bus = await t.oneBus();
      const log: Delivery[] = [];
      t.consume(
        bus,
        recorder(log, async () => {}),
      );
      await bus.publishJob(newJob());
      await waitFor(() => log.length >= 1);
      await sleep(quietMs + 300);
      expect(log).toHaveLength(1);
    });

    it('counts only the first of ack, nak and term', async ({ expect, onTestFinished }) => {
      const t = fixture(onTestFinished);
      const bus = await t.oneBus();
      const log: Delivery[] = [];
      t.consume(
        bus,
        recorder(log, async (_job, ctl) => {
          await ctl.ack();
          ctl.nak(0);
          ctl.term();
        }),
      );
      await bus.publishJob(newJob());
      await waitFor(() => log.length >= 1);
      await sleep(quietMs);
      expect(log).toHaveLength(1);
    });

    it('keeps a job whose consumer went away unacked, for another consumer', async ({
      expect,
      onTestFinished,
    }) => {
      const t = fixture(onTestFinished);
      const scope = newScope();
      const [crashing] = await t.busesOn(1, scope);
      const log: Delivery[] = [];
      // The handler never settles: the process dies mid-delivery.
      t.consume(
        crashing!,
        recorder(log, () => new Promise<void>(() => {})),
      );
      const job = newJob();
      await crashing!.publishJob(job);
      await waitFor(() => log.length >= 1);
      await crashing!.close();

      const [survivor] = await t.busesOn(1, scope);
      const later: Delivery[] = [];
      t.consume(survivor!, recorder(later));
      await waitFor(() => later.length >= 1, options.ackWaitMs + 10_000);
      expect(later[0]!.job).toEqual(job);
      expect(later[0]!.deliveryCount).toBe(2);
    });

    it('stop() right after consumeJobs returns promptly, and the job stays queued', async ({
      expect,
      onTestFinished,
    }) => {
      const t = fixture(onTestFinished);
      const bus = await t.oneBus();
      const early = t.consume(bus, recorder([]));
      const started = Date.now();
      await early.stop();
      expect(Date.now() - started).toBeLessThan(2000);
      const log: Delivery[] = [];
      await bus.publishJob(newJob());
      t.consume(bus, recorder(log));
      await waitFor(() => log.length >= 1);
      expect(log).toHaveLength(1);
    });

    it('stop() lets in-flight handlers finish, and their acks count', async ({ expect, onTestFinished }) => {
      const t = fixture(onTestFinished);
      const bus = await t.oneBus();
      const log: Delivery[] = [];
      let finished = false;
      const consumer = t.consume(
        bus!,
        recorder(log, async (_job, ctl) => {
          await sleep(300);
          await ctl.ack();
          finished = true;
        }),
      );
      await bus!.publishJob(newJob());
      await waitFor(() => log.length >= 1);
      await consumer.stop();
      expect(finished).toBe(true);

      const again: Delivery[] = [];
      t.consume(bus!, recorder(again));
      await sleep(quietMs + 300);
      expect(again).toHaveLength(0);
    });

    it('stop({ handOverAfterMs }) naks a handler still running then, so another consumer takes the job at once', async ({
      expect,
      onTestFinished,
    }) => {
      const t = fixture(onTestFinished);
      const [first, second] = await t.busesOn(2);
      const log: Delivery[] = [];
      let lateAck: Promise<void> | undefined;
      let release: (() => void) | undefined;
      const consumer = t.consume(
        first!,
        recorder(log, async (_job, ctl) => {
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          lateAck = ctl.ack();
        }),
      );
      const job = newJob();
      await first!.publishJob(job);
      await waitFor(() => log.length >= 1);
      const started = Date.now();
      await consumer.stop({ handOverAfterMs: 200 });
      expect(Date.now() - started).toBeLessThan(options.ackWaitMs > 0 ? options.ackWaitMs : 2000);
      const again: Delivery[] = [];
      t.consume(second!, recorder(again));
      // Handed over: back well before an ack wait would have brought it back.
      await waitFor(() => again.length >= 1, 1500);
      expect(again[0]!.job).toEqual(job);
      // The first handler's ack, after the hand-over, no longer counts.
      release?.();
      await lateAck;
    });

    it('working() keeps a long delivery from going to another consumer', async ({
      expect,
      onTestFinished,
    }) => {
      const t = fixture(onTestFinished);
      const [a, b] = await t.busesOn(2);
      const log: Delivery[] = [];
      const slow = async (_job: DeliveryJob, ctl: JobControl) => {
        // Longer than the ack wait, telling the queue it is still going.
        const until = Date.now() + options.ackWaitMs + 800;
        while (Date.now() < until) {
          ctl.working();
          await sleep(Math.max(50, options.ackWaitMs / 4));
        }
        await ctl.ack();
      };
      t.consume(a!, recorder(log, slow), { concurrency: 1 });
      await a!.publishJob(newJob());
      await waitFor(() => log.length >= 1);
      t.consume(b!, recorder(log));
      await sleep(options.ackWaitMs + 1300);
      expect(log).toHaveLength(1);
    });

    it('delivers mailbox events to subscribers of that account only', async ({ expect, onTestFinished }) => {
      const t = fixture(onTestFinished);
      const [publisher, subscriber] = await t.busesOn(2);
      const account = `acct${randomBytes(3).toString('hex')}`;
      const other = `acct${randomBytes(3).toString('hex')}`;
      const seen: MailboxChanged[] = [];
      const seenToo: MailboxChanged[] = [];
      const seenByOther: MailboxChanged[] = [];
      subscriber!.subscribeMailboxChanged(account, (e) => seen.push(e));
      const second = publisher!.subscribeMailboxChanged(account, (e) => seenToo.push(e));
      subscriber!.subscribeMailboxChanged(other, (e) => seenByOther.push(e));
      // A round trip, so the server has the subscriptions before anything is published.
      await subscriber!.ping();
      await publisher!.ping();

      const event: MailboxChanged = {
        accountId: account,
        mailboxId: 'inbox-1',
        kind: 'exists',
        uids: [41, 42],
        modseq: '9007199254740993',
      };
      await publisher!.publishMailboxChanged(event);
      await waitFor(() => seen.length >= 1 && seenToo.length >= 1);
      expect(seen).toEqual([event]);
      expect(seenToo).toEqual([event]);

      second.unsubscribe();
      await publisher!.ping();
      await publisher!.publishMailboxChanged({ accountId: account, mailboxId: 'inbox-1', kind: 'flags' });
      await waitFor(() => seen.length >= 2);
      await sleep(200);
      expect(seenToo).toHaveLength(1);
      expect(seenByOther).toHaveLength(0);
    });

    it('does not deliver events published under another prefix', async ({ expect, onTestFinished }) => {
      const t = fixture(onTestFinished);
      const [here] = await t.busesOn(1);
      const [elsewhere] = await t.busesOn(1);
      const account = `acct${randomBytes(3).toString('hex')}`;
      const seen: MailboxChanged[] = [];
      here!.subscribeMailboxChanged(account, (e) => seen.push(e));
      await here!.ping();
      await elsewhere!.publishMailboxChanged({
        accountId: account,
        mailboxId: 'm',
        kind: 'expunge',
        uids: [3],
      });
      await here!.publishMailboxChanged({ accountId: account, mailboxId: 'm', kind: 'mailbox' });
      await waitFor(() => seen.length >= 1);
      await sleep(200);
      expect(seen.map((e) => e.kind)).toEqual(['mailbox']);
    });

    it('does not hand jobs to consumers under another prefix', async ({ expect, onTestFinished }) => {
      const t = fixture(onTestFinished);
      const [here] = await t.busesOn(1);
      const [elsewhere] = await t.busesOn(1);
      const log: Delivery[] = [];
      t.consume(here!, recorder(log));
      await elsewhere!.publishJob(newJob());
      await sleep(300);
      expect(log).toHaveLength(0);
    });

    it('rejects invalid jobs, events and account ids instead of sending them', async ({
      expect,
      onTestFinished,
    }) => {
      const t = fixture(onTestFinished);
      const bus = await t.oneBus();
      await expect(
        bus.publishJob({ queueId: 'has space', enqueuedAt: new Date().toISOString() }),
      ).rejects.toThrow(/queueId/);
      await expect(bus.publishJob({ queueId: 'q1', enqueuedAt: 'yesterday' })).rejects.toThrow(/enqueuedAt/);
      await expect(
        bus.publishMailboxChanged({ accountId: 'a', mailboxId: 'm', kind: 'moved' as 'exists' }),
      ).rejects.toThrow(/kind/);
      expect(() => bus.subscribeMailboxChanged('a.b', () => {})).toThrow(/account id/);
      expect(() => bus.subscribeMailboxChanged('*', () => {})).toThrow(/account id/);
      expect(() => bus.subscribeMailboxChanged('>', () => {})).toThrow(/account id/);
      expect(() => bus.subscribeMailboxChanged('a b', () => {})).toThrow(/account id/);
    });

    it('answers ping while open, and rejects ping and publishing once closed', async ({
      expect,
      onTestFinished,
    }) => {
      const t = fixture(onTestFinished);
      const bus = await t.oneBus();
      await expect(bus.ping()).resolves.toBeUndefined();
      await bus.close();
      await expect(bus.ping()).rejects.toThrow();
      await expect(bus.publishJob(newJob())).rejects.toThrow();
      await expect(
        bus.publishMailboxChanged({ accountId: 'a', mailboxId: 'm', kind: 'exists' }),
      ).rejects.toThrow();
    });
  });
}

let jobCounter = 0;
export function newJob(): DeliveryJob {
  return {
    queueId: `q${Date.now().toString(36)}${++jobCounter}${randomBytes(3).toString('hex')}`,
    enqueuedAt: new Date().toISOString(),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until the condition holds; fails the test with a clear message after timeoutMs. */
export async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}
