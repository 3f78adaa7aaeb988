import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { srsReverse } from '@tegami/protocol';
import { findAccount, traceMessages } from '@tegami/store';
import {
  freePort,
  LineClient,
  type ScriptedPeer,
  startScriptedPeer,
  startTestDnsServer,
  type TestDnsServer,
} from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImapTestClient } from './support/imap-client.js';
import { type MailSite, startMailSite } from './support/mail-site.js';

// Sieve at delivery with real processes (issue 19): smtp-ingress takes mail on port 25, the
// delivery-worker runs each recipient's script (stored as ManageSieve stores it), the user
// reads the result over IMAP, and what the scripts send (refusals, vacation replies,
// redirects) reaches other domains' MTAs. Then the worker is SIGKILLed in the middle of a
// scripted delivery and started again: no action happens twice.

const SECRET = 'sieve-delivery-e2e-srs-secret';
const scratch = mkdtempSync(join(tmpdir(), 'tegami-sieve-e2e-'));
let dns: TestDnsServer;
let site: MailSite;
let origin: ScriptedPeer;
let away: ScriptedPeer;
let mxPort: number;

const ALICE = `require ["fileinto", "imap4flags", "reject", "mailbox"];
if header :contains "List-Id" "dev.lists.origin.test" { fileinto :create "Lists/dev"; stop; }
if header :contains "Subject" "urgent" { addflag "\\\\Flagged"; }
if header :contains "Subject" "unwanted" { reject "Alice does not take unsolicited offers."; stop; }
if header :contains "Subject" "for carol" { redirect "carol@away.test"; stop; }
`;
const BOB = 'require "vacation";\nvacation :days 1 :subject "Bob is away" "Back on Monday.";\n';
const DAVE = `require ["vacation", "copy"];
redirect :copy "dave@away.test";
vacation :days 1 "Dave is away.";
`;

beforeAll(async () => {
  mxPort = await freePort();
  dns = await startTestDnsServer({
    records: {
      'origin.test': { mx: [{ preference: 10, exchange: 'mx.origin.test' }] },
      'mx.origin.test': { a: ['127.0.0.172'] },
      'away.test': { mx: [{ preference: 10, exchange: 'mx.away.test' }] },
      'mx.away.test': { a: ['127.0.0.173'] },
    },
  });
  const secretFile = join(scratch, 'srs.secret');
  writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
  origin = await startScriptedPeer({}, '127.0.0.172', mxPort);
  away = await startScriptedPeer({}, '127.0.0.173', mxPort);
  site = await startMailSite({
    domain: 'sieve.test',
    ip: '127.0.0.171',
    mxPort,
    dnsUpstream: dns.address,
    users: { alice: 'alice-password', bob: 'bob-password', dave: 'dave-password' },
    env: { TEGAMI_SRS_SECRET_FILE: secretFile },
    imap: 1,
  });
  for (const [user, script] of [
    ['alice', ALICE],
    ['bob', BOB],
    ['dave', DAVE],
  ] as const) {
    const account = await findAccount(site.store.pool, `${user}@sieve.test`);
    await site.store.pool.query(
      `INSERT INTO sieve_scripts (account_id, name, content, active) VALUES ($1, 'main', $2, true)`,
      [account!.id, script],
    );
  }
}, 180_000);

afterAll(async () => {
  await site?.stop();
  await origin?.stop();
  await away?.stop();
  await dns?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** One message from a stranger to the MX port; the queue id of its 250. */
async function send(from: string, to: string, subject: string, extra = ''): Promise<string> {
  const client = await LineClient.connect(mxPort, { host: site.ip });
  try {
    expect((await client.readReply()).code).toBe(220);
    for (const command of ['EHLO client.origin.test', `MAIL FROM:<${from}>`, `RCPT TO:<${to}>`, 'DATA'])
      expect((await client.command(command)).code).toBeLessThan(400);
    const id = `${Math.random().toString(36).slice(2)}@origin.test`;
    client.write(
      `From: <${from || 'mailer-daemon@origin.test'}>\r\nTo: <${to}>\r\nSubject: ${subject}\r\nMessage-ID: <${id}>\r\n${extra}\r\nHello.\r\n.\r\n`,
    );
    const done = await client.readReply(30_000);
    expect(done.code).toBe(250);
    return /queued as (\S+)/.exec(done.text)![1]!;
  } finally {
    client.close();
  }
}

async function settled(queueId: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await site.store.pool.query(
      `SELECT q.state, count(d.*) FILTER (WHERE d.status IN ('pending', 'deferred'))::int AS waiting
         FROM queue q JOIN deliveries d ON d.queue_id = q.id WHERE q.id = $1 GROUP BY q.state`,
      [queueId],
    );
    if (result.rows[0]?.state === 'done' && result.rows[0].waiting === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${queueId} not settled; worker said:\n${site.worker().output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function arrivals(peer: ScriptedPeer, count: number, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (peer.transactions.length < count) {
    if (Date.now() > deadline)
      throw new Error(
        `${peer.transactions.length} of ${count} arrived; worker said:\n${site.worker().output().slice(-3000)}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
  return peer.transactions;
}

const to = (peer: ScriptedPeer, address: string) =>
  peer.transactions.filter((x) => x.rcpts.some((r) => r.address === address));

/** Subjects and flags (\Recent aside) of a mailbox, read over IMAP as its owner. */
async function imapMailbox(user: string, password: string, mailbox: string) {
  const imap = await ImapTestClient.connect(site.imaps[0]!.port, site.ip);
  try {
    await imap.login(user, password);
    const selected = await imap.command(`SELECT "${mailbox}"`);
    if (!selected.tagged.includes('OK')) return [];
    const fetched = await imap.command('FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    return fetched.untagged
      .map((line) => line.toString('utf8'))
      .filter((line) => /FETCH/.test(line))
      .map((line) => ({
        subject: /Subject: ([^\r\n]*)/.exec(line)?.[1] ?? '',
        flags: (/FLAGS \(([^)]*)\)/.exec(line)?.[1] ?? '')
          .split(' ')
          .filter((f) => f !== '' && f !== '\\Recent'),
      }));
  } finally {
    await imap.close();
  }
}

describe('Sieve at delivery, end to end', () => {
  it('files, flags, rejects and redirects as the scripts say', async () => {
    const ids = [
      await send(
        'news@origin.test',
        'alice@sieve.test',
        'dev digest',
        'List-Id: Dev list <dev.lists.origin.test>\r\n',
      ),
      await send('sam@origin.test', 'alice@sieve.test', 'urgent: call me'),
      await send('spam@origin.test', 'alice@sieve.test', 'unwanted offer'),
      await send('sam@origin.test', 'alice@sieve.test', 'for carol'),
    ];
    for (const id of ids) await settled(id);

    expect(await imapMailbox('alice@sieve.test', 'alice-password', 'Lists/dev')).toEqual([
      { subject: 'dev digest', flags: [] },
    ]);
    const inbox = await imapMailbox('alice@sieve.test', 'alice-password', 'INBOX');
    expect(inbox.map((m) => m.subject)).toEqual(['urgent: call me']);
    expect(inbox[0]!.flags).toContain('\\Flagged');

    // The refusal goes back to the sender from <>, as an MDN (RFC 5429 §2.1).
    await arrivals(origin, 1);
    const [refusal] = to(origin, 'spam@origin.test');
    expect(refusal!.mailFrom).toBe('');
    expect(refusal!.data.toString()).toContain('Alice does not take unsolicited offers.');
    expect(refusal!.data.toString()).toMatch(/report-type="?disposition-notification/);

    // The redirect leaves from an SRS address of sieve.test, like alias forwarding.
    const [redirected] = await arrivals(away, 1);
    expect(redirected!.rcpts.map((r) => r.address)).toEqual(['carol@away.test']);
    expect(srsReverse(redirected!.mailFrom, { secrets: [SECRET] }, new Date())).toEqual({
      kind: 'decoded',
      address: 'sam@origin.test',
    });
    expect(redirected!.data.toString()).toContain('Subject: for carol');

    const trace = await site.tegami(['trace', ids[0]!]);
    expect(trace.stdout).toContain('sieve: fileinto "Lists/dev" (created) → uid 1');
  }, 120_000);

  it('answers on vacation once per sender, never to a list message or a bounce', async () => {
    const before = origin.transactions.length;
    const ids = [
      await send('pat@origin.test', 'bob@sieve.test', 'question'),
      await send('pat@origin.test', 'bob@sieve.test', 'another question'),
      await send('news@origin.test', 'bob@sieve.test', 'weekly news', 'List-Id: <news.origin.test>\r\n'),
      await send('', 'bob@sieve.test', 'a bounce'),
      await send('quinn@origin.test', 'bob@sieve.test', 'hello bob'),
    ];
    for (const id of ids) await settled(id);
    await arrivals(origin, before + 2);
    // Anything more would have had time to arrive while the last replies did.
    await new Promise((r) => setTimeout(r, 2000));
    const replies = origin.transactions.slice(before);
    expect(replies.map((x) => [x.mailFrom, x.rcpts.map((r) => r.address)]).sort()).toEqual([
      ['', ['pat@origin.test']],
      ['', ['quinn@origin.test']],
    ]);
    expect(replies[0]!.data.toString()).toContain('Subject: Bob is away');
    expect(await imapMailbox('bob@sieve.test', 'bob-password', 'INBOX')).toHaveLength(5);
  }, 120_000);

  it('does no action twice when the delivery-worker is SIGKILLed in the middle of a delivery', async () => {
    const dave = await findAccount(site.store.pool, 'dave@sieve.test');
    const awayBefore = to(away, 'dave@away.test').length;
    const originBefore = to(origin, 'una@origin.test').length;
    // Hold Dave's INBOX row: the worker's transaction (the delivery row locked, the script
    // run, its actions being written) waits there to allocate the UID when it is killed.
    const blocker = await site.store.pool.connect();
    let queueId: string;
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM mailboxes WHERE account_id = $1 AND name = 'INBOX' FOR UPDATE`, [
        dave!.id,
      ]);
      queueId = await send('una@origin.test', 'dave@sieve.test', 'while you were out');
      const deadline = Date.now() + 30_000;
      for (;;) {
        const waiting = await site.store.pool.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%uidnext%'`,
        );
        if (waiting.rows[0].n > 0) break;
        if (Date.now() > deadline) throw new Error('the worker never reached the mailbox lock');
        await new Promise((r) => setTimeout(r, 50));
      }
      const claimed = await site.store.pool.query(
        `SELECT claimed_by FROM deliveries WHERE queue_id = $1 AND recipient = 'dave@sieve.test'`,
        [queueId],
      );
      expect(claimed.rows[0].claimed_by).not.toBeNull();
      site.worker().signal('SIGKILL');
      await site.worker().exited(10_000);
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
    // Nothing of the killed run survives it.
    const sent = await site.store.pool.query(`SELECT count(*)::int AS n FROM queue WHERE reports_on = $1`, [
      queueId,
    ]);
    expect(sent.rows[0].n).toBe(0);

    await site.startWorker();
    // JetStream hands the job out again once its ack wait is over, and the claim of the
    // killed worker has run out by then.
    await settled(queueId, 150_000);
    await arrivals(away, awayBefore + 1, 60_000);
    await new Promise((r) => setTimeout(r, 3000));
    expect(to(away, 'dave@away.test')).toHaveLength(awayBefore + 1);
    expect(to(origin, 'una@origin.test')).toHaveLength(originBefore + 1);
    expect(await imapMailbox('dave@sieve.test', 'dave-password', 'INBOX')).toEqual([
      { subject: 'while you were out', flags: [] },
    ]);
    // One attempt, the restarted worker's: the killed one left no trace but its claim.
    const [traced] = await traceMessages(site.store.pool, queueId);
    const daveTrace = traced!.recipients.find((r) => r.recipient === 'dave@sieve.test')!;
    expect(daveTrace.attempts.map((a) => a.outcome)).toEqual(['delivered']);
    const trace = await site.tegami(['trace', queueId]);
    expect(trace.stdout).toContain('sieve: vacation to <una@origin.test>: queued as');
    expect(trace.stdout).toContain('sieve: redirect to <dave@away.test>');
  }, 300_000);
});
