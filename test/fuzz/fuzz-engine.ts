// Runs one fuzz target in this thread: its regressions first, then generated inputs until
// the time budget is spent (fast-check, interrupted after the budget, not marked failed for
// it), and a failure shrunk to a small counterexample. The command-line runner (run.ts)
// calls this inside a worker, which bounds memory and notices a hung input; the CI test
// (fuzz.test.ts) calls it directly.

import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import type { FuzzTarget } from './fuzz-target.js';

export interface FuzzOptions {
  readonly seed: number;
  /** How long to generate inputs for; regressions come on top. */
  readonly seconds: number;
  /** Replays the one input at fast-check's path (from a report), then shrinks it. */
  readonly path?: string;
  /**
   * An input whose check takes more CPU time than this fails (bounded time per input). CPU
   * time, not wall time: a long run is niced on a shared machine, where a check may wait
   * for a core far longer than it computes. Undefined in CI, where only a property decides
   * pass or fail, never the speed of the machine.
   */
  readonly inputMs?: number;
  /** Inputs that failed before (crasher files), run first with the target's own. */
  readonly regressions?: readonly unknown[];
  /**
   * Where the runner's watchdog reads what runs now: [0] is the phase (PHASE_*), [1] the
   * index of the input (the regression's, or the generated input's, which is its path),
   * [2] counts inputs begun.
   */
  readonly progress?: Int32Array;
}

export const PHASE_REGRESSIONS = 1;
export const PHASE_GENERATED = 2;
export const PHASE_SHRINKING = 3;
export const PHASE_DONE = 4;

export interface FuzzFailure {
  readonly kind: 'regression' | 'property';
  readonly error: string;
  /** The input that failed; for a property failure, shrunk. */
  readonly input: unknown;
  /** fast-check's path of the original failing input under the run's seed. */
  readonly path?: string;
}

export interface FuzzReport {
  readonly target: string;
  readonly seed: number;
  /** Generated inputs checked (shrinking not counted). */
  readonly runs: number;
  readonly regressions: number;
  readonly seconds: number;
  readonly inputsPerSecond: number;
  readonly failures: readonly FuzzFailure[];
}

/** Thrown when one input took more CPU time than `inputMs`. */
export class InputTooSlow extends Error {
  constructor(elapsedMs: number, limitMs: number) {
    super(`bounded time per input: the check took ${Math.round(elapsedMs)} ms of CPU (limit ${limitMs} ms)`);
    this.name = 'InputTooSlow';
  }
}

/** A failure's message with the first lines of its stack: where in the parser it broke. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const frames = (error.stack ?? '')
      .split('\n')
      .filter((line) => line.trimStart().startsWith('at '))
      .slice(0, 6);
    return [`${error.name}: ${error.message}`, ...frames].join('\n');
  }
  return String(error);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

export async function fuzzTarget<T>(target: FuzzTarget<T>, options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const failures: FuzzFailure[] = [];
  const progress = options.progress;
  const mark = (phase: number, index: number) => {
    if (progress) {
      Atomics.store(progress, 1, index);
      Atomics.store(progress, 0, phase);
      Atomics.add(progress, 2, 1);
    }
  };
  // The process's CPU time: GC threads included, their work is the check's too.
  const begin = () => (options.inputMs === undefined ? undefined : process.cpuUsage());
  const slow = (since: NodeJS.CpuUsage | undefined) => {
    if (since === undefined || options.inputMs === undefined) return;
    const used = process.cpuUsage(since);
    const elapsed = (used.user + used.system) / 1000;
    if (elapsed > options.inputMs) throw new InputTooSlow(elapsed, options.inputMs);
  };

  const regressions = [...(target.regressions ?? []), ...((options.regressions ?? []) as T[])];
  for (const [index, input] of regressions.entries()) {
    mark(PHASE_REGRESSIONS, index);
    const since = begin();
    try {
      await target.check(input);
      slow(since);
    } catch (error) {
      failures.push({ kind: 'regression', error: describeError(error), input });
    }
  }

  // fast-check needs to know up front whether the property is asynchronous: a promise
  // returned to a synchronous property would pass unseen. Sync checks run much faster.
  mark(PHASE_GENERATED, 0); // the probe checks the input at path 0
  const asynchronous = checksAsynchronously(target, options.seed);
  let index = 0;
  let shrinking = false;
  // The index is the input's fast-check path, unless a path is replayed (then unknown: -1).
  let current = -1;
  const onInput = () => {
    // While shrinking, the index is the input whose failure is being shrunk: if shrinking
    // hangs or runs out of heap, the runner can still name it and the path that replays it.
    if (shrinking) return mark(PHASE_SHRINKING, current);
    const at = index++;
    current = options.path === undefined ? at : -1;
    mark(PHASE_GENERATED, current);
  };
  // After the first failure fast-check shrinks: those inputs are not new runs.
  const failed = (error: unknown): never => {
    shrinking = true;
    throw error;
  };
  const property = asynchronous
    ? fc.asyncProperty(target.input, async (input) => {
        onInput();
        const since = begin();
        try {
          await target.check(input);
          slow(since);
        } catch (error) {
          failed(error);
        }
      })
    : fc.property(target.input, (input) => {
        onInput();
        const since = begin();
        try {
          const result = target.check(input);
          if (isThenable(result))
            throw new Error(`${target.name}: check returned a promise for a sync target`);
          slow(since);
        } catch (error) {
          failed(error);
        }
      });

  const budgetMs = Math.max(1, Math.round(options.seconds * 1000));
  const parameters: fc.Parameters<[T]> = {
    seed: options.seed,
    numRuns: options.path === undefined ? 2 ** 31 - 1 : 1,
    interruptAfterTimeLimit: budgetMs,
    markInterruptAsFailure: false,
    ...(options.path !== undefined && { path: options.path }),
    // A failure is shrunk to a small counterexample.
    endOnFailure: false,
  };
  const searchStarted = performance.now();
  let details = await runProperty(property, parameters);
  const searchSeconds = (performance.now() - searchStarted) / 1000;
  const runs = index;
  if (details.failed && details.interrupted && details.counterexamplePath) {
    // The budget ran out while shrinking: shrink again from the failing input, for as long.
    shrinking = true;
    details = await runProperty(property, { ...parameters, path: details.counterexamplePath, numRuns: 1 });
  }
  mark(PHASE_DONE, 0);
  if (details.failed && details.counterexample) {
    failures.push({
      kind: 'property',
      error: describeError(details.errorInstance),
      input: details.counterexample[0],
      ...(details.counterexamplePath !== null && { path: details.counterexamplePath }),
    });
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    target: target.name,
    seed: options.seed,
    runs,
    regressions: regressions.length,
    seconds,
    inputsPerSecond: searchSeconds > 0 ? Math.round(runs / searchSeconds) : 0,
    failures,
  };
}

async function runProperty<T>(
  property: fc.IProperty<[T]> | fc.IAsyncProperty<[T]>,
  parameters: fc.Parameters<[T]>,
): Promise<fc.RunDetails<[T]>> {
  return await fc.check(property, parameters);
}

function checksAsynchronously<T>(target: FuzzTarget<T>, seed: number): boolean {
  if (target.check.constructor.name === 'AsyncFunction') return true;
  const [sample] = fc.sample(target.input, { seed, numRuns: 1 });
  try {
    const result = target.check(sample as T);
    if (isThenable(result)) {
      // Only a probe: its outcome is seen again when this input comes as the first run.
      Promise.resolve(result).catch(() => {});
      return true;
    }
  } catch {
    // A synchronous throw: a synchronous check, failing; the run will report it.
  }
  return false;
}

/** The targets in test/fuzz/targets/, by name, in name order. */
export async function loadTargets(only?: readonly string[]): Promise<FuzzTarget<unknown>[]> {
  const dir = new URL('./targets/', import.meta.url);
  const files = readdirSync(dir)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .sort();
  const targets: FuzzTarget<unknown>[] = [];
  for (const file of files) {
    const module = (await import(new URL(file, dir).href)) as { target?: FuzzTarget<unknown> };
    if (!module.target) throw new Error(`test/fuzz/targets/${file} exports no \`target\``);
    if (targets.some((t) => t.name === module.target?.name)) {
      throw new Error(`two fuzz targets are named ${module.target.name}`);
    }
    if (!only || only.includes(module.target.name)) targets.push(module.target);
  }
  if (only) {
    const missing = only.filter((name) => !targets.some((t) => t.name === name));
    if (missing.length > 0) throw new Error(`no fuzz target named ${missing.join(', ')}`);
  }
  return targets;
}
