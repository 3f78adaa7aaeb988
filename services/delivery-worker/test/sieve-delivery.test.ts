import { describeMessage, srsReverse } from '@tegami/protocol';
import { createLogger } from '@tegami/runtime';
import { createAccount, findAccount } from '@tegami/store';
import { type ScriptedPeer, startScriptedPeer } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeliveryWorker } from '../src/delivery-worker.js';
import { createFakeResolver, type TestResolver } from './fake-resolver.js';
import { DOMAIN, HOSTNAME, startTestWorker, type TestWorker, testSettings } from './test-worker.js';

// Sieve at local delivery (RFC 5228 and extensions), against a real Postgres and NATS: every
// action a script asks for happens once, however often the job runs and wherever it stops.

const srs = { secrets: ['sieve-delivery-test-secret'] };
let t: TestWorker;
let resolver: TestResolver;
const peers: ScriptedPeer[] = [];
let nextAddress = 140;

/** A scripted MTA on its own loopback address, published as the MX of `domain`. */
async function peerFor(domain: string): Promise<ScriptedPeer> {
  const address = `127.0.0.${nextAddress++}`;
  const peer = await startScriptedPeer({}, address, t.smtpPort);
  peers.push(peer);
  resolver.setMx(domain, { hosts: [`mx.${domain}`] });
  resolver.setAddresses(`mx.${domain}`, [address]);
  return peer;
}

async function waitFor<T>(what: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await what();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Makes `content` the user's active script (a new version of it each time). */
async function setScript(address: string, content: string): Promise<void> {
  const account = await findAccount(t.store.pool, address);
  await t.store.pool.query(
    `INSERT INTO sieve_scripts (account_id, name, content, active) VALUES ($1, 'main', $2, true)
     ON CONFLICT (account_id, name) DO UPDATE SET content = EXCLUDED.content, updated_at = clock_timestamp()`,
    [account!.id, content],
  );
}

/** The messages of one of the user's mailboxes, oldest first. */
async function mailbox(address: string, name: string): Promise<{ raw: string; flags: string[] }[]> {
  const result = await t.store.pool.query<{ raw: Buffer; flags: string[] }>(
    `SELECT m.header_prefix || b.data AS raw, m.flags FROM messages m JOIN mailboxes x ON x.id = m.mailbox_id
       JOIN accounts a ON a.id = x.account_id JOIN blobs b ON b.sha256 = m.blob_sha256
      WHERE a.address = $1 AND x.name = $2 ORDER BY m.uid`,
    [address, name],
  );
  return result.rows.map((row) => ({ raw: row.raw.toString('utf8'), flags: row.flags }));
}

const holding = <M extends { raw: string }>(messages: M[], marker: string): M[] =>
  messages.filter((m) => m.raw.includes(marker));

function message(from: string, to: string, subject: string, extra = ''): string {
  const id = `${Math.random().toString(36).slice(2)}@origin.test`;
  return `From: <${from}>\r\nTo: <${to}>\r\nSubject: ${subject}\r\nMessage-ID: <${id}>\r\n${extra}\r\nHello.\r\n`;
}

beforeAll(async () => {
  resolver = createFakeResolver();
  t = await startTestWorker(resolver, {}, { srs });
  for (const user of ['carol', 'dora', 'erin', 'fay', 'gus', 'ivy'])
    await createAccount(t.store.pool, `${user}@${DOMAIN}`, 'pw');
});

afterAll(async () => {
  await t?.stop();
  for (const peer of peers) await peer.stop();
});

describe('Sieve at delivery', () => {
  it('files a list message into a folder with its flags, making the folder with :create', async () => {
    await setScript(
      `alice@${DOMAIN}`,
      `require ["fileinto", "imap4flags", "mailbox"];
       if header :contains "List-Id" "dev.example.org" { fileinto :create :flags "\\\\Flagged" "Lists/dev"; stop; }`,
    );
    const queueId = await t.submit({
      from: 'list@example.org',
      to: [`alice@${DOMAIN}`],
      raw: message('list@example.org', `dev@example.org`, 'list one', 'List-Id: <dev.example.org>\r\n'),
    });
    const trace = await t.settled(queueId);
    const filed = await mailbox(`alice@${DOMAIN}`, 'Lists/dev');
    expect(filed).toHaveLength(1);
    expect(filed[0]!.flags).toEqual(['\\Flagged']);
    expect(filed[0]!.raw).toMatch(
      new RegExp(`^Return-Path: <list@example\\.org>\r\nDelivered-To: alice@${DOMAIN}\r\n`),
    );
    expect(holding(await mailbox(`alice@${DOMAIN}`, 'INBOX'), 'list one')).toEqual([]);
    expect(trace.recipients[0]!.sieveActions).toEqual([
      { action: 'fileinto', mailbox: 'Lists/dev', flags: ['\\Flagged'], created: true, uid: 1 },
    ]);
    // A message the script does not touch is kept in INBOX, as without a script.
    await t.settled(
      await t.submit({
        from: 'x@origin.test',
        to: [`alice@${DOMAIN}`],
        raw: message('x@origin.test', `alice@${DOMAIN}`, 'plain one'),
      }),
    );
    expect(holding(await mailbox(`alice@${DOMAIN}`, 'INBOX'), 'plain one')).toHaveLength(1);
  });

  it('files into a folder that exists, and keeps with flags, as plain batched deliveries', async () => {
    // One copy into an existing mailbox and nothing else: the delivery goes through the
    // mailbox batcher (one statement), with the flags and the trace as the transaction writes them.
    await setScript(
      `ivy@${DOMAIN}`,
      `require ["fileinto", "imap4flags"];
       if header :contains "Subject" "archive" { fileinto :flags "$Old \\\\Seen" "Archive"; stop; }
       addflag "\\\\Flagged";`,
    );
    const archived = await t.settled(
      await t.submit({
        from: 'x@origin.test',
        to: [`ivy@${DOMAIN}`],
        raw: message('x@origin.test', `ivy@${DOMAIN}`, 'archive me'),
      }),
    );
    const kept = await t.settled(
      await t.submit({
        from: 'x@origin.test',
        to: [`ivy@${DOMAIN}`],
        raw: message('x@origin.test', `ivy@${DOMAIN}`, 'keep me'),
      }),
    );
    const inArchive = holding(await mailbox(`ivy@${DOMAIN}`, 'Archive'), 'archive me');
    expect(inArchive.map((m) => [...m.flags].sort())).toEqual([['$Old', '\\Seen']]);
    expect(inArchive[0]!.raw).toMatch(
      new RegExp(`^Return-Path: <x@origin\\.test>\r\nDelivered-To: ivy@${DOMAIN}\r\n`),
    );
    expect(archived.recipients[0]!.sieveActions).toEqual([
      { action: 'fileinto', mailbox: 'Archive', flags: ['$Old', '\\Seen'], uid: 1 },
    ]);
    const inInbox = holding(await mailbox(`ivy@${DOMAIN}`, 'INBOX'), 'keep me');
    expect(inInbox.map((m) => m.flags)).toEqual([['\\Flagged']]);
    expect(kept.recipients[0]!.sieveActions).toEqual([
      { action: 'keep', mailbox: 'INBOX', flags: ['\\Flagged'], uid: expect.any(Number) },
    ]);
    expect(kept.recipients[0]!.status).toBe('delivered');
  });

  it('files by the subaddress (:detail) of the address the message was sent to', async () => {
    await setScript(
      `bob@${DOMAIN}`,
      `require ["envelope", "subaddress", "fileinto", "mailbox"];
       if envelope :detail "to" "lists" { fileinto :create "Lists"; }`,
    );
    const queueId = await t.submit({
      from: 'x@origin.test',
      to: [`bob+lists@${DOMAIN}`],
      raw: message('x@origin.test', `bob+lists@${DOMAIN}`, 'tagged'),
    });
    const trace = await t.settled(queueId);
    expect(trace.recipients.map((r) => [r.recipient, r.status])).toEqual([
      [`bob+lists@${DOMAIN}`, 'delivered'],
    ]);
    const filed = await mailbox(`bob@${DOMAIN}`, 'Lists');
    expect(filed).toHaveLength(1);
    expect(filed[0]!.raw).toContain(`\r\nDelivered-To: bob+lists@${DOMAIN}\r\n`);
  });

  it('discards: no copy anywhere, and the trace says so', async () => {
    await setScript(`carol@${DOMAIN}`, 'if header :is "Subject" "drop me" { discard; }');
    const queueId = await t.submit({
      from: 'x@origin.test',
      to: [`carol@${DOMAIN}`],
      raw: message('x@origin.test', `carol@${DOMAIN}`, 'drop me'),
    });
    const trace = await t.settled(queueId);
    expect(trace.recipients[0]).toMatchObject({ status: 'delivered', sieveActions: [{ action: 'discard' }] });
    const stored = await t.store.pool.query(
      `SELECT count(*)::int AS n FROM messages m JOIN mailboxes x ON x.id = m.mailbox_id JOIN accounts a ON a.id = x.account_id
        WHERE a.address = $1`,
      [`carol@${DOMAIN}`],
    );
    expect(stored.rows[0].n).toBe(0);
  });

  it('redirects through the relay path: a new recipient of the message, sent from an SRS address', async () => {
    const peer = await peerFor('away.test');
    await setScript(`dora@${DOMAIN}`, 'redirect "friend@away.test";');
    const queueId = await t.submit({
      from: 'Sam@Origin.test',
      to: [`dora@${DOMAIN}`],
      raw: message('Sam@Origin.test', `dora@${DOMAIN}`, 'pass it on'),
    });
    const trace = await t.settled(queueId);
    expect(trace.recipients.map((r) => [r.recipient, r.expandedFrom, r.status])).toEqual([
      [`dora@${DOMAIN}`, null, 'delivered'],
      ['friend@away.test', `dora@${DOMAIN}`, 'relayed'],
    ]);
    const [sent] = peer.transactions;
    expect(sent?.rcpts.map((r) => r.address)).toEqual(['friend@away.test']);
    expect(srsReverse(sent!.mailFrom, srs, new Date())).toEqual({
      kind: 'decoded',
      address: 'Sam@Origin.test',
    });
    expect(sent!.data.toString()).toContain('Subject: pass it on');
    expect(await mailbox(`dora@${DOMAIN}`, 'INBOX')).toEqual([]);
  });

  it('rejects: the sender gets the refusal from <>, and the user no copy', async () => {
    const peer = await peerFor('rejected.test');
    await setScript(`erin@${DOMAIN}`, 'require "reject"; reject "No thanks.";');
    const queueId = await t.submit({
      from: 'pushy@rejected.test',
      to: [`erin@${DOMAIN}`],
      raw: message('pushy@rejected.test', `erin@${DOMAIN}`, 'buy now'),
    });
    const trace = await t.settled(queueId);
    const refusal = await waitFor(async () => peer.transactions[0]);
    expect(refusal.mailFrom).toBe('');
    expect(refusal.rcpts.map((r) => r.address)).toEqual(['pushy@rejected.test']);
    expect(refusal.data.toString()).toContain('No thanks.');
    expect(trace.recipients[0]!.sieveActions).toEqual([
      { action: 'reject', to: 'pushy@rejected.test', queueId: expect.any(String) },
    ]);
    expect(await mailbox(`erin@${DOMAIN}`, 'INBOX')).toEqual([]);
  });

  it('answers on vacation once per sender in the period, never a list message or <>', async () => {
    const peer = await peerFor('senders.test');
    await setScript(
      `fay@${DOMAIN}`,
      'require "vacation"; vacation :days 7 :subject "Away" "I am away until Monday.";',
    );
    const send = async (from: string, subject: string, extra = '') =>
      t.settled(
        await t.submit({
          from,
          to: [`fay@${DOMAIN}`],
          raw: message(from || 'daemon@senders.test', `fay@${DOMAIN}`, subject, extra),
        }),
      );
    const first = await send('pat@senders.test', 'first');
    await waitFor(async () => peer.transactions.length === 1);
    const second = await send('pat@senders.test', 'second');
    const list = await send('kim@senders.test', 'list mail', 'List-Id: <news.senders.test>\r\n');
    const bounce = await send('', 'a bounce');
    const other = await send('lou@senders.test', 'another sender');
    await waitFor(async () => peer.transactions.length === 2);

    expect(peer.transactions.map((x) => [x.mailFrom, x.rcpts.map((r) => r.address)])).toEqual([
      ['', ['pat@senders.test']],
      ['', ['lou@senders.test']],
    ]);
    const reply = peer.transactions[0]!.data.toString();
    expect(reply).toContain('Subject: Away');
    expect(reply).toMatch(/Auto-Submitted: auto-replied/);
    expect(reply).toContain('I am away until Monday.');
    const notes = (trace: typeof first) =>
      trace.recipients[0]!.sieveActions?.find((a) => a.action === 'vacation');
    expect(notes(first)).toMatchObject({ to: 'pat@senders.test', queueId: expect.any(String) });
    expect(notes(second)).toMatchObject({
      note: expect.stringMatching(/^not sent: pat@senders\.test was answered within 7 days/),
    });
    // The interpreter leaves out a reply RFC 5230 §4.6 forbids: no vacation action at all.
    expect(notes(list)).toBeUndefined();
    expect(notes(bounce)).toBeUndefined();
    expect(notes(other)).toMatchObject({ to: 'lou@senders.test' });
    // Every message was kept: vacation does not cancel the implicit keep.
    expect(await mailbox(`fay@${DOMAIN}`, 'INBOX')).toHaveLength(5);
  });

  it('sends one vacation reply when two workers deliver messages from one sender at once', async () => {
    const peer = await peerFor('racing.test');
    await setScript(`gus@${DOMAIN}`, 'require "vacation"; vacation "Out.";');
    const second = await startDeliveryWorker({
      pool: t.store.pool,
      bus: t.bus,
      resolver,
      hostname: HOSTNAME,
      logger: createLogger({ service: 'second-worker', level: 'warn' }),
      settings: testSettings(t.smtpPort),
      describe: describeMessage,
      dueScanIntervalMs: 200,
    });
    try {
      const ids = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          t.submit({
            from: 'ray@racing.test',
            to: [`gus@${DOMAIN}`],
            raw: message('ray@racing.test', `gus@${DOMAIN}`, `race ${i}`),
          }),
        ),
      );
      for (const id of ids) await t.settled(id);
      await waitFor(async () => peer.transactions.length >= 1);
      // Let a second reply show itself, if there were one.
      const replies = await t.store.pool.query(
        `SELECT count(*)::int AS n FROM queue WHERE reports_on = ANY($1::text[]) AND listener = 'sieve'`,
        [ids],
      );
      expect(replies.rows[0].n).toBe(1);
      expect(await mailbox(`gus@${DOMAIN}`, 'INBOX')).toHaveLength(8);
    } finally {
      await second.stop();
    }
    expect(peer.transactions).toHaveLength(1);
  });

  it('does every action once when the job runs twice, and when a run dies before its commit', async () => {
    const peer = await peerFor('twice.test');
    await createAccount(t.store.pool, `hal@${DOMAIN}`, 'pw');
    await setScript(
      `hal@${DOMAIN}`,
      `require ["fileinto", "vacation", "copy", "mailbox"];
       fileinto :create "Seen";
       redirect :copy "copy@twice.test";
       vacation "Away.";`,
    );
    // The first run's transaction fails at its last statement, after the copies, the
    // redirect and the reply were written: as if the worker died before COMMIT.
    await t.store.pool.query(`CREATE SEQUENCE crash_once;
      CREATE FUNCTION crash_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM deliveries d WHERE d.id = NEW.delivery_id AND d.recipient = 'hal@${DOMAIN}')
           AND nextval('crash_once') = 1 THEN
          RAISE EXCEPTION 'simulated crash before commit';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER crash_once BEFORE INSERT ON delivery_attempts FOR EACH ROW EXECUTE FUNCTION crash_once();`);
    try {
      const queueId = await t.submit({
        from: 'vic@twice.test',
        to: [`hal@${DOMAIN}`],
        raw: message('vic@twice.test', `hal@${DOMAIN}`, 'twice'),
      });
      const trace = await t.settled(queueId, 30_000);
      const hal = trace.recipients.find((r) => r.recipient === `hal@${DOMAIN}`)!;
      expect(hal.attempts.map((a) => a.outcome)).toEqual(['delivered']);
      // And once more, the job delivered again: it finds the recipient settled.
      await t.release(queueId);
      await waitFor(async () => peer.transactions.length >= 2);
      await new Promise((r) => setTimeout(r, 1000));
      expect(await mailbox(`hal@${DOMAIN}`, 'Seen')).toHaveLength(1);
      expect(await mailbox(`hal@${DOMAIN}`, 'INBOX')).toEqual([]);
      expect(peer.transactions.map((x) => x.rcpts.map((r) => r.address)).sort()).toEqual([
        ['copy@twice.test'],
        ['vic@twice.test'],
      ]);
    } finally {
      await t.store.pool.query(
        'DROP TRIGGER crash_once ON delivery_attempts; DROP FUNCTION crash_once(); DROP SEQUENCE crash_once;',
      );
    }
  });

  it('keeps mail in INBOX when the script is broken, and tells the user once per version of it', async () => {
    await createAccount(t.store.pool, `ida@${DOMAIN}`, 'pw');
    await setScript(`ida@${DOMAIN}`, 'fileinto "Nowhere";');
    const notices = async () =>
      (await mailbox(`ida@${DOMAIN}`, 'INBOX')).filter((m) =>
        m.raw.includes('Subject: Sieve script "main" failed'),
      );
    for (const subject of ['broken one', 'broken two']) {
      const trace = await t.settled(
        await t.submit({
          from: 'x@origin.test',
          to: [`ida@${DOMAIN}`],
          raw: message('x@origin.test', `ida@${DOMAIN}`, subject),
        }),
      );
      expect(trace.recipients[0]!.sieveActions).toEqual([
        { action: 'keep', mailbox: 'INBOX', flags: [], uid: expect.any(Number) },
        { action: 'error', note: expect.stringMatching(/^script "main": .*fileinto/) },
      ]);
    }
    expect(holding(await mailbox(`ida@${DOMAIN}`, 'INBOX'), '\r\nSubject: broken ')).toHaveLength(2);
    expect(await notices()).toHaveLength(1);
    expect((await notices())[0]!.raw).toContain('broken one');

    await setScript(`ida@${DOMAIN}`, 'still not sieve');
    await t.settled(
      await t.submit({
        from: 'x@origin.test',
        to: [`ida@${DOMAIN}`],
        raw: message('x@origin.test', `ida@${DOMAIN}`, 'broken three'),
      }),
    );
    expect(await notices()).toHaveLength(2);
  });

  describe('with a script the domain runs before each user’s (sieve_before)', () => {
    const send = async (to: string, subject: string, extra: string) =>
      t.settled(
        await t.submit({
          from: 'x@origin.test',
          to: [to],
          raw: message('x@origin.test', to, subject, extra),
        }),
      );
    beforeAll(async () => {
      await createAccount(t.store.pool, `jo@${DOMAIN}`, 'pw');
      await createAccount(t.store.pool, `kay@${DOMAIN}`, 'pw');
      await setScript(
        `jo@${DOMAIN}`,
        'require "fileinto"; if header :is "X-Sent" "yes" { fileinto "Sent"; }',
      );
      await t.store.pool.query(`INSERT INTO sieve_global_scripts (name, content) VALUES ('spam-first', $1)`, [
        `require ["fileinto"];
         if header :is "X-Spam" "yes" { fileinto "Junk"; stop; }
         if header :is "X-Copy" "yes" { fileinto "Archive"; }`,
      ]);
      await t.store.pool.query(`UPDATE domains SET sieve_before = 'spam-first' WHERE name = $1`, [DOMAIN]);
    });
    afterAll(async () => {
      await t.store.pool.query(`UPDATE domains SET sieve_before = NULL WHERE name = $1`, [DOMAIN]);
    });

    it('adds up its fileintos and the user’s; the user’s implicit keep stands only if its own did', async () => {
      await send(`jo@${DOMAIN}`, 'both', 'X-Copy: yes\r\nX-Sent: yes\r\n');
      await send(`jo@${DOMAIN}`, 'copied', 'X-Copy: yes\r\n');
      await send(`jo@${DOMAIN}`, 'ordinary', '');
      expect(holding(await mailbox(`jo@${DOMAIN}`, 'Archive'), 'both')).toHaveLength(1);
      expect(holding(await mailbox(`jo@${DOMAIN}`, 'Sent'), 'both')).toHaveLength(1);
      expect(holding(await mailbox(`jo@${DOMAIN}`, 'Archive'), 'copied')).toHaveLength(1);
      // The before script's fileinto cancelled its implicit keep: no copy in INBOX.
      expect(holding(await mailbox(`jo@${DOMAIN}`, 'INBOX'), 'copied')).toHaveLength(0);
      expect(holding(await mailbox(`jo@${DOMAIN}`, 'INBOX'), 'ordinary')).toHaveLength(1);
      // A user without a script of their own runs the domain's alone.
      const trace = await send(`kay@${DOMAIN}`, 'alone', 'X-Copy: yes\r\n');
      expect(trace.recipients[0]!.sieveActions).toEqual([
        { action: 'fileinto', mailbox: 'Archive', flags: [], uid: expect.any(Number) },
      ]);
    });

    it('ends everything with its stop: the user’s script does not run', async () => {
      await send(`jo@${DOMAIN}`, 'spammy', 'X-Spam: yes\r\nX-Sent: yes\r\n');
      expect(holding(await mailbox(`jo@${DOMAIN}`, 'Junk'), 'spammy')).toHaveLength(1);
      expect(holding(await mailbox(`jo@${DOMAIN}`, 'Sent'), 'spammy')).toHaveLength(0);
    });
  });
});
