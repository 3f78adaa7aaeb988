import type { DeliveryJob } from '@tegami/bus';
import { createLogger } from '@tegami/runtime';
import { describe, expect, it } from 'vitest';
import { startJobRepublisher } from './job-republisher.js';

const job = (queueId: string): DeliveryJob => ({ queueId, enqueuedAt: new Date(0).toISOString() });

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}

describe('the publish of a job after its commit', () => {
  it('goes through at once when the bus is up', async () => {
    const published: string[] = [];
    const republisher = startJobRepublisher({
      bus: { publishJob: async (j) => void published.push(j.queueId) },
      logger: createLogger({ service: 'test', level: 'silent' }),
      retryMs: 10,
    });
    await republisher.publish(job('q1'));
    expect(published).toEqual(['q1']);
    expect(republisher.pending()).toBe(0);
    republisher.stop();
  });

  it('never rejects while the bus is down, and publishes every waiting job once it is back', async () => {
    let up = false;
    const published: string[] = [];
    const republisher = startJobRepublisher({
      bus: {
        publishJob: async (j) => {
          if (!up) throw new Error('NATS is restarting');
          published.push(j.queueId);
        },
      },
      logger: createLogger({ service: 'test', level: 'silent' }),
      retryMs: 10,
    });
    await expect(republisher.publish(job('dsn-1'))).resolves.toBeUndefined();
    await republisher.publish(job('dsn-2'));
    expect(republisher.pending()).toBe(2);
    await new Promise((r) => setTimeout(r, 50));
    expect(published).toEqual([]);
    up = true;
    await until(() => republisher.pending() === 0);
    expect(published.sort()).toEqual(['dsn-1', 'dsn-2']);
    republisher.stop();
  });
});
