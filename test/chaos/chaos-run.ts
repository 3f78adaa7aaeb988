// One chaos run (issue 21 §1): the whole system as processes on a Postgres and a NATS of
// its own, a sustained mixed load, faults drawn from a seed, then the invariants.
// `pnpm chaos` (run.ts) runs it by hand; chaos.test.ts runs a short one in CI.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addDomain, createAccount, migrate, openStore } from '@tegami/store';
import { startScriptedPeer, startTestDnsServer } from '@tegami/testing';
import {
  ALL_USERS,
  CHAOS_DOMAIN,
  CHAOS_PASSWORD,
  IMAP_USERS,
  POP_USERS,
  REMOTE_DOMAIN,
  SENDER,
} from './accounts.js';
import { type ChaosReplica, startChaosDeployment } from './deployment.js';
import { applyFault, downOnPurpose, type FaultEvent, planFaults } from './faults.js';
import { startImapLoad } from './imap-load.js';
import { removeWorkDir, startChaosNats, startChaosPostgres, useSmallDisk } from './infrastructure.js';
import { type CheckSummary, checkInvariants, type Violation } from './invariants.js';
import { type MemoryReport, MemorySampler } from './memory.js';
import { startPopLoad } from './pop-load.js';
import { seededRandom } from './random.js';
import { emptyRecords, type LoadContext } from './records.js';
import type { RunningLoad } from './running-load.js';
import { startSmtpLoad } from './smtp-load.js';
import { snapshotStore } from './store-snapshot.js';

export interface ChaosOptions {
  readonly seed: number;
  /** How long the load runs with faults. */
  readonly seconds: number;
  /** Pause between one fault's end and the next one's start (ms). */
  readonly faultGapMs: [number, number];
  /** Fault schedules applied at once (1: one fault at a time). */
  readonly faultStreams: number;
  readonly smtpConcurrency: number;
  readonly imapSessionsPerUser: number;
  readonly log: (line: string) => void;
}

export interface ChaosReport {
  readonly seed: number;
  readonly seconds: number;
  readonly faults: readonly FaultEvent[];
  /** Processes that exited without being told to (restarted, as Kubernetes would). */
  readonly unplannedExits: readonly string[];
  /** Starts during an outage that ended with the process exiting, and started again. */
  readonly failedStarts: readonly string[];
  readonly memory: MemoryReport;
  readonly check: CheckSummary;
  /** Every violation: the invariants', and the processes' (not ready, leaking, crashed). */
  readonly violations: readonly Violation[];
  readonly drainSeconds: number;
}

const HOST = '127.0.0.1';

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { log } = options;
  const random = seededRandom(options.seed);
  const workDir = mkdtempSync(join(tmpdir(), 'tegami-chaos-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const postgres = await startChaosPostgres(workDir);
    cleanups.unshift(() => postgres.stop());
    const nats = await startChaosNats(workDir);
    cleanups.unshift(() => nats.stop());
    const store = openStore({ url: postgres.directUrl, poolSize: 4, onIdleError: () => undefined });
    cleanups.unshift(() => store.close());
    await migrate(store.pool);
    if (postgres.smallDisk) await useSmallDisk(postgres.directUrl);
    else log('no tmpfs mount here: the disk-full fault is skipped');
    await addDomain(store.pool, CHAOS_DOMAIN);
    for (const user of ALL_USERS) await createAccount(store.pool, user, CHAOS_PASSWORD);

    const dns = await startTestDnsServer({
      records: {
        [REMOTE_DOMAIN]: { mx: [{ preference: 10, exchange: `mx.${REMOTE_DOMAIN}` }] },
        [`mx.${REMOTE_DOMAIN}`]: { a: [HOST] },
      },
    });
    cleanups.unshift(() => dns.stop());
    const peer = await startScriptedPeer(
      {
        rcpt: (address, attempt) =>
          address.startsWith('reject-')
            ? `550 5.1.1 <${address}>: no such user`
            : address.startsWith('defer-') && attempt === 1
              ? '451 4.7.1 greylisted, come back later'
              : '250 2.1.5 ok',
      },
      HOST,
      0,
    );
    cleanups.unshift(() => peer.stop());

    log('starting 9 Tegami processes');
    const deployment = await startChaosDeployment({
      databaseUrl: postgres.url,
      natsUrl: nats.url,
      host: HOST,
      domain: CHAOS_DOMAIN,
      dnsUpstream: dns.address,
      remoteSmtpPort: peer.port,
      log,
    });
    cleanups.unshift(() => deployment.stop());
    const violations: Violation[] = [];
    const unplannedExits: string[] = [];
    const memory = new MemorySampler(deployment.replicas);
    memory.start();
    cleanups.unshift(async () => memory.stop());
    const supervisor = supervise(deployment.replicas, unplannedExits, violations, log);
    cleanups.unshift(async () => supervisor.stop());

    let stopping = false;
    const records = emptyRecords();
    const ctx = (label: string): LoadContext => ({
      random: random.fork(label),
      host: HOST,
      domain: CHAOS_DOMAIN,
      ports: deployment.ports,
      password: CHAOS_PASSWORD,
      records,
      stopping: () => stopping,
      log: (line) => log(`[${label}] ${line}`),
    });
    const loads: RunningLoad[] = [
      startSmtpLoad(ctx('smtp'), { concurrency: options.smtpConcurrency }),
      startPopLoad(ctx('pop'), { users: POP_USERS }),
      startImapLoad(ctx('imap'), { users: IMAP_USERS, sessionsPerUser: options.imapSessionsPerUser }),
    ];

    log(`load and faults for ${options.seconds} s, seed ${options.seed}`);
    const faults: FaultEvent[] = [];
    const until = Date.now() + options.seconds * 1000;
    // Each stream draws its own schedule from the seed; several overlap their faults (a
    // worker killed while Postgres restarts), the way trouble comes in production.
    const streams = Array.from({ length: Math.max(1, options.faultStreams) }, async (_, stream) => {
      const plan = planFaults(
        random.fork(stream === 0 ? 'faults' : `faults-${stream}`),
        100_000,
        deployment.replicas.length,
        options.faultGapMs,
      );
      for (const fault of plan) {
        await new Promise((r) => setTimeout(r, fault.delayMs));
        if (Date.now() >= until) break;
        const event = await applyFault(fault, { replicas: deployment.replicas, postgres, nats });
        if (event.target.startsWith('skipped')) continue;
        faults.push(event);
        log(
          `fault ${faults.length}: ${event.kind} ${event.target} (${event.end - event.start} ms)${event.error ? ` ERROR ${event.error}` : ''}`,
        );
        if (event.error)
          violations.push({
            invariant: 'every process comes back ready',
            detail: `${event.target}: ${event.error}`,
          });
      }
    });
    await Promise.all(streams);
    stopping = true;
    log('faults over; the load winds down');
    await withTimeout(Promise.all(loads.map((l) => l.quiet())), 120_000, 'the load to stop');

    // Quiet: everything ready, every queued message delivered or bounced.
    const drainStart = Date.now();
    for (const replica of deployment.replicas) {
      if (!(await waitFor(() => replica.ready(), 120_000)))
        violations.push({
          invariant: 'every process comes back ready',
          detail: `${replica.name} is not ready at the end`,
        });
    }
    const drained = await waitFor(async () => {
      const { rows } = await store.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM queue WHERE state <> 'done'`,
      );
      return rows[0]!.n === 0;
      // Long enough for the due scan's net (a recipient never tried is republished after
      // five minutes): a worker killed between a DSN's commit and its publish needs it.
    }, 360_000);
    const drainSeconds = (Date.now() - drainStart) / 1000;
    if (!drained) log('the queue did not drain');
    await withTimeout(Promise.all(loads.map((l) => l.finish())), 120_000, 'the clients to finish');
    supervisor.stop();
    memory.stop();

    const snapshot = await snapshotStore(store, ALL_USERS, SENDER);
    const check = checkInvariants({ records, store: snapshot, remote: peer.transactions, faults });
    for (const [state, n] of Object.entries(snapshot.unfinishedQueue))
      violations.push({
        invariant: 'the queue drains',
        detail: `${n} queue rows still ${state}: ${snapshot.unfinishedDetail.join(' | ')}`,
      });
    const memoryReport = memory.report();
    for (const leak of memoryReport.leaks)
      violations.push({ invariant: 'no process leaks memory', detail: leak });
    return {
      seed: options.seed,
      seconds: options.seconds,
      faults,
      unplannedExits,
      failedStarts: deployment.failedStarts,
      memory: memoryReport,
      check,
      violations: [...check.violations, ...violations],
      drainSeconds,
    };
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((error) => log(`cleanup: ${error}`));
    removeWorkDir(workDir);
  }
}

/**
 * Kubernetes' part: a process that exits without a fault having stopped it is started
 * again, and written down, since a Tegami service should ride out an outage, not die of it.
 */
function supervise(
  replicas: readonly ChaosReplica[],
  exits: string[],
  violations: Violation[],
  log: (line: string) => void,
): { stop(): void } {
  let stopped = false;
  const restarting = new Set<ChaosReplica>();
  const timer = setInterval(() => {
    for (const replica of replicas) {
      const child = replica.program().child;
      if (stopped || downOnPurpose.has(replica) || restarting.has(replica)) continue;
      if (child.exitCode === null && child.signalCode === null) continue;
      const what = `${replica.name} exited by itself (code ${child.exitCode}, signal ${child.signalCode})`;
      const detail = `${what}: ${replica.program().output().trim().split('\n').slice(-3).join(' | ')}`;
      exits.push(detail);
      // A running service rides out an outage (unready until it is over); dying of one is a finding.
      violations.push({ invariant: 'no process exits by itself', detail });
      log(what);
      restarting.add(replica);
      replica
        .start()
        .catch((error) =>
          violations.push({ invariant: 'every process comes back ready', detail: String(error) }),
        )
        .finally(() => restarting.delete(replica));
    }
  }, 1000);
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
