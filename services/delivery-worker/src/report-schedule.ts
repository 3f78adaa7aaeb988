import type { MailBus } from '@tegami/bus';
import {
  type HttpsReportOptions,
  type ReportConfig,
  type ReportOutcome,
  type ReportRunDeps,
  runReports,
  type TxtResolver,
} from '@tegami/reports';
import type { Logger } from '@tegami/runtime';
import { createTlsResultBuffer } from '@tegami/store';
import type pg from 'pg';
import { trustedRoots } from './peer-tls.js';
import type { TlsOutcome } from './tls-policy.js';
import { tlsResultTally } from './tls-results.js';

// When the daily reports go out: every delivery-worker replica runs this, and the store lets
// exactly one of them send each report. A run at start catches up on the days a stopped
// deployment missed; then one shortly after each UTC midnight (at a random minute of the
// quarter hour after it, so replicas do not all wake at once), and one every hour between,
// for the reports a temporary DNS failure held back.

export interface ReportScheduleDeps extends Omit<ReportRunDeps, 'logger'> {
  readonly logger: Logger;
  /** The clock that says which days are over (tests move it; timers stay real). */
  readonly now?: (() => Date) | undefined;
}

export interface ReportSchedule {
  /** One run now, as the timer does it (after any run in progress). */
  run(): Promise<ReportOutcome[]>;
  /** No more runs; waits for one in progress. */
  stop(): Promise<void>;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
// Reports of the day just over wait this long after midnight, plus up to as long again: the
// counts of the day's last seconds are written every few seconds (tally-buffer.ts).
const AFTER_MIDNIGHT_MS = 5 * 60_000;

export function startReportSchedule(deps: ReportScheduleDeps): ReportSchedule {
  const now = deps.now ?? (() => new Date());
  let running: Promise<ReportOutcome[]> = Promise.resolve([]);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const run = (): Promise<ReportOutcome[]> => {
    running = running
      .catch(() => [])
      .then(() => runReports(deps, { now: now() }))
      .catch((err) => {
        deps.logger.warn({ err }, 'daily report run failed; the next run tries again');
        return [];
      });
    return running;
  };

  const schedule = () => {
    if (stopped) return;
    const at = Date.now();
    const today =
      Math.floor(at / DAY_MS) * DAY_MS + AFTER_MIDNIGHT_MS + Math.floor(Math.random() * AFTER_MIDNIGHT_MS);
    const afterMidnight = today > at ? today : today + DAY_MS;
    timer = setTimeout(
      () => {
        void run().finally(schedule);
      },
      Math.min(HOUR_MS, afterMidnight - at),
    );
    timer.unref();
  };

  void run().finally(schedule);
  return {
    run,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/** What the delivery-worker needs for the reports beyond TEGAMI_REPORT_* (DeliveryWorkerDeps.reports). */
export interface DeliveryReportDeps {
  readonly resolver: TxtResolver;
  /** The clock that says which days are over (tests); the timers stay real. */
  readonly now?: (() => Date) | undefined;
  readonly https?: HttpsReportOptions | undefined;
}

export interface DeliveryReports {
  readonly schedule: ReportSchedule;
  /** Counts one outbound TLS session for TLS-RPT: a Map update now, an upsert every few seconds. */
  countTlsOutcome(outcome: TlsOutcome): void;
  /** No more report runs (the first step of stopping). */
  stopSchedule(): Promise<void>;
  /** Writes the counts still held (the last step, once no session is left). */
  stopCounting(): Promise<void>;
}

/** The delivery-worker's part of TLS-RPT and DMARC reports: counting TLS sessions, and the schedule. */
export function startDeliveryReports(deps: {
  readonly pool: pg.Pool;
  readonly bus: MailBus;
  readonly logger: Logger;
  readonly hostname: string;
  readonly worker: string;
  readonly config: ReportConfig;
  readonly reports: DeliveryReportDeps;
  /** TEGAMI_DELIVERY_TLS_CA_FILE: trusted for https report destinations too, beside Node's roots. */
  readonly extraCa?: string | undefined;
}): DeliveryReports {
  const roots = trustedRoots(deps.extraCa);
  const tlsResults = createTlsResultBuffer(deps.pool, {
    onError: (err) => deps.logger.warn({ err }, 'could not write TLS report counts; kept for the next try'),
  });
  const schedule = startReportSchedule({
    pool: deps.pool,
    resolver: deps.reports.resolver,
    config: deps.config,
    hostname: deps.hostname,
    logger: deps.logger,
    worker: deps.worker,
    now: deps.reports.now,
    https: deps.reports.https ?? (roots && { ca: roots }),
    publish: (queueId) => deps.bus.publishJob({ queueId, enqueuedAt: new Date().toISOString() }),
  });
  return {
    schedule,
    countTlsOutcome: (outcome) => tlsResults.add(tlsResultTally(outcome, new Date())),
    stopSchedule: () => schedule.stop(),
    stopCounting: () => tlsResults.stop(),
  };
}
