import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StoreError } from './errors.js';

// Where the standalone's embedded Postgres keeps its files inside TEGAMI_DATA_DIR, and how
// another process (`tegami`) finds a server that is running there. Nothing here starts a
// server, so the CLI can look without loading the Postgres binaries.

/** The Postgres cluster (PGDATA). Its Unix socket lives in it too: no TCP port is opened. */
const CLUSTER_DIR = 'postgres';
/** The password of the cluster's `postgres` role, generated at creation, mode 0600. */
const PASSWORD_FILE = 'postgres-password';
/** Which process owns the running server: `{ pid, owner }`. */
const STATE_FILE = 'embedded-postgres.json';
/** What PGlite (before this version) kept: a WASM build's files a real server cannot read. */
const PGLITE_DIR = 'pgdata';
/** The port only names the socket file (`.s.PGSQL.5432`); listen_addresses is empty. */
export const EMBEDDED_SOCKET_PORT = 5432;
export const EMBEDDED_DATABASE = 'tegami';
// sun_path is 108 bytes on Linux, 104 on macOS.
const MAX_SOCKET_PATH = 100;

export type EmbeddedOwner = 'standalone' | 'cli';

export interface EmbeddedLayout {
  readonly dataDir: string;
  readonly clusterDir: string;
  readonly socketPath: string;
  readonly passwordFile: string;
  readonly stateFile: string;
}

export function embeddedLayout(dataDirInput: string): EmbeddedLayout {
  const dataDir = resolve(dataDirInput);
  const clusterDir = join(dataDir, CLUSTER_DIR);
  const socketPath = join(clusterDir, `.s.PGSQL.${EMBEDDED_SOCKET_PORT}`);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new StoreError(
      'invalid',
      `TEGAMI_DATA_DIR ${dataDir} is too long a path for the embedded Postgres socket (${MAX_SOCKET_PATH} bytes at most): choose a shorter one`,
    );
  }
  // Postgres reads unix_socket_directories as a comma-separated list.
  if (clusterDir.includes(',')) {
    throw new StoreError(
      'invalid',
      `TEGAMI_DATA_DIR ${dataDir} contains a comma, which Postgres cannot take as a socket directory`,
    );
  }
  return {
    dataDir,
    clusterDir,
    socketPath,
    passwordFile: join(dataDir, PASSWORD_FILE),
    stateFile: join(dataDir, STATE_FILE),
  };
}

/** True when dataDir holds an embedded database (running or not). */
export function hasEmbeddedDatabase(dataDirInput: string): boolean {
  return existsSync(join(embeddedLayout(dataDirInput).clusterDir, 'PG_VERSION'));
}

/**
 * A data directory written by a Tegami that ran on PGlite: Postgres compiled to 32-bit WASM,
 * whose files a native server refuses (different alignment and pass-by-value settings).
 */
export function refuseFormerPgliteData(layout: EmbeddedLayout): void {
  if (
    existsSync(join(layout.dataDir, PGLITE_DIR, 'PG_VERSION')) &&
    !existsSync(join(layout.clusterDir, 'PG_VERSION'))
  ) {
    throw new StoreError(
      'invalid',
      `${layout.dataDir} holds a database of an earlier Tegami (PGlite), which this version cannot open: move it aside (mv ${layout.dataDir} ${layout.dataDir}.pglite) to start with a new one, after copying any mail you need out over IMAP with the earlier version`,
    );
  }
}

/** The cluster's password: read, or generated (0600) when the cluster is about to be created. */
export function embeddedPassword(layout: EmbeddedLayout, create: boolean): string {
  if (!create) {
    try {
      return readFileSync(layout.passwordFile, 'utf8').trim();
    } catch {
      throw new StoreError(
        'invalid',
        `the embedded database's password file ${layout.passwordFile} cannot be read: is it yours (run as the user who started Tegami)?`,
      );
    }
  }
  const password = randomBytes(24).toString('base64url');
  writeFileSync(layout.passwordFile, `${password}\n`, { mode: 0o600 });
  return password;
}

export function embeddedUrl(layout: EmbeddedLayout, password: string): string {
  return `postgresql://postgres:${encodeURIComponent(password)}@localhost/${EMBEDDED_DATABASE}?host=${encodeURIComponent(layout.clusterDir)}`;
}

export interface RunningEmbedded {
  readonly pid: number;
  readonly owner: EmbeddedOwner;
  readonly url: string;
}

/**
 * The server a live process (the standalone, or a `tegami` command) runs on dataDir, if any:
 * its owner is alive, its postmaster is alive and its socket exists.
 */
export function runningEmbedded(dataDirInput: string): RunningEmbedded | undefined {
  const layout = embeddedLayout(dataDirInput);
  const state = readState(layout);
  if (!state || !processIsAlive(state.pid)) return undefined;
  const postmaster = postmasterPid(layout);
  if (postmaster === undefined || !processIsAlive(postmaster) || !existsSync(layout.socketPath))
    return undefined;
  return { pid: state.pid, owner: state.owner, url: embeddedUrl(layout, embeddedPassword(layout, false)) };
}

export function writeState(layout: EmbeddedLayout, owner: EmbeddedOwner): void {
  writeFileSync(layout.stateFile, `${JSON.stringify({ pid: process.pid, owner })}\n`, { mode: 0o600 });
}

function readState(layout: EmbeddedLayout): { pid: number; owner: EmbeddedOwner } | undefined {
  try {
    const state = JSON.parse(readFileSync(layout.stateFile, 'utf8')) as { pid?: unknown; owner?: unknown };
    if (typeof state.pid !== 'number') return undefined;
    return { pid: state.pid, owner: state.owner === 'cli' ? 'cli' : 'standalone' };
  } catch {
    return undefined;
  }
}

/** The postmaster's pid from PGDATA/postmaster.pid (its first line), if the file is there. */
export function postmasterPid(layout: EmbeddedLayout): number | undefined {
  try {
    const first = readFileSync(join(layout.clusterDir, 'postmaster.pid'), 'utf8').split('\n', 1)[0];
    const pid = Number(first);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process its parent has not reaped yet still answers signal 0: a zombie is dead.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
