import type { CommandGroup } from '../command.js';
import { formatSize } from '../sizes.js';
import { printTable } from '../table.js';

export const maintenanceCommands: CommandGroup = {
  title: 'Maintenance',
  commands: [
    {
      name: 'gc',
      usage: [''],
      summary: 'apply the retention settings and delete unreferenced message bytes now',
      description: `Runs at once what every delivery-worker runs each TEGAMI_RETENTION_INTERVAL: deletes
finished queue entries older than TEGAMI_RETENTION_QUEUE (with their recipients and attempts),
delivery attempts older than TEGAMI_RETENTION_ATTEMPTS, expunge records older than
TEGAMI_RETENTION_EXPUNGED, then every stored message that no mailbox and no queue entry holds
and that is older than TEGAMI_RETENTION_BLOB_GRACE. Waits while a worker is running it. Prints
what it removed. Postgres reuses the space; VACUUM FULL gives it back to the disk.`,
      examples: ['tegami gc', 'TEGAMI_RETENTION_QUEUE=2d tegami gc'],
      run: async (_args, ctx) => {
        const { runMaintenance } = await import('@tegami/store');
        const report = await runMaintenance((await ctx.store()).pool, ctx.config.retention, { wait: true });
        if (!report) throw new Error('maintenance did not run');
        printTable(
          ctx.print,
          ['REMOVED', 'ROWS', 'BYTES'],
          [
            ['finished queue entries', String(report.queueEntries), '-'],
            ['their recipients', String(report.deliveries), '-'],
            ['delivery attempts', String(report.attempts + report.oldAttempts), '-'],
            ['expunge records', String(report.expungeRecords), '-'],
            ['login and spam counts (hours over 8 days old)', String(report.activityTallies), '-'],
            ['unreferenced messages', String(report.blobs.blobs), formatSize(report.blobs.bytes)],
          ],
        );
        return 0;
      },
    },
  ],
};
