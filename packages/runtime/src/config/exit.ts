import { describeError } from '../describe-error.js';
import { ConfigError } from './config-error.js';
import { type ConfigOf, type Env, type Reader, readConfig } from './read.js';
import type { ServiceName } from './variables.js';

/** Where the fatal line goes and how the program ends; tests pass fakes. */
export interface ExitIo {
  writeStderr(text: string): void;
  exit(code: number): never;
}

export const processExitIo: ExitIo = {
  writeStderr: (text) => process.stderr.write(text),
  exit: (code) => process.exit(code),
};

/** Exit code for a setting that is missing or wrong (as for a usage error). */
export const CONFIG_EXIT_CODE = 2;
/** Exit code for a program that could not start for another reason (a dependency is down). */
export const STARTUP_EXIT_CODE = 1;

/**
 * Errors that are the operator's to fix in the configuration: ConfigError, and any error
 * that says so by carrying `configurationProblem: true` (tls.ts's TlsError does).
 */
export function isConfigurationProblem(err: unknown): err is Error {
  return err instanceof ConfigError || (err instanceof Error && 'configurationProblem' in err);
}

/**
 * Runs fn; if it throws a configuration problem, prints one line
 * (`tegami: configuration error: <message>`) to stderr and exits with code 2. A stack trace
 * would bury the one thing the operator needs: which variable, and what is wrong with it.
 * Other errors are bugs and propagate.
 */
export function exitOnConfigError<T>(fn: () => T, io: ExitIo = processExitIo): T {
  try {
    return fn();
  } catch (err) {
    if (!isConfigurationProblem(err)) throw err;
    return failConfiguration(err, io);
  }
}

export interface LoadConfigOptions {
  readonly env?: Env;
  readonly service?: ServiceName;
  readonly io?: ExitIo;
}

/** readConfig, or the one-line message and exit code 2. */
export function loadConfigOrExit<S extends Record<string, Reader<unknown>>>(
  spec: S,
  options: LoadConfigOptions = {},
): ConfigOf<S> {
  const readOptions = options.service ? { service: options.service } : {};
  return exitOnConfigError(() => readConfig(spec, options.env ?? process.env, readOptions), options.io);
}

/**
 * For a program's start-up (connect to Postgres and NATS, load certificates, listen): any
 * failure ends the program with one line instead of a stack trace. Configuration problems
 * exit 2 as above; anything else (`connection refused (127.0.0.1:5432)`) exits 1.
 */
export async function exitOnStartupError<T>(
  what: string,
  fn: () => Promise<T>,
  io: ExitIo = processExitIo,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isConfigurationProblem(err)) return failConfiguration(err, io);
    io.writeStderr(`tegami: ${what}: ${describeError(err)}\n`);
    return io.exit(STARTUP_EXIT_CODE);
  }
}

function failConfiguration(err: Error, io: ExitIo): never {
  io.writeStderr(`tegami: configuration error: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
  return io.exit(CONFIG_EXIT_CODE);
}
