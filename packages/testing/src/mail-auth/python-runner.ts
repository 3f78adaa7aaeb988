import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Whether the independent implementation (Debian's python3-dkim, python3-spf, python3-nacl
 * and python3-authres, which arc_sign needs) can run here, and with which interpreter.
 */
export type IndependentMailAuth =
  | { readonly available: true; readonly python: string }
  | { readonly available: false; readonly reason: string };

/**
 * Debian's interpreter first: the Debian packages install into its dist-packages, and a
 * python3 earlier on PATH (pyenv, a virtualenv) does not see them.
 */
const PYTHON_CANDIDATES = ['/usr/bin/python3', 'python3'];
const REQUIRED_MODULES = 'import dkim, spf, nacl, authres, dns.resolver';
const SCRIPT = fileURLToPath(new URL('./independent_mail_auth.py', import.meta.url));
const DEFAULT_TIMEOUT_MS = 60_000;

let found: IndependentMailAuth | undefined;

/** Finds (once) a python3 that imports dkimpy and pyspf; for `describe.skipIf`. */
export function independentMailAuth(): IndependentMailAuth {
  if (found) return found;
  const problems: string[] = [];
  for (const python of PYTHON_CANDIDATES) {
    const probe = spawnSync(python, ['-c', REQUIRED_MODULES], { encoding: 'utf8', timeout: 30_000 });
    if (probe.status === 0) {
      found = { available: true, python };
      return found;
    }
    const why = probe.error ? probe.error.message : (probe.stderr.trim().split('\n').pop() ?? 'failed');
    problems.push(`${python}: ${why}`);
  }
  found = {
    available: false,
    reason: `no python3 with dkimpy and pyspf (apt-get install python3-dkim python3-spf python3-nacl python3-authres): ${problems.join('; ')}`,
  };
  return found;
}

/**
 * Runs one operation of independent_mail_auth.py: the request as JSON on stdin, the answer
 * as JSON on stdout. Nothing passes through a shell; a run past the timeout is killed.
 */
export function runIndependent<T>(
  request: { readonly op: string } & Record<string, unknown>,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<T> {
  const tools = independentMailAuth();
  if (!tools.available) return Promise.reject(new Error(tools.reason));
  return new Promise((resolve, reject) => {
    const child = spawn(tools.python, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const errors = Buffer.concat(stderr).toString('utf8').trim();
      if (timedOut) {
        reject(new Error(`${request.op}: dkimpy/pyspf did not answer within ${timeoutMs} ms\n${errors}`));
        return;
      }
      if (code !== 0) {
        reject(new Error(`${request.op}: python exited with ${code}\n${errors}`));
        return;
      }
      let answer: T & { error?: string };
      try {
        answer = JSON.parse(Buffer.concat(stdout).toString('utf8'));
      } catch {
        reject(new Error(`${request.op}: no JSON answer\n${errors}`));
        return;
      }
      if (typeof answer.error === 'string') reject(new Error(`${request.op}: ${answer.error}`));
      else resolve(answer);
    });
    // A child that died at once closes stdin under us: its exit status says why, not EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(request));
  });
}
