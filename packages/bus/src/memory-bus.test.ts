import { describe, expect, it } from 'vitest';
import { describeBusContract, newJob, sleep, waitFor } from './bus.contract.js';
import type { BusLogger } from './bus.js';
import type { DeliveryJob, MailboxChanged } from './events.js';
import { createMemoryBus, createMemoryHub } from './memory-bus.js';

// Handlers throw on purpose in the contract; keep their warnings out of the test output.
const quiet: BusLogger = { info: () => {}, warn: () => {}, error: () => {} };
const hub = createMemoryHub();

describeBusContract(
  'in-process',
  async (scope) => createMemoryBus({ prefix: `mem-${scope}`, hub, logger: quiet }),
  {
    ackWaitMs: 0,
  },
);

describe('createMemoryBus', () => {
  it('shares one queue between buses made without a hub, as processes share a server', async () => {
    const prefix = `shared-${Date.now().toString(36)}`;
    const publisher = createMemoryBus({ prefix, logger: quiet });
    const worker = createMemoryBus({ prefix, logger: quiet });
    const seen: DeliveryJob[] = [];
    worker.consumeJobs(async (job) => {
      seen.push(job);
    });
    const job = newJob();
    await publisher.publishJob(job);
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual([job]);
    await Promise.all([publisher.close(), worker.close()]);
  });

  it('queues a queue id again once the duplicate window has passed', async () => {
    const bus = createMemoryBus({
      prefix: 'window',
      hub: createMemoryHub(),
      logger: quiet,
      duplicateWindowMs: 50,
    });
    const seen: string[] = [];
    bus.consumeJobs(async (job) => {
      seen.push(job.queueId);
    });
    const job = newJob();
    await bus.publishJob(job);
    await bus.publishJob(job);
    await sleep(80);
    await bus.publishJob(job);
    await waitFor(() => seen.length === 2);
    await sleep(50);
    expect(seen).toEqual([job.queueId, job.queueId]);
    await bus.close();
  });

  it('runs event handlers after publishing returns, never inside it', async () => {
    const bus = createMemoryBus({ prefix: 'async-events', hub: createMemoryHub(), logger: quiet });
    const seen: MailboxChanged[] = [];
    bus.subscribeMailboxChanged('a1', (e) => seen.push(e));
    const publishing = bus.publishMailboxChanged({ accountId: 'a1', mailboxId: 'm', kind: 'exists' });
    expect(seen).toHaveLength(0);
    await publishing;
    await waitFor(() => seen.length === 1);
    await bus.close();
  });

  it('gives each subscriber its own copy of an event', async () => {
    const bus = createMemoryBus({ prefix: 'copies', hub: createMemoryHub(), logger: quiet });
    const first: MailboxChanged[] = [];
    const second: MailboxChanged[] = [];
    bus.subscribeMailboxChanged('a1', (e) => {
      (e.uids as number[]).push(99);
      first.push(e);
    });
    bus.subscribeMailboxChanged('a1', (e) => second.push(e));
    await bus.publishMailboxChanged({ accountId: 'a1', mailboxId: 'm', kind: 'expunge', uids: [1] });
    await waitFor(() => first.length === 1 && second.length === 1);
    expect(second[0]!.uids).toEqual([1]);
    await bus.close();
  });
});
