// The chaos run's own Postgres cluster and NATS server. The run restarts and starves
// them, so they cannot be the machine's shared ones (other test files use those at the
// same time). Each sits behind a TCP proxy the run can cut, as a network partition would.

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '@tegami/store';
import { freePort, startTcpProxy, type TcpProxy } from '@tegami/testing';
import { onLastResort } from './last-resort.js';

const run = promisify(execFile);

const pgBin = (() => {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root) ? readdirSync(root).sort().at(-1) : undefined;
  if (!version) throw new Error(`no PostgreSQL under ${root}`);
  return join(root, version, 'bin');
})();

/** Postgres refuses to run as root: as root, run its programs as the `postgres` user. */
const asRoot = process.getuid?.() === 0;
function pgCommand(program: string, args: string[]): [string, string[]] {
  return asRoot
    ? ['runuser', ['-u', 'postgres', '--', join(pgBin, program), ...args]]
    : [join(pgBin, program), args];
}
function ownByPostgres(path: string): void {
  if (!asRoot) return;
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((line) => line.startsWith('postgres:'))
    ?.split(':');
  if (!entry) throw new Error('running as root, but there is no postgres user to run Postgres as');
  chownSync(path, Number(entry[2]), Number(entry[3]));
}

export interface ChaosPostgres {
  /** Through the proxy: what Tegami's processes use. */
  readonly url: string;
  /** Straight to the server: what the checks use. */
  readonly directUrl: string;
  readonly proxy: TcpProxy;
  /** `pg_ctl restart -m immediate`: every backend dies without a checkpoint, then crash recovery. */
  restartImmediate(): Promise<void>;
  /** A tablespace on a small tmpfs Tegami's blobs live in, when this machine lets the run mount one. */
  readonly smallDisk: SmallDisk | undefined;
  stop(): Promise<void>;
}

export interface SmallDisk {
  /** Writes a file until the tablespace's disk is full. */
  fill(): Promise<void>;
  /** Removes it. */
  free(): Promise<void>;
}

export async function startChaosPostgres(workDir: string): Promise<ChaosPostgres> {
  const dataDir = join(workDir, 'pg');
  const socketDir = join(workDir, 'pg-socket');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(socketDir, { recursive: true });
  ownByPostgres(workDir);
  ownByPostgres(dataDir);
  ownByPostgres(socketDir);
  const [initdb, initArgs] = pgCommand('initdb', [
    '-D',
    dataDir,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
  ]);
  await run(initdb, initArgs);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${socketDir}`,
    '-c listen_addresses=127.0.0.1',
    '-c max_connections=400',
    // An immediate restart kills processes, not the machine: the kernel keeps every page
    // written, so fsync would add nothing this run can observe, only time.
    '-c fsync=off',
    '-c shared_buffers=64MB',
  ].join(' ');
  const logFile = join(workDir, 'postgres.log');
  const pgCtl = (args: string[]) => {
    const [command, fullArgs] = pgCommand('pg_ctl', [
      '-D',
      dataDir,
      '-l',
      logFile,
      '-o',
      options,
      '-w',
      '-t',
      '120',
      ...args,
    ]);
    return run(command, fullArgs);
  };
  await pgCtl(['start']);
  const forget = onLastResort(() => {
    const [command, args] = pgCommand('pg_ctl', ['-D', dataDir, 'stop', '-m', 'immediate']);
    execFileSync(command, args, { stdio: 'ignore' });
    if (asRoot) execFileSync('umount', ['-l', join(workDir, 'small')], { stdio: 'ignore' });
  });
  const directUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const proxy = await startTcpProxy({ host: '127.0.0.1', port });
  const smallDisk = await mountSmallDisk(workDir, directUrl);
  return {
    url: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`,
    directUrl,
    proxy,
    smallDisk,
    async restartImmediate() {
      await pgCtl(['restart', '-m', 'immediate']);
    },
    async stop() {
      forget();
      await proxy.close();
      await pgCtl(['stop', '-m', 'immediate']).catch(() => undefined);
      if (smallDisk) await run('umount', ['-l', join(workDir, 'small')]).catch(() => undefined);
    },
  };
}

/**
 * A 48 MB tmpfs holding a tablespace. The run moves the blobs table there after the
 * migrations (`useSmallDisk`), and fills the disk to see a store that cannot write.
 * Mounting needs privileges a CI container may not have: then the fault is skipped.
 */
async function mountSmallDisk(workDir: string, directUrl: string): Promise<SmallDisk | undefined> {
  const mountPoint = join(workDir, 'small');
  mkdirSync(mountPoint, { recursive: true });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mountPoint]);
  } catch {
    return undefined;
  }
  const location = join(mountPoint, 'ts');
  mkdirSync(location);
  ownByPostgres(location);
  await sql(directUrl, `CREATE TABLESPACE chaos_small LOCATION '${location}'`);
  const filler = join(mountPoint, 'filler');
  return {
    async fill() {
      const file = await open(filler, 'w');
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      try {
        for (;;) await file.write(chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        // Fill the last partial megabyte too.
        const small = Buffer.alloc(4096, 0x61);
        try {
          for (;;) await file.write(small);
        } catch {}
      } finally {
        await file.close();
      }
    },
    async free() {
      await unlink(filler).catch(() => undefined);
    },
  };
}

/** Moves Tegami's blobs (every message's bytes) to the small disk. */
export async function useSmallDisk(directUrl: string): Promise<void> {
  await sql(directUrl, 'ALTER TABLE blobs SET TABLESPACE chaos_small');
}

async function sql(url: string, statement: string): Promise<void> {
  const store = openStore({ url, poolSize: 1 });
  try {
    await store.pool.query(statement);
  } finally {
    await store.close();
  }
}

export interface ChaosNats {
  /** Through the proxy. */
  readonly url: string;
  readonly directUrl: string;
  readonly proxy: TcpProxy;
  /** Stops the server with the signal (SIGKILL: no flush) and starts it again on the same store. */
  restart(signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  stop(): Promise<void>;
}

export async function startChaosNats(workDir: string): Promise<ChaosNats> {
  const storeDir = join(workDir, 'nats');
  mkdirSync(storeDir, { recursive: true });
  const port = await freePort();
  let server: ChildProcess;
  const launch = async () => {
    server = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
      stdio: 'ignore',
    });
    await waitForPort(port, 30_000);
  };
  await launch();
  const forget = onLastResort(() => server.kill('SIGKILL'));
  const proxy = await startTcpProxy({ host: '127.0.0.1', port });
  const stopServer = async (signal: NodeJS.Signals) => {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    if (server.exitCode === null) server.kill(signal);
    await exited;
  };
  return {
    url: `nats://127.0.0.1:${proxy.port}`,
    directUrl: `nats://127.0.0.1:${port}`,
    proxy,
    async restart(signal) {
      await stopServer(signal);
      await launch();
    },
    async stop() {
      forget();
      await proxy.close();
      await stopServer('SIGTERM');
    },
  };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function removeWorkDir(workDir: string): void {
  rmSync(workDir, { recursive: true, force: true });
}
