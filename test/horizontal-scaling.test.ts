import { freePort, LineClient, startTestDnsServer, type TestDnsServer } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSite, type Replica, startMailSite } from './support/mail-site.js';
import { type Attempt, attemptIdsIn, type SmtpLoad, startSmtpLoad } from './support/smtp-load.js';

// Horizontal scaling the way Kubernetes runs Tegami: two smtp-ingress and two
// delivery-worker processes (and a dns-resolver) on one Postgres and one NATS. Mail is
// submitted round-robin through both ingresses by clients that behave like MTAs (a 4xx or
// a lost connection: try again later, elsewhere). Every attempt has its own Message-ID, so
// the test can say which acknowledged attempts reached a mailbox, and how often.
// (IMAP IDLE across gateway replicas and the POP3 lock across pop-gateway replicas are
// proven in imap-replicas.test.ts and pop-replicas.test.ts.)

const USERS = Array.from({ length: 10 }, (_, i) => `u${i}`);
let dns: TestDnsServer;
let site: MailSite;

beforeAll(async () => {
  dns = await startTestDnsServer({ records: {} });
  site = await startMailSite({
    domain: 'scale.test',
    ip: '127.0.0.50',
    mxPort: await freePort(),
    dnsUpstream: dns.address,
    users: Object.fromEntries(USERS.map((u) => [u, `${u}-password`])),
    smtp: 2,
    workers: 2,
    // Shutdowns in this test must finish well within a test's patience.
    env: { TEGAMI_SHUTDOWN_TIMEOUT_MS: '15s' },
  });
}, 180_000);

afterAll(async () => {
  await site?.stop();
  await dns?.stop();
});

const recipients = USERS.map((u) => `${u}@scale.test`);

function load(prefix: string, messages?: number, lanes = 6): SmtpLoad {
  return startSmtpLoad({
    targets: site.ingresses.map((i) => ({ host: site.ip, port: i.mxPort })),
    recipients,
    lanes,
    prefix,
    ...(messages !== undefined && { messages }),
  });
}

/** Every delivered copy of this run's attempts, across all mailboxes. */
async function deliveredIds(prefix: string): Promise<string[]> {
  const all: string[] = [];
  for (const address of recipients) all.push(...attemptIdsIn(await site.inbox(address), prefix));
  return all.filter((id) => id.startsWith(`${prefix}-`));
}

/** Waits until every accepted attempt is in a mailbox, then a little longer for a late duplicate. */
async function settle(prefix: string, attempts: readonly Attempt[], timeoutMs: number): Promise<string[]> {
  const accepted = new Set(attempts.filter((a) => a.outcome?.kind === 'accepted').map((a) => a.id));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const delivered = new Set(await deliveredIds(prefix));
    const missing = [...accepted].filter((id) => !delivered.has(id));
    if (missing.length === 0) break;
    if (Date.now() > deadline) {
      throw new Error(`${missing.length} acknowledged messages never delivered, e.g. ${missing.slice(0, 5)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await new Promise((r) => setTimeout(r, 1_500));
  return deliveredIds(prefix);
}

function count(ids: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

async function waitForAccepted(run: SmtpLoad, atLeast: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (run.accepted() < atLeast) {
    if (Date.now() > deadline) throw new Error(`only ${run.accepted()} of ${atLeast} accepted`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function deliveredBy(worker: Replica): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${worker.opsPort}/metrics`)).text();
  const line =
    /^tegami_delivery_outcomes_total\{[^}]*route="local"[^}]*outcome="delivered"[^}]*\} (\d+)/m.exec(text);
  return Number(line?.[1] ?? 0);
}

describe('horizontal scaling', () => {
  it('delivers 1,000 messages submitted round-robin through two ingresses exactly once, by both workers', async () => {
    const run = load('steady', 1_000);
    await run.done;
    const failures = run.attempts.filter((a) => a.outcome?.kind !== 'accepted');
    expect(failures).toEqual([]);
    expect(run.attempts).toHaveLength(1_000);
    // Round-robin: each ingress took half.
    expect(run.attempts.filter((a) => a.target === 0)).toHaveLength(500);
    const delivered = await settle('steady', run.attempts, 120_000);
    expect(delivered).toHaveLength(1_000);
    expect([...count(delivered).values()].every((n) => n === 1)).toBe(true);
    const [a, b] = await Promise.all(site.workers.map(deliveredBy));
    expect(a! + b!).toBeGreaterThanOrEqual(1_000);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
  }, 240_000);

  it('loses and doubles nothing while every process is restarted in turn (SIGTERM), and clients only see 421/451', async () => {
    const run = load('rolling');
    await waitForAccepted(run, 100);
    // Whether a load session is between transactions when its ingress stops is chance; this
    // one always is, so each ingress's drain is seen to say 421 to an open session.
    const told: number[] = [];
    for (const replica of site.replicas) {
      const before = run.accepted();
      const ingress = site.ingresses.find((i) => i.replica === replica);
      const idle = ingress ? await LineClient.connect(ingress.mxPort, { host: site.ip }) : undefined;
      if (idle) {
        await idle.readReply();
        await idle.command('EHLO idle.test');
      }
      const restarted = replica.restart('SIGTERM');
      if (idle) {
        told.push((await idle.readReply(30_000)).code);
        idle.close();
      }
      await restarted;
      // Traffic flows again before the next one goes down.
      await waitForAccepted(run, before + 50);
    }
    expect(told).toEqual(site.ingresses.map(() => 421));
    await run.stop();
    const outcomes = run.attempts.map((a) => a.outcome!);
    const replies = outcomes.filter((o) => o.kind === 'reply');
    const lost = outcomes.filter((o) => o.kind === 'connection');
    // A draining ingress answers 421 between transactions and lets a transaction in progress
    // finish; a connection is never dropped without a word.
    expect(replies.filter((o) => o.kind === 'reply' && o.code !== 421 && o.code !== 451)).toEqual([]);
    expect(lost).toEqual([]);
    console.info(
      `rolling restart: ${run.attempts.length} attempts, ${run.accepted()} accepted, ` +
        `${replies.length} answered 421/451, ${outcomes.filter((o) => o.kind === 'refused').length} connections refused`,
    );
    const delivered = await settle('rolling', run.attempts, 120_000);
    const counts = count(delivered);
    const accepted = run.attempts.filter((a) => a.outcome?.kind === 'accepted');
    expect(accepted.filter((a) => counts.get(a.id) !== 1)).toEqual([]);
    // What was not acknowledged was not delivered either.
    expect(delivered).toHaveLength(accepted.length);
  }, 420_000);

  it('loses and doubles no acknowledged message when an ingress and a worker are SIGKILLed under load', async () => {
    const run = load('killed');
    await waitForAccepted(run, 100);
    await site.ingresses[0]!.replica.restart('SIGKILL');
    await waitForAccepted(run, run.accepted() + 50);
    await site.workers[1]!.restart('SIGKILL');
    await waitForAccepted(run, run.accepted() + 100);
    await run.stop();
    // Claims of the killed worker run out after a minute; then the jobs are done elsewhere.
    const delivered = await settle('killed', run.attempts, 180_000);
    const counts = count(delivered);
    const accepted = run.attempts.filter((a) => a.outcome?.kind === 'accepted');
    expect(accepted.length).toBeGreaterThanOrEqual(250);
    expect(accepted.filter((a) => counts.get(a.id) !== 1)).toEqual([]);
    // An attempt the kill cut after it was queued but before its 250 may be delivered (the
    // client sent it again, so the user sees it twice: RFC 5321 §6.1 prefers that to loss).
    const unacknowledged = delivered.filter((id) => !accepted.some((a) => a.id === id));
    expect(unacknowledged.length).toBeLessThanOrEqual(6);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  }, 420_000);
});
