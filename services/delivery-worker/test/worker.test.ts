import { addAlias, createAccount, findAccount, removeAccount, removeAlias, setQuota } from '@tegami/store';
import { type ScriptedPeer, startScriptedPeer } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeResolver, type TestResolver } from './fake-resolver.js';
import { DOMAIN, HOSTNAME, startTestWorker, type TestWorker } from './test-worker.js';

let t: TestWorker;
let resolver: TestResolver;
const peers: ScriptedPeer[] = [];
let nextAddress = 20;

/** A scripted MTA on its own loopback address, published as the MX of `domain`. */
async function peerFor(
  domain: string,
  script: Parameters<typeof startScriptedPeer>[0] = {},
): Promise<ScriptedPeer> {
  const address = `127.0.0.${nextAddress++}`;
  const peer = await startScriptedPeer(script, address, t.smtpPort);
  peers.push(peer);
  resolver.setMx(domain, { hosts: [`mx.${domain}`] });
  resolver.setAddresses(`mx.${domain}`, [address]);
  return peer;
}

async function waitFor<T>(what: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await what();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  resolver = createFakeResolver();
  t = await startTestWorker(resolver);
});

afterAll(async () => {
  await t?.stop();
  for (const peer of peers) await peer.stop();
});

describe('local delivery', () => {
  it('delivers once to each user and alias destination, with Return-Path and Delivered-To', async () => {
    const queueId = await t.submit({
      from: 'someone@elsewhere.test',
      to: [`alice@${DOMAIN}`, `bob@${DOMAIN}`, `sales@${DOMAIN}`],
    });
    const trace = await t.settled(queueId);
    expect(trace.state).toBe('done');
    const byRecipient = Object.fromEntries(trace.recipients.map((r) => [r.recipient, r.status]));
    expect(byRecipient).toEqual({
      [`alice@${DOMAIN}`]: 'delivered',
      [`bob@${DOMAIN}`]: 'delivered',
      [`sales@${DOMAIN}`]: 'expanded',
    });
    const alice = (await t.inbox(`alice@${DOMAIN}`)).filter((m) => m.includes(queueId));
    const bob = (await t.inbox(`bob@${DOMAIN}`)).filter((m) => m.includes(queueId));
    expect(alice).toHaveLength(1);
    expect(bob).toHaveLength(1);
    expect(alice[0]).toMatch(
      new RegExp(
        `^Return-Path: <someone@elsewhere\\.test>\r\nDelivered-To: alice@${DOMAIN}\r\nFrom: <someone@elsewhere\\.test>`,
      ),
    );
    expect(bob[0]).toMatch(
      new RegExp(`^Return-Path: <someone@elsewhere\\.test>\r\nDelivered-To: bob@${DOMAIN}\r\n`),
    );
  });

  it('files a message the inbound checks marked as junk into Junk, and into INBOX when there is no Junk', async () => {
    await t.store.pool.query(
      `UPDATE mailboxes SET special_use = NULL
        WHERE name = 'Junk' AND account_id = (SELECT id FROM accounts WHERE address = $1)`,
      [`bob@${DOMAIN}`],
    );
    const queueId = await t.submit({
      from: 'x@elsewhere.test',
      to: [`alice@${DOMAIN}`, `bob@${DOMAIN}`],
      junk: true,
    });
    const trace = await t.settled(queueId);
    const placed = await t.store.pool.query<{ address: string; name: string }>(
      `SELECT a.address, b.name FROM deliveries d JOIN mailboxes b ON b.id = d.mailbox_id
         JOIN accounts a ON a.id = b.account_id WHERE d.queue_id = $1 ORDER BY a.address`,
      [queueId],
    );
    expect(placed.rows).toEqual([
      { address: `alice@${DOMAIN}`, name: 'Junk' },
      { address: `bob@${DOMAIN}`, name: 'INBOX' },
    ]);
    const alice = trace.recipients.find((r) => r.recipient === `alice@${DOMAIN}`)!;
    expect(alice.attempts.at(-1)!.reply).toMatch(/delivered to alice@example\.test Junk/);
    await t.store.pool.query(
      `UPDATE mailboxes SET special_use = '\\Junk'
        WHERE name = 'Junk' AND account_id = (SELECT id FROM accounts WHERE address = $1)`,
      [`bob@${DOMAIN}`],
    );
  });

  it('stores the parsed metadata and search text with the message', async () => {
    const queueId = await t.submit({ from: 'x@elsewhere.test', to: [`bob@${DOMAIN}`] });
    await t.settled(queueId);
    const row = await t.store.pool.query(
      `SELECT m.metadata, m.search_text FROM messages m JOIN deliveries d ON d.mailbox_id = m.mailbox_id AND d.uid = m.uid
        WHERE d.queue_id = $1`,
      [queueId],
    );
    expect(row.rows[0].metadata.envelope.subject).toBe(`test ${queueId}`);
    expect(row.rows[0].search_text).toContain(`hello ${queueId.toLowerCase()}`);
  });

  it('delivers jobs that arrive together once each, bounces the one failing recipient among them alone, and announces each new UID once', async () => {
    const bob = await findAccount(t.store.pool, `bob@${DOMAIN}`);
    const announced: number[] = [];
    const subscription = t.bus.subscribeMailboxChanged(bob!.id, (event) => {
      if (event.kind === 'exists') announced.push(...(event.uids ?? []));
    });
    try {
      const queueIds: string[] = [];
      for (let i = 0; i < 12; i++)
        queueIds.push(await t.submit({ from: '', to: [`bob@${DOMAIN}`], held: true }));
      const mixed = await t.submit({ from: '', to: [`bob@${DOMAIN}`, `ghost@${DOMAIN}`], held: true });
      // Released at once: the worker takes them in one fetch, and their claims, routes and
      // deliveries go to Postgres together.
      await Promise.all([...queueIds, mixed].map((id) => t.release(id)));
      for (const id of queueIds) expect((await t.settled(id)).recipients[0]!.status).toBe('delivered');
      const trace = await t.settled(mixed);
      expect(Object.fromEntries(trace.recipients.map((r) => [r.recipient, r.status]))).toEqual({
        [`bob@${DOMAIN}`]: 'delivered',
        [`ghost@${DOMAIN}`]: 'bounced',
      });
      const inbox = await t.inbox(`bob@${DOMAIN}`);
      for (const id of [...queueIds, mixed])
        expect(inbox.filter((m) => m.includes(`Subject: test ${id}`))).toHaveLength(1);
      const delivered = await t.store.pool.query<{ uid: string }>(
        `SELECT uid FROM deliveries WHERE queue_id = ANY($1::text[]) AND status = 'delivered' ORDER BY uid`,
        [[...queueIds, mixed]],
      );
      const uids = delivered.rows.map((r) => Number(r.uid));
      await waitFor(async () => uids.every((uid) => announced.includes(uid)));
      expect(announced.filter((uid) => uids.includes(uid)).sort((a, b) => a - b)).toEqual(uids);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('handles a job again after its delivery committed (the ack lost with a crash) without a second copy', async () => {
    const queueId = await t.submit({ from: '', to: [`alice@${DOMAIN}`] });
    await t.settled(queueId);
    // As if the worker died after the delivery's commit: the job comes back, once with the
    // row done and once with the row still 'queued' (a worker that died before marking it).
    await t.bus.publishJob(
      { queueId, enqueuedAt: new Date().toISOString() },
      { dedupeId: `${queueId}.again` },
    );
    await t.store.pool.query(`UPDATE queue SET state = 'queued' WHERE id = $1`, [queueId]);
    await t.bus.publishJob(
      { queueId, enqueuedAt: new Date().toISOString() },
      { dedupeId: `${queueId}.again2` },
    );
    const trace = await t.settled(queueId);
    expect(trace.recipients.map((r) => [r.status, r.attempts.map((a) => a.outcome)])).toEqual([
      ['delivered', ['delivered']],
    ]);
    const copies = (await t.inbox(`alice@${DOMAIN}`)).filter((m) => m.includes(`Subject: test ${queueId}`));
    expect(copies).toHaveLength(1);
  });

  it('bounces a recipient that no longer exists to a local sender, naming it and the reply', async () => {
    await createAccount(t.store.pool, `gone@${DOMAIN}`, 'secret-secret');
    const queueId = await t.submit({ from: `alice@${DOMAIN}`, to: [`gone@${DOMAIN}`], held: true });
    // The account goes away between acceptance and delivery.
    await removeAccount(t.store.pool, `gone@${DOMAIN}`);
    await t.release(queueId);
    const trace = await t.settled(queueId);
    expect(trace.recipients[0]!.status).toBe('bounced');
    const dsn = await waitFor(async () =>
      (await t.inbox(`alice@${DOMAIN}`)).find((m) => m.includes(`X-Tegami-Queue-ID: ${queueId}`)),
    );
    expect(dsn).toMatch(/^Return-Path: <>\r\n/);
    expect(dsn).toContain(`From: Mail Delivery System <MAILER-DAEMON@${HOSTNAME}>`);
    expect(dsn).toContain('Content-Type: multipart/report; report-type=delivery-status');
    expect(dsn).toContain(`Final-Recipient: rfc822; gone@${DOMAIN}`);
    expect(dsn).toContain('Action: failed');
    expect(dsn).toContain('Status: 5.1.1');
    expect(dsn).toContain('Content-Type: text/rfc822-headers');
    expect(dsn).toContain(`Subject: test ${queueId}`);
  });

  it('sends a success notification when asked (NOTIFY=SUCCESS) and none for NOTIFY=NEVER', async () => {
    const asked = await t.submit({ from: `alice@${DOMAIN}`, to: [`bob@${DOMAIN}`], notify: ['SUCCESS'] });
    const never = await t.submit({ from: `alice@${DOMAIN}`, to: [`nobody@${DOMAIN}`], notify: 'NEVER' });
    await t.settled(asked);
    await t.settled(never);
    const dsn = await waitFor(async () =>
      (await t.inbox(`alice@${DOMAIN}`)).find((m) => m.includes(`X-Tegami-Queue-ID: ${asked}`)),
    );
    expect(dsn).toContain('Action: delivered');
    expect(dsn).toContain('Subject: Successful Mail Delivery Report');
    await new Promise((r) => setTimeout(r, 500));
    expect((await t.inbox(`alice@${DOMAIN}`)).some((m) => m.includes(`X-Tegami-Queue-ID: ${never}`))).toBe(
      false,
    );
  });

  it('returns only the headers to a sender who did not authenticate, even for NOTIFY=SUCCESS RET=FULL', async () => {
    // Anyone on port 25 may claim alice as the sender: the notice must not carry the body.
    const raw = `From: <alice@${DOMAIN}>\r\nSubject: launder me\r\n\r\nSECRET-PAYLOAD\r\n`;
    const queueId = await t.submit({
      from: `alice@${DOMAIN}`,
      to: [`bob@${DOMAIN}`],
      notify: ['SUCCESS'],
      ret: 'FULL',
      raw,
    });
    await t.settled(queueId);
    const dsn = await waitFor(async () =>
      (await t.inbox(`alice@${DOMAIN}`)).find((m) => m.includes(`X-Tegami-Queue-ID: ${queueId}`)),
    );
    expect(dsn).toContain('Action: delivered');
    expect(dsn).toContain('Content-Type: text/rfc822-headers');
    expect(dsn).toContain('Subject: launder me');
    expect(dsn).not.toContain('message/rfc822');
    expect(dsn).not.toContain('SECRET-PAYLOAD');
    expect((await t.inbox(`bob@${DOMAIN}`)).some((m) => m.includes('SECRET-PAYLOAD'))).toBe(true);
  });

  it('returns the whole message to an authenticated sender who asked RET=FULL', async () => {
    const alice = (await findAccount(t.store.pool, `alice@${DOMAIN}`))!;
    const raw = `From: <alice@${DOMAIN}>\r\nSubject: mine\r\n\r\nMY-OWN-TEXT\r\n`;
    const queueId = await t.submit({
      from: `alice@${DOMAIN}`,
      to: [`bob@${DOMAIN}`],
      notify: ['SUCCESS'],
      ret: 'FULL',
      raw,
      authenticatedAs: alice.id,
    });
    await t.settled(queueId);
    const dsn = await waitFor(async () =>
      (await t.inbox(`alice@${DOMAIN}`)).find((m) => m.includes(`X-Tegami-Queue-ID: ${queueId}`)),
    );
    expect(dsn).toContain('Action: delivered');
    expect(dsn).toContain('Content-Type: message/rfc822');
    expect(dsn).toContain(`\r\n\r\n${raw}\r\n--`);
  });

  it('defers a user over quota, then bounces when the message expires', async () => {
    await createAccount(t.store.pool, `full@${DOMAIN}`, 'secret-secret');
    await setQuota(t.store.pool, `full@${DOMAIN}`, 10);
    await t.restartWorker({ schedule: { minMs: 200, maxMs: 400, lifetimeMs: 1_500 } });
    try {
      const queueId = await t.submit({ from: `alice@${DOMAIN}`, to: [`full@${DOMAIN}`] });
      const trace = await t.settled(queueId);
      const attempts = trace.recipients[0]!.attempts;
      expect(attempts[0]).toMatchObject({ outcome: 'deferred' });
      expect(attempts[0]!.reply).toContain(`452 4.2.2 full@${DOMAIN}: mailbox full`);
      expect(attempts.at(-1)).toMatchObject({ outcome: 'bounced' });
      expect(await t.inbox(`full@${DOMAIN}`)).toHaveLength(0);
      const dsn = await waitFor(async () =>
        (await t.inbox(`alice@${DOMAIN}`)).find((m) => m.includes(`X-Tegami-Queue-ID: ${queueId}`)),
      );
      expect(dsn).toContain('Status: 4.4.7');
      expect(dsn).toContain('mailbox full');
    } finally {
      await t.restartWorker();
    }
  });

  it('sends one DELAY notice when asked (NOTIFY=DELAY) while a recipient waits', async () => {
    await peerFor('slowpoke.test', { rcpt: (_a, attempt) => (attempt < 4 ? '451 4.3.2 not now' : '250 ok') });
    const queueId = await t.submit({
      from: `alice@${DOMAIN}`,
      to: ['x@slowpoke.test'],
      notify: ['DELAY', 'FAILURE'],
    });
    const trace = await t.settled(queueId);
    expect(trace.recipients[0]!.status).toBe('relayed');
    const notices = (await t.inbox(`alice@${DOMAIN}`)).filter((m) =>
      m.includes(`X-Tegami-Queue-ID: ${queueId}`),
    );
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain('Action: delayed');
    expect(notices[0]).toContain('Subject: Delayed Mail (still being retried)');
    expect(notices[0]).toMatch(/Will-Retry-Until: /);
  });

  it('bounces an alias loop instead of losing the message', async () => {
    // An alias's local destinations must exist: the loop is closed in three steps.
    await addAlias(t.store.pool, `pong@${DOMAIN}`, [`bob@${DOMAIN}`]);
    await addAlias(t.store.pool, `ping@${DOMAIN}`, [`pong@${DOMAIN}`]);
    await addAlias(t.store.pool, `pong@${DOMAIN}`, [`ping@${DOMAIN}`]);
    await removeAlias(t.store.pool, `pong@${DOMAIN}`, [`bob@${DOMAIN}`]);
    const queueId = await t.submit({ from: `alice@${DOMAIN}`, to: [`ping@${DOMAIN}`] });
    const trace = await t.settled(queueId);
    expect(trace.recipients.map((r) => [r.recipient, r.status])).toEqual([
      [`ping@${DOMAIN}`, 'expanded'],
      [`pong@${DOMAIN}`, 'bounced'],
    ]);
    const dsn = await waitFor(async () =>
      (await t.inbox(`alice@${DOMAIN}`)).find((m) => m.includes(`X-Tegami-Queue-ID: ${queueId}`)),
    );
    expect(dsn).toContain('Status: 5.4.6');
    expect(dsn).toContain(`Original-Recipient: rfc822; ping@${DOMAIN}`);
    expect(dsn).toContain('mail forwarding loop');
  });

  it('follows nested aliases to the end, and bounces a chain nested too deep', async () => {
    // From the end of each chain: an alias's local destinations must exist.
    await addAlias(t.store.pool, `hop10@${DOMAIN}`, [`bob@${DOMAIN}`]);
    for (let i = 9; i >= 0; i--) await addAlias(t.store.pool, `hop${i}@${DOMAIN}`, [`hop${i + 1}@${DOMAIN}`]);
    await addAlias(t.store.pool, `short1@${DOMAIN}`, [`bob@${DOMAIN}`]);
    await addAlias(t.store.pool, `short0@${DOMAIN}`, [`short1@${DOMAIN}`]);
    const shallow = await t.submit({ from: `alice@${DOMAIN}`, to: [`short0@${DOMAIN}`] });
    const deep = await t.submit({ from: `alice@${DOMAIN}`, to: [`hop0@${DOMAIN}`] });
    const a = await t.settled(shallow);
    expect(a.recipients.find((r) => r.recipient === `bob@${DOMAIN}`)?.status).toBe('delivered');
    const b = await t.settled(deep);
    expect(b.recipients.some((r) => r.status === 'bounced' && r.attempts[0]?.reply?.includes('5.4.6'))).toBe(
      true,
    );
    expect(b.recipients.some((r) => r.recipient === `bob@${DOMAIN}`)).toBe(false);
  });

  it('never bounces a message from the null sender', async () => {
    const queueId = await t.submit({ from: '', to: [`nobody@${DOMAIN}`] });
    const trace = await t.settled(queueId);
    expect(trace.recipients[0]!.status).toBe('bounced');
    await new Promise((r) => setTimeout(r, 500));
    const reports = await t.store.pool.query('SELECT id FROM queue WHERE reports_on = $1', [queueId]);
    expect(reports.rowCount).toBe(0);
  });
});

describe('remote delivery', () => {
  it('relays to the MX host with the exact bytes, our EHLO name and the DSN parameters', async () => {
    const peer = await peerFor('relay.test');
    const raw =
      'From: <alice@example.test>\r\nTo: <carol@relay.test>\r\nSubject: relay\r\n\r\n.dot line\r\nbody\r\n';
    const queueId = await t.submit({
      from: `alice@${DOMAIN}`,
      to: ['carol@relay.test'],
      raw,
      notify: ['FAILURE', 'DELAY'],
      orcpt: 'rfc822;carol@relay.test',
      ret: 'HDRS',
      envid: 'env-1',
    });
    const trace = await t.settled(queueId);
    expect(trace.recipients[0]!.status).toBe('relayed');
    expect(trace.recipients[0]!.attempts[0]).toMatchObject({ outcome: 'relayed', mxHost: 'mx.relay.test' });
    expect(trace.recipients[0]!.attempts[0]!.reply).toContain('250 2.0.0 Ok: queued as PEER1');
    expect(peer.transactions).toHaveLength(1);
    const sent = peer.transactions[0]!;
    expect(sent.helo).toBe(HOSTNAME);
    expect(sent.mailFrom).toBe(`alice@${DOMAIN}`);
    expect(sent.data.toString()).toBe(raw);
    expect(sent.rcpts[0]!.params).toContain('NOTIFY=FAILURE,DELAY');
    expect(sent.rcpts[0]!.params).toContain('ORCPT=rfc822;carol@relay.test');
  });

  it('retries a 451 and delivers when the peer answers 250', async () => {
    const peer = await peerFor('later.test', {
      rcpt: (_address, attempt) => (attempt < 3 ? '451 4.7.1 greylisted, try again' : '250 2.1.5 ok'),
    });
    const queueId = await t.submit({ from: `alice@${DOMAIN}`, to: ['dave@later.test'] });
    const trace = await t.settled(queueId);
    const r = trace.recipients[0]!;
    expect(r.status).toBe('relayed');
    expect(r.attempts.map((a) => a.outcome)).toEqual(['deferred', 'deferred', 'relayed']);
    expect(r.attempts[0]!.reply).toContain('451 4.7.1 greylisted');
    expect(peer.transactions).toHaveLength(1);
  });

  it('bounces a 550 with a DSN to the sender naming the recipient and the reply', async () => {
    await peerFor('refuses.test', { rcpt: () => '550 5.1.1 <erin@refuses.test>: no such user' });
    const queueId = await t.submit({ from: `alice@${DOMAIN}`, to: ['erin@refuses.test'] });
    const trace = await t.settled(queueId);
    expect(trace.recipients[0]!.status).toBe('bounced');
    const dsn = await waitFor(async () =>
      (await t.inbox(`alice@${DOMAIN}`)).find((m) => m.includes(`X-Tegami-Queue-ID: ${queueId}`)),
    );
    expect(dsn).toContain('Final-Recipient: rfc822; erin@refuses.test');
    expect(dsn).toContain('Status: 5.1.1');
    expect(dsn).toContain('Remote-MTA: dns; mx.refuses.test');
    expect(dsn).toMatch(/Diagnostic-Code: smtp; .*550 5\.1\.1 <erin@refuses\.test>: no such user/);
  });

  it('returns only the headers in delay and failure notices when the sender did not authenticate', async () => {
    // An alias forwarding to a host that refuses what it is sent: the classic backscatter.
    await peerFor('strict.test', {
      rcpt: (_a, attempt) => (attempt === 1 ? '451 4.7.1 try later' : '550 5.7.1 spam refused'),
    });
    const raw = `From: <alice@${DOMAIN}>\r\nSubject: bounce me\r\n\r\nSECRET-PAYLOAD\r\n`;
    const queueId = await t.submit({
      from: `alice@${DOMAIN}`,
      to: ['x@strict.test'],
      notify: ['DELAY', 'FAILURE'],
      ret: 'FULL',
      raw,
    });
    await t.settled(queueId);
    const notices = await waitFor(async () => {
      const found = (await t.inbox(`alice@${DOMAIN}`)).filter((m) =>
        m.includes(`X-Tegami-Queue-ID: ${queueId}`),
      );
      return found.length === 2 && found;
    });
    expect(notices.map((n) => /Action: (\w+)/.exec(n)?.[1])).toEqual(['delayed', 'failed']);
    for (const n of notices) {
      expect(n).toContain('Content-Type: text/rfc822-headers');
      expect(n).toContain('Subject: bounce me');
      expect(n).not.toContain('SECRET-PAYLOAD');
    }
    expect(notices[1]).toContain('Its headers are attached below.');
  });

  it('folds lines over 998 octets for the next MTA and leaves every other line as it is', async () => {
    const peer = await peerFor('fold.test');
    const to = `To: ${Array.from({ length: 60 }, (_, i) => `someone${i}@fold.test`).join(', ')}`;
    const long = 'x'.repeat(1_200);
    const raw = `${to}\r\nSubject: long\r\n\r\nshort line\r\n${long}\r\n.${'y'.repeat(997)}\r\n`;
    const queueId = await t.submit({ from: `alice@${DOMAIN}`, to: ['carol@fold.test'], raw });
    expect((await t.settled(queueId)).recipients[0]!.status).toBe('relayed');
    const sent = peer.transactions[0]!.data.toString('latin1');
    for (const line of sent.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
    // The header field folds at whitespace: unfolding gives it back unchanged.
    expect(sent.replace(/\r\n(?=[ \t])/g, '').startsWith(`${to}\r\nSubject: long\r\n`)).toBe(true);
    expect(
      sent.endsWith(
        `\r\n\r\nshort line\r\n${'x'.repeat(998)}\r\n ${'x'.repeat(202)}\r\n.${'y'.repeat(997)}\r\n`,
      ),
    ).toBe(true);
    // What we keep is what we received.
    expect((await t.store.pool.query('SELECT size FROM queue WHERE id = $1', [queueId])).rows[0].size).toBe(
      String(Buffer.byteLength(raw)),
    );
  });

  it('defers only the recipients concerned: one 250, one 451 in one transaction', async () => {
    const peer = await peerFor('mixed.test', {
      rcpt: (address, attempt) =>
        address.startsWith('slow') && attempt === 1 ? '452 4.2.2 mailbox busy' : '250 ok',
    });
    const queueId = await t.submit({ from: `alice@${DOMAIN}`, to: ['fast@mixed.test', 'slow@mixed.test'] });
    const trace = await t.settled(queueId);
    const fast = trace.recipients.find((r) => r.recipient === 'fast@mixed.test')!;
    const slow = trace.recipients.find((r) => r.recipient === 'slow@mixed.test')!;
    expect(fast.attempts.map((a) => a.outcome)).toEqual(['relayed']);
    expect(slow.attempts.map((a) => a.outcome)).toEqual(['deferred', 'relayed']);
    expect(peer.transactions.flatMap((x) => x.accepted).sort()).toEqual([
      'fast@mixed.test',
      'slow@mixed.test',
    ]);
  });

  it("bounces a message over the peer's announced SIZE without sending it", async () => {
    const peer = await peerFor('small.test', { maxSize: 100 });
    const queueId = await t.submit({
      from: `alice@${DOMAIN}`,
      to: ['tiny@small.test'],
      raw: `Subject: big\r\n\r\n${'x'.repeat(500)}\r\n`,
    });
    const trace = await t.settled(queueId);
    expect(trace.recipients[0]!.attempts).toMatchObject([{ outcome: 'bounced' }]);
    expect(trace.recipients[0]!.attempts[0]!.reply).toMatch(
      /552 5\.3\.4 message of \d+ octets is over the SIZE limit mx\.small\.test announced \(100\)/,
    );
    expect(peer.transactions).toHaveLength(0);
  });

  it('bounces at once for a null MX and for NXDOMAIN', async () => {
    resolver.setMx('nomail.test', { status: 'NULL_MX' });
    const nullMx = await t.submit({ from: `alice@${DOMAIN}`, to: ['x@nomail.test'] });
    const nx = await t.submit({ from: `alice@${DOMAIN}`, to: ['y@doesnotexist.test'] });
    const a = await t.settled(nullMx);
    const b = await t.settled(nx);
    expect(a.recipients[0]!.attempts).toMatchObject([{ outcome: 'bounced' }]);
    expect(a.recipients[0]!.attempts[0]!.reply).toContain('556 5.1.10');
    expect(b.recipients[0]!.attempts).toMatchObject([{ outcome: 'bounced' }]);
    const inbox = await waitFor(async () => {
      const all = await t.inbox(`alice@${DOMAIN}`);
      // Both notices: each is a job of its own, in no set order.
      const has = (id: string) => all.some((m) => m.includes(`X-Tegami-Queue-ID: ${id}`));
      return has(nx) && has(nullMx) && all;
    });
    expect(inbox.find((m) => m.includes(`X-Tegami-Queue-ID: ${nullMx}`))).toContain('Status: 5.1.10');
    expect(inbox.find((m) => m.includes(`X-Tegami-Queue-ID: ${nx}`))).toContain('Status: 5.1.2');
  });

  it('defers a temporary DNS failure', async () => {
    resolver.setMx('dnsfail.test', { status: 'SERVFAIL' });
    const queueId = await t.submit({ from: `alice@${DOMAIN}`, to: ['z@dnsfail.test'] });
    const [first] = await waitFor(async () => {
      const [trace] = await (await import('@tegami/store')).traceMessages(t.store.pool, queueId);
      return trace?.recipients[0]?.attempts.length ? trace.recipients[0].attempts : undefined;
    });
    expect(first).toMatchObject({ outcome: 'deferred' });
    expect(first!.reply).toContain('temporary DNS failure');
    await peerFor('dnsfail.test');
    const trace = await t.settled(queueId);
    expect(trace.recipients[0]!.status).toBe('relayed');
  });

  it('defers an unreachable MX, then bounces as expired (fast schedule)', async () => {
    // An address where nothing listens on the port: every connection is refused.
    resolver.setMx('unreachable.test', { hosts: ['mx.unreachable.test'] });
    resolver.setAddresses('mx.unreachable.test', ['127.0.0.250']);
    await t.restartWorker({ schedule: { minMs: 200, maxMs: 400, lifetimeMs: 2_000 } });
    try {
      const queueId = await t.submit({ from: `alice@${DOMAIN}`, to: ['frank@unreachable.test'] });
      const trace = await t.settled(queueId);
      const attempts = trace.recipients[0]!.attempts;
      expect(attempts.length).toBeGreaterThanOrEqual(3);
      expect(attempts.slice(0, -1).every((a) => a.outcome === 'deferred')).toBe(true);
      expect(attempts[0]!.reply).toMatch(
        /connect to mx\.unreachable\.test\[127\.0\.0\.250\]:\d+: connection refused/,
      );
      expect(attempts.at(-1)).toMatchObject({ outcome: 'bounced' });
      const dsn = await waitFor(async () =>
        (await t.inbox(`alice@${DOMAIN}`)).find((m) => m.includes(`X-Tegami-Queue-ID: ${queueId}`)),
      );
      expect(dsn).toContain('Action: failed');
      expect(dsn).toContain('Status: 4.4.7');
      expect(dsn).toContain('connection refused');
    } finally {
      await t.restartWorker();
    }
  });

  it('keeps to the per-domain connection limit', async () => {
    await t.restartWorker({ domainConnections: 1 });
    try {
      const peer = await peerFor('limited.test', { greetingDelayMs: 150 });
      const ids = await Promise.all(
        [1, 2, 3, 4].map((n) => t.submit({ from: `alice@${DOMAIN}`, to: [`u${n}@limited.test`] })),
      );
      for (const id of ids) expect((await t.settled(id)).recipients[0]!.status).toBe('relayed');
      expect(peer.connections()).toBe(4);
      expect(peer.maxConcurrent()).toBe(1);
    } finally {
      await t.restartWorker();
    }
  });

  it('counts what it did in its metrics', async () => {
    await peerFor('counted.test', { rcpt: (_a, attempt) => (attempt === 1 ? '451 4.3.0 later' : '250 ok') });
    const queueId = await t.submit({ from: `alice@${DOMAIN}`, to: ['c@counted.test', `bob@${DOMAIN}`] });
    await t.settled(queueId);
    const text = await t.metrics.metrics();
    expect(text).toMatch(
      /tegami_delivery_outcomes_total\{[^}]*route="local"[^}]*outcome="delivered"[^}]*\} [1-9]/,
    );
    expect(text).toMatch(
      /tegami_delivery_outcomes_total\{[^}]*route="remote"[^}]*outcome="relayed"[^}]*\} [1-9]/,
    );
    expect(text).toMatch(
      /tegami_delivery_outcomes_total\{[^}]*route="remote"[^}]*outcome="deferred"[^}]*\} [1-9]/,
    );
    expect(text).toMatch(/tegami_delivery_attempts_total\{[^}]*route="remote"[^}]*\} [1-9]/);
    expect(text).toMatch(/tegami_delivery_latency_seconds_count\{[^}]*route="remote"[^}]*\} [1-9]/);
    expect(text).toMatch(/tegami_delivery_queue_oldest_pending_seconds\{[^}]*\} \d/);
    expect(text).toMatch(/tegami_delivery_jobs_total\{[^}]*result="done"[^}]*\} [1-9]/);
    expect(text).toMatch(/tegami_delivery_domain_connections\{[^}]*domain="counted\.test"[^}]*\} 0/);
  });
});
