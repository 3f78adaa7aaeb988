import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A private Postfix instance (Debian package postfix) for interop tests: its own config,
// queue and log directories under /tmp, listening on one loopback address, accepting
// mail for one virtual domain into maildirs, and relaying other domains by a transport
// map (Postfix asks the system resolver, which cannot see the tests' DNS server).

export interface PostfixOptions {
  readonly domain: string;
  readonly ip: string;
  readonly port: number;
  readonly users: readonly string[];
  /** domain → "ip:port" of the MTA that takes its mail. */
  readonly relays: Readonly<Record<string, string>>;
  /** A milter for the mail smtpd receives (`inet:127.0.0.1:port`): opendkim, for one. */
  readonly milter?: string;
}

export interface PostfixInstance {
  readonly log: () => string;
  /** The messages in a user's maildir (new/), oldest first. */
  maildir(user: string): string[];
  stop(): void;
}

export function postfixInstalled(): boolean {
  return existsSync('/usr/sbin/postfix') && process.getuid?.() === 0;
}

export function startPostfix(options: PostfixOptions): PostfixInstance {
  const dir = mkdtempSync(join(tmpdir(), 'tegami-postfix-'));
  // mkdtemp makes it 0700: Postfix's daemons run as the postfix user and must get in.
  chmodSync(dir, 0o755);
  const conf = join(dir, 'conf');
  const data = join(dir, 'data');
  const mail = join(dir, 'mail');
  for (const d of [conf, data, join(dir, 'queue'), mail]) mkdirSync(d, { recursive: true });
  const uid = Number(execFileSync('id', ['-u', 'nobody']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'nobody']).toString().trim());
  const postfixUid = Number(execFileSync('id', ['-u', 'postfix']).toString().trim());
  chownSync(mail, uid, gid);
  chownSync(data, postfixUid, -1);
  const log = join(dir, 'postfix.log');
  writeFileSync(
    join(conf, 'main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${join(dir, 'queue')}`,
      `data_directory = ${data}`,
      `myhostname = mx.${options.domain}`,
      `mydomain = ${options.domain}`,
      'mydestination =',
      // The listener's own address is in master.cf; Postfix only knows 127.0.0.1 as an
      // interface, not the rest of 127.0.0.0/8.
      'inet_interfaces = all',
      'inet_protocols = ipv4',
      'mynetworks = 127.0.0.0/8',
      'maillog_file_prefixes = /tmp',
      `maillog_file = ${log}`,
      `virtual_mailbox_domains = ${options.domain}`,
      `virtual_mailbox_base = ${mail}`,
      `virtual_mailbox_maps = hash:${join(conf, 'vmailbox')}`,
      `virtual_uid_maps = static:${uid}`,
      `virtual_gid_maps = static:${gid}`,
      `transport_maps = hash:${join(conf, 'transport')}`,
      'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
      'alias_maps =',
      'alias_database =',
      'smtp_dns_support_level = disabled',
      `smtp_bind_address = ${options.ip}`,
      'smtp_tls_security_level = may',
      // A milter that does not answer fails the message (4xx) instead of letting it by unchecked.
      ...(options.milter ? [`smtpd_milters = ${options.milter}`, 'milter_default_action = tempfail'] : []),
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(conf, 'vmailbox'),
    options.users.map((u) => `${u}@${options.domain} ${options.domain}/${u}/\n`).join(''),
  );
  writeFileSync(
    join(conf, 'transport'),
    Object.entries(options.relays)
      .map(([domain, target]) => {
        const colon = target.lastIndexOf(':');
        return `${domain} smtp:[${target.slice(0, colon)}]:${target.slice(colon + 1)}\n`;
      })
      .join(''),
  );
  // Debian's pristine copy: /etc/postfix/master.cf is only written when Postfix is configured.
  copyFileSync('/usr/share/postfix/master.cf.dist', join(conf, 'master.cf'));
  const master = readFileSync(join(conf, 'master.cf'), 'utf8').replace(
    /^smtp\s+inet.*$/m,
    `${options.ip}:${options.port} inet n - n - - smtpd`,
  );
  writeFileSync(join(conf, 'master.cf'), master);
  execFileSync('postmap', ['-c', conf, join(conf, 'vmailbox')]);
  execFileSync('postmap', ['-c', conf, join(conf, 'transport')]);
  try {
    execFileSync('/usr/sbin/postfix', ['-c', conf, 'start'], { stdio: 'pipe' });
  } catch (err) {
    // Postfix says why only to syslog or to a terminal; its own log may have it.
    const said = existsSync(log) ? readFileSync(log, 'utf8') : '(no log)';
    throw new Error(`postfix did not start: ${(err as Error).message}\n${said}`);
  }
  return {
    log: () => (existsSync(log) ? readFileSync(log, 'utf8') : ''),
    maildir(user) {
      const box = join(mail, options.domain, user, 'new');
      if (!existsSync(box)) return [];
      return readdirSync(box)
        .sort()
        .map((file) => readFileSync(join(box, file), 'utf8'));
    },
    stop() {
      try {
        execFileSync('/usr/sbin/postfix', ['-c', conf, 'stop'], { stdio: 'pipe' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
