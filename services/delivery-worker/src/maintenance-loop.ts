import type { Logger } from '@tegami/runtime';
import { type MaintenanceReport, runMaintenance } from '@tegami/store';
import type pg from 'pg';
import { Counter, type Registry } from 'prom-client';
import type { MaintenanceSettings } from './settings.js';

export type MaintenanceMetrics = ReturnType<typeof createMaintenanceMetrics>;

export function createMaintenanceMetrics(registry: Registry) {
  const registers = [registry];
  return {
    runs: new Counter({
      name: 'tegami_maintenance_runs_total',
      help: 'Maintenance runs by this process, by result (done, skipped: another replica was running it, error)',
      labelNames: ['result'] as const,
      registers,
    }),
    removedRows: new Counter({
      name: 'tegami_maintenance_removed_rows_total',
      help: 'Rows removed by retention and blob collection, by table (queue, deliveries, delivery_attempts, expunged_messages, activity_tallies, blobs)',
      labelNames: ['table'] as const,
      registers,
    }),
    removedBlobBytes: new Counter({
      name: 'tegami_maintenance_removed_blob_bytes_total',
      help: 'Bytes of the unreferenced message blobs deleted',
      registers,
    }),
  };
}

export function countRemoved(metrics: MaintenanceMetrics, report: MaintenanceReport): void {
  metrics.removedRows.inc({ table: 'queue' }, report.queueEntries);
  metrics.removedRows.inc({ table: 'deliveries' }, report.deliveries);
  metrics.removedRows.inc({ table: 'delivery_attempts' }, report.attempts + report.oldAttempts);
  metrics.removedRows.inc({ table: 'expunged_messages' }, report.expungeRecords);
  metrics.removedRows.inc({ table: 'activity_tallies' }, report.activityTallies);
  metrics.removedRows.inc({ table: 'blobs' }, report.blobs.blobs);
  metrics.removedBlobBytes.inc(report.blobs.bytes);
}

/**
 * Every interval, retention then blob collection (packages/store maintenance.ts). Each
 * replica runs the loop; the store's advisory lock lets one run at a time, and the others
 * skip their turn. A run that fails is logged and tried again at the next interval.
 */
export function startMaintenanceLoop(deps: {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly settings: MaintenanceSettings;
  readonly metrics?: MaintenanceMetrics | undefined;
}): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const run = () => {
    if (running) return;
    running = runMaintenance(deps.pool, deps.settings, { wait: false })
      .then((report) => {
        deps.metrics?.runs.inc({ result: report ? 'done' : 'skipped' });
        if (!report) return;
        if (deps.metrics) countRemoved(deps.metrics, report);
        deps.logger.info({ removed: report }, 'maintenance: retention and blob collection done');
      })
      .catch((err) => {
        deps.metrics?.runs.inc({ result: 'error' });
        deps.logger.warn({ err }, 'maintenance run failed; trying again at the next interval');
      })
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(run, deps.settings.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
