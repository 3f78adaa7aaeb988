import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addDomain, createAccount, migrate, openStore, type StorePool } from '@tegami/store';
import { createTestDatabase, type TestDatabase } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from './test-cli.js';

// `tegami import imap` before any mail moves: what it refuses, and how. The copy itself is
// tested against a real Dovecot in test/import-imap-dovecot.test.ts.

let database: TestDatabase;
let store: StorePool;
let plainServer: Server;
let plainPort: number;
const dir = mkdtempSync(join(tmpdir(), 'tegami-import-imap-'));
const tegami = (args: readonly string[], settings = {}) =>
  runCliInProcess(['import', 'imap', ...args], { databaseUrl: database.url, ...settings });

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ url: database.url, poolSize: 2 });
  await migrate(store.pool);
  await addDomain(store.pool, 'example.org');
  await createAccount(store.pool, 'alice@example.org', 'pw');
  // A server that offers no STARTTLS: where a password would go in clear text.
  plainServer = createServer((socket) => {
    socket.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n');
    socket.on('data', (data) => {
      const tag = data.toString().split(' ')[0];
      if (/CAPABILITY/i.test(data.toString()))
        socket.write(`* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n${tag} OK done\r\n`);
      else socket.write(`${tag} NO not here\r\n`);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => plainServer.listen(0, '127.0.0.1', resolve));
  plainPort = (plainServer.address() as { port: number }).port;
});
afterAll(async () => {
  plainServer?.close();
  await store?.close();
  await database?.drop();
});

describe('tegami import imap, refusing', () => {
  it('refuses a password in the URL as a usage error, before anything else', async () => {
    const run = await tegami(['imaps://alice:secret@old.example', '--user', 'alice@example.org']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no password in the URL/);
  });

  it('refuses a URL of another scheme', async () => {
    const run = await tegami(['https://old.example', '--user', 'alice@example.org']);
    expect(run).toMatchObject({ code: 2, stderr: expect.stringMatching(/imaps:\/\/ or imap:\/\//) });
  });

  it('names a missing Tegami user', async () => {
    const run = await tegami(['imaps://alice@old.example', '--user', 'nobody@example.org']);
    expect(run).toMatchObject({ code: 1, stderr: expect.stringMatching(/no user nobody@example\.org/) });
  });

  it('asks for the password where there is no terminal to prompt on', async () => {
    const run = await tegami(['imaps://alice@old.example', '--user', 'alice@example.org']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--password-file or set TEGAMI_IMPORT_PASSWORD/);
  });

  it('refuses an empty password file', async () => {
    const file = join(dir, 'empty');
    writeFileSync(file, '\n');
    const run = await tegami([
      'imaps://alice@old.example',
      '--user',
      'alice@example.org',
      '--password-file',
      file,
    ]);
    expect(run).toMatchObject({ code: 2, stderr: expect.stringMatching(/is empty/) });
  });

  it('will not log in where the server offers no STARTTLS, unless --insecure', async () => {
    const run = await tegami([`imap://alice@127.0.0.1:${plainPort}`, '--user', 'alice@example.org'], {
      importPassword: 'pw',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/offers no STARTTLS, so the password would cross the network in clear text/);
    // With --insecure it logs in in clear text (and this server refuses the login).
    const insecure = await tegami(
      [`imap://alice@127.0.0.1:${plainPort}`, '--user', 'alice@example.org', '--insecure'],
      { importPassword: 'pw' },
    );
    expect(insecure.code).toBe(1);
    expect(insecure.stderr).toMatch(/refused the login of alice/);
  });
});
