import { fileURLToPath } from 'node:url';
import { cleanEnv, type Program, type ProgramRun, runProgram, startProgram } from '@tegami/testing';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Starts a command from the repository root, as a user following the README would. */
export function startInRepo(command: string, args: readonly string[], env: Record<string, string>): Program {
  return startProgram(command, args, { cwd: REPO_ROOT, env: cleanEnv(env) });
}

export function runInRepo(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  stdin = '',
): Promise<ProgramRun> {
  return runProgram(command, args, { cwd: REPO_ROOT, env: cleanEnv(env), stdin });
}
