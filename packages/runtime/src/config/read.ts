import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { redactCredentials } from '../redact.js';
import { ConfigError } from './config-error.js';
import { findVariable, type ServiceName, VARIABLES } from './variables.js';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The value of a variable as the readers see it: the environment's (trimmed), else the
 * reader's own default, else the catalogue's; undefined when none applies.
 */
export type Lookup = (name: string, readerDefault?: string) => string | undefined;

export interface Reader<T> {
  /** The variables it reads, all in the catalogue. */
  readonly variables: readonly string[];
  read(lookup: Lookup): T;
}

/** A reader of one variable; `optional()` wraps these. */
export interface VariableReader<T> extends Reader<T> {
  readonly name: string;
  /** Turns a set value into T, or throws the ConfigError that says what is wrong. */
  parse(value: string): T;
}

export interface ReaderOptions {
  /** Overrides the catalogue's default for this one program. */
  readonly default?: string;
}

export interface ReadOptions {
  /** The program reading; picks `standaloneDefault` where the catalogue has one. */
  readonly service?: ServiceName;
}

export type ConfigOf<S extends Record<string, Reader<unknown>>> = {
  -readonly [K in keyof S]: S[K] extends Reader<infer T> ? T : never;
};

/**
 * Reads every setting of `spec` from `env` into a typed object. Throws a ConfigError on the
 * first problem, checking first for `TEGAMI_*` names that no one reads: a misspelt setting
 * would otherwise be ignored in silence and explain the errors that follow.
 */
export function readConfig<S extends Record<string, Reader<unknown>>>(
  spec: S,
  env: Env = process.env,
  options: ReadOptions = {},
): ConfigOf<S> {
  const unknown = unknownVariables(env)[0];
  if (unknown) throw unknown;
  const lookup: Lookup = (name, readerDefault) => {
    const raw = env[name]?.trim();
    // Empty counts as unset: compose files and charts often write `NAME=` for "not set".
    if (raw) return raw;
    if (readerDefault !== undefined) return readerDefault;
    const entry = findVariable(name);
    if (options.service === 'standalone' && entry?.standaloneDefault !== undefined)
      return entry.standaloneDefault;
    const fallback = entry?.default;
    return typeof fallback === 'object' ? fallback.compute() : fallback;
  };
  const config: Record<string, unknown> = {};
  for (const [key, reader] of Object.entries(spec)) config[key] = reader.read(lookup);
  return config as ConfigOf<S>;
}

/** The `TEGAMI_*` variables of env that are not in the catalogue, each as a ConfigError. */
export function unknownVariables(env: Env): ConfigError[] {
  return Object.keys(env)
    .filter((name) => name.startsWith('TEGAMI_') && !findVariable(name))
    .sort()
    .map((name) => {
      const guess = closestName(name);
      return new ConfigError(name, `unknown setting${guess ? ` (did you mean ${guess}?)` : ''}`);
    });
}

function closestName(name: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const v of VARIABLES) {
    const distance = editDistance(name, v.name);
    if (!best || distance < best.distance) best = { name: v.name, distance };
  }
  // Farther than this it is a different word, not a typo.
  return best && best.distance <= Math.max(2, Math.floor(name.length / 5)) ? best.name : undefined;
}

/** Levenshtein distance; names are short, so the plain two-row version is plenty. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The building block of every reader. A name missing from the catalogue is a programming
 * error, so it throws here, when the spec is written, not when a user runs the program.
 */
export function variable<T>(
  name: string,
  parse: (value: string, fail: (problem: string) => never) => T,
  options: ReaderOptions = {},
): VariableReader<T> {
  if (!findVariable(name)) {
    throw new Error(
      `${name} is not in the configuration catalogue: add it to packages/runtime/src/config/variables.ts`,
    );
  }
  const fail = (problem: string): never => {
    throw new ConfigError(name, problem);
  };
  const parseValue = (value: string): T => parse(value, fail);
  return {
    name,
    variables: [name],
    parse: parseValue,
    read(lookup) {
      const value = lookup(name, options.default);
      if (value === undefined) throw new ConfigError(name, 'not set');
      return parseValue(value);
    },
  };
}

/** Unset (with no default) gives undefined instead of an error. */
export function optional<T>(reader: VariableReader<T>): Reader<T | undefined> {
  return {
    variables: reader.variables,
    read(lookup) {
      const value = lookup(reader.name);
      return value === undefined ? undefined : reader.parse(value);
    },
  };
}

/** Quotes a value for an error message: escaped onto one line, without passwords, not too long. */
export function echo(value: string): string {
  const shown = redactCredentials(value);
  return JSON.stringify(shown.length > 80 ? `${shown.slice(0, 77)}...` : shown);
}

export function string(name: string, options: ReaderOptions = {}): VariableReader<string> {
  return variable(name, (value) => value, options);
}

export interface IntOptions extends ReaderOptions {
  readonly min?: number;
  readonly max?: number;
}

export function int(name: string, options: IntOptions = {}): VariableReader<number> {
  return variable(name, (value, fail) => parseInteger(value, options, fail), options);
}

function parseInteger(value: string, { min, max }: IntOptions, fail: (problem: string) => never): number {
  const n = /^[+-]?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) return fail(`not an integer (${echo(value)})`);
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
    const range =
      min !== undefined && max !== undefined
        ? `between ${min} and ${max}`
        : min !== undefined
          ? `at least ${min}`
          : `at most ${max}`;
    return fail(`must be ${range} (got ${n})`);
  }
  return n;
}

/** A TCP port; 0 is allowed and means "any free port" (tests, and several processes on one host). */
export function port(name: string, options: ReaderOptions = {}): VariableReader<number> {
  return variable(
    name,
    (value, fail) => {
      const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isInteger(n) || n > 65535) return fail(`not a port number (0-65535) (${echo(value)})`);
      return n;
    },
    options,
  );
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds: a plain number (`30000`) or a number with a unit (`500ms`, `30s`, `2m`, `1h`, `5d`). */
export function durationMs(name: string, options: IntOptions = {}): VariableReader<number> {
  return variable(
    name,
    (value, fail) => {
      const match = /^(\d+)\s*(ms|s|m|h|d)?$/i.exec(value);
      if (!match)
        return fail(`not a duration: milliseconds, or a number with ms, s, m, h or d (${echo(value)})`);
      const ms = Number(match[1]) * DURATION_UNITS[(match[2] ?? 'ms').toLowerCase()]!;
      return parseInteger(String(ms), options, fail);
    },
    options,
  );
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

export function bool(name: string, options: ReaderOptions = {}): VariableReader<boolean> {
  return variable(
    name,
    (value, fail) => {
      const v = value.toLowerCase();
      if (TRUE.has(v)) return true;
      if (FALSE.has(v)) return false;
      return fail(`not a boolean: true, false, 1, 0, yes or no (${echo(value)})`);
    },
    options,
  );
}

/** One of a fixed set of words, compared without regard to case and returned as listed. */
export function oneOf<const T extends string>(
  name: string,
  values: readonly T[],
  options: ReaderOptions = {},
): VariableReader<T> {
  return variable(
    name,
    (value, fail) => {
      const found = values.find((v) => v.toLowerCase() === value.toLowerCase());
      return found ?? fail(`must be one of ${values.join(', ')} (got ${echo(value)})`);
    },
    options,
  );
}

export interface PathOptions extends ReaderOptions {
  /** Refuse a path that is not an existing file (or directory) now, rather than at first use. */
  readonly mustExist?: 'file' | 'directory';
}

/** A file system path, made absolute against the working directory. */
export function path(name: string, options: PathOptions = {}): VariableReader<string> {
  return variable(
    name,
    (value, fail) => {
      const absolute = resolve(value);
      if (options.mustExist) {
        const stat = statSync(absolute, { throwIfNoEntry: false });
        if (!stat) return fail(`${absolute} does not exist`);
        if (options.mustExist === 'file' && !stat.isFile()) return fail(`${absolute} is not a file`);
        if (options.mustExist === 'directory' && !stat.isDirectory())
          return fail(`${absolute} is not a directory`);
      }
      return absolute;
    },
    options,
  );
}

/** A Postgres connection URL as `pg` takes it (`postgres://` or `postgresql://`). */
export function postgresUrl(name: string, options: ReaderOptions = {}): VariableReader<string> {
  return variable(
    name,
    (value, fail) => {
      const url = parseUrl(value, fail);
      if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
        return fail(`not a postgres:// URL (${echo(value)})`);
      }
      checkPercentEncoding(url, value, fail);
      return value;
    },
    options,
  );
}

/** One or more NATS servers, comma-separated, each `nats://host[:port]` or `tls://host[:port]`. */
export function natsUrl(name: string, options: ReaderOptions = {}): VariableReader<readonly string[]> {
  return variable(
    name,
    (value, fail) => {
      const servers = value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      if (servers.length === 0) return fail(`no server in ${echo(value)}`);
      for (const server of servers) {
        const url = parseUrl(server, fail);
        if (url.protocol !== 'nats:' && url.protocol !== 'tls:') {
          return fail(`not a nats:// or tls:// URL (${echo(server)})`);
        }
        if (!url.hostname) return fail(`no host in ${echo(server)}`);
        checkPercentEncoding(url, server, fail);
      }
      return servers;
    },
    options,
  );
}

function parseUrl(value: string, fail: (problem: string) => never): URL {
  try {
    return new URL(value);
  } catch {
    // An unencoded "#", "/" or "@" in the password is the usual reason a URL does not parse.
    const hint = value.includes('@') ? '; percent-encode special characters in the password' : '';
    return fail(`not a valid URL (${echo(value)})${hint}`);
  }
}

// Drivers decode the user and password with decodeURIComponent and throw a stack trace on a
// stray "%": catch it here with a line that says so.
function checkPercentEncoding(url: URL, value: string, fail: (problem: string) => never): void {
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    fail(`bad percent-encoding in the user or password of ${echo(value)}`);
  }
}

/**
 * A certificate and key file that go together: both set, or neither (undefined). The
 * files must exist; whether they hold PEM that matches is tls.ts's job.
 */
export function tlsFiles(
  certName = 'TEGAMI_TLS_CERT_FILE',
  keyName = 'TEGAMI_TLS_KEY_FILE',
): Reader<{ certFile: string; keyFile: string } | undefined> {
  const cert = optional(path(certName, { mustExist: 'file' }));
  const key = optional(path(keyName, { mustExist: 'file' }));
  return {
    variables: [certName, keyName],
    read(lookup) {
      const certFile = cert.read(lookup);
      const keyFile = key.read(lookup);
      if (certFile && !keyFile)
        throw new ConfigError(keyName, `not set, but ${certName} is (set both or neither)`);
      if (keyFile && !certFile)
        throw new ConfigError(certName, `not set, but ${keyName} is (set both or neither)`);
      return certFile && keyFile ? { certFile, keyFile } : undefined;
    },
  };
}
