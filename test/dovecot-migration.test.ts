import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { createMemoryBus, type MailBus } from '@tegami/bus';
import { createLogger, createMetricsRegistry, DEFAULT_ABUSE_LIMITS } from '@tegami/runtime';
import { addDomain, migrate, openStore, type StorePool } from '@tegami/store';
import { createTestDatabase, freePort, LineClient, type TestDatabase, testNats } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImapGateway, startImapGateway } from '../services/imap-gateway/src/imap-gateway.js';
import { type PopGateway, startPopGateway } from '../services/pop-gateway/src/pop-gateway.js';
import { type SmtpIngress, startSmtpIngress } from '../services/smtp-ingress/src/smtp-ingress.js';
import { dovecotInstalled, greeting, idOf, run } from './support/dovecot-imap.js';
import {
  ImapTestClient,
  isImapAtom,
  isImapString,
  parseFetchResponse,
  parseImapValues,
} from './support/imap-client.js';
import { runInRepo } from './support/processes.js';
import { type SaslClientMechanism, saslClient } from './support/sasl-client.js';

// Moving users from a Dovecot to Tegami, as an operator does it: Dovecot's passwd-file (its
// hashes made by `doveadm pw`) goes through `tegami user import`, each user's Maildir through
// `tegami import maildir`, and then the users log in to Tegami with their old passwords
// (IMAP LOGIN, POP3 USER/PASS, SMTP AUTH PLAIN: each the first login of one user) and find
// the folders, messages and flags they left in Dovecot. After that first login the old hash
// is gone and SCRAM-SHA-256, which could not work before, does.

const execFileAsync = promisify(execFile);
const DOMAIN = 'example.org';
const USERS = {
  ann: { scheme: 'SHA512-CRYPT', password: 'ann old password 1' },
  bob: { scheme: 'BLF-CRYPT', password: 'bob-Old-Pass_2' },
  carol: { scheme: 'ARGON2ID', password: 'carol.old.password' },
} as const;
type User = keyof typeof USERS;
const address = (user: User) => `${user}@${DOMAIN}`;

/** What a user sees over IMAP: their folders, and per folder each message's UID, flags and bytes. */
interface MailboxView {
  readonly folders: readonly string[];
  readonly messages: Readonly<Record<string, readonly string[]>>;
}

const dir = mkdtempSync(join(tmpdir(), 'tegami-dovecot-migration-'));
const conf = join(dir, 'dovecot.conf');
const passwdFile = join(dir, 'users');
const mail = join(dir, 'mail');
const dovecotViews = new Map<User, MailboxView>();

let database: TestDatabase;
let store: StorePool;
let bus: MailBus;
let imap: ImapGateway;
let pop: PopGateway;
let smtp: SmtpIngress;
let natsEnv: Record<string, string>;

const tegami = (...args: string[]) =>
  runInRepo('node', ['--conditions=tegami-source', '--import', 'tsx', 'packages/cli/src/main.ts', ...args], {
    DATABASE_URL: database.url,
    ...natsEnv,
  });

describe.skipIf(!dovecotInstalled())('moving users from Dovecot, with their passwords and mail', () => {
  beforeAll(async () => {
    await fillDovecot();
    database = await createTestDatabase();
    store = openStore({ url: database.url, poolSize: 8 });
    await migrate(store.pool);
    await addDomain(store.pool, DOMAIN);
    const nats = await testNats();
    natsEnv = { NATS_URL: nats.url, TEGAMI_NATS_PREFIX: nats.prefix };

    const imported = await tegami('user', 'import', passwdFile);
    expect(imported, imported.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(imported.stdout).toContain(
      `line 1: created ann@${DOMAIN} ({SHA512-CRYPT}), postmaster of its domain`,
    );
    expect(imported.stdout).toContain(`line 2: created bob@${DOMAIN} ({BLF-CRYPT})`);
    expect(imported.stdout).toContain(
      '3 users: 3 created, 0 updated, 0 unchanged, 0 skipped, 0 failed (read as passwd-file)',
    );
    for (const user of ['ann', 'bob'] as const) {
      const copied = await tegami(
        'import',
        'maildir',
        join(mail, DOMAIN, user, 'Maildir'),
        '--user',
        address(user),
      );
      expect(copied, copied.stderr).toMatchObject({ code: 0 });
    }

    bus = createMemoryBus();
    const common = {
      pool: store.pool,
      bus,
      hostname: 'mail.example.org',
      host: '127.0.0.1',
      tls: undefined,
      // Cleartext logins over loopback: the gateways allow them there.
      allowPlaintextAuth: false,
      abuseLimits: { ...DEFAULT_ABUSE_LIMITS, baseDelayMs: 0 },
    };
    imap = await startImapGateway({
      ...common,
      logger: createLogger({ service: 'imap-migration', level: 'warn' }),
      metrics: createMetricsRegistry('imap-migration'),
      imapPort: 0,
      imapsPort: undefined,
      idleTimeoutMs: 30_000,
      maxConnections: 20,
      maxConnectionsPerIp: 20,
      maxConnectionsPerUser: 10,
      maxMessageSize: 1_000_000,
    });
    pop = await startPopGateway({
      ...common,
      logger: createLogger({ service: 'pop-migration', level: 'warn' }),
      metrics: createMetricsRegistry('pop-migration'),
      popPort: 0,
      popsPort: undefined,
      idleTimeoutMs: 30_000,
      maxConnections: 20,
      maxConnectionsPerIp: 20,
    });
    smtp = await startSmtpIngress({
      ...common,
      logger: createLogger({ service: 'smtp-migration', level: 'warn' }),
      metrics: createMetricsRegistry('smtp-migration'),
      listeners: [{ name: 'submission', role: 'submission', port: 0, implicitTls: false }],
      maxMessageBytes: 1_000_000,
      maxRecipients: 10,
      maxConnections: 20,
      maxConnectionsPerAddress: 20,
      commandTimeoutMs: 30_000,
      dataTimeoutMs: 30_000,
    });
  }, 180_000);

  afterAll(async () => {
    await smtp?.stop();
    await pop?.stop();
    await imap?.stop();
    await bus?.close();
    await store?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets ann log in over IMAP with her old SHA512-CRYPT password and see what she had in Dovecot', async () => {
    expect(await importedHash('ann')).toMatch(/^\{SHA512-CRYPT\}\$6\$/);
    expect(await imapLogin('ann', 'not her password')).toMatch(/^a NO /);
    expect(await importedHash('ann')).not.toBeNull();

    const view = await mailboxView(imap.ports.imap!, 'ann', USERS.ann.password);
    const before = dovecotViews.get('ann')!;
    // Tegami makes Sent, Drafts… for every user; Dovecot's folders are all there, the same.
    expect(view.folders).toEqual(expect.arrayContaining([...before.folders]));
    for (const folder of before.folders)
      expect(view.messages[folder], folder).toEqual(before.messages[folder]);
    // What Dovecot held: the comparison is of something.
    expect(before.messages.INBOX).toEqual([
      expect.stringMatching(/^1 \(\\Seen\) /),
      expect.stringMatching(/^2 \(\$Important \\Flagged\) /),
      expect.stringMatching(/^3 \(\$Label1 \\Answered\) /),
    ]);
    expect(before.messages['Work/Projects']).toEqual([
      expect.stringMatching(/^1 \(ProjectX \\Answered \\Seen\) /),
    ]);

    expect(await importedHash('ann')).toBeNull();
    expect(await imapAuthenticate('ann', 'SCRAM-SHA-256', USERS.ann.password)).toMatch(/^a OK /);
    expect(await imapLogin('ann', USERS.ann.password)).toMatch(/^a OK /);
  });

  it('fails SCRAM for bob until his first cleartext login (POP3 USER/PASS, BLF-CRYPT), then takes it', async () => {
    expect(await imapAuthenticate('bob', 'SCRAM-SHA-256', USERS.bob.password)).toMatch(/^a NO /);
    const client = await LineClient.connect(pop.ports.pop!);
    try {
      expect(await client.readLine()).toMatch(/^\+OK/);
      client.write(`USER ${address('bob')}\r\nPASS ${USERS.bob.password}\r\n`);
      expect(await client.readLine()).toMatch(/^\+OK/);
      expect(await client.readLine()).toMatch(/^\+OK/);
      client.write('STAT\r\n');
      const inbox = dovecotViews.get('bob')!.messages.INBOX!;
      expect(await client.readLine()).toMatch(new RegExp(`^\\+OK ${inbox.length} `));
      client.write('QUIT\r\n');
      expect(await client.readLine()).toMatch(/^\+OK/);
    } finally {
      client.close();
    }
    expect(await importedHash('bob')).toBeNull();
    expect(await imapAuthenticate('bob', 'SCRAM-SHA-256', USERS.bob.password)).toMatch(/^a OK /);
    const view = await mailboxView(imap.ports.imap!, 'bob', USERS.bob.password);
    expect(view.messages.INBOX).toEqual(dovecotViews.get('bob')!.messages.INBOX);
  });

  it('takes carol’s ARGON2ID password at her first SMTP AUTH, then SCRAM there too', async () => {
    expect(await smtpAuth('carol', 'PLAIN', 'wrong')).toMatch(/^535/);
    expect(await smtpAuth('carol', 'SCRAM-SHA-256', USERS.carol.password)).toMatch(/^535/);
    expect(await smtpAuth('carol', 'PLAIN', USERS.carol.password)).toMatch(/^235/);
    expect(await importedHash('carol')).toBeNull();
    expect(await smtpAuth('carol', 'SCRAM-SHA-256', USERS.carol.password)).toMatch(/^235/);
  });

  it('changes nothing when run again with --update: passwords used in Tegami stay', async () => {
    const again = await tegami('user', 'import', passwdFile, '--update');
    expect(again).toMatchObject({ code: 0, stderr: '' });
    // All three have logged in since: their Tegami passwords stay.
    expect(again.stdout).toContain('3 users: 0 created, 0 updated, 3 unchanged, 0 skipped, 0 failed');
    expect(await imapLogin('ann', USERS.ann.password)).toMatch(/^a OK /);
  });
});

async function importedHash(user: User): Promise<string | null> {
  const result = await store.pool.query('SELECT password_legacy_hash FROM accounts WHERE address = $1', [
    address(user),
  ]);
  return result.rows[0].password_legacy_hash;
}

/** A private Dovecot (passwd-file passdb, Maildir) filled over IMAP, its view recorded, then stopped. */
async function fillDovecot(): Promise<void> {
  chmodSync(dir, 0o755);
  for (const d of [join(dir, 'run'), join(dir, 'state'), mail]) mkdirSync(d, { recursive: true });
  const uid = await idOf('-u', 'nobody');
  const gid = await idOf('-g', 'nobody');
  chownSync(mail, uid, gid);
  const lines: string[] = [];
  for (const [user, { scheme, password }] of Object.entries(USERS)) {
    const hash = (await execFileAsync('doveadm', ['pw', '-s', scheme, '-p', password])).stdout.trim();
    expect(hash.startsWith(`{${scheme}}`)).toBe(true);
    lines.push(`${user}@${DOMAIN}:${hash}::::::`);
  }
  writeFileSync(passwdFile, `${lines.join('\n')}\n`, { mode: 0o644 });
  const output = join(dir, 'dovecot.out');
  const port = await freePort();
  writeFileSync(
    conf,
    [
      `base_dir = ${join(dir, 'run')}`,
      `state_dir = ${join(dir, 'state')}`,
      `instance_name = ${basename(dir)}`,
      `log_path = ${join(dir, 'dovecot.log')}`,
      'protocols = imap',
      'listen = 127.0.0.1',
      'ssl = no',
      'disable_plaintext_auth = no',
      'auth_mechanisms = plain login',
      `passdb {\n  driver = passwd-file\n  args = scheme=CRYPT username_format=%u ${passwdFile}\n}`,
      `userdb {\n  driver = static\n  args = uid=${uid} gid=${gid} home=${mail}/%d/%n\n}`,
      'mail_location = maildir:~/Maildir',
      'namespace inbox {\n  inbox = yes\n  separator = /\n}',
      'mail_fsync = never',
      `service imap-login {\n  inet_listener imap {\n    address = 127.0.0.1\n    port = ${port}\n  }\n  inet_listener imaps {\n    port = 0\n  }\n}`,
      '',
    ].join('\n'),
  );
  const started = await run(['-c', conf], output);
  if (started.code !== 0) throw new Error(`dovecot did not start: ${started.output}`);
  try {
    await greeting(port, 10_000);
    const client = await ImapTestClient.connect(port);
    try {
      await client.login(address('ann'), USERS.ann.password);
      for (const folder of ['Work', 'Work/Projects', 'Lists']) await ok(client.command(`CREATE "${folder}"`));
      await ok(client.command('SUBSCRIBE "Work"'));
      await ok(client.append('INBOX', message('ann', 'Hello'), ['\\Seen']));
      await ok(client.append('INBOX', message('ann', 'Important'), ['\\Flagged', '$Important']));
      await ok(client.append('INBOX', message('ann', 'Unread')));
      await ok(client.append('Work/Projects', message('ann', 'Plan'), ['\\Seen', '\\Answered', 'ProjectX']));
      await ok(client.append('Lists', message('ann', 'Digest'), ['\\Seen']));
      await ok(client.command('SELECT INBOX'));
      await ok(client.command('UID STORE 3 +FLAGS (\\Answered $Label1)'));
      await ok(client.command('UID STORE 1 +FLAGS (\\Deleted)'));
      await ok(client.command('UID STORE 1 -FLAGS (\\Deleted)'));
    } finally {
      await client.close();
    }
    const bob = await ImapTestClient.connect(port);
    try {
      await bob.login(address('bob'), USERS.bob.password);
      await ok(bob.append('INBOX', message('bob', 'One'), ['\\Seen']));
      await ok(bob.append('INBOX', message('bob', 'Two'), ['\\Draft']));
    } finally {
      await bob.close();
    }
    for (const user of ['ann', 'bob'] as const)
      dovecotViews.set(user, await mailboxView(port, user, USERS[user].password));
  } finally {
    await run(['-c', conf, 'stop'], output);
  }
}

function message(user: User, subject: string): Buffer {
  return Buffer.from(
    `From: Someone <someone@elsewhere.example>\r\nTo: ${address(user)}\r\nSubject: ${subject}\r\n` +
      `Date: Mon, 1 Jun 2026 10:00:00 +0000\r\nMessage-ID: <${subject}.${user}@elsewhere.example>\r\n\r\n${subject} body\r\n`,
  );
}

async function ok(pending: Promise<{ tagged: string }>): Promise<void> {
  const { tagged } = await pending;
  if (!/^\S+ OK/.test(tagged)) throw new Error(tagged);
}

/**
 * The folders (LIST "" "*") and, per folder, each message as `uid flags sha256(bytes)`:
 * \Recent left out, which only says which session saw a message first.
 */
async function mailboxView(port: number, user: User, password: string): Promise<MailboxView> {
  const client = await ImapTestClient.connect(port);
  try {
    await client.login(address(user), password);
    const list = await client.command('LIST "" "*"');
    const folders = list.untagged
      .map((line) => parseImapValues(line, '* LIST '.length).at(-1))
      .map((name) =>
        name && isImapString(name) ? name.string.toString('utf8') : isImapAtom(name!) ? name.atom : '',
      )
      .sort();
    const messages: Record<string, string[]> = {};
    for (const folder of folders) {
      await ok(client.command(`EXAMINE "${folder}"`));
      const fetched = await client.command('UID FETCH 1:* (UID FLAGS BODY.PEEK[])');
      messages[folder] = fetched.untagged
        .map((line) => parseFetchResponse(line))
        .filter((f) => f !== null)
        .map(({ items }) => {
          const flags = (items.get('FLAGS') as { atom: string }[])
            .map((f) => f.atom)
            .filter((f) => f !== '\\Recent')
            .sort()
            .join(' ');
          const body = items.get('BODY[]');
          const digest = createHash('sha256')
            .update(body && isImapString(body) ? body.string : Buffer.alloc(0))
            .digest('hex')
            .slice(0, 16);
          return `${(items.get('UID') as { atom: string }).atom} (${flags}) ${digest}`;
        })
        .sort();
    }
    return { folders, messages };
  } finally {
    await client.close();
  }
}

async function imapLogin(user: User, password: string): Promise<string> {
  const client = await LineClient.connect(imap.ports.imap!);
  try {
    await client.readLine();
    return (await client.tagged(`a LOGIN "${address(user)}" "${password}"`)).at(-1)!;
  } finally {
    client.close();
  }
}

const b64 = (data: Buffer) => data.toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64');

async function imapAuthenticate(
  user: User,
  mechanism: SaslClientMechanism,
  password: string,
): Promise<string> {
  const client = await LineClient.connect(imap.ports.imap!);
  try {
    await client.readLine();
    const sasl = saslClient(mechanism, { user: address(user), password, service: 'imap', realm: DOMAIN });
    client.write(`a AUTHENTICATE ${mechanism}${sasl.initial ? ` ${b64(sasl.initial)}` : ''}\r\n`);
    for (;;) {
      const line = await client.readLine();
      if (!line.startsWith('+ ')) return line;
      client.write(`${b64(sasl.respond(unb64(line.slice(2))))}\r\n`);
    }
  } finally {
    client.close();
  }
}

async function smtpAuth(user: User, mechanism: SaslClientMechanism, password: string): Promise<string> {
  const client = await LineClient.connect(smtp.ports['submission']!);
  try {
    await client.readReply();
    await client.command('EHLO client.example.org');
    const sasl = saslClient(mechanism, { user: address(user), password, service: 'smtp', realm: DOMAIN });
    let answer = await client.command(`AUTH ${mechanism}${sasl.initial ? ` ${b64(sasl.initial)}` : ''}`);
    while (answer.code === 334)
      answer = await client.command(b64(sasl.respond(unb64(answer.lines[0]!.slice(4)))));
    return answer.text;
  } finally {
    client.close();
  }
}
