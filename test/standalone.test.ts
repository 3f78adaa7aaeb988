import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Program } from '@tegami/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { runInRepo, startInRepo } from './support/processes.js';

// The README's quickstart, as a new user runs it: `pnpm start`, then `pnpm tegami …` in
// another terminal, Ctrl-C, and a second start on the same data.
const dataDir = mkdtempSync(join(tmpdir(), 'tegami-e2e-'));
let running: Program | undefined;

afterAll(() => {
  running?.signal('SIGKILL');
  // SIGKILL leaves the embedded Postgres (a process group of its own) behind: stop it too.
  const postmaster = postmasterPid();
  if (postmaster !== undefined) signal(postmaster, 'SIGQUIT');
  rmSync(dataDir, { recursive: true, force: true });
});

const stateFile = () => join(dataDir, 'embedded-postgres.json');

function postmasterPid(): number | undefined {
  try {
    return Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n', 1)[0]);
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat[stat.lastIndexOf(')') + 2] !== 'Z';
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}

// The ports of the running standalone. Every listener binds port 0 and the banner says
// which port it got: a port picked free beforehand could be taken by another listener's
// port 0 in between (EADDRINUSE, a flaky start).
let opsPort = 0;
let mxPort = 0;
let smtpPort = 0;
let popPort = 0;
let imapPort = 0;

async function startTegami(): Promise<Program> {
  const program = startInRepo('pnpm', ['start'], {
    TEGAMI_POP_PORT: '0',
    TEGAMI_POPS_PORT: '0',
    TEGAMI_IMAP_PORT: '0',
    TEGAMI_IMAPS_PORT: '0',
    TEGAMI_MANAGESIEVE_PORT: '0',
    TEGAMI_DATA_DIR: dataDir,
    TEGAMI_OPS_PORT: '0',
    TEGAMI_SMTP_MX_PORT: '0',
    TEGAMI_SMTP_SUBMISSION_PORT: '0',
    TEGAMI_SMTP_SUBMISSIONS_PORT: '0',
    TEGAMI_MTA_STS_PORT: '0',
  });
  running = program;
  await program.waitFor(/Tegami is running[\s\S]*IMAP .*\(STARTTLS\)/, 90_000);
  const banner = program.output().slice(program.output().lastIndexOf('Tegami is running'));
  const port = (pattern: RegExp) => {
    const found = pattern.exec(banner);
    if (!found) throw new Error(`no port for ${pattern} in the banner:\n${banner}`);
    return Number(found[1]);
  };
  opsPort = port(/ops +http:\/\/[^:]+:(\d+)\//);
  mxPort = port(/SMTP +[^:]+:(\d+) \(MX\)/);
  smtpPort = port(/:(\d+) \(submission, STARTTLS\)/);
  popPort = port(/POP3 +[^:]+:(\d+) \(STLS\)/);
  imapPort = port(/IMAP +[^:]+:(\d+) \(STARTTLS\)/);
  return program;
}

const tegami = (args: string[], stdin = '') =>
  runInRepo('pnpm', ['--silent', 'tegami', ...args], { TEGAMI_DATA_DIR: dataDir }, stdin);

describe('pnpm start (standalone)', () => {
  it('serves the ops endpoints, lets tegami add a user through its socket, stops on Ctrl-C and restarts on the same data', async () => {
    const first = await startTegami();
    expect(first.output()).toContain('pnpm tegami user add alice@localhost');
    // The first start says what it is doing while it creates the database.
    expect(first.output()).toContain(
      `tegami: creating the database in ${join(dataDir, 'postgres')} (first start)`,
    );
    // A real server, reachable only through a socket in a directory of its own, with a password.
    expect(statSync(join(dataDir, 'postgres-password')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'postgres')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'postgres', '.s.PGSQL.5432')).isSocket()).toBe(true);
    const postmaster = postmasterPid()!;
    expect(alive(postmaster)).toBe(true);
    const tcp = await runInRepo('ss', ['-Hltnp'], {});
    expect(tcp.stdout).not.toMatch(new RegExp(`pid=${postmaster},`));

    const health = await fetch(`http://127.0.0.1:${opsPort}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${opsPort}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', bus: 'ok' } });
    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    expect(metrics).toMatch(/process_cpu_user_seconds_total\{service="standalone"\}/);

    const add = await tegami(['user', 'add', 'alice@localhost', '--password-stdin'], 'correct horse\n');
    expect(add.stderr).toBe('');
    expect(add).toMatchObject({ code: 0 });
    const list = await tegami(['user', 'list']);
    expect(list.stdout).toMatch(/alice@localhost\s+active/);
    const domains = await tegami(['domain', 'list']);
    // The first user of a domain becomes its postmaster (an alias).
    expect(domains.stdout).toMatch(/localhost\s+1\s+1/);

    // The quickstart's swaks line: submission with STARTTLS and AUTH PLAIN.
    const swaks = await runInRepo(
      'swaks',
      [
        '--server',
        `127.0.0.1:${smtpPort}`,
        '--tls',
        '--auth',
        'PLAIN',
        '--auth-user',
        'alice@localhost',
        '--auth-password',
        'correct horse',
        '--from',
        'alice@localhost',
        '--to',
        'alice@localhost',
      ],
      {},
    );
    expect(swaks.code, swaks.stdout + swaks.stderr).toBe(0);
    expect(swaks.stdout).toMatch(/<~ {2}250 2\.0\.0 Ok: queued as [0-9A-Z]{16}/);
    // ... and the delivery-worker puts it into alice's INBOX, as `tegami trace` shows.
    const queueId = /queued as ([0-9A-Z]{16})/.exec(swaks.stdout)![1]!;
    let trace = '';
    for (let i = 0; i < 100 && !/to <alice@localhost>: delivered/.test(trace); i++) {
      trace = (await tegami(['trace', queueId])).stdout;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(trace).toMatch(new RegExp(`${queueId}  done`));
    expect(trace).toMatch(/to <alice@localhost>: delivered/);
    // ... and POP3 hands it out.
    const pop = await runInRepo(
      'python3',
      [
        '-c',
        "import poplib,sys; p=poplib.POP3('127.0.0.1', int(sys.argv[1])); p.user('alice@localhost'); p.pass_('correct horse'); print('STAT', *p.stat()); print(b'\\n'.join(p.retr(1)[1]).decode()); p.quit()",
        String(popPort),
      ],
      {},
    );
    expect(pop.stdout).toMatch(/^STAT 1 \d+$/m);
    expect(pop.stdout).toContain(`id ${queueId}`);
    // ... and so does IMAP (curl: imap:// with a UID).
    const imap = await runInRepo(
      'curl',
      ['-s', '--user', 'alice@localhost:correct horse', `imap://127.0.0.1:${imapPort}/INBOX;UID=1`],
      {},
    );
    expect(imap.stdout).toContain(`id ${queueId}`);

    // Ctrl-C reaches pnpm and Tegami alike; pnpm dies of the signal, Tegami shuts down cleanly.
    first.signal('SIGINT');
    await first.exited();
    expect(first.output()).toMatch(/"msg":"shut down"/);
    expect(existsSync(stateFile())).toBe(false);
    expect(alive(postmaster)).toBe(false);

    // Not running: the CLI opens the embedded database itself.
    const offline = await tegami(['user', 'list']);
    expect(offline.stdout).toMatch(/alice@localhost/);

    const second = await startTegami();
    expect(second.output()).not.toContain('created the local mail domain');
    expect((await tegami(['user', 'list'])).stdout).toMatch(/alice@localhost/);
    // A second standalone on the same data refuses to start, in one line.
    const clash = await runInRepo('pnpm', ['--silent', 'start'], {
      TEGAMI_DATA_DIR: dataDir,
      TEGAMI_OPS_PORT: '0',
    });
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/tegami: could not start: Tegami is already running on .* \(pid \d+\)/);
    second.signal('SIGTERM');
    await second.exited();
    expect(second.output()).toMatch(/"msg":"shut down"/);
    expect(existsSync(stateFile())).toBe(false);
  }, 180_000);

  it('comes back after a SIGKILL: the orphaned Postgres is stopped and what was acknowledged is there', async () => {
    const program = await startTegami();
    const swaks = await runInRepo(
      'swaks',
      [
        '--server',
        `127.0.0.1:${mxPort}`,
        '--from',
        'someone@example.org',
        '--to',
        'alice@localhost',
        '--header',
        'Subject: before the kill',
      ],
      {},
    );
    expect(swaks.stdout).toMatch(/<- {2}250 2\.0\.0 Ok: queued as/);
    const orphan = postmasterPid()!;

    program.signal('SIGKILL');
    await program.exited();
    // Postgres runs in a process group of its own, so the kill did not reach it.
    expect(alive(orphan)).toBe(true);

    const again = await startTegami();
    expect(again.output()).toContain(
      `stopping the embedded Postgres (pid ${orphan}) that a stopped Tegami left running`,
    );
    expect(alive(orphan)).toBe(false);
    // The in-process bus lost the job with the process; the queue row brings it back.
    let found = '';
    for (let i = 0; i < 100 && !/^\* SEARCH \d+/m.test(found); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 200));
      const search = ['-X', 'SEARCH SUBJECT "before the kill"'];
      const user = ['--user', 'alice@localhost:correct horse'];
      found = (await runInRepo('curl', ['-s', ...user, `imap://127.0.0.1:${imapPort}/INBOX`, ...search], {}))
        .stdout;
    }
    expect(found).toMatch(/^\* SEARCH \d+/m);
    again.signal('SIGTERM');
    await again.exited();
    expect(again.output()).toMatch(/"msg":"shut down"/);
  }, 180_000);

  it('refuses a data directory PGlite wrote, saying what to do, and leaves it untouched', async () => {
    const old = mkdtempSync(join(tmpdir(), 'tegami-pglite-'));
    try {
      mkdirSync(join(old, 'pgdata'));
      writeFileSync(join(old, 'pgdata', 'PG_VERSION'), '17\n');
      const start = await runInRepo('pnpm', ['--silent', 'start'], {
        TEGAMI_DATA_DIR: old,
        TEGAMI_OPS_PORT: '0',
      });
      expect(start.code).toBe(1);
      expect(start.stderr).toContain(
        `${old} holds a database of an earlier Tegami (PGlite), which this version cannot open: move it aside (mv ${old} ${old}.pglite)`,
      );
      expect(existsSync(join(old, 'postgres'))).toBe(false);
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  }, 60_000);
});
