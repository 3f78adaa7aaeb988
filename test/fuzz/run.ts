// The fuzz runner (issue 21 §2): `pnpm fuzz [--seconds N] [--seed S] [--target NAME]…`.
//
// Each target in test/fuzz/targets/ runs in a process of its own, one after another: its
// regressions (its own and test/fuzz/crashers/<target>/*.json) first, then generated
// inputs for --seconds. Every input must be checked within --input-ms (bounded time) and
// the process's heap stays under --memory-mb (bounded memory); an input that never returns
// is stopped by a watchdog. Failures are printed shrunk, with the command that replays
// them, and written to test/fuzz/crashers/ to become regression tests. With --coverage DIR,
// the children's V8 coverage is gathered and the lines and branches reached in each parser
// module are printed at the end (coverage.ts).

import { type ChildProcess, fork } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareCoverage, reportCoverage } from './coverage.js';
import { saveCrasher } from './crashers.js';
import type { ChildJob, ChildResult } from './fuzz-child.js';
import {
  type FuzzFailure,
  type FuzzReport,
  loadTargets,
  PHASE_DONE,
  PHASE_REGRESSIONS,
  PHASE_SHRINKING,
} from './fuzz-engine.js';
import { decodeInput } from './input-json.js';

const USAGE = `usage: pnpm fuzz [--seconds N] [--seed S] [--target NAME]... [--path P] [--input-ms MS] [--memory-mb MB] [--coverage DIR] [--list]
  --seconds N    generate inputs for N seconds per target (default 60)
  --seed S       fast-check seed (default: random, printed); with --path replays one input
  --target NAME  only this target (repeatable); --list prints them
  --path P       replay the input at fast-check path P (from a report) and shrink it
  --input-ms MS  an input whose check takes more CPU time fails (default 1000)
  --memory-mb MB heap bound of the process running a target (default 512)
  --coverage DIR write V8 coverage of each target's process under DIR and print the lines and
                 branches covered per parser module at the end (c8; an html report in DIR)
  --no-save      do not write crashers to test/fuzz/crashers/`;

interface Options {
  readonly seconds: number;
  readonly seed: number;
  readonly targets: readonly string[] | undefined;
  readonly path: string | undefined;
  readonly inputMs: number;
  readonly memoryMb: number;
  readonly save: boolean;
  readonly list: boolean;
  readonly coverage: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string' },
      seed: { type: 'string' },
      target: { type: 'string', multiple: true },
      path: { type: 'string' },
      'input-ms': { type: 'string' },
      'memory-mb': { type: 'string' },
      coverage: { type: 'string' },
      'no-save': { type: 'boolean' },
      list: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const number = (name: string, text: string | undefined, fallback: number, integer = false): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
      throw new Error(
        `--${name} must be a ${integer ? 'whole ' : ''}number ≥ 0, not ${JSON.stringify(text)}`,
      );
    }
    return value;
  };
  const targets = values.target?.flatMap((t) => t.split(',')).filter((t) => t !== '');
  if (values.path !== undefined && targets?.length !== 1)
    throw new Error('--path replays one input: name one --target');
  if (values.path !== undefined && values.seed === undefined)
    throw new Error('--path needs the --seed it came with');
  return {
    seconds: number('seconds', values.seconds, 60),
    // fast-check seeds are 32-bit integers.
    seed: number('seed', values.seed, Math.floor(Math.random() * 2 ** 31), true) | 0,
    targets,
    path: values.path,
    inputMs: number('input-ms', values['input-ms'], 1000),
    memoryMb: number('memory-mb', values['memory-mb'], 512),
    save: !values['no-save'],
    list: values.list === true,
    coverage: values.coverage,
  };
}

/** A child process running test/fuzz/fuzz-child.ts on one job, with its heap bounded. */
function startChild(job: ChildJob, memoryMb?: number, coverageDir?: string): ChildProcess {
  return fork(fileURLToPath(new URL('./fuzz-child.ts', import.meta.url)), [], {
    env: {
      ...process.env,
      TEGAMI_FUZZ_JOB: JSON.stringify(job),
      ...(coverageDir !== undefined && { NODE_V8_COVERAGE: coverageDir }),
    },
    // The runner's own loader flags (tsx, the tegami-source condition), and the heap bound.
    execArgv: [...process.execArgv, ...(memoryMb !== undefined ? [`--max-old-space-size=${memoryMb}`] : [])],
    // fd 4: the child's progress (fuzz-child.ts).
    stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'],
  });
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

function resultOf(child: ChildProcess): Promise<ChildResult | Exit> {
  return new Promise((resolve) => {
    let result: ChildResult | undefined;
    child.on('message', (message: ChildResult) => {
      result = message;
    });
    child.once('exit', (code, signal) => resolve(result ?? { code, signal }));
  });
}

/** The input a child was checking when it hung or ran out of heap. */
async function inputAt(target: string, seed: number, phase: number, index: number): Promise<unknown> {
  const job: ChildJob =
    phase === PHASE_REGRESSIONS
      ? { kind: 'regression-at', target, index }
      : { kind: 'input-at', target, seed, path: String(index) };
  const result = await resultOf(startChild(job));
  return 'kind' in result && result.kind === 'input' ? decodeInput(result.input) : undefined;
}

async function runTarget(target: string, options: Options, coverageDir?: string): Promise<FuzzReport> {
  const job: ChildJob = {
    kind: 'fuzz',
    target,
    seed: options.seed,
    seconds: options.seconds,
    ...(options.path !== undefined && { path: options.path }),
    inputMs: options.inputMs,
  };
  const started = performance.now();
  const child = startChild(job, options.memoryMb, coverageDir);
  // What the child does now: phase, input index, inputs begun (fuzz-child.ts writes it).
  let at = { phase: 0, index: 0, ticks: 0 };
  let lastChange = performance.now();
  createInterface({ input: child.stdio[4] as Readable }).on('line', (line) => {
    const [phase = 0, index = 0, ticks = 0] = line.split(' ').map(Number);
    if (ticks !== at.ticks || phase !== at.phase) lastChange = performance.now();
    at = { phase, index, ticks };
  });
  // The watchdog: an input still running long after its time bound never returns.
  const hangMs = Math.max(5_000, options.inputMs * 5);
  let hung = false;
  const watchdog = setInterval(() => {
    const checking = at.phase !== 0 && at.phase !== PHASE_DONE;
    if (checking && performance.now() - lastChange > hangMs) {
      hung = true;
      child.kill('SIGKILL');
    }
  }, 100);
  try {
    const result = await resultOf(child);
    if ('kind' in result && result.kind === 'report') {
      const report = result.report as FuzzReport;
      return { ...report, failures: report.failures.map((f) => ({ ...f, input: decodeInput(f.input) })) };
    }
    const exit = result as Exit;
    // V8 aborts (SIGABRT, or exit 134 through a shell) when the heap is over its bound.
    const outOfMemory = exit.signal === 'SIGABRT' || exit.code === 134;
    if (!hung && !outOfMemory)
      throw new Error(`the child fuzzing ${target} exited with ${exit.signal ?? exit.code}`);
    const failure: FuzzFailure = {
      kind: at.phase === PHASE_REGRESSIONS ? 'regression' : 'property',
      error:
        // The index is then the input whose failure was being shrunk (fuzz-engine.ts).
        (at.phase === PHASE_SHRINKING ? 'this input failed, and while its failure was shrunk: ' : '') +
        (hung
          ? `bounded time per input: no answer after ${hangMs / 1000} s (a loop that does not end?)`
          : `bounded memory: the heap went over ${options.memoryMb} MB at or just after this input (or a leak across inputs)`),
      input: at.index >= 0 ? await inputAt(target, options.seed, at.phase, at.index) : undefined,
      ...(at.phase !== PHASE_REGRESSIONS && at.index >= 0 && { path: String(at.index) }),
    };
    const seconds = (performance.now() - started) / 1000;
    return {
      target,
      seed: options.seed,
      runs: Math.max(0, at.phase === PHASE_REGRESSIONS ? 0 : at.index),
      regressions: 0,
      seconds,
      inputsPerSecond: 0,
      failures: [failure],
    };
  } finally {
    clearInterval(watchdog);
  }
}

function shown(input: unknown): string {
  const text = JSON.stringify(input, (_key, value: unknown) =>
    value instanceof Uint8Array ? `bytes:${Buffer.from(value).toString('latin1')}` : value,
  );
  const whole = text ?? String(input);
  return whole.length > 2000 ? `${whole.slice(0, 2000)}… (${whole.length} characters)` : whole;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const targets = await loadTargets(options.targets);
  if (options.list) {
    for (const target of targets) console.log(`${target.name.padEnd(22)} ${target.covers}`);
    return 0;
  }
  console.log(
    `fuzzing ${targets.length} targets, ${options.seconds} s each, seed ${options.seed}` +
      ` (replay: pnpm fuzz --seed ${options.seed} --target NAME)`,
  );
  const coverage = options.coverage === undefined ? undefined : prepareCoverage(options.coverage);
  // A child that only loads the targets: what loading alone runs is not counted as exercised.
  if (coverage) await resultOf(startChild({ kind: 'load' }, undefined, coverage.load));
  const reports: FuzzReport[] = [];
  for (const target of targets) {
    const report = await runTarget(target.name, options, coverage?.v8);
    reports.push(report);
    console.log(
      `${report.target.padEnd(22)} ${String(report.runs).padStart(10)} runs ${String(report.inputsPerSecond).padStart(8)} inputs/s` +
        ` ${report.regressions} regressions  ${report.failures.length === 0 ? 'ok' : `${report.failures.length} FAILED`}`,
    );
    for (const failure of report.failures) {
      console.log(`  ${failure.kind} failure: ${failure.error.split('\n').join('\n    ')}`);
      console.log(`  input: ${shown(failure.input)}`);
      if (failure.path !== undefined) {
        console.log(
          `  replay: pnpm fuzz --target ${report.target} --seed ${report.seed} --path ${failure.path}`,
        );
      }
      if (options.save && failure.kind === 'property' && failure.input !== undefined) {
        console.log(`  saved: ${saveCrasher(report.target, report.seed, failure)}`);
      }
    }
  }
  if (options.coverage !== undefined) console.log(await reportCoverage(options.coverage));
  const failed = reports.filter((r) => r.failures.length > 0);
  console.log(
    `${reports.length} targets, ${reports.reduce((n, r) => n + r.runs, 0)} inputs, ${failed.length} with failures; seed ${options.seed}`,
  );
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
