import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describeError } from '@tegami/runtime/config';
import { cleanEnv, type ProgramRun, runProgram } from '@tegami/testing';
import { type CliConfig, runCli } from './cli.js';

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

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `tegami …` in this process, as main.ts does but with its settings given here and
 * its output captured: a fraction of a process's start, for the tests of what commands do.
 */
export async function runCliInProcess(
  args: readonly string[],
  settings: Partial<CliConfig> = {},
  stdin = '',
): Promise<CliRun> {
  const config: CliConfig = {
    databaseUrl: undefined,
    dataDir: '/nonexistent/tegami-data',
    natsServers: ['nats://127.0.0.1:4222'],
    natsPrefix: 'tegami',
    hostname: 'mx.example.test',
    retention: {
      finishedQueueMs: 14 * 86_400_000,
      attemptsMs: 14 * 86_400_000,
      expungedMs: 90 * 86_400_000,
      blobGraceMs: 3_600_000,
    },
    ...settings,
  };
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, config, {
    // Never a terminal: a password comes from here or not at all.
    stdin: Readable.from([Buffer.from(stdin)]) as unknown as NodeJS.ReadStream,
    stdout: (line) => {
      stdout += `${line}\n`;
    },
    stderr: (line) => {
      stderr += `${line}\n`;
    },
    describeError,
  });
  return { code, stdout, stderr };
}
