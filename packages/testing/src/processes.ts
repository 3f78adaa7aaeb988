import { type ChildProcess, spawn } from 'node:child_process';

export interface Program {
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Resolves when the combined output matches, rejects when the program exits first or time runs out. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends the signal to the program's whole process group (as Ctrl-C in a terminal does). */
  signal(signal: NodeJS.Signals): void;
  exited(timeoutMs?: number): Promise<number | null>;
}

/** Starts a long-running command as a user would, in its own process group, collecting its output. */
export function startProgram(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Program {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const check of waiters) check();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  // 'close', not 'exit': it waits for the output pipes, which the program's own children
  // (pnpm runs node) hold open until they have finished too.
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern} in:\n${output}`));
        }, timeoutMs);
        const check = () => {
          if (pattern.test(output)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
        void exit.then((code) => {
          if (waiters.has(check)) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`exited with ${code} before ${pattern}:\n${output}`));
          }
        });
      });
    },
    signal(signal) {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch (err) {
        // ESRCH: the whole group is gone already.
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    },
    exited(timeoutMs = 30_000) {
      return Promise.race([
        exit,
        new Promise<number | null>((_, reject) =>
          setTimeout(() => reject(new Error(`did not exit within ${timeoutMs} ms:\n${output}`)), timeoutMs),
        ),
      ]);
    },
  };
}

export interface ProgramRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion, feeding it stdin. */
export function runProgram(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; stdin?: string },
): Promise<ProgramRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A program that exits without reading its input (openssl s_client refused by the server)
    // closes the pipe first: EPIPE on our end is no failure of the run, its exit code tells.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}

/** The test runner's environment without Tegami settings (a developer's shell may have some), plus overrides. */
export function cleanEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (
      !key.startsWith('TEGAMI_') &&
      key !== 'DATABASE_URL' &&
      key !== 'NATS_URL' &&
      !key.startsWith('VITEST')
    ) {
      env[key] = value;
    }
  }
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) env[key] = value;
  return env;
}
