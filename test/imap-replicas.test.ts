import { freePort, runProgram, startTestDnsServer, type TestDnsServer } from '@tegami/testing';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImapTestClient } from './support/imap-client.js';
import { ImapLineClient } from './support/imap-line-client.js';
import { type MailSite, startMailSite } from './support/mail-site.js';

// Two imap-gateway processes on one Postgres and one NATS, as two replicas in Kubernetes:
// an IDLE session on one sees, within a second, a STORE, an APPEND and a MOVE made through
// the other, and a message delivered by the delivery-worker process; NOTIFY (RFC 5465)
// reports other mailboxes' changes made through the other; QRESYNC (RFC 7162) resumes on
// either.

let dns: TestDnsServer;
let site: MailSite;
let mxPort: number;

beforeAll(async () => {
  mxPort = await freePort();
  dns = await startTestDnsServer({ records: {} });
  site = await startMailSite({
    domain: 'imapreplicas.test',
    ip: '127.0.0.17',
    mxPort,
    dnsUpstream: dns.address,
    users: { alice: 'alice-password' },
    imap: 2,
  });
}, 120_000);

afterAll(async () => {
  await site?.stop();
  await dns?.stop();
});

function client(port: number): ImapFlow {
  return new ImapFlow({
    host: site.ip,
    port,
    secure: false,
    auth: { user: 'alice@imapreplicas.test', pass: 'alice-password' },
    logger: false,
    disableAutoIdle: true,
  });
}

async function within(ms: number, check: () => boolean, what: string): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`not seen within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

describe('imap-gateway replicas', () => {
  it('push a STORE, an APPEND, a MOVE and a delivery made elsewhere to an IDLE session within a second', async () => {
    const watcher = client(site.imaps[0]!.port);
    const actor = client(site.imaps[1]!.port);
    await watcher.connect();
    await actor.connect();
    await watcher.mailboxOpen('INBOX');
    const events: string[] = [];
    watcher.on('exists', (e) => events.push(`exists ${e.count}`));
    watcher.on('flags', (e) => events.push(`flags ${e.seq} ${[...e.flags].sort().join(',')}`));
    watcher.on('expunge', (e) => events.push(`expunge ${e.seq}`));
    const idle = watcher.idle();

    // A delivery: swaks to port 25, through smtp-ingress and the delivery-worker.
    const sent = await runProgram(
      'swaks',
      ['--server', `${site.ip}:${mxPort}`, '--from', 'bob@elsewhere.test', '--to', 'alice@imapreplicas.test'],
      { cwd: process.cwd(), env: process.env, stdin: '' },
    );
    expect(sent.code).toBe(0);
    await within(5_000, () => events.includes('exists 1'), 'the delivery');

    // Each within a second of the other replica's answer.
    await actor.append('INBOX', Buffer.from('Subject: appended elsewhere\r\n\r\nhi\r\n'));
    await within(1_000, () => events.includes('exists 2'), 'the APPEND');

    await actor.mailboxOpen('INBOX');
    await actor.messageFlagsAdd('2', ['\\Flagged']);
    await within(
      1_000,
      () => events.some((e) => e.startsWith('flags 2') && e.includes('\\Flagged')),
      'the STORE',
    );

    await actor.messageMove('1', 'Archive');
    await within(1_000, () => events.includes('expunge 1'), 'the MOVE');

    await watcher.logout();
    await idle.catch(() => undefined);
    await actor.logout();
  }, 60_000);

  it('NOTIFY across replica processes: STATUS and LIST for changes made through the other one', async () => {
    const login = async (replica: number) => {
      const c = await ImapLineClient.connect(site.imaps[replica]!.port, site.ip);
      expect((await c.command('LOGIN "alice@imapreplicas.test" "alice-password"')).at(-1)).toMatch(
        /^t\d+ OK/,
      );
      return c;
    };
    const a = await login(0);
    const b = await login(1);
    try {
      await b.command('CREATE Watched');
      await a.command('SELECT INBOX');
      expect(
        (
          await a.command(
            'NOTIFY SET (SELECTED (MessageNew MessageExpunge)) (PERSONAL (MessageNew MessageExpunge MailboxName))',
          )
        ).at(-1),
      ).toMatch(/^t\d+ OK/);
      a.send('IDLE');
      await a.waitFor((l) => l.startsWith('+ '), 5_000);
      const text = 'Subject: watched\r\n\r\nhi\r\n';
      expect((await b.command(`APPEND Watched {${text.length}+}\r\n${text}`)).at(-1)).toMatch(
        /OK \[APPENDUID/,
      );
      const status = await a.waitFor((l) => l.startsWith('* STATUS'), 1_000);
      expect(status.at(-1)).toMatch(/^\* STATUS "Watched" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+/);
      expect((await b.command('CREATE Fresh')).at(-1)).toMatch(/OK/);
      expect((await a.waitFor((l) => l.startsWith('* LIST'), 1_000)).at(-1)).toBe('* LIST () "/" "Fresh"');
      a.send('DONE', false);
      expect((await a.waitFor((l) => /^t\d+ /.test(l), 5_000)).at(-1)).toMatch(/OK/);
    } finally {
      a.close();
      b.close();
    }
  }, 30_000);

  it('QRESYNC across replicas: VANISHED pushed live, and a reconnect to the other replica resynchronises', async () => {
    // imapflow with QRESYNC (as K-9 and Thunderbird use it) on replica 0, in IDLE.
    const watcher = new ImapFlow({
      host: site.ip,
      port: site.imaps[0]!.port,
      secure: false,
      auth: { user: 'alice@imapreplicas.test', pass: 'alice-password' },
      logger: false,
      disableAutoIdle: true,
      qresync: true,
    });
    const actor = client(site.imaps[1]!.port);
    await watcher.connect();
    await actor.connect();
    await actor.mailboxCreate('Resync');
    for (const n of [1, 2, 3, 4])
      await actor.append('Resync', Buffer.from(`Subject: resync ${n}\r\n\r\nhi\r\n`));
    const opened = await watcher.mailboxOpen('Resync');
    const uidValidity = Number(opened.uidValidity);
    const cached = BigInt(opened.highestModseq!);
    const vanished: number[] = [];
    watcher.on('expunge', (e) => {
      if (e.vanished && e.uid !== undefined) vanished.push(e.uid);
    });
    const idle = watcher.idle();
    await actor.mailboxOpen('Resync');
    await actor.messageDelete('1', { uid: true });
    await within(1_000, () => vanished.includes(1), 'the VANISHED');
    await watcher.logout();
    await idle.catch(() => undefined);

    // While the client is away, through replica 1: a flag, and one more message gone.
    await actor.messageFlagsAdd('2', ['\\Flagged'], { uid: true });
    await actor.messageDelete('3', { uid: true });
    await actor.logout();

    // The reconnect, to replica 1, with the UIDVALIDITY and MODSEQ the client cached.
    const raw = await ImapTestClient.connect(site.imaps[1]!.port, site.ip);
    try {
      await raw.login('alice@imapreplicas.test', 'alice-password');
      expect((await raw.command('ENABLE QRESYNC')).tagged).toMatch(/OK/);
      const answer = await raw.command(`SELECT Resync (QRESYNC (${uidValidity} ${cached} 1:4))`);
      const lines = answer.untagged.map((b) => b.toString('utf8'));
      expect(answer.tagged).toMatch(/OK \[READ-WRITE\]/);
      expect(lines).toContain('* VANISHED (EARLIER) 1,3');
      const fetches = lines.filter((l) => / FETCH /.test(l));
      expect(fetches).toHaveLength(1);
      expect(fetches[0]).toMatch(/^\* 1 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \((\d+)\)\)$/);
      expect(BigInt(/MODSEQ \((\d+)\)/.exec(fetches[0]!)![1]!) > cached).toBe(true);
    } finally {
      await raw.close();
    }
  }, 60_000);
});
