import { type ReportOutcome, type ReportRunDeps, runReports } from '@tegami/reports';
import type { Logger } from '@tegami/runtime';

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
