import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type StorePool } from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from './test-cli.js';
import { readUserFile } from './user-import.js';

// `doveadm pw -s SHA512-CRYPT -p 'pässword 1'` and `-s BLF-CRYPT`.
const SHA512_CRYPT =
  '{SHA512-CRYPT}$6$pVUQVmJthKPrdOC5$EwRUbf5bcdR.DoRqlTiA.BsTZxBzpdMi8ZnVvas7sDVrsbnxYz5uCdtdhGqSaSu8aXTXYRrU/Of3RKO3hkuLE1';
const BLF_CRYPT = '{BLF-CRYPT}$2y$05$Fs/LiYGHULLxSoCr6roPjuFwg4kHYqWmtvjlqfXYaSvfdH1BVNFNi';

describe('reading a file of users', () => {
  it('reads CSV with a header, quoted fields, a quota and a state', () => {
    const file = readUserFile(
      [
        '# exported from the old server',
        'address,password_hash,quota,disabled',
        `ann@example.org,${SHA512_CRYPT},500M,`,
        `"bob@example.org","{PLAIN}with, comma and ""quotes""",none,yes`,
        '',
      ].join('\r\n'),
    );
    expect(file.problems).toEqual([]);
    expect(file.format).toBe('csv');
    expect(file.users).toEqual([
      {
        line: 3,
        address: 'ann@example.org',
        passwordHash: SHA512_CRYPT,
        scheme: 'SHA512-CRYPT',
        quotaBytes: 524_288_000,
      },
      {
        line: 4,
        address: 'bob@example.org',
        passwordHash: '{PLAIN}with, comma and "quotes"',
        scheme: 'PLAIN',
        quotaBytes: null,
        disabled: true,
      },
    ]);
  });

  it('reads Dovecot passwd-file lines, with the quota rule among the extra fields', () => {
    const file = readUserFile(
      [
        `ann@example.org:${SHA512_CRYPT}:5000:5000::/var/vmail/ann::userdb_quota_rule=*:storage=1G`,
        `bob:${BLF_CRYPT}`,
      ].join('\n'),
      { domain: 'example.org' },
    );
    expect(file).toEqual({
      format: 'passwd-file',
      problems: [],
      users: [
        {
          line: 1,
          address: 'ann@example.org',
          passwordHash: SHA512_CRYPT,
          scheme: 'SHA512-CRYPT',
          quotaBytes: 1024 ** 3,
        },
        { line: 2, address: 'bob@example.org', passwordHash: BLF_CRYPT, scheme: 'BLF-CRYPT' },
      ],
    });
  });

  it('names every line it cannot import, with its number', () => {
    const file = readUserFile(
      [
        'address,password_hash,disabled',
        `ann@example.org,${SHA512_CRYPT},maybe`,
        'bob@example.org,{NOPE}x,',
        `ann@example.org,${BLF_CRYPT},no`,
        'carol@example.org,"unterminated,',
        `dave@example.org,${BLF_CRYPT}`,
      ].join('\n'),
    );
    expect(file.problems).toEqual([
      'line 2: disabled is "maybe": true or false (yes/no, 1/0)',
      expect.stringMatching(/^line 3: password hash: unknown scheme \{NOPE\}/),
      'line 5: a quoted field does not end on its line',
      'line 6: 2 fields, and the header names 3',
    ]);
    expect(readUserFile(`ann@x.org:${BLF_CRYPT}\nann@x.org:${BLF_CRYPT}\n`).problems).toEqual([
      'line 2: ann@x.org is on line 1 already',
    ]);
    expect(readUserFile(`ann:${BLF_CRYPT}`).problems).toEqual([
      'line 1: user ann has no @domain (give --domain for a per-domain file)',
    ]);
    expect(readUserFile('address,password,quota\n').problems).toEqual([
      'line 1: unknown column "password" (the columns are address, password_hash, quota, disabled)',
    ]);
    expect(readUserFile('\n# nothing\n').problems).toEqual(['the file holds no users']);
  });
});

describe('tegami user import', () => {
  let database: TestDatabase;
  let store: StorePool;
  let dir: string;
  const tegami = (args: readonly string[], stdin?: string) =>
    runCliInProcess(args, { databaseUrl: database.url }, stdin);

  beforeAll(async () => {
    database = await createTestDatabase();
    store = openStore({ url: database.url });
    dir = await mkdtemp(join(tmpdir(), 'tegami-user-import-'));
    expect((await tegami(['migrate'])).code).toBe(0);
    expect((await tegami(['domain', 'add', 'example.org'])).code).toBe(0);
  });
  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  it('checks, dry-runs, imports, then skips on a second run', async () => {
    const path = join(dir, 'users.csv');
    await writeFile(
      path,
      `address,password_hash,quota\nann@example.org,${SHA512_CRYPT},1M\nbob@moved.example,${BLF_CRYPT},\n`,
    );
    const refused = await tegami(['user', 'import', path]);
    expect(refused).toMatchObject({
      code: 1,
      stdout:
        'line 2: created ann@example.org ({SHA512-CRYPT}), postmaster of its domain\n' +
        '2 users: 1 created, 0 updated, 0 unchanged, 0 skipped, 1 failed (read as csv)\n',
    });
    expect(refused.stderr).toMatch(/^line 3: bob@moved\.example: unknown domain moved\.example/);

    const dry = await tegami(['user', 'import', path, '--create-domains', '--dry-run']);
    expect(dry).toMatchObject({ code: 0 });
    expect(dry.stdout).toContain(
      'line 3: created bob@moved.example ({BLF-CRYPT}), and the domain moved.example',
    );
    expect(dry.stdout).toContain(
      'dry run, nothing written: 2 users: 1 created, 0 updated, 0 unchanged, 1 skipped',
    );
    expect(
      (await store.pool.query("SELECT 1 FROM accounts WHERE address = 'bob@moved.example'")).rowCount,
    ).toBe(0);

    const run = await tegami(['user', 'import', path, '--create-domains']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('line 2: ann@example.org exists already, skipped (--update refreshes it)');
    const again = await tegami(['user', 'import', path, '--create-domains', '--update']);
    expect(again.stdout).toContain('2 users: 0 created, 0 updated, 2 unchanged, 0 skipped, 0 failed');
    const rows = await store.pool.query(
      'SELECT address, password_legacy_hash, quota_bytes FROM accounts ORDER BY address',
    );
    expect(rows.rows).toEqual([
      { address: 'ann@example.org', password_legacy_hash: SHA512_CRYPT, quota_bytes: '1048576' },
      { address: 'bob@moved.example', password_legacy_hash: BLF_CRYPT, quota_bytes: null },
    ]);
  });

  it('imports nothing while a line is wrong, and says which', async () => {
    const run = await tegami(
      ['user', 'import', '-'],
      `carol@example.org:${BLF_CRYPT}\ndave@example.org:$9$x\n`,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('tegami: standard input: line 2: password hash: no {SCHEME} prefix');
    expect(run.stderr).toContain('tegami: nothing imported: 1 line(s) to fix first');
    expect(
      (await store.pool.query("SELECT 1 FROM accounts WHERE address = 'carol@example.org'")).rowCount,
    ).toBe(0);
  });
});
