// Coverage of a fuzz run (`pnpm fuzz --coverage DIR`): which lines and branches of the
// parsers the generated inputs reached. Fast-check does not steer by coverage (README.md),
// so this is how a run's reach is measured, and where a generator needs widening is seen.
//
// Each target's child process writes V8's coverage (NODE_V8_COVERAGE) into DIR/v8; Node
// records the source maps tsx gives it beside, and c8 maps the counts back onto the .ts
// sources. A child killed by the watchdog writes nothing: its target's coverage is missing.

import { fork } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * Parser modules: sources of the packages and services, not their tests, the test helpers
 * that live beside them (test-*.ts), or dependencies.
 */
const SOURCE = /^(packages|services)\/[^/]+\/src\/(?!.*node_modules\/)(.*\/)?(?!test-)[^/]*(?<!\.test)\.ts$/;

/**
 * Where the children write V8 coverage (DIR/v8), and where the child that only loads the
 * targets writes its own (DIR/v8-load); emptied, so the report is of this run only.
 */
export function prepareCoverage(dir: string): { readonly v8: string; readonly load: string } {
  const v8 = resolve(dir, 'v8');
  const load = resolve(dir, 'v8-load');
  for (const d of [v8, load]) {
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
  }
  return { v8, load };
}

interface V8Script {
  readonly url: string;
  readonly functions: readonly {
    readonly ranges: readonly { readonly startOffset: number; readonly count: number }[];
  }[];
}

/** Calls of each function of each source module, by module path and function offset. */
function* functionCalls(dir: string): Generator<{ path: string; at: string; count: number }> {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const { result } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { result: V8Script[] };
    for (const script of result) {
      if (!script.url.startsWith('file://')) continue;
      const path = relative(ROOT, fileURLToPath(script.url));
      if (!SOURCE.test(path)) continue;
      for (const f of script.functions) {
        const [whole] = f.ranges;
        if (whole) yield { path, at: `${whole.startOffset}`, count: whole.count };
      }
    }
  }
}

/**
 * Source modules with a function called more often in some target's child than in a child
 * that only loaded all the targets: a child imports every module its target uses, and loading
 * runs code of its own (top levels, esbuild's __name, tables built), so a module merely
 * loaded is not one the inputs exercised.
 */
function exercisedModules(v8: string, load: string): Set<string> {
  const loading = new Map<string, number>();
  for (const { path, at, count } of functionCalls(load)) loading.set(`${path}@${at}`, count);
  const exercised = new Set<string>();
  for (const { path, at, count } of functionCalls(v8)) {
    if (count > (loading.get(`${path}@${at}`) ?? 0)) exercised.add(path);
  }
  return exercised;
}

interface Counts {
  readonly total: number;
  readonly covered: number;
}
type Summary = Record<string, { readonly lines: Counts; readonly branches: Counts }>;

/** c8's own CLI, run on the collected files: json-summary for the table, html to browse. */
function runC8(v8: string, dir: string): Promise<void> {
  const c8 = createRequire(import.meta.url).resolve('c8/bin/c8.js');
  const args = ['report', '--temp-directory', v8, '--reports-dir', resolve(dir), '--src', ROOT];
  for (const reporter of ['json-summary', 'html']) args.push('--reporter', reporter);
  for (const include of ['packages/*/src/**', 'services/*/src/**']) args.push('--include', include);
  for (const exclude of ['**/*.test.ts', '**/test-*.ts', '**/node_modules/**'])
    args.push('--exclude', exclude);
  return new Promise((done, fail) => {
    const child = fork(c8, args, { cwd: ROOT, execArgv: [], stdio: 'inherit' });
    child.once('exit', (code) => (code === 0 ? done() : fail(new Error(`c8 report exited with ${code}`))));
  });
}

const percent = (c: Counts): string => (c.total === 0 ? '-' : `${((100 * c.covered) / c.total).toFixed(1)}%`);
const cell = (c: Counts): string => `${c.covered}/${c.total} ${percent(c)}`.padStart(18);
const add = (a: Counts, b: Counts): Counts => ({ total: a.total + b.total, covered: a.covered + b.covered });

/** Lines and branches covered per exercised parser module, per package, and in all. */
export async function reportCoverage(dir: string): Promise<string> {
  const { v8, load } = { v8: resolve(dir, 'v8'), load: resolve(dir, 'v8-load') };
  await runC8(v8, dir);
  const exercised = exercisedModules(v8, load);
  const summary = JSON.parse(readFileSync(resolve(dir, 'coverage-summary.json'), 'utf8')) as Summary;
  const rows = Object.entries(summary)
    .filter(([file]) => file !== 'total')
    .map(([file, counts]) => ({ path: relative(ROOT, file), ...counts }))
    .filter((row) => exercised.has(row.path))
    .sort((a, b) => a.path.localeCompare(b.path));
  const zero: Counts = { total: 0, covered: 0 };
  const width = Math.max(40, ...rows.map((r) => r.path.length));
  const lines = [`${'parser module'.padEnd(width)} ${'lines'.padStart(18)} ${'branches'.padStart(18)}`];
  const packages = new Map<string, { lines: Counts; branches: Counts }>();
  for (const row of rows) {
    lines.push(`${row.path.padEnd(width)} ${cell(row.lines)} ${cell(row.branches)}`);
    const name = row.path.split('/').slice(0, 2).join('/');
    const sum = packages.get(name) ?? { lines: zero, branches: zero };
    packages.set(name, { lines: add(sum.lines, row.lines), branches: add(sum.branches, row.branches) });
  }
  let all = { lines: zero, branches: zero };
  for (const [name, sum] of packages) {
    lines.push(`${`${name} (exercised modules)`.padEnd(width)} ${cell(sum.lines)} ${cell(sum.branches)}`);
    all = { lines: add(all.lines, sum.lines), branches: add(all.branches, sum.branches) };
  }
  lines.push(
    `${`all ${rows.length} exercised modules`.padEnd(width)} ${cell(all.lines)} ${cell(all.branches)}`,
  );
  lines.push(`html report: ${join(resolve(dir), 'index.html')}`);
  return lines.join('\n');
}
