// The runner's child process: runs one target (or recovers the input at one fast-check
// path) and sends the result back. A process of its own, not a thread of the runner's, so
// that a heap over --max-old-space-size ends only it (V8 aborts the whole process on a last
// resort GC, even in a worker with resourceLimits) and an input that never returns can be
// killed (issue 21 §2: bounded time and memory per input).
//
// While the target runs, a small thread writes what the main thread is doing (phase, input,
// inputs begun) to file descriptor 4 every 100 ms: it goes on when the main thread is stuck
// in a loop, and the runner reads from it which input hung.

import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { loadCrashers } from './crashers.js';
import { fuzzTarget, loadTargets } from './fuzz-engine.js';
import type { FuzzTarget } from './fuzz-target.js';
import { encodeInput } from './input-json.js';

export type ChildJob =
  | {
      readonly kind: 'fuzz';
      readonly target: string;
      readonly seed: number;
      readonly seconds: number;
      readonly path?: string;
      readonly inputMs?: number;
    }
  /** The input at a path, without checking it: after a hang or a heap overflow. */
  | { readonly kind: 'input-at'; readonly target: string; readonly seed: number; readonly path: string }
  /** The regression input at an index. */
  | { readonly kind: 'regression-at'; readonly target: string; readonly index: number }
  /** Load every target and nothing else: what --coverage subtracts (coverage.ts). */
  | { readonly kind: 'load' };

export type ChildResult =
  | { readonly kind: 'report'; readonly report: unknown }
  | { readonly kind: 'input'; readonly input: unknown };

/** Plain JavaScript, so it needs no loader: copies the progress counters to fd 4. */
const PROGRESS_WRITER = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const view = new Int32Array(workerData);
setInterval(() => {
  try {
    writeSync(4, Atomics.load(view, 0) + ' ' + Atomics.load(view, 1) + ' ' + Atomics.load(view, 2) + '\\n');
  } catch {
    process.exit(0);
  }
}, 100);
`;

/**
 * The target named `name`, from its own file when it is named after it: the child then loads
 * only the modules its target uses (--coverage counts less that no input ran), and a target
 * file that someone is editing in the meantime does not stop a long run. Else by name from
 * all of them.
 */
async function loadTarget(name: string): Promise<FuzzTarget<unknown> | undefined> {
  const file = new URL(`./targets/${name}.ts`, import.meta.url);
  if (/^[a-z0-9-]+$/.test(name) && existsSync(file)) {
    const module = (await import(file.href)) as { target?: FuzzTarget<unknown> };
    if (module.target?.name === name) return module.target;
  }
  return (await loadTargets([name]))[0];
}

async function main(job: ChildJob): Promise<ChildResult> {
  if (job.kind === 'load') {
    await loadTargets();
    return { kind: 'input', input: encodeInput(undefined) };
  }
  const target = await loadTarget(job.target);
  if (!target) throw new Error(`no fuzz target named ${job.target}`);
  switch (job.kind) {
    case 'fuzz': {
      const progress = new SharedArrayBuffer(12);
      const writer = new Worker(PROGRESS_WRITER, { eval: true, workerData: progress });
      writer.unref();
      const report = await fuzzTarget(target, {
        seed: job.seed,
        seconds: job.seconds,
        ...(job.path !== undefined && { path: job.path }),
        ...(job.inputMs !== undefined && { inputMs: job.inputMs }),
        regressions: loadCrashers(target.name),
        progress: new Int32Array(progress),
      });
      return {
        kind: 'report',
        report: { ...report, failures: report.failures.map((f) => ({ ...f, input: encodeInput(f.input) })) },
      };
    }
    case 'input-at': {
      let captured: unknown;
      fc.check(
        fc.property(target.input, (input) => {
          captured = input;
          return false;
        }),
        { seed: job.seed, path: job.path, endOnFailure: true },
      );
      return { kind: 'input', input: encodeInput(captured) };
    }
    case 'regression-at': {
      const all = [...(target.regressions ?? []), ...loadCrashers(target.name)];
      return { kind: 'input', input: encodeInput(all[job.index]) };
    }
  }
}

const job = JSON.parse(process.env.TEGAMI_FUZZ_JOB ?? 'null') as ChildJob | null;
if (job && process.send) {
  main(job).then(
    (result) => process.send!(result, () => process.exit(0)),
    (error: unknown) => {
      console.error(error);
      process.exit(2);
    },
  );
}
