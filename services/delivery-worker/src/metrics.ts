import { createErrorCounter } from '@tegami/runtime';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type DeliveryMetrics = ReturnType<typeof createDeliveryMetrics>;

export function createDeliveryMetrics(
  registry: Registry,
  backlog: () => Promise<{ depth: number; oldestAgeSeconds: number }>,
) {
  // One query answers both backlog gauges of a scrape.
  let cached: { at: number; value: Promise<{ depth: number; oldestAgeSeconds: number }> } | undefined;
  const currentBacklog = () => {
    if (!cached || Date.now() - cached.at > 1_000) {
      cached = { at: Date.now(), value: backlog().catch(() => ({ depth: 0, oldestAgeSeconds: 0 })) };
    }
    return cached.value;
  };
  const registers = [registry];
  return {
    outcomes: new Counter({
      name: 'tegami_delivery_outcomes_total',
      help: 'Recipients settled, by route (local, remote) and outcome (delivered, relayed, deferred, bounced)',
      labelNames: ['route', 'outcome'] as const,
      registers,
    }),
    attempts: new Counter({
      name: 'tegami_delivery_attempts_total',
      help: 'Delivery attempts (one per recipient per try), by route',
      labelNames: ['route'] as const,
      registers,
    }),
    latency: new Histogram({
      name: 'tegami_delivery_latency_seconds',
      help: 'From acceptance (the 250) to delivery into the INBOX or to the next MTA, by route',
      labelNames: ['route'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86_400],
      registers,
    }),
    domainConnections: new Gauge({
      name: 'tegami_delivery_domain_connections',
      help: 'Outbound SMTP connections open now from this process, by destination domain',
      labelNames: ['domain'] as const,
      registers,
    }),
    notifications: new Counter({
      name: 'tegami_delivery_notifications_total',
      help: 'Delivery status notifications queued, by action (failed, delayed, delivered, relayed)',
      labelNames: ['action'] as const,
      registers,
    }),
    jobs: new Counter({
      name: 'tegami_delivery_jobs_total',
      help: 'Queue jobs handled, by result (done, retry-later, busy, stale, error)',
      labelNames: ['result'] as const,
      registers,
    }),
    oldestPending: new Gauge({
      name: 'tegami_delivery_queue_oldest_pending_seconds',
      help: 'Age of the oldest message with a recipient still to deliver (across all workers)',
      registers,
      async collect() {
        this.set((await currentBacklog()).oldestAgeSeconds);
      },
    }),
    errors: createErrorCounter(registry),
    queueDepth: new Gauge({
      name: 'tegami_delivery_queue_depth',
      help: 'Messages with a recipient still to deliver, pending or deferred (across all workers)',
      registers,
      async collect() {
        this.set((await currentBacklog()).depth);
      },
    }),
  };
}
