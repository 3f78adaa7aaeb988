import { freePort, rspamdInstalled, startTestRspamd, type TestRspamd } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundChecks } from '../services/smtp-ingress/src/inbound-setup.js';
import type { SpamFailurePolicy } from '../services/smtp-ingress/src/spam-scan.js';
import { ehlo, sendData } from '../services/smtp-ingress/test/smtp-client.js';
import { queueIdOf, startTestIngress, type TestIngress } from '../services/smtp-ingress/test/test-ingress.js';

// rspamd on port 25, for real: Debian's rspamd as a private instance (packages/testing), asked
// by smtp-ingress at the end of DATA through TEGAMI_RSPAMD_URL's client. Mail authentication
// is off here (its own tests are in inbound-mail-auth.test.ts): this is the filter alone.

const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';
// The test instance adds this header's value to the score (packages/testing/src/rspamd.ts).
const scored = (score: number) => `X-Tegami-Test-Score: ${score}\r\n`;

/** An ingress whose spam filter is the rspamd at `url`, with the given failure policy. */
function ingressWith(
  url: string,
  failure: SpamFailurePolicy,
  timeoutMs = 10_000,
  local: { mailAuth: boolean; checkLoopbackClients: boolean } = {
    mailAuth: false,
    checkLoopbackClients: true,
  },
): Promise<TestIngress> {
  const inbound = inboundChecks(
    {
      mailAuth: local.mailAuth,
      mailAuthTimeoutMs: 1_000,
      dmarcEnforcement: 'reject',
      rspamdUrl: url,
      rspamdTimeoutMs: timeoutMs,
      rspamdFailure: failure,
    },
    // Never asked: mail authentication is off, or skips the loopback clients of these tests.
    undefined as never,
  );
  return startTestIngress({ inbound, checkLoopbackClients: local.checkLoopbackClients });
}

async function send(t: TestIngress, message: string) {
  const client = await ehlo(t.ports.mx);
  try {
    await client.command('MAIL FROM:<sender@elsewhere.example>');
    await client.command('RCPT TO:<bob@example.test>');
    const reply = await sendData(client, message);
    if (reply.code !== 250) return { reply };
    const queueId = queueIdOf(reply.text);
    const row = await t.store.pool.query<{ junk: boolean; verdict: Record<string, unknown> }>(
      'SELECT junk, verdict FROM queue WHERE id = $1',
      [queueId],
    );
    return {
      reply,
      stored: (await t.queued(queueId))!.raw.toString('latin1'),
      junk: row.rows[0]!.junk,
      verdict: row.rows[0]!.verdict,
    };
  } finally {
    client.close();
  }
}

const message = (extra = '', body = 'Hello Bob, see you at the meeting tomorrow.\r\n') =>
  `${extra}From: sender@elsewhere.example\r\nTo: bob@example.test\r\nSubject: meeting\r\n` +
  `Message-ID: <${Math.random()}@elsewhere.example>\r\nDate: Thu, 03 Dec 2026 12:00:00 +0000\r\n\r\n${body}`;

describe.skipIf(!rspamdInstalled())('the spam filter on port 25 (a real rspamd)', () => {
  let rspamd: TestRspamd;
  let t: TestIngress;

  beforeAll(async () => {
    rspamd = await startTestRspamd();
    t = await ingressWith(rspamd.url, 'accept');
  }, 180_000);

  afterAll(async () => {
    await t?.stop();
    await rspamd?.stop();
  });

  it('refuses the GTUBE test message with 550 5.7.1 and stores nothing', async () => {
    const sent = await send(t, message('', `${GTUBE}\r\n`));
    expect(sent.reply.text).toMatch(/^550 5\.7\.1 Spam message rejected \(score \d+/);
    expect(sent.stored).toBeUndefined();
  });

  it('delivers a plain message to INBOX with rspamd headers above our Received', async () => {
    const sent = await send(t, message());
    expect(sent.reply.code).toBe(250);
    expect(sent.junk).toBe(false);
    expect(sent.stored).toMatch(/^X-Spamd-Result: default: False \[/m);
    expect(sent.stored!.indexOf('X-Spamd-Result:')).toBeLessThan(sent.stored!.indexOf('Received: from'));
    expect(sent.verdict).toMatchObject({ spam: { action: 'no action' }, action: 'inbox' });
  });

  it('files an "add header" verdict into Junk, with X-Spam', async () => {
    const sent = await send(t, message(scored(7)));
    expect(sent.reply.code).toBe(250);
    expect(sent.junk).toBe(true);
    expect(sent.stored).toMatch(/^X-Spam: Yes\r$/m);
    expect(sent.verdict).toMatchObject({ spam: { action: 'add header' }, action: 'junk' });
  });

  it('rewrites the Subject for "rewrite subject" and files it into Junk', async () => {
    const sent = await send(t, message(scored(11)));
    expect(sent.reply.code).toBe(250);
    expect(sent.junk).toBe(true);
    expect(sent.stored).toMatch(/^Subject: \*\*\*SPAM\*\*\* meeting\r$/m);
    expect(sent.stored).not.toMatch(/^Subject: meeting\r$/m);
  });

  it('answers greylist with 451 4.7.1', async () => {
    const sent = await send(t, message(scored(4.5)));
    expect(sent.reply.text).toMatch(/^451 4\.7\.1 /);
  });

  it("removes a sender's own X-Spam header that rspamd asks to remove", async () => {
    const sent = await send(t, message('X-Spam: No, trust me\r\n'));
    expect(sent.reply.code).toBe(250);
    expect(sent.stored).not.toContain('trust me');
  });

  it("scans a local program's mail (a loopback client) without authenticating it, as Postfix with rspamd and OpenDMARC do", async () => {
    const local = await ingressWith(rspamd.url, 'accept', 10_000, {
      mailAuth: true,
      checkLoopbackClients: false,
    });
    try {
      expect((await send(local, message('', `${GTUBE}\r\n`))).reply.code).toBe(550);
      const sent = await send(local, message());
      expect(sent.reply.code).toBe(250);
      expect(sent.stored).toMatch(/^X-Spamd-Result: /m);
      expect(sent.stored).not.toMatch(/^Authentication-Results: /m);
      expect(sent.verdict).not.toHaveProperty('spf');
    } finally {
      await local.stop();
    }
  });

  it('counts the actions in tegami_spam_actions_total', async () => {
    const { values } = await t.metrics.getSingleMetric('tegami_spam_actions_total')!.get();
    const count = (action: string) => values.find((v) => v.labels.action === action)?.value ?? 0;
    expect(count('reject')).toBeGreaterThanOrEqual(1);
    expect(count('add_header')).toBeGreaterThanOrEqual(1);
    expect(count('rewrite_subject')).toBeGreaterThanOrEqual(1);
    expect(count('greylist')).toBeGreaterThanOrEqual(1);
  });
});

describe('when rspamd cannot answer', () => {
  it('accepts the message unscanned with TEGAMI_RSPAMD_FAILURE=accept, and counts it', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const t = await ingressWith(nobody, 'accept');
    try {
      const sent = await send(t, message());
      expect(sent.reply.code).toBe(250);
      expect(sent.junk).toBe(false);
      expect(sent.verdict).toMatchObject({ spam: { unscanned: 'unreachable' }, action: 'inbox' });
      const { values } = await t.metrics.getSingleMetric('tegami_spam_actions_total')!.get();
      expect(values.find((v) => v.labels.action === 'unscanned')?.value).toBe(1);
    } finally {
      await t.stop();
    }
  });

  it('answers 451 4.7.1 with TEGAMI_RSPAMD_FAILURE=tempfail, storing nothing', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const t = await ingressWith(nobody, 'tempfail');
    try {
      const sent = await send(t, message());
      expect(sent.reply.text).toMatch(/^451 4\.7\.1 /);
      const rows = await t.store.pool.query('SELECT count(*)::int AS n FROM queue');
      expect(rows.rows[0].n).toBe(0);
    } finally {
      await t.stop();
    }
  });

  it('gives up after TEGAMI_RSPAMD_TIMEOUT when rspamd never answers', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const t = await ingressWith(`http://127.0.0.1:${port}`, 'accept', 500);
    try {
      const started = Date.now();
      const sent = await send(t, message());
      expect(sent.reply.code).toBe(250);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(sent.verdict).toMatchObject({ spam: { unscanned: 'timeout' } });
    } finally {
      await t.stop();
      silent.close();
    }
  });
});
