import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { commonSettings } from './common.js';
import { ConfigError } from './config-error.js';
import { type ExitIo, exitOnConfigError, exitOnStartupError, loadConfigOrExit } from './exit.js';
import {
  bool,
  durationMs,
  editDistance,
  int,
  natsUrl,
  oneOf,
  optional,
  path,
  port,
  postgresUrl,
  readConfig,
  string,
  tlsFiles,
} from './read.js';

const scratch = mkdtempSync(join(tmpdir(), 'tegami-config-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** What the program would print and its exit code, without ending the test process. */
function fakeIo() {
  const io = {
    stderr: '',
    code: undefined as number | undefined,
    writeStderr(text: string) {
      io.stderr += text;
    },
    exit(code: number): never {
      io.code = code;
      throw new Error(`exit ${code}`);
    },
  };
  return io satisfies ExitIo;
}

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

const serviceSpec = () => ({
  ...commonSettings(),
  databaseUrl: postgresUrl('DATABASE_URL'),
  natsServers: natsUrl('NATS_URL'),
  natsPrefix: string('TEGAMI_NATS_PREFIX'),
  poolSize: int('TEGAMI_DB_POOL_SIZE', { min: 1, max: 100 }),
  hostname: string('TEGAMI_HOSTNAME'),
  tls: tlsFiles(),
});

describe('readConfig', () => {
  it('fills in the catalogue defaults', () => {
    const config = readConfig(serviceSpec(), { DATABASE_URL: 'postgres://tegami@db:5432/tegami' });
    expect(config).toMatchObject({
      logLevel: 'info',
      opsHost: '0.0.0.0',
      opsPort: 8080,
      shutdownTimeoutMs: 30000,
      databaseUrl: 'postgres://tegami@db:5432/tegami',
      natsServers: ['nats://127.0.0.1:4222'],
      natsPrefix: 'tegami',
      poolSize: 10,
      tls: undefined,
    });
    expect(config.hostname).toMatch(/./);
  });

  it('uses the standalone defaults for the standalone, and the reader default over the catalogue', () => {
    const standalone = readConfig(
      { ...commonSettings(), dataDir: path('TEGAMI_DATA_DIR'), domain: string('TEGAMI_DOMAIN') },
      {},
      { service: 'standalone' },
    );
    expect(standalone.opsHost).toBe('127.0.0.1');
    expect(standalone.dataDir).toBe(resolve('data'));
    expect(standalone.domain).toBe('localhost');
    expect(readConfig({ port: port('TEGAMI_OPS_PORT', { default: '9090' }) }, {}).port).toBe(9090);
  });

  it('reads set values, trims them and treats an empty value as unset', () => {
    const config = readConfig(serviceSpec(), {
      DATABASE_URL: ' postgresql://u:p%40ss@db/x ',
      NATS_URL: 'nats://a:4222, tls://b:4443',
      TEGAMI_LOG_LEVEL: 'DEBUG',
      TEGAMI_OPS_PORT: '0',
      TEGAMI_SHUTDOWN_TIMEOUT_MS: '5s',
      TEGAMI_DB_POOL_SIZE: '',
    });
    expect(config.databaseUrl).toBe('postgresql://u:p%40ss@db/x');
    expect(config.natsServers).toEqual(['nats://a:4222', 'tls://b:4443']);
    expect(config.logLevel).toBe('debug');
    expect(config.opsPort).toBe(0);
    expect(config.shutdownTimeoutMs).toBe(5000);
    expect(config.poolSize).toBe(10);
  });

  it('accepts the socket URL of the embedded Postgres', () => {
    const url = 'postgresql://postgres@localhost/postgres?host=%2Ftmp%2Fdata';
    expect(readConfig({ db: postgresUrl('DATABASE_URL') }, { DATABASE_URL: url }).db).toBe(url);
  });

  it('says a bad DATABASE_URL is not a postgres URL, without its password', () => {
    expect(problem(() => readConfig(serviceSpec(), { DATABASE_URL: 'mysql://x' }))).toBe(
      'DATABASE_URL: not a postgres:// URL ("mysql://x")',
    );
    const message = problem(() =>
      readConfig(serviceSpec(), { DATABASE_URL: 'mysql://tegami:hunter2@db/mail' }),
    );
    expect(message).toBe('DATABASE_URL: not a postgres:// URL ("mysql://tegami:***@db/mail")');
  });

  it('hints at percent-encoding when a password breaks the URL, and does not echo it', () => {
    const message = problem(() =>
      readConfig(serviceSpec(), { DATABASE_URL: 'postgres://tegami:pa#ss@db/mail' }),
    );
    expect(message).toBe(
      'DATABASE_URL: not a valid URL ("postgres://tegami:***@db/mail"); percent-encode special characters in the password',
    );
    expect(problem(() => readConfig(serviceSpec(), { DATABASE_URL: 'postgres://u:100%@db/x' }))).toBe(
      'DATABASE_URL: bad percent-encoding in the user or password of "postgres://u:***@db/x"',
    );
  });

  it('says a required variable is not set', () => {
    expect(problem(() => readConfig(serviceSpec(), {}))).toBe('DATABASE_URL: not set');
    expect(readConfig({ db: optional(postgresUrl('DATABASE_URL')) }, {}).db).toBeUndefined();
  });

  it('refuses an unknown TEGAMI_ variable, suggesting the likely name', () => {
    const env = { DATABASE_URL: 'postgres://db/x', TEGAMI_LOG_LEVL: 'debug' };
    expect(problem(() => readConfig(serviceSpec(), env))).toBe(
      'TEGAMI_LOG_LEVL: unknown setting (did you mean TEGAMI_LOG_LEVEL?)',
    );
    expect(problem(() => readConfig({}, { TEGAMI_FROBNICATE: '1' }))).toBe(
      'TEGAMI_FROBNICATE: unknown setting',
    );
    // Other programs' variables are none of our business.
    expect(readConfig({}, { PATH: '/bin', HOME: '/root' })).toEqual({});
  });

  it('checks the range of integers', () => {
    const env = { DATABASE_URL: 'postgres://db/x', TEGAMI_DB_POOL_SIZE: '0' };
    expect(problem(() => readConfig(serviceSpec(), env))).toBe(
      'TEGAMI_DB_POOL_SIZE: must be between 1 and 100 (got 0)',
    );
    expect(problem(() => readConfig(serviceSpec(), { ...env, TEGAMI_DB_POOL_SIZE: 'ten' }))).toBe(
      'TEGAMI_DB_POOL_SIZE: not an integer ("ten")',
    );
    expect(
      problem(() => readConfig({ n: int('TEGAMI_DB_POOL_SIZE', { min: 2 }) }, { TEGAMI_DB_POOL_SIZE: '1' })),
    ).toBe('TEGAMI_DB_POOL_SIZE: must be at least 2 (got 1)');
  });

  it('checks ports, levels, durations, booleans and NATS URLs', () => {
    const read = (spec: Parameters<typeof readConfig>[0], env: Record<string, string>) => () =>
      readConfig(spec, env);
    expect(problem(read({ p: port('TEGAMI_OPS_PORT') }, { TEGAMI_OPS_PORT: '70000' }))).toBe(
      'TEGAMI_OPS_PORT: not a port number (0-65535) ("70000")',
    );
    expect(
      problem(read({ l: oneOf('TEGAMI_LOG_LEVEL', ['info', 'debug']) }, { TEGAMI_LOG_LEVEL: 'verbose' })),
    ).toBe('TEGAMI_LOG_LEVEL: must be one of info, debug (got "verbose")');
    expect(
      problem(read({ d: durationMs('TEGAMI_SHUTDOWN_TIMEOUT_MS') }, { TEGAMI_SHUTDOWN_TIMEOUT_MS: 'soon' })),
    ).toBe(
      'TEGAMI_SHUTDOWN_TIMEOUT_MS: not a duration: milliseconds, or a number with ms, s, m, h or d ("soon")',
    );
    expect(
      readConfig({ d: durationMs('TEGAMI_SHUTDOWN_TIMEOUT_MS') }, { TEGAMI_SHUTDOWN_TIMEOUT_MS: '2m' }).d,
    ).toBe(120_000);
    expect(problem(read({ n: natsUrl('NATS_URL') }, { NATS_URL: 'nats://a:4222,http://b' }))).toBe(
      'NATS_URL: not a nats:// or tls:// URL ("http://b")',
    );
    expect(problem(read({ n: natsUrl('NATS_URL') }, { NATS_URL: ' , ' }))).toBe('NATS_URL: no server in ","');
    // bool has no variable of its own yet: check it through the parse function.
    const flag = bool('TEGAMI_DOMAIN');
    expect(['yes', 'TRUE', '1', 'on'].map(flag.parse)).toEqual([true, true, true, true]);
    expect(['no', 'False', '0', 'off'].map(flag.parse)).toEqual([false, false, false, false]);
    expect(problem(() => flag.parse('maybe'))).toBe(
      'TEGAMI_DOMAIN: not a boolean: true, false, 1, 0, yes or no ("maybe")',
    );
  });

  it('wants both TLS files or neither, and files that exist', () => {
    const cert = join(scratch, 'cert.pem');
    writeFileSync(cert, 'x');
    expect(problem(() => readConfig({ tls: tlsFiles() }, { TEGAMI_TLS_CERT_FILE: cert }))).toBe(
      'TEGAMI_TLS_KEY_FILE: not set, but TEGAMI_TLS_CERT_FILE is (set both or neither)',
    );
    const missing = join(scratch, 'nope.pem');
    expect(
      problem(() =>
        readConfig({ tls: tlsFiles() }, { TEGAMI_TLS_CERT_FILE: cert, TEGAMI_TLS_KEY_FILE: missing }),
      ),
    ).toBe(`TEGAMI_TLS_KEY_FILE: ${missing} does not exist`);
    expect(
      readConfig({ tls: tlsFiles() }, { TEGAMI_TLS_CERT_FILE: cert, TEGAMI_TLS_KEY_FILE: cert }).tls,
    ).toEqual({ certFile: cert, keyFile: cert });
  });

  it('refuses, when the spec is written, a reader for a variable the catalogue lacks', () => {
    expect(() => string('TEGAMI_NOT_IN_CATALOGUE')).toThrow(/not in the configuration catalogue/);
  });

  it('measures edit distance', () => {
    expect(editDistance('TEGAMI_LOG_LEVL', 'TEGAMI_LOG_LEVEL')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

describe('exiting on a configuration error', () => {
  it('prints one line and exits 2', () => {
    const io = fakeIo();
    expect(() =>
      loadConfigOrExit(serviceSpec(), { env: { DATABASE_URL: 'mysql://u:secret@x' }, io }),
    ).toThrow('exit 2');
    expect(io.code).toBe(2);
    expect(io.stderr).toBe(
      'tegami: configuration error: DATABASE_URL: not a postgres:// URL ("mysql://u:***@x")\n',
    );
  });

  it('lets bugs through', () => {
    const io = fakeIo();
    expect(() =>
      exitOnConfigError(() => {
        throw new TypeError('a bug');
      }, io),
    ).toThrow('a bug');
    expect(io.code).toBeUndefined();
  });

  it('turns a failed start-up into one line and exit 1', async () => {
    const io = fakeIo();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
      address: '127.0.0.1',
      port: 5432,
    });
    await expect(
      exitOnStartupError('cannot connect to Postgres', async () => Promise.reject(refused), io),
    ).rejects.toThrow('exit 1');
    expect(io.stderr).toBe('tegami: cannot connect to Postgres: connection refused (127.0.0.1:5432)\n');
    const config = fakeIo();
    await expect(
      exitOnStartupError('start', async () => readConfig(serviceSpec(), { TEGAMI_OPS_PORT: 'x' }), config),
    ).rejects.toThrow('exit 2');
    expect(config.stderr).toBe(
      'tegami: configuration error: TEGAMI_OPS_PORT: not a port number (0-65535) ("x")\n',
    );
  });

  it('really exits 2 with one line and no stack trace in a process of its own', () => {
    const script = join(scratch, 'main.ts');
    const exitModule = resolve(fileURLToPath(new URL('.', import.meta.url)), 'exit.ts');
    const readModule = resolve(fileURLToPath(new URL('.', import.meta.url)), 'read.ts');
    writeFileSync(
      script,
      `import { loadConfigOrExit } from ${JSON.stringify(exitModule)};
import { postgresUrl } from ${JSON.stringify(readModule)};
loadConfigOrExit({ databaseUrl: postgresUrl('DATABASE_URL') });
console.log('started');
`,
    );
    const env = { PATH: process.env['PATH'], DATABASE_URL: 'mysql://tegami:hunter2@db/mail' };
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
      env,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.stdout).toBe('');
    expect(child.stderr).toBe(
      'tegami: configuration error: DATABASE_URL: not a postgres:// URL ("mysql://tegami:***@db/mail")\n',
    );
    expect(child.status).toBe(2);

    const unknown = spawnSync(process.execPath, ['--import', 'tsx', script], {
      env: { PATH: process.env['PATH'], DATABASE_URL: 'postgres://db/x', TEGAMI_OPS_PROT: '1' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(unknown.stderr).toBe(
      'tegami: configuration error: TEGAMI_OPS_PROT: unknown setting (did you mean TEGAMI_OPS_PORT?)\n',
    );
    expect(unknown.status).toBe(2);
  });
});
