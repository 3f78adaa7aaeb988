import { spawn } from 'node:child_process';
import { addDomain, migrate, openStore, type StorePool } from '@tegami/store';
import { cleanEnv, createTestDatabase, type TestDatabase, testNats } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runInRepo } from './support/processes.js';

// The `tegami` a user runs from a checkout (`pnpm tegami`, scripts/tegami.mjs), as a
// process: its exit codes, and what it does when the reader of its output goes away.

let database: TestDatabase;
let store: StorePool;
let env: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 4 });
  await migrate(store.pool);
  const nats = await testNats();
  env = { DATABASE_URL: database.url, NATS_URL: nats.url, TEGAMI_NATS_PREFIX: nats.prefix };
});
afterAll(async () => {
  await store?.close();
  await database?.drop();
});

/** Runs tegami with its standard output a pipe whose reader has gone: every write fails. */
function runIntoClosedPipe(
  args: readonly string[],
  stdin = '',
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/tegami.mjs', ...args], {
      cwd: REPO_ROOT,
      env: cleanEnv(env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
    child.stdin.end(stdin);
  });
}

describe('tegami as a process', () => {
  it('ends every command quietly with status 141 when its output is closed, having done its work', async () => {
    const calls: [string[], string?][] = [
      [['--help']],
      [['user', '--help']],
      [['queue', 'retry', '--help']],
      [['migrate']],
      [['check']],
      [['domain', 'add', 'pipe.test']],
      [['domain', 'list']],
      [['user', 'add', 'ann@pipe.test', '--password-stdin'], 'ann-password\n'],
      [['user', 'passwd', 'ann@pipe.test', '--password-stdin'], 'new-password\n'],
      [['user', 'quota', 'ann@pipe.test', '1G']],
      [['user', 'list']],
      [['alias', 'add', 'team@pipe.test', 'ann@pipe.test']],
      [['alias', 'list']],
      [['alias', 'remove', 'team@pipe.test']],
      [['dkim', 'list']],
      [['queue', 'list']],
      [['queue', 'retry', '--all']],
      [['queue', 'drop', 'NOSUCHQUEUEID000']],
      [['trace', 'NOSUCHQUEUEID000']],
      [['user', 'remove', 'ann@pipe.test']],
      [['domain', 'remove', 'pipe.test']],
    ];
    for (const [args, stdin] of calls) {
      const run = await runIntoClosedPipe(args, stdin);
      // `queue drop` of nothing fails on stderr (1), which is still open.
      const expected = args[1] === 'drop' ? 1 : 141;
      expect({ args, ...run }).toEqual({ args, code: expected, signal: null, stderr: expect.any(String) });
      if (expected === 141) expect(run.stderr, args.join(' ')).toBe('');
    }
    // Each did what it was asked before finding nobody to tell: the last removed the domain.
    const domains = await store.pool.query("SELECT 1 FROM domains WHERE name = 'pipe.test'");
    expect(domains.rowCount).toBe(0);
  }, 120_000);

  it('ends with 0 when `head -1` takes a short listing whole, 141 when it leaves a long one', async () => {
    const headOne = () =>
      runInRepo(
        'bash',
        ['-c', 'node scripts/tegami.mjs domain list | head -1; echo "status $PIPESTATUS"'],
        env,
      );
    // A short listing is one write, as coreutils' stdio makes it: head reads it whole.
    for (const name of ['a.test', 'b.test', 'c.test']) await addDomain(store.pool, name);
    expect(await headOne()).toEqual({ code: 0, stdout: 'DOMAIN  USERS  ALIASES\nstatus 0\n', stderr: '' });
    // More than a pipe holds (64 KiB) and head reads, so some writes come after head exits.
    for (let i = 0; i < 5000; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => addDomain(store.pool, `d${i + j}.test`)));
    }
    const long = await headOne();
    expect(long).toMatchObject({ code: 0, stderr: '' });
    expect(long.stdout).toMatch(/^DOMAIN {2,}USERS {2}ALIASES\nstatus 141\n$/);
  }, 60_000);

  it('answers --help with exit 0 and a wrong use with its usage and exit 2, through pnpm tegami', async () => {
    const tegami = (...args: string[]) => runInRepo('pnpm', ['--silent', 'tegami', ...args], env);
    const help = await tegami('user', 'add', '--help');
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: tegami user add <address> \[--password-stdin\]\n\nCreates a user/);
    const wrong = await tegami('user', 'add');
    expect(wrong).toMatchObject({ code: 2, stdout: '' });
    // pnpm adds a line of its own after any failing script.
    expect(wrong.stderr).toMatch(
      /^tegami: user add: missing <address>\nusage: tegami user add <address> \[--password-stdin\]\n/,
    );
    expect(await tegami('queue', 'retry', '--all')).toEqual({
      code: 0,
      stdout: '0 messages due for delivery now\n',
      stderr: '',
    });
  }, 60_000);
});
