// Found crashers: each failing input the runner finds is written to
// test/fuzz/crashers/<target>/<hash>.json, and every run reads them back and checks them
// first, so a failure once found stays a regression test until it is fixed and after.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { FuzzFailure } from './fuzz-engine.js';
import { decodeInput, encodeInput, inputHash } from './input-json.js';

const crashersDir = new URL('./crashers/', import.meta.url);

export interface CrasherFile {
  readonly target: string;
  readonly seed: number;
  readonly path?: string;
  readonly error: string;
  readonly found: string;
  readonly input: unknown;
}

/** The inputs of every crasher file of `target`. */
export function loadCrashers(target: string): unknown[] {
  const dir = new URL(`${target}/`, crashersDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const crasher = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as CrasherFile;
      return decodeInput(crasher.input);
    });
}

/** Writes a failure's input as a crasher file; returns its path (the same input, the same file). */
export function saveCrasher(target: string, seed: number, failure: FuzzFailure): string {
  const dir = new URL(`${target}/`, crashersDir);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${inputHash(failure.input)}.json`, dir);
  const crasher: CrasherFile = {
    target,
    seed,
    ...(failure.path !== undefined && { path: failure.path }),
    error: failure.error,
    found: new Date().toISOString(),
    input: encodeInput(failure.input),
  };
  writeFileSync(file, `${JSON.stringify(crasher, null, 2)}\n`);
  return file.pathname;
}
