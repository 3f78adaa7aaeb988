#!/usr/bin/env node
// `pnpm tegami …` in a checkout: the CLI as plain JavaScript, compiled first from whatever
// source changed since. Running the TypeScript through tsx cost ~0.3 s of tsx's own start
// and its loader for each of ~120 modules, on every call; this costs Node's start and a
// stat of each source file, and ~0.2 s more once after a change (esbuild, one file at a
// time, as the repository's isolatedModules settings allow; no type check: `pnpm
// typecheck` does that).
//
// It compiles into each package's dist/, where `pnpm build` (tsc) puts the same files, so
// that `@tegami/store` & co. resolve through their package.json exports as they do in the
// image. A package it wrote to loses its tsc build info, so that the next `pnpm build`
// compiles it afresh rather than trust files it did not write. Plain JavaScript itself, so
// that it needs nothing compiled to start.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'packages/cli');

const stale = workspaceClosure(CLI).flatMap(staleSources);
if (stale.length > 0) await compile(stale);
await import(pathToFileURL(join(CLI, 'dist/main.js')).href);

/** The package and the workspace packages it depends on, directly or not. */
function workspaceClosure(dir) {
  const byName = new Map(
    readdirSync(join(ROOT, 'packages')).map((name) => [
      readManifest(join(ROOT, 'packages', name)).name,
      name,
    ]),
  );
  const found = new Set();
  const visit = (packageDir) => {
    if (found.has(packageDir)) return;
    found.add(packageDir);
    for (const [name, version] of Object.entries(readManifest(packageDir).dependencies ?? {})) {
      if (String(version).startsWith('workspace:')) visit(join(ROOT, 'packages', byName.get(name)));
    }
  };
  visit(dir);
  return [...found];
}

function readManifest(dir) {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
}

/** Sources (as tsconfig.build.json selects them) newer than their compiled file. */
function staleSources(packageDir) {
  const stale = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (isBuildSource(entry.name)) {
        const output = join(packageDir, 'dist', relative(join(packageDir, 'src'), path)).replace(
          /\.ts$/,
          '.js',
        );
        if (!existsSync(output) || statSync(path).mtimeMs > statSync(output).mtimeMs) {
          stale.push({ packageDir, source: path, output });
        }
      }
    }
  };
  walk(join(packageDir, 'src'));
  return stale;
}

function isBuildSource(name) {
  return (
    name.endsWith('.ts') &&
    !name.endsWith('.d.ts') &&
    !name.endsWith('.test.ts') &&
    !name.endsWith('.contract.ts') &&
    !name.startsWith('test-')
  );
}

async function compile(stale) {
  const { build } = await import('esbuild');
  let result;
  try {
    result = await build({
      entryPoints: stale.map(({ source, output }) => ({
        in: source,
        out: relative(ROOT, output).replace(/\.js$/, ''),
      })),
      outdir: ROOT,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
  } catch (err) {
    const first = err.errors?.[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}: ` : '';
    process.stderr.write(`tegami: cannot compile the CLI: ${where}${first?.text ?? err.message}\n`);
    process.exit(1);
  }
  for (const packageDir of new Set(stale.map((s) => s.packageDir))) {
    rmSync(join(packageDir, 'dist', '.tsbuildinfo'), { force: true });
  }
  // Each file whole or not at all: another `pnpm tegami` may be starting meanwhile.
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    const temporary = join(dirname(file.path), `.${basename(file.path)}.${process.pid}.tmp`);
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
}
