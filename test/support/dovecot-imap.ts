import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { freePort } from '@tegami/testing';

// A private Dovecot IMAP server (Debian package dovecot-imapd) for differential tests:
// its own configuration, base_dir, state_dir, maildirs and log file under one mkdtemp
// directory, plain-text IMAP on 127.0.0.1 and a free port, one user with a static
// password. Nothing from /etc/dovecot is read and nothing goes to syslog.
//
// Dovecot's master runs as root (the test runner is root) and drops privileges: the
// login processes run as dovenull (default_login_user) chrooted into base_dir/login,
// the auth process as dovecot (default_internal_user), and the user's imap process as
// nobody:nogroup from the static userdb. nobody's uid (65534) is above first_valid_uid
// (500) and last_valid_uid is 0 (no limit), so no privileged-group or uid settings are
// needed; the maildir root is chowned to nobody so its imap process can create it.

const DOVECOT = '/usr/sbin/dovecot';

export interface DovecotImapOptions {
  readonly user?: string;
  readonly password?: string;
  /**
   * METADATA (RFC 5464): entries in a file dict in the user's home, `imap_metadata = yes`,
   * and the server's /shared/admin when `serverAdmin` is given (mail_server_admin). Off by
   * default, so other differential tests see Dovecot's usual CAPABILITY.
   */
  readonly metadata?: { readonly serverAdmin?: string };
  /** COMPRESS=DEFLATE (RFC 4978): Dovecot's imap_zlib plugin (with zlib, which it needs) in IMAP. */
  readonly compress?: boolean;
  /**
   * ACL (RFC 4314): the acl and imap_acl plugins (vfile ACLs), and a shared namespace
   * "Other Users.<user>." of every other user's mailboxes (the static passdb lets any user
   * name log in with the password). \Seen is shared, as in Tegami (no INDEXPVT). User names
   * should hold no ".", Dovecot's separator here.
   */
  readonly acl?: boolean;
}

export interface DovecotImap {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Dovecot's log so far (errors, logins, ...). */
  log(): string;
  stop(): Promise<void>;
}

export function dovecotInstalled(): boolean {
  return existsSync(DOVECOT) && process.getuid?.() === 0;
}

/**
 * Runs dovecot to its exit. Its output goes to a file, not a pipe: the master daemonises
 * and its background process keeps inherited pipes open, so waiting for them would hang.
 */
export function run(args: readonly string[], outputFile: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const fd = openSync(outputFile, 'w');
    const child = spawn(DOVECOT, [...args], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const done = (code: number, extra: string) => {
      clearTimeout(timer);
      resolve({ code, output: `${readFileSync(outputFile, 'utf8')}${extra}` });
    };
    child.once('error', (err) => done(-1, err.message));
    child.once('exit', (code, signal) => done(code ?? -1, signal ? `killed by ${signal}` : ''));
  });
}

export function idOf(flag: '-u' | '-g', user: string): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('id', [flag, user], (err, stdout) => (err ? reject(err) : resolve(Number(stdout.trim()))));
  });
}

/** Resolves once the server sends its greeting (IMAP's "* OK ... ready." unless told another). */
export function greeting(port: number, timeoutMs: number, ready = /^\* OK .*ready\.\r\n/m): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const attempt = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      let text = '';
      const timer = setTimeout(() => socket.destroy(new Error('no greeting')), 2_000);
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
        if (ready.test(text)) {
          clearTimeout(timer);
          socket.end();
          resolve();
        }
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('close', () => {
        clearTimeout(timer);
        reject(new Error(`closed before the greeting: ${JSON.stringify(text)}`));
      });
    });
  const loop = async (): Promise<void> => {
    for (;;) {
      try {
        return await attempt();
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  return loop();
}

export async function startDovecotImap(options: DovecotImapOptions = {}): Promise<DovecotImap> {
  if (!dovecotInstalled())
    throw new Error('these tests need Dovecot (apt-get install dovecot-imapd) and root');
  const user = options.user ?? 'tester';
  const password = options.password ?? 'tester-password';
  const dir = mkdtempSync(join(tmpdir(), 'tegami-dovecot-'));
  // mkdtemp makes it 0700: dovenull, dovecot and nobody must get through it.
  chmodSync(dir, 0o755);
  const baseDir = join(dir, 'run');
  const stateDir = join(dir, 'state');
  const mail = join(dir, 'mail');
  for (const d of [baseDir, stateDir, mail]) mkdirSync(d, { recursive: true });
  const uid = await idOf('-u', 'nobody');
  const gid = await idOf('-g', 'nobody');
  chownSync(mail, uid, gid);
  const log = join(dir, 'dovecot.log');
  const conf = join(dir, 'dovecot.conf');
  const output = join(dir, 'dovecot.out');
  const readLog = () => (existsSync(log) ? readFileSync(log, 'utf8') : '(no log)');
  // Values go into the configuration unquoted; keep them to a safe alphabet.
  for (const value of [user, password]) {
    if (!/^[A-Za-z0-9._@+-]+$/.test(value)) throw new Error(`unsupported user or password: ${value}`);
  }
  const admin = options.metadata?.serverAdmin;
  if (admin !== undefined && !/^[A-Za-z0-9.:_@+-]+$/.test(admin))
    throw new Error(`unsupported admin: ${admin}`);

  // freePort's port may be taken again before Dovecot binds it: try a few.
  let lastFailure = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    writeFileSync(
      conf,
      [
        `base_dir = ${baseDir}`,
        `state_dir = ${stateDir}`,
        // The master registers itself under instance_name; keep it distinct from a system Dovecot.
        `instance_name = ${basename(dir)}`,
        `log_path = ${log}`,
        `info_log_path = ${log}`,
        `debug_log_path = ${log}`,
        'protocols = imap',
        'listen = 127.0.0.1',
        'ssl = no',
        'disable_plaintext_auth = no',
        'auth_mechanisms = plain login',
        'passdb {',
        '  driver = static',
        `  args = password=${password}`,
        '}',
        'userdb {',
        '  driver = static',
        `  args = uid=${uid} gid=${gid} home=${mail}/%u`,
        '}',
        `mail_location = maildir:${mail}/%u`,
        // A throw-away mailbox: no fsync per APPEND.
        'mail_fsync = never',
        ...(options.metadata
          ? [
              'mail_attribute_dict = file:%h/dovecot-attributes',
              'imap_metadata = yes',
              ...(options.metadata.serverAdmin
                ? [`mail_server_admin = ${options.metadata.serverAdmin}`]
                : []),
            ]
          : []),
        ...(options.acl
          ? [
              'mail_plugins = $mail_plugins acl',
              'plugin {',
              '  acl = vfile:cache_secs=0',
              `  acl_shared_dict = file:${mail}/shared-mailboxes.db`,
              '}',
              'namespace inbox {',
              '  inbox = yes',
              '  separator = .',
              '}',
              'namespace {',
              '  type = shared',
              '  separator = .',
              '  prefix = Other Users.%%u.',
              `  location = maildir:${mail}/%%u`,
              '  subscriptions = no',
              '  list = children',
              '}',
            ]
          : []),
        ...(options.compress || options.acl
          ? [
              'protocol imap {',
              `  mail_plugins = $mail_plugins${options.compress ? ' zlib imap_zlib' : ''}${options.acl ? ' imap_acl' : ''}`,
              '}',
            ]
          : []),
        'service imap-login {',
        '  inet_listener imap {',
        '    address = 127.0.0.1',
        `    port = ${port}`,
        '  }',
        '  inet_listener imaps {',
        '    port = 0',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    const started = await run(['-c', conf], output);
    if (started.code !== 0) {
      lastFailure = `dovecot exited with ${started.code}: ${started.output}\n--- log ---\n${readLog()}`;
      if (/Address already in use/.test(started.output)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`dovecot did not start: ${lastFailure}`);
    }
    try {
      await greeting(port, 10_000);
    } catch (err) {
      const said = readLog();
      await run(['-c', conf, 'stop'], output);
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`dovecot started but does not answer on ${port}: ${(err as Error).message}\n${said}`);
    }
    return {
      port,
      user,
      password,
      log: readLog,
      async stop() {
        try {
          const stopped = await run(['-c', conf, 'stop'], output);
          if (stopped.code !== 0) throw new Error(`dovecot stop failed: ${stopped.output}\n${readLog()}`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`dovecot did not start: ${lastFailure}`);
}
