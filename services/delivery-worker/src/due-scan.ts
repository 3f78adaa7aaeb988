import type { MailBus } from '@tegami/bus';
import type { Logger } from '@tegami/runtime';
import { findDueMessages } from '@tegami/store';
import type pg from 'pg';

// A recipient with no attempt after this long lost its job; the scan republishes it.
const STRANDED_AFTER_MS = 5 * 60_000;

/**
 * Retries due later than a nak'd job can wait, and jobs that were lost, come back from
 * here: every interval, a job is published for each message with a recipient due now.
 */
export function startDueScan(deps: {
  readonly pool: pg.Pool;
  readonly bus: MailBus;
  readonly logger: Logger;
  readonly intervalMs: number;
  /**
   * Scan at once for every recipient not yet attempted, however recent: for a bus that keeps
   * nothing across restarts (the standalone's in-process bus), whose jobs a crash took along.
   */
  readonly recoverAtStart?: boolean;
}): { stop(): void } {
  let scanning = false;
  const scan = (strandedAfterMs: number) => {
    if (scanning) return;
    scanning = true;
    findDueMessages(deps.pool, strandedAfterMs, 500)
      .then(async (dueMessages) => {
        for (const m of dueMessages) {
          await deps.bus.publishJob(
            { queueId: m.queueId, enqueuedAt: new Date().toISOString() },
            // Every replica scans: the same due time gives the same id, so NATS keeps one.
            { dedupeId: `${m.queueId}.due.${m.dueAt.getTime()}` },
          );
        }
      })
      .catch((err) => deps.logger.warn({ err }, 'scan for due deliveries failed'))
      .finally(() => {
        scanning = false;
      });
  };
  if (deps.recoverAtStart) scan(0);
  const timer = setInterval(() => scan(STRANDED_AFTER_MS), deps.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
