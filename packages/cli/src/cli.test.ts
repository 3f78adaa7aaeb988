import { openStore, type StorePool } from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTegami } from './test-cli.js';

let database: TestDatabase;
let store: StorePool;
const env = () => ({ DATABASE_URL: database.url });

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url });
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

describe('tegami migrate', () => {
  it('lets several processes migrate one empty database at once: one applies, all succeed', async () => {
    const runs = await Promise.all(Array.from({ length: 6 }, () => runTegami(['migrate'], env())));
    for (const run of runs) expect(run, run.stderr).toMatchObject({ code: 0, stderr: '' });
    const outputs = runs.map((run) => run.stdout.trim()).sort();
    expect(outputs.filter((line) => line.startsWith('applied 0001'))).toHaveLength(1);
    expect(outputs.filter((line) => line.startsWith('schema is up to date'))).toHaveLength(5);
    const versions = await store.pool.query(
      'SELECT version, count(*)::int AS n FROM schema_migrations GROUP BY version',
    );
    expect(versions.rows.every((row) => row.n === 1)).toBe(true);
  }, 60_000);
});

describe('tegami domain, user and alias', () => {
  it('adds a domain and a user with the password from stdin, then lists them', async () => {
    expect(await runTegami(['domain', 'add', 'Example.ORG'], env())).toMatchObject({
      code: 0,
      stdout: 'added domain example.org\n',
    });
    const add = await runTegami(['user', 'add', 'alice@example.org', '--password-stdin'], env(), 's3cret\n');
    expect(add).toMatchObject({
      code: 0,
      stdout:
        'added user alice@example.org (INBOX, Sent, Drafts, Trash, Junk, Archive)\n' +
        "postmaster@example.org → alice@example.org (the domain's first user; change it with tegami alias)\n",
    });
    const list = await runTegami(['user', 'list'], env());
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ADDRESS\s+STATUS\s+CREATED\nalice@example\.org\s+active\s+\d{4}-/);
    const domains = await runTegami(['domain', 'list'], env());
    expect(domains.stdout).toMatch(/example\.org\s+1\s+1/);
  }, 30_000);

  it('gives one clear line for a duplicate user, an unknown domain and a malformed address', async () => {
    const duplicate = await runTegami(['user', 'add', 'ALICE@example.org', '--password-stdin'], env(), 'x');
    expect(duplicate).toMatchObject({ code: 1, stderr: 'tegami: user alice@example.org exists already\n' });
    const unknown = await runTegami(['user', 'add', 'bob@nowhere.test', '--password-stdin'], env(), 'x');
    expect(unknown).toMatchObject({
      code: 1,
      stderr: 'tegami: unknown domain nowhere.test: add it first with `tegami domain add nowhere.test`\n',
    });
    const malformed = await runTegami(['user', 'add', 'bob', '--password-stdin'], env(), 'x');
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toBe('tegami: malformed address: "bob" is not of the form local-part@domain\n');
  }, 30_000);

  it('never takes a password from argv, and needs stdin or a terminal', async () => {
    const argv = await runTegami(['user', 'add', 'carol@example.org', '--password', 'pw'], env());
    expect(argv.code).toBe(2);
    expect(argv.stderr).toMatch(/^tegami: passwords are never taken from the command line/);
    const noTerminal = await runTegami(['user', 'add', 'carol@example.org'], env());
    expect(noTerminal).toMatchObject({
      code: 1,
      stderr: 'tegami: no terminal to prompt for the password: pipe it in with --password-stdin\n',
    });
    const empty = await runTegami(['user', 'add', 'carol@example.org', '--password-stdin'], env(), '\n');
    expect(empty).toMatchObject({ code: 1, stderr: 'tegami: the password is empty\n' });
  }, 30_000);

  it('manages aliases and passwords, and removes users and domains', async () => {
    expect(
      (await runTegami(['alias', 'add', 'info@example.org', 'alice@example.org', 'x@remote.test'], env()))
        .stdout,
    ).toBe('info@example.org → alice@example.org, x@remote.test\n');
    expect((await runTegami(['alias', 'list'], env())).stdout).toMatch(
      /info@example\.org\s+alice@example\.org, x@remote\.test/,
    );
    expect(
      (await runTegami(['user', 'passwd', 'alice@example.org', '--password-stdin'], env(), 'new')).code,
    ).toBe(0);
    const busy = await runTegami(['domain', 'remove', 'example.org'], env());
    expect(busy).toMatchObject({ code: 1 });
    expect(busy.stderr).toMatch(/still has 1 account\(s\) and 2 alias\(es\)/);
    expect((await runTegami(['alias', 'remove', 'info@example.org'], env())).code).toBe(0);
    expect((await runTegami(['user', 'remove', 'alice@example.org'], env())).code).toBe(0);
    expect((await runTegami(['domain', 'remove', 'example.org'], env())).code).toBe(0);
    expect((await runTegami(['user', 'list'], env())).stdout).toBe('(none)\n');
  }, 60_000);

  it('answers an unknown command with usage and exit code 2', async () => {
    const run = await runTegami(['frobnicate'], env());
    expect(run).toMatchObject({
      code: 2,
      stderr: 'tegami: unknown command: frobnicate (tegami --help lists the commands)\n',
    });
    const help = await runTegami(['--help'], env());
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('user add <address> [--password-stdin]');
  }, 30_000);
});

describe('configuration and connection errors', () => {
  it('names a bad DATABASE_URL in one line, without the password, exit code 2', async () => {
    const run = await runTegami(['user', 'list'], { DATABASE_URL: 'mysql://root:hunter2@db/x' });
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^tegami: configuration error: DATABASE_URL: /);
    expect(run.stderr).not.toContain('hunter2');
  }, 30_000);

  it('says in one line that Postgres is not there', async () => {
    const run = await runTegami(['user', 'list'], {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/postgres',
    });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^tegami: .*(refused|ECONNREFUSED)/i);
  }, 30_000);

  it('refuses an unknown TEGAMI_ setting with a suggestion', async () => {
    const run = await runTegami(['user', 'list'], { DATABASE_URL: database.url, TEGAMI_DATA_DIRR: '/tmp' });
    expect(run).toMatchObject({
      code: 2,
      stderr:
        'tegami: configuration error: TEGAMI_DATA_DIRR: unknown setting (did you mean TEGAMI_DATA_DIR?)\n',
    });
  }, 30_000);

  it('without DATABASE_URL and without an embedded database, says what to do', async () => {
    const run = await runTegami(['user', 'list'], { TEGAMI_DATA_DIR: '/tmp/tegami-no-such-dir' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^tegami: no database: set DATABASE_URL, or start Tegami once with `pnpm start`/,
    );
  }, 30_000);
});
