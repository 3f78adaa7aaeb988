import { fileURLToPath } from 'node:url';
import { cleanEnv, type ProgramRun, runProgram } from '@tegami/testing';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs the real `tegami` program as a process, the way an operator does. */
export function runTegami(
  args: readonly string[],
  env: Record<string, string | undefined>,
  stdin?: string,
): Promise<ProgramRun> {
  return runProgram(process.execPath, ['--conditions=tegami-source', '--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: cleanEnv(env),
    ...(stdin === undefined ? {} : { stdin }),
  });
}
