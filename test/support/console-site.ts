import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdminToken, openStore, runningEmbedded } from '@tegami/store';
import { freePort, type Program, runProgram, startTestDnsServer, type TestDnsServer } from '@tegami/testing';
import { type Browser, chromium } from 'playwright-core';
import { REPO_ROOT, startInRepo } from './processes.js';

// What the web console's browser test and scripts/console-screenshots.ts run: `pnpm start`
// as the README's quickstart does (its admin server serving the console, which `pnpm start`
// rebuilds first when a source changed), a DNS server of the test's own whose only remote domain has an MX nothing
// listens on (its mail is deferred until someone retries it), and Debian's chromium.

/** A remote domain whose MX host accepts no connection: mail to it stays deferred. */
export const UNREACHABLE_DOMAIN = 'unreachable.test';

export interface ConsoleSite {
  readonly program: Program;
  /** http://127.0.0.1:<port>/console/ */
  readonly consoleUrl: string;
  readonly submissionPort: number;
  readonly mxPort: number;
  /** A full-access admin token, made with the store's createAdminToken. */
  readonly token: string;
  /** A read-only one. */
  readonly readToken: string;
  stop(): Promise<void>;
}

export async function startConsoleSite(): Promise<ConsoleSite> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tegami-console-'));
  // A port nobody listens on: the delivery-worker's connections to the MX are refused.
  const closedPort = await freePort();
  const dns: TestDnsServer = await startTestDnsServer({
    records: {
      [UNREACHABLE_DOMAIN]: { mx: [{ preference: 10, exchange: `mx.${UNREACHABLE_DOMAIN}` }] },
      [`mx.${UNREACHABLE_DOMAIN}`]: { a: ['127.0.0.1'] },
    },
  });
  const program = startInRepo('pnpm', ['start'], {
    TEGAMI_DATA_DIR: dataDir,
    TEGAMI_DNS_UPSTREAMS: dns.address,
    TEGAMI_DELIVERY_SMTP_PORT: String(closedPort),
    // Deferred mail waits an hour: only the console's Retry brings the next attempt.
    TEGAMI_DELIVERY_RETRY_MIN_MS: '1h',
    TEGAMI_DELIVERY_RETRY_MAX_MS: '2h',
    TEGAMI_ADMIN_PORT: '0',
    TEGAMI_OPS_PORT: '0',
    TEGAMI_SMTP_MX_PORT: '0',
    TEGAMI_SMTP_SUBMISSION_PORT: '0',
    TEGAMI_SMTP_SUBMISSIONS_PORT: '0',
    TEGAMI_POP_PORT: '0',
    TEGAMI_POPS_PORT: '0',
    TEGAMI_IMAP_PORT: '0',
    TEGAMI_IMAPS_PORT: '0',
    TEGAMI_MANAGESIEVE_PORT: '0',
    TEGAMI_MTA_STS_PORT: '0',
  });
  const stop = async () => {
    program.signal('SIGINT');
    await program.exited(30_000).catch(() => program.signal('SIGKILL'));
    // A standalone killed hard leaves its embedded Postgres (a process group of its own).
    const pid = postmasterPid(dataDir);
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        // gone already
      }
    }
    await dns.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await program.waitFor(/Tegami is running[\s\S]*Then follow it/, 120_000);
    const banner = program.output().slice(program.output().lastIndexOf('Tegami is running'));
    const consoleUrl = /(https?:\/\/[^\s]+\/console\/)/.exec(banner)?.[1];
    const mxPort = Number(/SMTP +[^:]+:(\d+) \(MX\)/.exec(banner)?.[1]);
    const submissionPort = Number(/:(\d+) \(submission, STARTTLS\)/.exec(banner)?.[1]);
    if (!consoleUrl || !mxPort || !submissionPort)
      throw new Error(`no console URL or SMTP port in:\n${banner}`);
    const running = runningEmbedded(dataDir);
    if (!running) throw new Error(`the standalone's database is not running:\n${program.output()}`);
    const store = openStore({ url: running.url, poolSize: 1, applicationName: 'console-test' });
    let token: string;
    let readToken: string;
    try {
      token = (await createAdminToken(store.pool, 'console-test', 'full')).token;
      readToken = (await createAdminToken(store.pool, 'console-reader', 'read')).token;
    } finally {
      await store.close();
    }
    return { program, consoleUrl, mxPort, submissionPort, token, readToken, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function postmasterPid(dataDir: string): number | undefined {
  const file = join(dataDir, 'postgres', 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  return Number(readFileSync(file, 'utf8').split('\n', 1)[0]);
}

/** Submits a message with swaks (STARTTLS, AUTH PLAIN) and returns its queue id. */
export async function submitMessage(
  site: ConsoleSite,
  login: { user: string; password: string },
  to: string,
  headers: readonly string[] = [],
): Promise<string> {
  const run = await runProgram(
    'swaks',
    [
      '--server',
      `127.0.0.1:${site.submissionPort}`,
      '--tls',
      '--auth',
      'PLAIN',
      '--auth-user',
      login.user,
      '--auth-password',
      login.password,
      '--from',
      login.user,
      '--to',
      to,
      ...headers.flatMap((h) => ['--header', h]),
    ],
    { cwd: REPO_ROOT, env: process.env, stdin: '' },
  );
  const queueId = /250 2\.0\.0 Ok: queued as ([0-9A-Z]+)/.exec(run.stdout)?.[1];
  if (run.code !== 0 || !queueId) throw new Error(`swaks failed:\n${run.stdout}${run.stderr}`);
  return queueId;
}

/** Debian's chromium (or TEGAMI_CHROMIUM), headless; without its sandbox when run as root. */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = process.env['TEGAMI_CHROMIUM'] ?? '/usr/bin/chromium';
  if (!existsSync(executablePath))
    throw new Error(`no browser at ${executablePath}: install Debian's chromium (apt-get install chromium)`);
  return chromium.launch({
    executablePath,
    headless: true,
    // Chromium's sandbox refuses to run as root (CI and containers are root).
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
}
