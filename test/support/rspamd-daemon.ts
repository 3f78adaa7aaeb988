import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, freePort, type Program, runProgram, startProgram } from '@tegami/testing';

// rspamd and Redis as a deployment runs them, from Debian's packages, for the tests of the
// chart's and compose's rspamd settings. rspamd reads the system's defaults
// (/etc/rspamd/rspamd.conf, the same modules as the official image's) with the deployment's
// local.d as LOCAL_CONFDIR/local.d; a private override.d (higher priority) only moves the
// listeners to loopback and free ports and names the test's Redis instead of the
// deployment's host name. Everything it writes stays in one mkdtemp directory.

const RSPAMD = '/usr/bin/rspamd';
const REDIS_SERVER = '/usr/bin/redis-server';

export function rspamdInstalled(): boolean {
  return existsSync(RSPAMD) && existsSync(REDIS_SERVER);
}

export interface RedisDaemon {
  readonly port: number;
  /** Number of keys in its database. */
  dbsize(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * redis-server with a deployment's arguments (after the program name), then this test's
 * port and address: redis-server lets a later option replace an earlier one. The
 * deployment's --dir is replaced by the test's directory instead (redis-server changes into
 * each --dir as it reads it, and the deployment's does not exist here).
 */
export async function startRedisServer(args: readonly string[]): Promise<RedisDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'tegami-redis-'));
  const port = await freePort();
  const at = args.indexOf('--dir');
  const deployed = at < 0 ? [...args] : [...args.slice(0, at + 1), dir, ...args.slice(at + 2)];
  const program = startProgram(
    REDIS_SERVER,
    [...deployed, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no'],
    { cwd: dir, env: cleanEnv({}) },
  );
  await program.waitFor(/Ready to accept connections/, 30_000).catch(async (err) => {
    await stopProgram(program);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  return {
    port,
    async dbsize() {
      const run = await runProgram('redis-cli', ['-p', String(port), 'dbsize'], {
        cwd: dir,
        env: cleanEnv({}),
      });
      if (run.code !== 0) throw new Error(`redis-cli dbsize: ${run.stderr}`);
      return Number(run.stdout.trim());
    },
    async stop() {
      await stopProgram(program);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RspamdDaemon {
  /** Base URL of the normal worker (what TEGAMI_RSPAMD_URL names). */
  readonly normalUrl: string;
  /** Base URL of the controller (what TEGAMI_RSPAMD_CONTROLLER_URL names). */
  readonly controllerUrl: string;
  readonly output: () => string;
  stop(): Promise<void>;
}

export interface RspamdOptions {
  /** The deployment's local.d: file name → content. */
  readonly localD: Readonly<Record<string, string>>;
  /** The deployment's environment of the rspamd container. */
  readonly env: Readonly<Record<string, string>>;
  readonly redisPort: number;
}

export async function startRspamd(options: RspamdOptions): Promise<RspamdDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'tegami-rspamd-'));
  const [normal, controller] = [await freePort(), await freePort()];
  for (const sub of ['local.d', 'override.d', 'db', 'run', 'log']) mkdirSync(join(dir, sub));
  for (const [name, content] of Object.entries(options.localD))
    writeFileSync(join(dir, 'local.d', name), content);
  const override: Record<string, string> = {
    'worker-normal.inc': `bind_socket = "127.0.0.1:${normal}";\n`,
    'worker-controller.inc': `bind_socket = "127.0.0.1:${controller}";\n`,
    'redis.conf': `servers = "127.0.0.1:${options.redisPort}";\n`,
  };
  for (const [name, content] of Object.entries(override))
    writeFileSync(join(dir, 'override.d', name), content);
  const program = startProgram(
    RSPAMD,
    [
      '-f',
      // The test runner may be root; the image runs rspamd as its own user.
      '-i',
      '-c',
      '/etc/rspamd/rspamd.conf',
      `--var=LOCAL_CONFDIR=${dir}`,
      `--var=DBDIR=${join(dir, 'db')}`,
      `--var=RUNDIR=${join(dir, 'run')}`,
      `--var=LOGDIR=${join(dir, 'log')}`,
    ],
    { cwd: dir, env: cleanEnv({ ...options.env }) },
  );
  const daemon: RspamdDaemon = {
    normalUrl: `http://127.0.0.1:${normal}`,
    controllerUrl: `http://127.0.0.1:${controller}`,
    output: program.output,
    async stop() {
      await stopProgram(program);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // The first start compiles the public suffix list and regular expressions: seconds.
  const deadline = Date.now() + 180_000;
  for (const url of [`${daemon.normalUrl}/ping`, `${daemon.controllerUrl}/ping`]) {
    for (;;) {
      const answer = await fetch(url, { signal: AbortSignal.timeout(3000) }).then(
        async (r) => `${r.status} ${(await r.text()).trim()}`,
        () => 'no answer',
      );
      if (answer === '200 pong') break;
      if (program.child.exitCode !== null || Date.now() > deadline) {
        await daemon.stop();
        throw new Error(
          `rspamd never answered pong at ${url} (${answer}):\n${program.output().slice(-6000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return daemon;
}

async function stopProgram(program: Program): Promise<void> {
  program.signal('SIGTERM');
  await program.exited(30_000).catch(() => program.signal('SIGKILL'));
}

/** What /checkv2 answers, as far as these tests read it. */
export interface RspamdScan {
  readonly action: string;
  readonly score: number;
  readonly symbols: Record<string, unknown>;
  readonly milter?: { readonly add_headers?: Record<string, { value: string } | string> };
}

/** Scans a message as smtp-ingress does: the envelope and client in rspamd's request headers. */
export async function checkv2(
  normalUrl: string,
  message: string,
  envelope: { ip: string; helo: string; from: string; rcpt: string },
): Promise<RspamdScan> {
  const response = await fetch(`${normalUrl}/checkv2`, {
    method: 'POST',
    headers: { IP: envelope.ip, Helo: envelope.helo, From: envelope.from, Rcpt: envelope.rcpt },
    body: message,
    signal: AbortSignal.timeout(60_000),
  });
  if (response.status !== 200) throw new Error(`/checkv2: ${response.status} ${await response.text()}`);
  return (await response.json()) as RspamdScan;
}

/**
 * POSTs to a controller path (/learnspam, /learnham) from 127.0.0.2: rspamd trusts 127.0.0.1
 * without a password (its secure_ip), as in a pod it trusts only itself; a Tegami pod is
 * another address, so the request must carry the password.
 */
export function controllerPost(
  controllerUrl: string,
  path: string,
  body: string,
  password: string | undefined,
): Promise<{ status: number; body: string }> {
  const url = new URL(path, controllerUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress: '127.0.0.2',
        headers: password === undefined ? {} : { Password: password },
        timeout: 60_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A spam message long enough for the Bayes classifier to learn (it skips short texts). */
export function spamMessage(n: number): string {
  const words = 'cheap pills casino winner prize claim urgent transfer million dollars bonus offer'.split(
    ' ',
  );
  const body = Array.from({ length: 240 }, (_, i) => `${words[(i * 7 + n) % words.length]}${i % 13}`).join(
    ' ',
  );
  return [
    `From: Prize Office <winner${n}@prizes.example>`,
    'To: alice@example.org',
    `Subject: You won ${n}`,
    `Message-ID: <prize-${n}@prizes.example>`,
    'Date: Thu, 03 Dec 2026 12:00:00 +0000',
    '',
    body,
    '',
  ].join('\r\n');
}

/** The GTUBE line: every rspamd rejects a message that holds it. */
export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';
