import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { StoreError } from './errors.js';

/**
 * The standalone mode's Postgres: PGlite (Postgres compiled to WASM, persisting in a
 * directory) served on a Unix socket inside the data directory, so every module talks to
 * it through `pg` exactly as to a real server, and `tegami` finds it from TEGAMI_DATA_DIR
 * alone. A socket file (mode of the 0700 data dir) is reachable only by its owner, unlike a
 * loopback TCP port with trust authentication.
 */
export interface EmbeddedPostgres {
  /** A `pg` connection string for the socket. */
  readonly url: string;
  /** True when this start created the database (first start). */
  readonly created: boolean;
  stop(): Promise<void>;
}

// The socket server runs one backend session: it serialises whole transactions between
// connections. More connections than this are refused, so pools must stay below it.
export const EMBEDDED_MAX_CONNECTIONS = 8;
// sun_path is 108 bytes on Linux, 104 on macOS.
const MAX_SOCKET_PATH = 100;
const SOCKET_NAME = '.s.PGSQL.5432';
const STATE_FILE = 'standalone.json';

export async function startEmbeddedPostgres(dataDirInput: string): Promise<EmbeddedPostgres> {
  const dataDir = resolve(dataDirInput);
  const socketPath = join(dataDir, SOCKET_NAME);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new StoreError(
      'invalid',
      `TEGAMI_DATA_DIR ${dataDir} is too long a path for the embedded Postgres socket (${MAX_SOCKET_PATH} bytes at most): choose a shorter one`,
    );
  }
  const running = runningStandalone(dataDir);
  if (running) {
    throw new StoreError('conflict', `Tegami is already running on ${dataDir} (pid ${running.pid})`);
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pgdata = join(dataDir, 'pgdata');
  const created = !existsSync(join(pgdata, 'PG_VERSION'));
  const db = await PGlite.create({ dataDir: pgdata });
  // A socket left by a process that was killed would make listen() fail with EADDRINUSE.
  rmSync(socketPath, { force: true });
  const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: EMBEDDED_MAX_CONNECTIONS });
  await server.start();
  writeFileSync(join(dataDir, STATE_FILE), `${JSON.stringify({ pid: process.pid, socket: socketPath })}\n`);
  return {
    url: socketUrl(dataDir),
    created,
    stop: async () => {
      await server.stop();
      await db.close();
      rmSync(join(dataDir, STATE_FILE), { force: true });
      rmSync(socketPath, { force: true });
    },
  };
}

/** The connection string for a running standalone's socket in dataDir, if one runs. */
export function runningStandalone(dataDirInput: string): { pid: number; url: string } | undefined {
  const dataDir = resolve(dataDirInput);
  let state: { pid?: unknown };
  try {
    state = JSON.parse(readFileSync(join(dataDir, STATE_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  if (
    typeof state.pid !== 'number' ||
    !processIsAlive(state.pid) ||
    !existsSync(join(dataDir, SOCKET_NAME))
  ) {
    return undefined;
  }
  return { pid: state.pid, url: socketUrl(dataDir) };
}

/** True when dataDir holds an embedded database (running or not). */
export function hasEmbeddedDatabase(dataDirInput: string): boolean {
  return existsSync(join(resolve(dataDirInput), 'pgdata', 'PG_VERSION'));
}

function socketUrl(dataDir: string): string {
  return `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(dataDir)}`;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
