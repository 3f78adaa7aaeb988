import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestDnsServer, type TestDnsServer } from './dns-server.js';
import { freePort } from './ports.js';
import { type Program, startProgram } from './processes.js';
import { type ClaimedRedisDatabase, claimRedisDatabase, type RedisAddress } from './redis-database.js';

// A private rspamd (Debian's package, /usr/bin/rspamd 3.4) for tests, as the Postfix and
// Dovecot interop tests run theirs: its own configuration, written at start into a
// mkdtemp directory with its log, pid file and state; a normal worker and a controller
// on free loopback ports; Bayes in a Redis database of its own (redis-database.ts).
// Nothing of /etc/rspamd is read but the symbol scores (scores.d), and nothing goes to
// syslog.
//
// What runs: rspamd's own rules (rules/rspamd.lua: headers, MIME, Received, ...), the
// regexp module, Bayes, milter_headers (X-Spamd-Result, X-Spam-Status, X-Spam, ... so
// /checkv2 returns headers to add, for local and authenticated clients too) and one rule
// for tests, TEGAMI_TEST_SCORE: a message with `X-Tegami-Test-Score: 7` scores 7 more,
// so a test picks the action it wants. Not loaded: fuzzy, neural, RBLs, and rspamd's
// SPF, DKIM, DMARC and ARC (Tegami checks those itself and passes its
// Authentication-Results in the message). DNS goes to a private test DNS server that
// answers NXDOMAIN at once, never to the Internet.
//
// Start-up compiles the public suffix list with Hyperscan (15-30 s on two busy cores);
// the compiled database is kept in a cache directory shared by every test rspamd of this
// user, so only the first start of a machine pays for it.

export const RSPAMD = '/usr/bin/rspamd';

/** Score thresholds of the test instance's actions (rspamd's names); null leaves one out. */
export interface TestRspamdActions {
  readonly greylist?: number | null;
  readonly add_header?: number | null;
  readonly rewrite_subject?: number | null;
  readonly soft_reject?: number | null;
  readonly reject?: number | null;
}

/** Rspamd's Debian defaults, plus rewrite subject between add header and reject. */
export const TEST_RSPAMD_ACTIONS: Required<TestRspamdActions> = {
  greylist: 4,
  add_header: 6,
  rewrite_subject: 10,
  soft_reject: null,
  reject: 15,
};

/** The Subject rewrite subject makes (%s is the original). */
export const TEST_RSPAMD_SUBJECT = '***SPAM*** %s';

export interface TestRspamdOptions {
  readonly actions?: TestRspamdActions;
  /** The DNS server rspamd asks, "127.0.0.1:port"; default: a private one answering NXDOMAIN. */
  readonly dnsServer?: string;
  /** Default 127.0.0.1:6379. */
  readonly redis?: RedisAddress;
  /** Default 120 s: the first start of a machine compiles the public suffix list. */
  readonly startTimeoutMs?: number;
}

export interface TestRspamdStat {
  /** Messages the controller has learned (its /stat "learned"), counted as they happen. */
  readonly learned: number;
  readonly scanned: number;
  readonly actions: Readonly<Record<string, number>>;
}

export interface TestRspamd {
  /** The normal worker (/checkv2). */
  readonly url: string;
  /** The controller (/learnspam, /learnham, /stat). */
  readonly controllerUrl: string;
  readonly password: string;
  /** Its configuration, log and state (removed by stop). */
  readonly dir: string;
  /** The Redis database that holds its Bayes tokens. */
  readonly redisDatabase: number;
  /** rspamd's log so far. */
  log(): string;
  /** The controller's /stat. */
  stat(): Promise<TestRspamdStat>;
  /**
   * Bayes's own counters of learned messages, by class, from its Redis store. /stat shows
   * them per statfile too, but only after a periodic refresh (about 30 s); these are
   * current. A message learned as spam and then as ham moves from one to the other.
   */
  bayesLearns(): Promise<{ spam: number; ham: number }>;
  /** Stops rspamd, gives its Redis database back, removes its directory. */
  stop(): Promise<void>;
}

export function rspamdInstalled(): boolean {
  return existsSync(RSPAMD);
}

const PLUGINS = '/usr/share/rspamd/plugins';
const RULES = '/usr/share/rspamd/rules/rspamd.lua';
const TLD = '/usr/share/rspamd/effective_tld_names.dat';
const WARM_MARKER = 'warm';
const LOCK_STALE_MS = 300_000;

export async function startTestRspamd(options: TestRspamdOptions = {}): Promise<TestRspamd> {
  if (!rspamdInstalled()) throw new Error(`these tests need rspamd (apt-get install rspamd): no ${RSPAMD}`);
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  const dir = mkdtempSync(join(tmpdir(), 'tegami-rspamd-'));
  const logFile = join(dir, 'rspamd.log');
  const readLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '(no log)');
  const password = randomBytes(12).toString('hex');
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const cleanUp = async () => {
    for (const step of cleanups.reverse()) await Promise.resolve(step()).catch(() => undefined);
  };

  try {
    let dnsServer = options.dnsServer;
    if (dnsServer === undefined) {
      const dns: TestDnsServer = await startTestDnsServer();
      cleanups.push(() => dns.stop());
      dnsServer = `127.0.0.1:${dns.port}`;
    }
    const redis: ClaimedRedisDatabase = await claimRedisDatabase(options.redis);
    cleanups.push(() => redis.release());
    writeFileSync(join(dir, 'tegami-test.lua'), TEST_RULES);

    const cacheDir = hyperscanCacheDir();
    const { cold, release } = await warmingLock(cacheDir, startTimeoutMs);
    try {
      // A port freePort() found may be taken before rspamd binds it: try again with others.
      let failure = '';
      for (let attempt = 0; attempt < 3; attempt++) {
        const normalPort = await freePort();
        const controllerPort = await freePort();
        writeFileSync(
          join(dir, 'rspamd.conf'),
          configuration({
            dir,
            cacheDir,
            normalPort,
            controllerPort,
            password,
            dnsServer,
            redis,
            actions: { ...TEST_RSPAMD_ACTIONS, ...options.actions },
          }),
        );
        const program = startRspamd(dir);
        const url = `http://127.0.0.1:${normalPort}`;
        const controllerUrl = `http://127.0.0.1:${controllerPort}`;
        const up = await answering([url, controllerUrl], program, startTimeoutMs);
        if (up !== 'up') {
          await stopProgram(program);
          failure = `${up}\n--- rspamd output ---\n${program.output()}\n--- rspamd log ---\n${readLog()}`;
          if (/Address already in use|cannot bind/i.test(failure)) continue;
          throw new Error(`rspamd did not start: ${failure}`);
        }
        if (cold) {
          // The workers answer before the helper has compiled the regexp databases in the
          // background: the cache is warm once it says they are loaded.
          if (await logSays(readLog, /hyperscan database of \d+ regexps has been loaded/, 90_000))
            writeFileSync(join(cacheDir, WARM_MARKER), `${new Date().toISOString()}\n`);
        }
        release();
        let stopped = false;
        return {
          url,
          controllerUrl,
          password,
          dir,
          redisDatabase: redis.database,
          log: readLog,
          stat: () => controllerStat(controllerUrl, password),
          async bayesLearns() {
            const counters = await redis.command('HGETALL', 'RS');
            const fields = Array.isArray(counters) ? (counters as string[]) : [];
            const field = (name: string) => {
              const at = fields.indexOf(name);
              return at >= 0 && at % 2 === 0 ? Number(fields[at + 1]) : 0;
            };
            return { spam: field('learns_spam'), ham: field('learns_ham') };
          },
          async stop() {
            if (stopped) return;
            stopped = true;
            await stopProgram(program);
            await cleanUp();
          },
        };
      }
      throw new Error(`rspamd did not start: ${failure}`);
    } finally {
      release();
    }
  } catch (err) {
    await cleanUp();
    throw err;
  }
}

function startRspamd(dir: string): Program {
  const args = ['-f', '-c', join(dir, 'rspamd.conf')];
  // Keep the administrator's /etc/rspamd/local.d out of the included scores, and every
  // state file in our directory.
  for (const name of ['LOCAL_CONFDIR', 'DBDIR', 'RUNDIR', 'LOGDIR']) args.push('--var', `${name}=${dir}`);
  // rspamd refuses to run its workers as root ("cannot run rspamd workers as root user")
  // unless told to; the tests run as root in CI, and as whoever they are elsewhere.
  if (process.getuid?.() === 0) args.push('--insecure');
  return startProgram(RSPAMD, args, {
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TMPDIR: dir },
  });
}

/** Sends SIGTERM to rspamd's process group, SIGKILL when it has not exited in 20 s. */
async function stopProgram(program: Program): Promise<void> {
  if (program.child.exitCode !== null || program.child.signalCode !== null) {
    await program.exited(5_000).catch(() => undefined);
    return;
  }
  program.signal('SIGTERM');
  try {
    await program.exited(20_000);
  } catch {
    program.signal('SIGKILL');
    await program.exited(5_000).catch(() => undefined);
  }
}

/** 'up' once every URL answers GET /ping with "pong", else why not. */
async function answering(urls: readonly string[], program: Program, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | null | undefined;
  void program.exited(timeoutMs + 60_000).then(
    (code) => {
      exited = code;
    },
    () => undefined,
  );
  const pending = new Set(urls);
  while (pending.size > 0) {
    if (exited !== undefined) return `rspamd exited with ${exited}`;
    if (Date.now() > deadline)
      return `rspamd did not answer on ${[...pending].join(', ')} within ${timeoutMs} ms`;
    for (const url of [...pending]) if (await pings(url)) pending.delete(url);
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 200));
  }
  return 'up';
}

function pings(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/ping`, { agent: false, timeout: 2_000 }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'pong'));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function controllerStat(controllerUrl: string, password: string): Promise<TestRspamdStat> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${controllerUrl}/stat`,
      { agent: false, timeout: 10_000, headers: { Password: password } },
      (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => {
          if (res.statusCode !== 200) {
            reject(new Error(`rspamd /stat: HTTP ${res.statusCode} ${body}`));
            return;
          }
          try {
            const stat = JSON.parse(body) as {
              learned: number;
              scanned: number;
              actions: Record<string, number>;
            };
            resolve({ learned: stat.learned, scanned: stat.scanned, actions: stat.actions });
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('rspamd /stat did not answer in 10 s')));
    req.on('error', reject);
    req.end();
  });
}

/** Compiled Hyperscan databases, shared by the test instances of this user (they are keyed by content). */
function hyperscanCacheDir(): string {
  const dir = join(tmpdir(), `tegami-rspamd-hyperscan-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * Until the cache is warm, one start at a time compiles into it: rspamd writes each
 * database through a temporary file of a fixed name, which two compiling at once would
 * share. Once warm, starts do not wait. Returns the release (safe to call twice).
 */
async function warmingLock(
  cacheDir: string,
  timeoutMs: number,
): Promise<{ readonly cold: boolean; release(): void }> {
  const lock = join(cacheDir, 'lock');
  const deadline = Date.now() + timeoutMs;
  const nothingHeld = (cold: boolean) => ({ cold, release: () => undefined });
  for (;;) {
    if (existsSync(join(cacheDir, WARM_MARKER))) return nothingHeld(false);
    try {
      mkdirSync(lock);
      let held = true;
      return {
        cold: true,
        release() {
          if (held) rmSync(lock, { recursive: true, force: true });
          held = false;
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A holder that died leaves its lock: take it over when it is old.
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) return nothingHeld(true);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function logSays(readLog: () => string, pattern: RegExp, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pattern.test(readLog())) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

interface ConfigurationInput {
  readonly dir: string;
  readonly cacheDir: string;
  readonly normalPort: number;
  readonly controllerPort: number;
  readonly password: string;
  readonly dnsServer: string;
  readonly redis: ClaimedRedisDatabase;
  readonly actions: Required<TestRspamdActions>;
}

function configuration(c: ConfigurationInput): string {
  const redisServer = `${c.redis.host}:${c.redis.port}`;
  const actions = Object.entries(c.actions)
    .filter(([, score]) => score !== null)
    .map(([name, score]) => `  ${name} = ${score};`);
  return `# A private rspamd for Tegami's tests (packages/testing/src/rspamd.ts).
options {
  pidfile = "${c.dir}/rspamd.pid";
  # C modules: the regexp rules and the charset checks; no DKIM, no fuzzy.
  filters = "chartable,regexp";
  dns {
    nameserver = ["${c.dnsServer}"];
    timeout = 1s;
    retransmits = 1;
    sockets = 4;
  }
  tempdir = "${c.dir}";
  hs_cache_dir = "${c.cacheDir}";
  url_tld = "${TLD}";
  cache_file = "${c.dir}/symbols.cache";
  dynamic_conf = "${c.dir}/rspamd_dynamic";
  history_file = "${c.dir}/rspamd.history";
  stats_file = "${c.dir}/stats.ucl";
  control_socket = "${c.dir}/rspamd.sock mode=0600";
  task_timeout = 8s;
  allow_raw_input = true;
}

logging {
  type = "file";
  filename = "${c.dir}/rspamd.log";
  level = "info";
  color = false;
}

lua = "${RULES}";
lua = "${c.dir}/tegami-test.lua";

metric {
  name = "default";
}

actions {
${actions.join('\n')}
  subject = "${TEST_RSPAMD_SUBJECT}";
}

# Symbol scores as Debian ships them ($LOCAL_CONFDIR is our directory: no local.d).
.include(try=true) "$CONFDIR/groups.conf"

group "tegami_test" {
  symbols {
    "TEGAMI_TEST_SCORE" {
      weight = 1.0;
      description = "The score the test asks for (X-Tegami-Test-Score)";
    }
  }
}

redis {
  servers = "${redisServer}";
  db = "${c.redis.database}";
}

classifier "bayes" {
  tokenizer {
    name = "osb";
  }
  cache {
  }
  backend = "redis";
  servers = "${redisServer}";
  db = "${c.redis.database}";
  new_schema = true;
  min_tokens = 11;
  min_learns = 200;
  statfile {
    symbol = "BAYES_HAM";
    spam = false;
  }
  statfile {
    symbol = "BAYES_SPAM";
    spam = true;
  }
  learn_condition = 'return require("lua_bayes_learn").can_learn';
}

milter_headers {
  extended_spam_headers = true;
  use = ["x-spamd-result", "x-rspamd-queue-id", "x-rspamd-action", "x-spam-level", "x-spam-status", "spam-header"];
  # "X-Spam: Yes" on what is spam (add header and above), as rspamd's documentation
  # suggests, instead of the default "Deliver-To: Junk".
  routines {
    spam-header {
      header = "X-Spam";
      value = "Yes";
    }
  }
  # Tests connect from loopback and often authenticated: headers for them too.
  skip_local = false;
  skip_authenticated = false;
}

# Lua plugins load only when configured above (milter_headers); spf, dkim, dmarc, arc,
# rbl, fuzzy and neural have no section and stay off.
modules {
  path = "${PLUGINS}";
}

worker "normal" {
  bind_socket = "127.0.0.1:${c.normalPort}";
  count = 1;
  mime = true;
}

worker "controller" {
  bind_socket = "127.0.0.1:${c.controllerPort}";
  count = 1;
  password = "${c.password}";
}
`;
}

const TEST_RULES = `-- TEGAMI_TEST_SCORE: a test message says the score it wants (X-Tegami-Test-Score: 7).
rspamd_config:register_symbol({
  name = 'TEGAMI_TEST_SCORE',
  type = 'normal',
  callback = function(task)
    local value = task:get_header('X-Tegami-Test-Score')
    local score = value and tonumber(value)
    if score then
      task:insert_result('TEGAMI_TEST_SCORE', score)
    end
  end,
})
`;
