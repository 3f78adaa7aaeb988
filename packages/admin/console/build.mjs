#!/usr/bin/env node
// Builds the web console (Preact + TSX in src/) into ../console-dist/: index.html, app.js,
// app.css, served by the admin server under /console/. Plain JavaScript so that it runs with
// nothing compiled: the root package's postinstall runs it after every `pnpm install` (a clean
// clone's `pnpm start` and `pnpm test` then find the console built), and `pnpm build` runs it
// for the container image.
//
//   node packages/admin/console/build.mjs             build (minified)
//   node packages/admin/console/build.mjs --if-stale  build only if a source is newer than the
//                                                     build (`pnpm start` runs this: a checkout
//                                                     whose console changed serves the new one)
//   node packages/admin/console/build.mjs --watch     rebuild on every change (development)
//
// esbuild is a devDependency: where it is missing (a production install) and a build is
// already there, it keeps that one rather than fail the install.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
export const consoleDist = join(here, '..', 'console-dist');

/** esbuild's options; the bundle has no runtime dependency on anything outside it (no CDN). */
function buildOptions(minify) {
  return {
    absWorkingDir: here,
    entryPoints: { app: join(here, 'src', 'main.tsx') },
    outdir: consoleDist,
    bundle: true,
    format: 'esm',
    // Browsers of 2020 on: every current one runs it as it is, untranspiled.
    target: 'es2020',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  };
}

/**
 * Replaces a file in one step (a new file renamed over the old): a server reading it meanwhile,
 * or another build running at the same time (parallel tests each run `pnpm start`), sees the
 * old file or the new one, never half of one.
 */
function writeAtomically(path, bytes) {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, bytes);
  renameSync(temporary, path);
}

function writeIndex() {
  writeAtomically(join(consoleDist, 'index.html'), readFileSync(join(here, 'index.html')));
}

/** Builds once; returns the files written and their sizes (raw and gzipped). */
export async function buildConsole({ minify = true } = {}) {
  const esbuild = await import('esbuild');
  mkdirSync(consoleDist, { recursive: true });
  const result = await esbuild.build({ ...buildOptions(minify), write: false });
  // app.js and app.css first, index.html (which loads them) last.
  for (const file of result.outputFiles) writeAtomically(file.path, file.contents);
  writeIndex();
  return ['index.html', 'app.js', 'app.css'].map((name) => {
    const bytes = readFileSync(join(consoleDist, name));
    return { name, bytes: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length };
  });
}

/** The newest modification time among the console's sources (src/, index.html, this file). */
function newestSource() {
  const times = [
    statSync(join(here, 'index.html')).mtimeMs,
    statSync(fileURLToPath(import.meta.url)).mtimeMs,
  ];
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else times.push(statSync(path).mtimeMs);
    }
  };
  visit(join(here, 'src'));
  return Math.max(...times);
}

/** True when the build is missing or older than a source. */
function stale() {
  const built = ['index.html', 'app.js', 'app.css'].map((name) => join(consoleDist, name));
  if (!built.every((path) => existsSync(path))) return true;
  return newestSource() > Math.min(...built.map((path) => statSync(path).mtimeMs));
}

async function main() {
  if (process.argv.includes('--watch')) {
    const esbuild = await import('esbuild');
    mkdirSync(consoleDist, { recursive: true });
    writeIndex();
    const context = await esbuild.context({ ...buildOptions(false), logLevel: 'info' });
    await context.watch();
    process.stderr.write(`console: watching ${join(here, 'src')}\n`);
    return;
  }
  if (process.argv.includes('--if-stale') && !stale()) return;
  let files;
  try {
    files = await buildConsole();
  } catch (error) {
    const missing = error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes("'esbuild'");
    if (missing && existsSync(join(consoleDist, 'index.html'))) {
      process.stderr.write('console: esbuild is not installed; keeping the console already built\n');
      return;
    }
    if (missing) {
      // A production-only install without a build: the admin API still works, the console says so.
      process.stderr.write('console: esbuild is not installed; the web console is not built\n');
      return;
    }
    throw error;
  }
  const total = files.reduce((sum, f) => sum + f.gzipped, 0);
  process.stderr.write(
    `console: built ${files.map((f) => `${f.name} ${f.bytes} B`).join(', ')} (${total} B gzipped) in ${consoleDist}\n`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
