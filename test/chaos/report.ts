// A chaos run's report, as `pnpm chaos` prints it and bench/RESULTS.md quotes it.

import type { ChaosReport } from './chaos-run.js';

export function formatReport(report: ChaosReport): string {
  const lines: string[] = [];
  lines.push(`chaos run: seed ${report.seed}, ${report.seconds} s of load with faults`);
  const byKind = new Map<string, number>();
  for (const f of report.faults) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
  lines.push(`faults: ${report.faults.length} (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')})`);
  const skipped = report.faults.filter((f) => f.target.startsWith('skipped')).length;
  if (skipped > 0) lines.push(`  ${skipped} disk-full faults skipped: no tmpfs mount on this machine`);
  lines.push(
    `requests: ${Object.entries(report.check.counts)
      .sort()
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
  );
  lines.push(`drained in ${report.drainSeconds.toFixed(1)} s after the faults stopped`);
  const reasons = new Map<string, number>();
  for (const f of report.failedStarts) {
    const reason = f.replace(/^\S+: (tegami: )?/, '').slice(0, 100);
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  lines.push(
    `starts that exited on a dependency down (started again): ${report.failedStarts.length}${[...reasons].map(([r, n]) => `\n  ${n}× ${r}`).join('')}`,
  );
  lines.push(`unplanned exits: ${report.unplannedExits.length}`);
  for (const exit of report.unplannedExits) lines.push(`  ${exit}`);
  lines.push(
    `peak RSS (MiB): ${Object.entries(report.memory.peakMiB)
      .map(([s, m]) => `${s} ${m}`)
      .join(', ')}`,
  );
  for (const g of report.memory.growth) lines.push(`  ${g}`);
  for (const note of report.check.notes.slice(0, 20)) lines.push(`note: ${note}`);
  lines.push(
    report.violations.length === 0 ? 'invariants: all held' : `VIOLATIONS: ${report.violations.length}`,
  );
  for (const v of report.violations) lines.push(`  ${v.invariant}: ${v.detail}`);
  return lines.join('\n');
}
