import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { freePort } from '@tegami/testing';
import { dovecotInstalled, greeting, idOf, run } from './dovecot-imap.js';

// A private Dovecot ManageSieve server (Debian packages dovecot-managesieved and
// dovecot-sieve, i.e. Pigeonhole) beside Tegami's, for differential tests: the same layout
// as dovecot-imap.ts (its own configuration, base_dir, state_dir and log under one mkdtemp
// directory, one user with a static password, nothing read from /etc/dovecot), with
// STARTTLS on the given certificate and the user's scripts in ~/sieve.

export interface DovecotManageSieve {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The user's sieve directory: one <name>.sieve file per script. */
  readonly sieveDir: string;
  /** Dovecot's log so far. */
  log(): string;
  stop(): Promise<void>;
}

export { dovecotInstalled };

export async function startDovecotManageSieve(options: {
  readonly tls: { readonly cert: Buffer; readonly key: Buffer };
  readonly user?: string;
  readonly password?: string;
}): Promise<DovecotManageSieve> {
  if (!dovecotInstalled())
    throw new Error('these tests need Dovecot (apt-get install dovecot-managesieved) and root');
  const user = options.user ?? 'tester';
  const password = options.password ?? 'tester-password';
  for (const value of [user, password]) {
    if (!/^[A-Za-z0-9._@+-]+$/.test(value)) throw new Error(`unsupported user or password: ${value}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tegami-managesieve-'));
  // mkdtemp makes it 0700: dovenull, dovecot and nobody must get through it.
  chmodSync(dir, 0o755);
  const baseDir = join(dir, 'run');
  const stateDir = join(dir, 'state');
  const homes = join(dir, 'home');
  const home = join(homes, user);
  for (const d of [baseDir, stateDir, home]) mkdirSync(d, { recursive: true });
  const uid = await idOf('-u', 'nobody');
  const gid = await idOf('-g', 'nobody');
  chownSync(home, uid, gid);
  // Read by the master (root) at start: the login processes get the certificate from it.
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  writeFileSync(certFile, options.tls.cert);
  writeFileSync(keyFile, options.tls.key, { mode: 0o600 });
  const log = join(dir, 'dovecot.log');
  const conf = join(dir, 'dovecot.conf');
  const output = join(dir, 'dovecot.out');
  const readLog = () => (existsSync(log) ? readFileSync(log, 'utf8') : '(no log)');

  let lastFailure = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    writeFileSync(
      conf,
      [
        `base_dir = ${baseDir}`,
        `state_dir = ${stateDir}`,
        `instance_name = ${basename(dir)}`,
        `log_path = ${log}`,
        `info_log_path = ${log}`,
        `debug_log_path = ${log}`,
        'protocols = sieve',
        'listen = 127.0.0.1',
        'ssl = yes',
        `ssl_cert = <${certFile}`,
        `ssl_key = <${keyFile}`,
        // As Tegami: PLAIN only under TLS (sieve-connect starts TLS first).
        'disable_plaintext_auth = yes',
        'auth_mechanisms = plain login',
        'passdb {',
        '  driver = static',
        `  args = password=${password}`,
        '}',
        'userdb {',
        '  driver = static',
        `  args = uid=${uid} gid=${gid} home=${homes}/%u`,
        '}',
        `mail_location = maildir:~/Maildir`,
        'plugin {',
        '  sieve = file:~/sieve;active=~/.dovecot.sieve',
        '}',
        'service managesieve-login {',
        '  inet_listener sieve {',
        '    address = 127.0.0.1',
        `    port = ${port}`,
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
      // The greeting is the capability response, then OK.
      await greeting(port, 10_000, /^OK .*\r\n/m);
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
      sieveDir: join(home, 'sieve'),
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
