// Resident memory of every Tegami process across a chaos run, sampled every two seconds,
// per incarnation (a restarted process starts a new series).

import type { ChaosReplica } from './deployment.js';

interface Series {
  readonly name: string;
  readonly incarnation: number;
  readonly samples: { at: number; rss: number }[];
}

export interface MemoryReport {
  /** Peak RSS per service, in MiB. */
  readonly peakMiB: Readonly<Record<string, number>>;
  /** Per long-lived incarnation: its RSS after warming up and at its end, in MiB. */
  readonly growth: readonly string[];
  readonly leaks: readonly string[];
}

/** An incarnation is judged only after it has lived this long (the first minute is warm-up). */
const JUDGED_AFTER_MS = 90_000;
const WARM_UP_MS = 30_000;

export class MemorySampler {
  private readonly series = new Map<string, Series>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly replicas: readonly ChaosReplica[]) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 2000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
  }

  private sample(): void {
    const now = Date.now();
    for (const replica of this.replicas) {
      const rss = replica.rss();
      if (rss === undefined) continue;
      const key = `${replica.name}@${replica.incarnation()}`;
      let series = this.series.get(key);
      if (!series) {
        series = { name: replica.name, incarnation: replica.incarnation(), samples: [] };
        this.series.set(key, series);
      }
      series.samples.push({ at: now, rss });
    }
  }

  /**
   * A leak is RSS that keeps growing under the same load: the median of the last fifth
   * of a long incarnation's life above 1.5× the median of its first fifth after warm-up,
   * and by more than 100 MiB (V8 grows its heap in steps; a small rise is no leak).
   */
  report(): MemoryReport {
    const mib = (bytes: number) => Math.round(bytes / 1048576);
    const peak: Record<string, number> = {};
    const growth: string[] = [];
    const leaks: string[] = [];
    for (const s of this.series.values()) {
      const service = s.name.replace(/#\d+$/, '');
      for (const { rss } of s.samples) peak[service] = Math.max(peak[service] ?? 0, mib(rss));
      const first = s.samples[0];
      const last = s.samples.at(-1);
      if (!first || !last || last.at - first.at < JUDGED_AFTER_MS) continue;
      const warm = s.samples.filter((x) => x.at - first.at >= WARM_UP_MS);
      const fifth = Math.max(1, Math.floor(warm.length / 5));
      const early = median(warm.slice(0, fifth).map((x) => x.rss));
      const late = median(warm.slice(-fifth).map((x) => x.rss));
      const line = `${s.name} (start ${s.incarnation}, ${Math.round((last.at - first.at) / 1000)} s): ${mib(early)} → ${mib(late)} MiB`;
      growth.push(line);
      if (late > early * 1.5 && late - early > 100 * 1048576) leaks.push(line);
    }
    return { peakMiB: peak, growth, leaks };
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
