import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  rspamdInstalled,
  startTestDnsServer,
  startTestRspamd,
  type TestDnsServer,
  type TestRspamd,
} from '@tegami/testing';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSite, startMailSite } from './support/mail-site.js';
import { runInRepo, startInRepo } from './support/processes.js';

// Users teach rspamd by filing mail over IMAP, end to end: Debian's rspamd run privately
// (packages/testing/src/rspamd.ts), an imap-gateway process configured as an operator
// would (TEGAMI_RSPAMD_CONTROLLER_URL, TEGAMI_RSPAMD_PASSWORD_FILE), and imapflow as the
// mail client. What rspamd learned is read back from rspamd: its controller's /stat
// counts every learn as it happens, and its Bayes store's counters say of which class.

let rspamd: TestRspamd;
let dns: TestDnsServer;
let site: MailSite;
let secrets: string;
const USER = 'alice@spamlearning.test';

beforeAll(async () => {
  rspamd = await startTestRspamd();
  secrets = mkdtempSync(join(tmpdir(), 'tegami-rspamd-password-'));
  const passwordFile = join(secrets, 'rspamd-password');
  writeFileSync(passwordFile, `${rspamd.password}\n`, { mode: 0o600 });
  dns = await startTestDnsServer({ records: {} });
  site = await startMailSite({
    domain: 'spamlearning.test',
    ip: '127.0.0.41',
    mxPort: await freePort(),
    dnsUpstream: dns.address,
    users: { alice: 'alice-password' },
    imap: 1,
    env: {
      TEGAMI_RSPAMD_CONTROLLER_URL: rspamd.controllerUrl,
      TEGAMI_RSPAMD_PASSWORD_FILE: passwordFile,
    },
  });
}, 240_000);

afterAll(async () => {
  await site?.stop();
  await dns?.stop();
  await rspamd?.stop();
  if (secrets) rmSync(secrets, { recursive: true, force: true });
});

function client(): ImapFlow {
  return new ImapFlow({
    host: site.ip,
    port: site.imaps[0]!.port,
    secure: false,
    auth: { user: USER, pass: 'alice-password' },
    logger: false,
    disableAutoIdle: true,
  });
}

/** A message with enough words for Bayes (it needs 11 tokens), different every time. */
function message(topic: string): Buffer {
  const id = randomUUID();
  return Buffer.from(
    [
      'From: Someone <someone@example.com>',
      `To: ${USER}`,
      `Subject: ${topic}`,
      `Message-ID: <${id}@example.com>`,
      'Date: Thu, 03 Dec 2026 11:59:00 +0000',
      '',
      `This message is about ${topic}. It has quite a few words in it, so that the`,
      `classifier can learn from them: ${id} apples oranges bananas cherries plums.`,
      '',
    ].join('\r\n'),
  );
}

interface Learned {
  /** Learns rspamd's controller has done. */
  readonly learned: number;
  readonly spam: number;
  readonly ham: number;
}

async function learned(): Promise<Learned> {
  const [stat, bayes] = await Promise.all([rspamd.stat(), rspamd.bayesLearns()]);
  return { learned: stat.learned, ...bayes };
}

/** Polls rspamd until it has learned what is expected (bounded), and returns what it has. */
async function untilLearned(expected: Learned, timeoutMs = 30_000): Promise<Learned> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await learned();
    if (now.learned >= expected.learned || Date.now() > deadline) return now;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function learnMetrics(): Promise<Record<string, number>> {
  const imap = site.replicas.find((r) => r.service === 'imap-gateway')!;
  const text = await (await fetch(`http://127.0.0.1:${imap.opsPort}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^tegami_spam_learn_total\{([^}]*)\} (\d+)$/gm)) {
    const kind = /kind="(\w+)"/.exec(m[1]!)?.[1];
    const result = /result="(\w+)"/.exec(m[1]!)?.[1];
    counts[`${kind}/${result}`] = Number(m[2]);
  }
  return counts;
}

describe.skipIf(!rspamdInstalled())(
  'learning from Junk over IMAP (needs /usr/bin/rspamd: apt-get install rspamd)',
  () => {
    it('MOVE into Junk teaches spam, back out teaches ham, into Trash nothing; COPY too, APPEND never', async () => {
      const imap = client();
      await imap.connect();
      try {
        const uid = async (box: string, topic: string) =>
          appendedUid(await imap.append(box, message(topic), []));
        const cheapPills = await uid('INBOX', 'cheap pills');
        const luckyWinner = await uid('INBOX', 'lucky winner');
        const casino = await uid('INBOX', 'online casino');
        // APPEND into Junk is an upload, not a judgement.
        await uid('Junk', 'an uploaded message');
        expect(await learned()).toEqual({ learned: 0, spam: 0, ham: 0 });

        // UID MOVE from INBOX into Junk: spam.
        await imap.mailboxOpen('INBOX');
        const moved = await imap.messageMove(String(cheapPills), 'Junk', { uid: true });
        expect(moved).toBeTruthy();
        expect(await untilLearned({ learned: 1, spam: 1, ham: 0 })).toEqual({ learned: 1, spam: 1, ham: 0 });

        // MOVE (by sequence number) out of Junk into INBOX: ham. rspamd relearns the message
        // in the other class.
        await imap.mailboxOpen('Junk');
        const inJunk = await bySubject(imap, 'cheap pills');
        expect(inJunk).toHaveLength(1);
        await imap.messageMove(String(inJunk[0]), 'INBOX');
        expect(await untilLearned({ learned: 2, spam: 0, ham: 1 })).toEqual({ learned: 2, spam: 0, ham: 1 });

        // UID COPY into Junk teaches spam as well (a client without MOVE moves this way).
        await imap.mailboxOpen('INBOX');
        await imap.messageCopy(String(luckyWinner), 'Junk', { uid: true });
        expect(await untilLearned({ learned: 3, spam: 1, ham: 1 })).toEqual({ learned: 3, spam: 1, ham: 1 });

        // Out of Junk into Trash: deleting junk says nothing about it.
        await imap.mailboxOpen('Junk');
        const winnerInJunk = await bySubject(imap, 'lucky winner');
        await imap.messageMove(String(winnerInJunk[0]), 'Trash');
        const uploaded = await bySubject(imap, 'an uploaded message');
        await imap.messageCopy(String(uploaded[0]), 'Trash');
        // Then a COPY into Junk: once rspamd has learned it, anything the Trash moves had
        // queued before it would have been learned too.
        await imap.mailboxOpen('INBOX');
        const seq = (await bySubject(imap, 'online casino'))[0]!;
        expect(seq).toBeGreaterThan(0);
        await imap.messageCopy(String(seq), 'Junk');
        expect(await untilLearned({ learned: 4, spam: 2, ham: 1 })).toEqual({ learned: 4, spam: 2, ham: 1 });
        await new Promise((r) => setTimeout(r, 500));
        expect(await learned()).toEqual({ learned: 4, spam: 2, ham: 1 });
        expect(casino).toBeGreaterThan(0);

        expect(await learnMetrics()).toMatchObject({
          'spam/learned': 3,
          'ham/learned': 1,
          'spam/failed': 0,
          'ham/failed': 0,
          'spam/dropped': 0,
        });
      } finally {
        await imap.logout();
      }
    }, 120_000);

    it('the standalone learns from Junk too, with the same two settings', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'tegami-spam-standalone-'));
      const imapPort = await freePort();
      const env = { TEGAMI_DATA_DIR: dataDir };
      const standalone = startInRepo('pnpm', ['start'], {
        ...env,
        TEGAMI_OPS_PORT: String(await freePort()),
        TEGAMI_SMTP_MX_PORT: '0',
        TEGAMI_SMTP_SUBMISSION_PORT: '0',
        TEGAMI_SMTP_SUBMISSIONS_PORT: '0',
        TEGAMI_MTA_STS_PORT: '0',
        TEGAMI_POP_PORT: '0',
        TEGAMI_POPS_PORT: '0',
        TEGAMI_IMAP_PORT: String(imapPort),
        TEGAMI_IMAPS_PORT: '0',
        TEGAMI_MANAGESIEVE_PORT: '0',
        TEGAMI_RSPAMD_CONTROLLER_URL: rspamd.controllerUrl,
        TEGAMI_RSPAMD_PASSWORD_FILE: join(secrets, 'rspamd-password'),
      });
      try {
        await standalone.waitFor(/Tegami is running/, 120_000);
        const added = await runInRepo(
          'pnpm',
          ['--silent', 'tegami', 'user', 'add', 'carol@localhost', '--password-stdin'],
          env,
          'carol-password\n',
        );
        expect(added.code, added.stderr).toBe(0);
        const imap = new ImapFlow({
          host: '127.0.0.1',
          port: imapPort,
          secure: false,
          // The standalone's certificate is its own self-signed one: STARTTLS without checking it.
          tls: { rejectUnauthorized: false },
          auth: { user: 'carol@localhost', pass: 'carol-password' },
          logger: false,
          disableAutoIdle: true,
        });
        await imap.connect();
        try {
          const uid = appendedUid(await imap.append('INBOX', message('standalone junk'), []));
          const before = await learned();
          await imap.mailboxOpen('INBOX');
          await imap.messageMove(String(uid), 'Junk', { uid: true });
          const expected = { learned: before.learned + 1, spam: before.spam + 1, ham: before.ham };
          expect(await untilLearned(expected)).toEqual(expected);
        } finally {
          await imap.logout();
        }
      } finally {
        standalone.signal('SIGINT');
        await standalone.exited(60_000).catch(() => standalone.signal('SIGKILL'));
        rmSync(dataDir, { recursive: true, force: true });
      }
    }, 180_000);

    it('a learn rspamd answers already-learned is counted so, and a MOVE into Junk with rspamd gone still answers OK', async () => {
      const imap = client();
      await imap.connect();
      try {
        // The same message filed into Junk twice: rspamd knows it the second time.
        const raw = message('same again');
        await imap.append('INBOX', raw, []);
        await imap.append('INBOX', raw, []);
        await imap.mailboxOpen('INBOX');
        const twins = await bySubject(imap, 'same again');
        expect(twins).toHaveLength(2);
        const before = await learned();
        await imap.messageCopy(String(twins[0]), 'Junk');
        await untilLearned({ ...before, learned: before.learned + 1 });
        await imap.messageCopy(String(twins[1]), 'Junk');
        await untilMetric('spam/already', 1);
        expect((await learned()).learned).toBe(before.learned + 1);

        await rspamd.stop();
        const failedBefore = (await learnMetrics())['spam/failed'] ?? 0;
        const uid = appendedUid(await imap.append('INBOX', message('rspamd is away'), []));
        await imap.mailboxOpen('INBOX');
        const moved = await imap.messageMove(String(uid), 'Junk', { uid: true });
        expect(moved ? moved.uidMap?.size : 0).toBe(1);
        await untilMetric('spam/failed', failedBefore + 1);
        const said = site.imaps[0]!.program.output();
        expect(said).toMatch(/spam learning: rspamd did not learn the spam/);
        expect(said).toContain(USER);
        expect(said).not.toContain('rspamd is away');
      } finally {
        await imap.logout();
      }
    }, 120_000);
  },
);

/** Sequence numbers of the selected mailbox's messages with this subject. */
async function bySubject(imap: ImapFlow, subject: string): Promise<number[]> {
  const found = await imap.search({ subject });
  if (!found) throw new Error(`SEARCH SUBJECT ${subject} failed`);
  return found;
}

function appendedUid(appended: Awaited<ReturnType<ImapFlow['append']>>): number {
  if (!appended || appended.uid === undefined) throw new Error('APPEND gave no UID');
  return appended.uid;
}

async function untilMetric(name: string, value: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = (await learnMetrics())[name] ?? 0;
    if (now >= value) {
      expect(now).toBe(value);
      return;
    }
    if (Date.now() > deadline) throw new Error(`${name} is ${now}, not ${value}, after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
