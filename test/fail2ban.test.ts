import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  LineClient,
  type ProgramRun,
  runProgram,
  startTestDnsServer,
  type TestDnsServer,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSite, startMailSite } from './support/mail-site.js';
import { REPO_ROOT } from './support/processes.js';

// The fail2ban filters of deploy/fail2ban/, run by Debian's fail2ban-regex on the lines
// that smtp-ingress, pop-gateway and imap-gateway processes really write when real clients
// (swaks, curl, and raw protocol exchanges) fail to log in, try unknown recipients and try
// to relay, each from a 127.13.x.y address of its own.

const FILTERS = join(REPO_ROOT, 'deploy/fail2ban/filter.d');
const HOSTILE = 'x","client":"6.6.6.6';

let dns: TestDnsServer;
let site: MailSite;
let mxPort: number;
let work: string;
/** Every source address that failed a login, once per failure. */
const failedLogins: string[] = [];
/** Every source address that had a recipient refused (unknown user or relay). */
const refusedRecipients: string[] = [];

const run = (command: string, args: string[]): Promise<ProgramRun> =>
  runProgram(command, args, { cwd: REPO_ROOT, env: process.env, stdin: '' });

async function swaks(from: string, args: string[]): Promise<ProgramRun> {
  return run('swaks', ['--server', site.ip, '--local-interface', from, '--timeout', '20', ...args]);
}

/** SMTP AUTH on the submission port with one mechanism. */
async function smtpAuth(from: string, mechanism: string, user: string, password: string) {
  return swaks(from, [
    '--port',
    String(site.submissionPort),
    '--auth',
    mechanism,
    '--auth-user',
    user,
    '--auth-password',
    password,
    '--quit-after',
    'AUTH',
  ]);
}

/** curl's POP3 or IMAP client, logging in with one SASL mechanism. */
async function curlLogin(
  protocol: 'pop3' | 'imap',
  from: string,
  mechanism: string,
  user: string,
  password: string,
) {
  const port = protocol === 'pop3' ? site.popPort : site.imaps[0]!.port;
  return run('curl', [
    '--silent',
    '--show-error',
    '--max-time',
    '20',
    '--interface',
    from,
    '--login-options',
    `AUTH=${mechanism}`,
    '--user',
    `${user}:${password}`,
    `${protocol}://${site.ip}:${port}/${protocol === 'imap' ? 'INBOX' : ''}`,
  ]);
}

/** Python's imaplib, with the IMAP LOGIN command (curl 7.88 cannot be told to use it). */
async function imaplibLogin(from: string, user: string, password: string) {
  const script = `
import imaplib, socket, sys
class Bound(imaplib.IMAP4):
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(sys.argv[3], 0))
client = Bound(sys.argv[1], int(sys.argv[2]), timeout=20)
try:
    client.login(sys.argv[4], sys.argv[5])
    print('OK')
except imaplib.IMAP4.error as e:
    print('NO', e)
`;
  return run('python3', ['-c', script, site.ip, String(site.imaps[0]!.port), from, user, password]);
}

/** The three services' output so far, as written to standard output. */
function serviceLogs(): string {
  return [
    site.ingresses[0]!.replica.program().output(),
    site.pops[0]!.program.output(),
    site.imaps[0]!.program.output(),
  ]
    .join('\n')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .join('\n');
}

async function fail2banIps(logFile: string, filter: string): Promise<string[]> {
  const result = await run('fail2ban-regex', ['--out', 'ip', logFile, join(FILTERS, filter)]);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.split('\n').filter(Boolean).sort();
}

beforeAll(async () => {
  mxPort = await freePort();
  dns = await startTestDnsServer({ records: {} });
  work = mkdtempSync(join(tmpdir(), 'tegami-fail2ban-'));
  // CRAM-MD5 and DIGEST-MD5 are offered only with a key to seal their secrets.
  const keyFile = join(work, 'secrets.key');
  writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  site = await startMailSite({
    env: { TEGAMI_SECRETS_KEY_FILE: keyFile },
    domain: 'f2b.test',
    ip: '127.0.0.113',
    mxPort,
    dnsUpstream: dns.address,
    users: { alice: 'alice-password' },
    pop: true,
    imap: 1,
  });

  // Failed logins: each from an address of its own (the per-address throttle stays out of
  // the way) and mostly on names of their own (so does the per-account delay).
  const failures: [string, () => Promise<unknown>][] = [
    ['127.13.1.1', () => smtpAuth('127.13.1.1', 'PLAIN', 'alice@f2b.test', 'wrong')],
    ['127.13.1.2', () => smtpAuth('127.13.1.2', 'LOGIN', 'bob@f2b.test', 'wrong')],
    ['127.13.1.3', () => smtpAuth('127.13.1.3', 'CRAM-MD5', 'carol@f2b.test', 'wrong')],
    ['127.13.1.4', () => smtpAuth('127.13.1.4', 'PLAIN', HOSTILE, 'wrong')],
    ['127.13.2.1', () => curlLogin('pop3', '127.13.2.1', 'PLAIN', 'alice@f2b.test', 'wrong')],
    ['127.13.2.2', () => curlLogin('pop3', '127.13.2.2', 'LOGIN', 'dave@f2b.test', 'wrong')],
    ['127.13.2.3', () => curlLogin('pop3', '127.13.2.3', 'CRAM-MD5', 'erin@f2b.test', 'wrong')],
    ['127.13.2.4', () => rawLogin('pop3', '127.13.2.4', HOSTILE)],
    ['127.13.3.1', () => curlLogin('imap', '127.13.3.1', 'PLAIN', 'alice@f2b.test', 'wrong')],
    ['127.13.3.2', () => imaplibLogin('127.13.3.2', 'frank@f2b.test', 'wrong')],
    ['127.13.3.3', () => curlLogin('imap', '127.13.3.3', 'DIGEST-MD5', 'grace@f2b.test', 'wrong')],
    ['127.13.3.4', () => rawLogin('imap', '127.13.3.4', HOSTILE)],
  ];
  await Promise.all(failures.map(([, attempt]) => attempt()));
  failedLogins.push(...failures.map(([address]) => address));

  // Logins that work must not count.
  const ok = await Promise.all([
    smtpAuth('127.13.4.1', 'PLAIN', 'alice@f2b.test', 'alice-password'),
    curlLogin('pop3', '127.13.4.2', 'PLAIN', 'alice@f2b.test', 'alice-password'),
    curlLogin('imap', '127.13.4.3', 'PLAIN', 'alice@f2b.test', 'alice-password'),
  ]);
  for (const result of ok) expect(result.code, result.stdout + result.stderr).toBe(0);

  // Port 25: an unknown local user, a relay attempt, a hostile quoted local part, and a
  // recipient that exists (not counted).
  const mx = (from: string, to: string) =>
    swaks(from, [
      '--port',
      String(mxPort),
      '--from',
      'someone@elsewhere.test',
      '--to',
      to,
      '--quit-after',
      'RCPT',
    ]);
  await Promise.all([
    mx('127.13.5.1', 'nobody@f2b.test'),
    mx('127.13.5.2', 'victim@elsewhere.test'),
    rawRcpt('127.13.5.3', `<"${HOSTILE.replaceAll('"', '\\"')}"@f2b.test>`),
    mx('127.13.5.4', 'alice@f2b.test'),
  ]);
  refusedRecipients.push('127.13.5.1', '127.13.5.2', '127.13.5.3');

  // The lines are written before each answer; wait for them all the same.
  const deadline = Date.now() + 10_000;
  while (countEvents(serviceLogs(), 'auth_failed') < failedLogins.length && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
}, 180_000);

afterAll(async () => {
  await site?.stop();
  await dns?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A login with a hostile user name, in the protocol's own quoting. */
async function rawLogin(protocol: 'pop3' | 'imap', from: string, user: string): Promise<void> {
  const port = protocol === 'pop3' ? site.popPort : site.imaps[0]!.port;
  const client = await LineClient.connect(port, { host: site.ip, localAddress: from });
  try {
    await client.readLine();
    if (protocol === 'pop3') {
      client.write(`USER ${user}\r\n`);
      await client.readLine();
      client.write('PASS wrong\r\n');
      expect(await client.readLine()).toBe('-ERR [AUTH] authentication failed');
    } else {
      const quoted = user.replaceAll('\\', '\\\\').replaceAll('"', '\\"');
      expect((await client.tagged(`a1 LOGIN "${quoted}" "wrong"`)).at(-1)).toMatch(
        /^a1 NO \[AUTHENTICATIONFAILED\]/,
      );
    }
  } finally {
    client.close();
  }
}

async function rawRcpt(from: string, recipient: string): Promise<void> {
  const client = await LineClient.connect(mxPort, { host: site.ip, localAddress: from });
  try {
    await client.readReply();
    await client.command('EHLO client.test');
    await client.command('MAIL FROM:<someone@elsewhere.test>');
    expect((await client.command(`RCPT TO:${recipient}`)).code).toBe(550);
  } finally {
    client.close();
  }
}

function countEvents(logs: string, event: string): number {
  return logs.split('\n').filter((line) => line.includes(`"event":"${event}"`)).length;
}

describe('fail2ban filters on real log lines', () => {
  it('tegami-auth finds every failed login over SMTP, POP3 and IMAP, by the address that failed', async () => {
    const logs = serviceLogs();
    const file = join(work, 'tegami.log');
    writeFileSync(file, `${logs}\n`);
    expect(countEvents(logs, 'auth_failed')).toBe(failedLogins.length);
    expect(await fail2banIps(file, 'tegami-auth.conf')).toEqual([...failedLogins].sort());

    // Each line names the protocol and mechanism and the user as the client gave it.
    const lines = logs
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line['event'] === 'auth_failed');
    const seen = lines.map((l) => `${l['client']} ${l['protocol']} ${l['mechanism']} ${l['user']}`).sort();
    expect(seen).toEqual(
      [
        '127.13.1.1 smtp PLAIN alice@f2b.test',
        '127.13.1.2 smtp LOGIN bob@f2b.test',
        '127.13.1.3 smtp CRAM-MD5 carol@f2b.test',
        `127.13.1.4 smtp PLAIN ${HOSTILE}`,
        '127.13.2.1 pop3 PLAIN alice@f2b.test',
        '127.13.2.2 pop3 LOGIN dave@f2b.test',
        '127.13.2.3 pop3 CRAM-MD5 erin@f2b.test',
        `127.13.2.4 pop3 USER ${HOSTILE}`,
        '127.13.3.1 imap PLAIN alice@f2b.test',
        '127.13.3.2 imap LOGIN frank@f2b.test',
        '127.13.3.3 imap DIGEST-MD5 grace@f2b.test',
        `127.13.3.4 imap LOGIN ${HOSTILE}`,
      ].sort(),
    );
  });

  it('is not fooled by a user name that imitates the address field, nor by logins that worked', async () => {
    const logs = serviceLogs();
    expect(logs).toContain(String.raw`"user":"x\",\"client\":\"6.6.6.6"`);
    const file = join(work, 'hostile.log');
    writeFileSync(file, `${logs}\n`);
    const ips = await fail2banIps(file, 'tegami-auth.conf');
    expect(ips).not.toContain('6.6.6.6');
    expect(ips.filter((ip) => ip.startsWith('127.13.4.'))).toEqual([]);
    // The successful logins were logged (and are not what matched).
    expect(logs).toMatch(/"client":"127\.13\.4\.2".*"msg":"POP3 login"/);
  });

  it('tegami-smtp finds unknown recipients and relay attempts on port 25, and nothing else', async () => {
    const logs = serviceLogs();
    const file = join(work, 'smtp.log');
    writeFileSync(file, `${logs}\n`);
    expect(await fail2banIps(file, 'tegami-smtp.conf')).toEqual([...refusedRecipients].sort());
    const events = logs
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line['event'] === 'rcpt_refused' || line['event'] === 'relay_denied');
    expect(events.map((e) => [e['event'], e['client'], e['code'], e['from'], e['to']])).toEqual(
      expect.arrayContaining([
        ['rcpt_refused', '127.13.5.1', 550, 'someone@elsewhere.test', 'nobody@f2b.test'],
        ['relay_denied', '127.13.5.2', 554, 'someone@elsewhere.test', 'victim@elsewhere.test'],
      ]),
    );
    expect(events).toHaveLength(3);
  });

  it('reads the same lines from the journal (host ident[pid]:) and a Kubernetes node log (CRI)', async () => {
    const lines = serviceLogs().split('\n');
    const journald = join(work, 'journal.log');
    writeFileSync(journald, `${lines.map((l) => `mail tegami[4242]: ${l}`).join('\n')}\n`);
    const cri = join(work, 'cri.log');
    writeFileSync(cri, `${lines.map((l) => `2025-01-06T09:00:00.000000000Z stdout F ${l}`).join('\n')}\n`);
    expect(await fail2banIps(journald, 'tegami-auth.conf')).toEqual([...failedLogins].sort());
    expect(await fail2banIps(cri, 'tegami-auth.conf')).toEqual([...failedLogins].sort());
    expect(await fail2banIps(cri, 'tegami-smtp.conf')).toEqual([...refusedRecipients].sort());
  });

  it('the example jails load in fail2ban as shipped, reading the log file', async () => {
    const config = join(work, 'fail2ban');
    cpSync('/etc/fail2ban', config, { recursive: true });
    // Debian's own jail.d turns on sshd, whose log this machine may not have.
    for (const file of readdirSync(join(config, 'jail.d'))) rmSync(join(config, 'jail.d', file));
    for (const file of readdirSync(FILTERS)) cpSync(join(FILTERS, file), join(config, 'filter.d', file));
    const logFile = join(work, 'tegami.log');
    writeFileSync(logFile, `${serviceLogs()}\n`);
    const jail = readFileSync(join(REPO_ROOT, 'deploy/fail2ban/jail.d/tegami.conf'), 'utf8');
    expect(jail).toContain('logpath = /var/log/tegami.log');
    writeFileSync(
      join(config, 'jail.d', 'tegami.conf'),
      jail.replace('logpath = /var/log/tegami.log', `logpath = ${logFile}`),
    );
    const test = await run('fail2ban-client', ['-c', config, '--test']);
    expect(test.code, test.stdout + test.stderr).toBe(0);
    const dump = await run('fail2ban-client', ['-c', config, '-d']);
    expect(dump.stdout).toContain("['add', 'tegami-auth', 'auto']");
    expect(dump.stdout).toContain("['add', 'tegami-smtp', 'auto']");
  });
});
