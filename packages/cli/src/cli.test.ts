import { appendMessage, listMailboxes, openStore, type StorePool } from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess, runTegami } from './test-cli.js';

let database: TestDatabase;
let store: StorePool;
const tegami = (args: readonly string[], stdin?: string) =>
  runCliInProcess(args, { databaseUrl: database.url }, stdin);

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
    const env = { DATABASE_URL: database.url };
    const runs = await Promise.all(Array.from({ length: 6 }, () => runTegami(['migrate'], env)));
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
    expect(await tegami(['domain', 'add', 'Example.ORG'])).toMatchObject({
      code: 0,
      stdout: 'added domain example.org\n',
    });
    const add = await tegami(['user', 'add', 'alice@example.org', '--password-stdin'], 's3cret\n');
    expect(add).toMatchObject({
      code: 0,
      stdout:
        'added user alice@example.org (INBOX, Sent, Drafts, Trash, Junk, Archive)\n' +
        "postmaster@example.org → alice@example.org (the domain's first user; change it with tegami alias)\n",
    });
    const list = await tegami(['user', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      /^ADDRESS\s+STATUS\s+STORED \/ QUOTA\s+CREATED\nalice@example\.org\s+active\s+0 \/ none\s+\d{4}-/,
    );
    const domains = await tegami(['domain', 'list']);
    // The domain's first user became its postmaster (an alias).
    expect(domains.stdout).toMatch(/example\.org\s+1\s+1/);
  });

  it("shows each user's stored mail against their quota", async () => {
    await tegami(['user', 'add', 'heavy@example.org', '--password-stdin'], 'pw');
    expect(await tegami(['user', 'quota', 'heavy@example.org', '500M'])).toMatchObject({
      code: 0,
      stdout: 'heavy@example.org may keep 524288000 bytes (500M)\n',
    });
    const account = await store.pool.query("SELECT id FROM accounts WHERE address = 'heavy@example.org'");
    const mailboxes = await listMailboxes(store.pool, account.rows[0].id);
    for (const name of ['INBOX', 'Archive']) {
      const mailbox = mailboxes.find((m) => m.name === name)!;
      await appendMessage(store.pool, { mailboxId: mailbox.id, raw: Buffer.alloc(6_450_000, 'x') });
    }
    const list = await tegami(['user', 'list', 'example.org']);
    expect(list.stdout).toMatch(/^heavy@example\.org\s+active\s+12\.3M \/ 500M \(2%\)\s+\d{4}-/m);
    expect(list.stdout).toMatch(/^alice@example\.org\s+active\s+0 \/ none\s+\d{4}-/m);
  });

  it('gives one clear line for a duplicate user, an unknown domain and a malformed address', async () => {
    const duplicate = await tegami(['user', 'add', 'ALICE@example.org', '--password-stdin'], 'x');
    expect(duplicate).toMatchObject({ code: 1, stderr: 'tegami: user alice@example.org exists already\n' });
    const unknown = await tegami(['user', 'add', 'bob@nowhere.test', '--password-stdin'], 'x');
    expect(unknown).toMatchObject({
      code: 1,
      stderr: 'tegami: unknown domain nowhere.test: add it first with `tegami domain add nowhere.test`\n',
    });
    const malformed = await tegami(['user', 'add', 'bob', '--password-stdin'], 'x');
    expect(malformed).toMatchObject({
      code: 1,
      stderr: 'tegami: malformed address: "bob" is not of the form local-part@domain\n',
    });
  });

  it('never takes a password from argv, and needs stdin or a terminal', async () => {
    for (const flag of ['--password', '--password=pw', '-p']) {
      const argv = await tegami(['user', 'add', 'carol@example.org', flag]);
      expect(argv.code).toBe(2);
      expect(argv.stderr).toMatch(/^tegami: passwords are never taken from the command line/);
    }
    expect(await tegami(['user', 'add', 'carol@example.org'])).toMatchObject({
      code: 1,
      stderr: 'tegami: no terminal to prompt for the password: pipe it in with --password-stdin\n',
    });
    expect(await tegami(['user', 'add', 'carol@example.org', '--password-stdin'], '\n')).toMatchObject({
      code: 1,
      stderr: 'tegami: the password is empty\n',
    });
  });

  it('manages aliases and passwords, and removes users and domains', async () => {
    expect(
      (await tegami(['alias', 'add', 'info@example.org', 'alice@example.org', 'x@remote.test'])).stdout,
    ).toBe('info@example.org → alice@example.org, x@remote.test\n');
    expect((await tegami(['alias', 'list'])).stdout).toMatch(
      /info@example\.org\s+alice@example\.org, x@remote\.test/,
    );
    expect((await tegami(['user', 'passwd', 'alice@example.org', '--password-stdin'], 'new')).code).toBe(0);
    const busy = await tegami(['domain', 'remove', 'example.org']);
    expect(busy).toMatchObject({ code: 1 });
    expect(busy.stderr).toMatch(/still has 2 account\(s\) and 2 alias\(es\)/);
    expect(await tegami(['alias', 'remove', 'info@example.org', 'X@remote.test'])).toMatchObject({
      code: 0,
      stdout: 'removed x@remote.test from info@example.org\n',
    });
    expect((await tegami(['alias', 'remove', 'info@example.org'])).code).toBe(0);
    // The postmaster alias goes to the next user, then with the last one.
    expect(await tegami(['user', 'remove', 'alice@example.org'])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(
        /^removed user alice@example\.org and all of their mail: \d+ mailboxes, 0 messages \(0\); 0 of stored messages freed\npostmaster@example\.org → heavy@example\.org\n$/,
      ),
    });
    // Two messages of 6.45 MB with the same bytes: one blob, freed with them.
    expect(await tegami(['user', 'remove', 'heavy@example.org'])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(
        /: \d+ mailboxes, 2 messages \(12\.3M\); 6\.2M of stored messages freed\n$/,
      ),
    });
    expect(await store.pool.query('SELECT 1 FROM blobs')).toMatchObject({ rowCount: 0 });
    expect((await tegami(['domain', 'remove', 'example.org'])).code).toBe(0);
    expect((await tegami(['user', 'list'])).stdout).toBe('(none)\n');
  });

  it('removes a domain with its users and their mail when told --with-users, and says how much', async () => {
    await tegami(['domain', 'add', 'leaving.test']);
    await tegami(['user', 'add', 'ida@leaving.test', '--password-stdin'], 'pw');
    await tegami(['user', 'add', 'jon@leaving.test', '--password-stdin'], 'pw');
    for (const address of ['ida@leaving.test', 'jon@leaving.test']) {
      const account = await store.pool.query('SELECT id FROM accounts WHERE address = $1', [address]);
      const inbox = (await listMailboxes(store.pool, account.rows[0].id)).find((m) => m.name === 'INBOX')!;
      await appendMessage(store.pool, {
        mailboxId: inbox.id,
        raw: Buffer.from(`Subject: to ${address}\r\n\r\nhi\r\n`),
      });
    }
    const refused = await tegami(['domain', 'remove', 'leaving.test']);
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.stderr).toMatch(/--with-users/);
    const removed = await tegami(['domain', 'remove', 'leaving.test', '--with-users']);
    expect(removed).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(
        /^removed domain leaving\.test with 2 users and 1 alias: \d+ mailboxes, 2 messages \(\d+\); \d+ of stored messages freed\n$/,
      ),
    });
    expect(await store.pool.query("SELECT 1 FROM domains WHERE name = 'leaving.test'")).toMatchObject({
      rowCount: 0,
    });
    expect(await store.pool.query('SELECT 1 FROM blobs')).toMatchObject({ rowCount: 0 });
  });
});

describe('aliases to local addresses', () => {
  it('refuses an alias to a local address that is neither a user nor an alias, and forwards elsewhere', async () => {
    await tegami(['domain', 'add', 'alias.test']);
    await tegami(['user', 'add', 'dora@alias.test', '--password-stdin'], 'pw');
    expect(await tegami(['alias', 'add', 'sales@alias.test', 'nobody@alias.test'])).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'tegami: nobody@alias.test is neither a user nor an alias, and alias.test is a local domain: mail to ' +
        'it would bounce. Add the user first (`tegami user add nobody@alias.test`)\n',
    });
    expect(
      await tegami(['alias', 'add', 'sales@alias.test', 'dora@alias.test', 'partner@elsewhere.test']),
    ).toMatchObject({ code: 0 });
    expect(await tegami(['alias', 'add', 'all@alias.test', 'sales@alias.test'])).toMatchObject({ code: 0 });
  });

  it('keeps a user that an alias delivers to, and says which alias and what to do', async () => {
    expect(await tegami(['user', 'remove', 'dora@alias.test'])).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'tegami: user dora@alias.test is a destination of the alias sales@alias.test. Point it elsewhere ' +
        'first, or remove dora@alias.test from it (`tegami alias remove sales@alias.test dora@alias.test`)\n',
    });
  });

  it('marks the destinations of old aliases that lead nowhere, and says so on stderr', async () => {
    const domain = await store.pool.query("SELECT id FROM domains WHERE name = 'alias.test'");
    await store.pool.query(
      "INSERT INTO aliases (domain_id, address, destination) VALUES ($1, 'old@alias.test', 'gone@alias.test')",
      [domain.rows[0].id],
    );
    const list = await tegami(['alias', 'list', 'alias.test']);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')).toEqual([
      expect.stringMatching(/^ALIAS\s+DESTINATIONS$/),
      expect.stringMatching(/^all@alias\.test\s+sales@alias\.test$/),
      expect.stringMatching(/^old@alias\.test\s+gone@alias\.test \(no such user\)$/),
      expect.stringMatching(/^postmaster@alias\.test\s+dora@alias\.test$/),
      expect.stringMatching(/^sales@alias\.test\s+dora@alias\.test, partner@elsewhere\.test$/),
      '',
    ]);
    expect(list.stderr).toBe(
      'tegami: one destination leads nowhere (marked "no such user"): mail to it bounces. Add the user, ' +
        'or remove the destination (`tegami alias remove old@alias.test gone@alias.test`)\n',
    );
  });
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
    const run = await runCliInProcess(['user', 'list'], {
      databaseUrl: 'postgres://postgres@127.0.0.1:1/postgres',
    });
    expect(run).toEqual({ code: 1, stdout: '', stderr: 'tegami: connection refused (127.0.0.1:1)\n' });
  });

  it('refuses an unknown TEGAMI_ setting with a suggestion', async () => {
    const run = await runTegami(['user', 'list'], { DATABASE_URL: database.url, TEGAMI_DATA_DIRR: '/tmp' });
    expect(run).toMatchObject({
      code: 2,
      stderr:
        'tegami: configuration error: TEGAMI_DATA_DIRR: unknown setting (did you mean TEGAMI_DATA_DIR?)\n',
    });
  }, 30_000);

  it('without DATABASE_URL and without an embedded database, says what to do', async () => {
    const run = await runCliInProcess(['user', 'list'], { dataDir: '/tmp/tegami-no-such-dir' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^tegami: no database: set DATABASE_URL, or start Tegami once with `pnpm start`/,
    );
  });
});

describe('tegami gc', () => {
  it('deletes the stored messages nothing references and prints what it removed', async () => {
    await store.pool.query(
      `INSERT INTO blobs (sha256, size, data, created_at)
       VALUES (sha256('orphan'::bytea), 6, 'orphan'::bytea, now() - interval '2 hours')`,
    );
    const run = await tegami(['gc']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^REMOVED\s+ROWS\s+BYTES$/m);
    expect(run.stdout).toMatch(/^finished queue entries\s+0\s+-$/m);
    expect(run.stdout).toMatch(/^unreferenced messages\s+1\s+6$/m);
    expect(
      await store.pool.query("SELECT 1 FROM blobs WHERE sha256 = sha256('orphan'::bytea)"),
    ).toMatchObject({
      rowCount: 0,
    });
    // Nothing left to do the second time.
    expect((await tegami(['gc'])).stdout).toMatch(/^unreferenced messages\s+0\s+0$/m);
  });
});
