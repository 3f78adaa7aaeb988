import type { DeliveryJob, MailBus } from '@tegami/bus';
import type { Logger } from '@tegami/runtime';

// The jobs of messages the worker queues itself (DSNs, Sieve redirects and replies) are
// published after the commit that wrote their rows: no client waits for a 250 here. When
// that publish fails (NATS restarting, a partition), the row is safe but nothing would
// deliver it until the due scan calls it stranded, five minutes on. The chaos run found
// DSNs waiting so. This keeps the failed publishes and tries them again every few seconds
// while the process lives; the due scan remains the net for a process that dies.

const RETRY_MS = 2_000;
/** A publish that keeps failing this long is left to the due scan. */
const GIVE_UP_MS = 10 * 60_000;

export interface JobRepublisher {
  /** Publishes now; on failure keeps trying in the background. Never rejects. */
  publish(job: DeliveryJob): Promise<void>;
  /** Jobs still waiting for a publish that worked. */
  pending(): number;
  stop(): void;
}

export function startJobRepublisher(deps: {
  readonly bus: Pick<MailBus, 'publishJob'>;
  readonly logger: Logger;
  readonly retryMs?: number;
}): JobRepublisher {
  const waiting = new Map<string, { job: DeliveryJob; since: number }>();
  let retrying = false;
  const timer = setInterval(() => {
    if (retrying || waiting.size === 0) return;
    retrying = true;
    void (async () => {
      for (const [queueId, { job, since }] of waiting) {
        try {
          await deps.bus.publishJob(job);
          waiting.delete(queueId);
          deps.logger.info({ queueId }, 'queued the job whose publish had failed');
        } catch {
          if (Date.now() - since > GIVE_UP_MS) {
            waiting.delete(queueId);
            deps.logger.warn({ queueId }, 'gave up publishing the job; the due scan will find the message');
          }
          // The bus is still away: the others would fail the same way.
          break;
        }
      }
    })().finally(() => {
      retrying = false;
    });
  }, deps.retryMs ?? RETRY_MS);
  timer.unref();
  return {
    async publish(job) {
      try {
        await deps.bus.publishJob(job);
      } catch (err) {
        deps.logger.warn({ err, queueId: job.queueId }, 'could not queue the job; retrying');
        waiting.set(job.queueId, { job, since: Date.now() });
      }
    },
    pending: () => waiting.size,
    stop: () => clearInterval(timer),
  };
}
