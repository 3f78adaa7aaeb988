import { randomBytes } from 'node:crypto';
import { hostname as machineName } from 'node:os';
import type { DeliveryJob, JobControl, MailBus } from '@tegami/bus';
import type { SrsOptions } from '@tegami/protocol';
import type { ResolverClient } from '@tegami/rpc';
import type { Logger } from '@tegami/runtime';
import {
  awaitAcceptance,
  type ClaimedMessage,
  claimQueuedMessage,
  claimQueuedMessages,
  type DeliveryOutcome,
  type DueDelivery,
  expandRecipient,
  extendClaims,
  finishOrRemaining,
  type LocalRoute,
  listLocalDomains,
  type QueueEntry,
  queueBacklog,
  releaseAbandonedClaims,
  releaseClaims,
  routeLocalRecipients,
  type SecretsKeyring,
  settleDeliveries,
} from '@tegami/store';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import { cached } from './cached.js';
import { Coalescer } from './coalescer.js';
import type { DsnRecipient } from './dsn.js';
import { startDueScan } from './due-scan.js';
import { startJobRepublisher } from './job-republisher.js';
import { type DescribeMessage, deliverLocally, type SharedBlob, sharedBlob } from './local-delivery.js';
import { MailboxBatcher } from './mailbox-batcher.js';
import { createMaintenanceMetrics, startMaintenanceLoop } from './maintenance-loop.js';
import { createDeliveryMetrics, type DeliveryMetrics } from './metrics.js';
import { notice, reportMessage, wants } from './notices.js';
import { outboundSetup } from './outbound-setup.js';
import { deliverRemotely } from './remote-attempt.js';
import type { DeliveryReportDeps, ReportSchedule } from './report-schedule.js';
import { nextAttempt } from './retry-schedule.js';
import type { DeliverySettings } from './settings.js';
import { settleSurely } from './settle-surely.js';
import { deliverWithSieve } from './sieve-delivery.js';
import { SieveScriptCache } from './sieve-script-cache.js';
import type { TlsOutcome } from './tls-policy.js';

export interface DeliveryWorkerDeps {
  readonly pool: pg.Pool;
  readonly bus: MailBus;
  readonly resolver: Pick<ResolverClient, 'resolveMx' | 'resolveAddresses' | 'resolveTxt' | 'resolveTlsa'>;
  readonly hostname: string;
  readonly logger: Logger;
  readonly settings: DeliverySettings;
  readonly describe: DescribeMessage;
  readonly metrics?: Registry | undefined;
  /** Names this process in claims and connection slots (default: host name + random). */
  readonly workerId?: string | undefined;
  /** How often to look for recipients whose retry is due (default 5 s). */
  readonly dueScanIntervalMs?: number | undefined;
  /**
   * At start, publish a job for every recipient not yet attempted: the standalone's
   * in-process bus loses its jobs with the process, unlike JetStream.
   */
  readonly recoverJobsAtStart?: boolean | undefined;
  /**
   * What the daily TLS-RPT and DMARC reports need beyond `settings.reports` (which turns them
   * on): TXT lookups, and for tests a clock that says which days are over.
   */
  readonly reports?: DeliveryReportDeps | undefined;
  /** Each outbound connection's TLS outcome (for TLS-RPT, RFC 8460). */
  readonly onTlsOutcome?: ((outcome: TlsOutcome) => void) | undefined;
  /**
   * TEGAMI_SRS_SECRET_FILE's secrets: mail an alias forwards to another domain is sent from
   * an SRS address of the alias's domain. Without them, from the original sender.
   */
  readonly srs?: SrsOptions | undefined;
  /** TEGAMI_SECRETS_KEY_FILE: opens the DKIM keys (and ARC's); without it mail goes out unsigned. */
  readonly secretsKeyring?: SecretsKeyring | undefined;
}

export interface DeliveryWorkerHandle {
  readonly workerId: string;
  /** The daily reports' schedule, when TEGAMI_REPORTS is on. */
  readonly reports: ReportSchedule | undefined;
  /** Stops taking jobs and waits for those in hand; their claims are released. */
  /** Takes no more jobs; waits for those running, up to `drainTimeoutMs` if given. */
  stop(options?: { readonly drainTimeoutMs?: number }): Promise<void>;
}

// A claim outlives a crashed worker by this much at most; a live one renews it.
const CLAIM_MS = 60_000;
// An 'accepting' row (from an older smtp-ingress) this young may still become 'queued'.
const ACCEPTING_GRACE_MS = 60_000;
// How long a job waits for the acceptance that published it before it is put back.
const ACCEPTANCE_WAIT_MS = 5_000;
// Retries due sooner than this wait as a nak'd job; later ones come back via the due scan.
// At least a claim's length: a recipient a dead worker still holds comes due when its claim
// runs out, and the job must come back then (the chaos run found such jobs dropped, their
// mail waiting minutes for the scan).
const NAK_HORIZON_MS = CLAIM_MS + 5_000;
const MAX_ALIAS_DEPTH = 8;
// Every connection slot of the domain was taken: try again soon, at a random moment so
// the waiting jobs do not all come back at once.
const busyRetryMs = () => 300 + Math.floor(Math.random() * 700);

export async function startDeliveryWorker(deps: DeliveryWorkerDeps): Promise<DeliveryWorkerHandle> {
  const workerId = deps.workerId ?? `${machineName()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const { pool, bus, logger, settings } = deps;
  const metrics: DeliveryMetrics | undefined = deps.metrics
    ? createDeliveryMetrics(deps.metrics, () => queueBacklog(pool))
    : undefined;
  const localDomains = cached(5_000, () => listLocalDomains(pool));
  const batcher = new MailboxBatcher(pool, bus);
  // DSNs and Sieve's messages: their jobs are published after their commit, and retried.
  const republisher = startJobRepublisher({ bus, logger });
  const afterCommit = { ...bus, publishJob: (job: DeliveryJob) => republisher.publish(job) };
  // The jobs of one fetch start together: their claims and their recipients' routes go to
  // Postgres as one statement each (coalescer.ts), not one per job.
  const claims = new Coalescer<{ queueId: string; worker: string }, ClaimedMessage | undefined>((requests) =>
    claimQueuedMessages(pool, requests, CLAIM_MS),
  );
  const routes = new Coalescer<string, LocalRoute>((addresses) =>
    routeLocalRecipients(pool, addresses, { recipientDelimiter: settings.recipientDelimiter }),
  );
  // Users' Sieve scripts, compiled once per version (sieve-script-cache.ts).
  const sieveScripts = new SieveScriptCache();
  const { dkim, reports, forwarding, remoteDeps } = outboundSetup(deps, { workerId, localDomains, metrics });

  async function handleJob(job: DeliveryJob, control: JobControl): Promise<void> {
    // Claims are per handling, not per process: two jobs for one message never share one.
    const claimant = `${workerId}/${randomBytes(4).toString('hex')}`;
    // A row this statement sees is committed: its acceptance is over (under load, the
    // usual case). Otherwise it may still be coming: smtp-ingress publishes the job inside
    // the transaction that writes the row and commits after the PubAck, so the job can come
    // first. Then wait for that transaction (a lock it holds), not for a timer, and look
    // again: the row is there, or it never will be.
    let claimed = await claims.run({ queueId: job.queueId, worker: claimant });
    if (!claimed) {
      if (!(await awaitAcceptance(pool, job.queueId, ACCEPTANCE_WAIT_MS))) {
        metrics?.jobs.inc({ result: 'retry-later' });
        logger.info({ queueId: job.queueId }, 'the message is still being accepted; looking again later');
        return control.nak(ACCEPTANCE_WAIT_MS);
      }
      claimed = await claimQueuedMessage(pool, job.queueId, claimant, CLAIM_MS);
    }
    if (!claimed) {
      // Its acceptance was rolled back after the publish (the ingress died or failed before
      // its commit, and answered no 250), or the row is gone since (dropped, pruned).
      metrics?.jobs.inc({ result: 'stale' });
      logger.info({ queueId: job.queueId }, 'job for a message not in the queue: dropped');
      return control.ack();
    }
    const { entry } = claimed;
    if (entry.state === 'accepting') {
      // Only an smtp-ingress from before publish-first acceptance writes this state (its row,
      // then the job, then 'queued'): during a rolling upgrade, wait for its 'queued'.
      if (Date.now() - entry.receivedAt.getTime() < ACCEPTING_GRACE_MS) return control.nak(1_000);
      // Its client was answered 451 (the 250 never came): the sweep removes the row.
      metrics?.jobs.inc({ result: 'stale' });
      return control.ack();
    }
    if (entry.state === 'done') return control.ack();

    const held = new Set<string>();
    const heartbeat = setInterval(() => {
      control.working();
      extendClaims(pool, [...held], claimant, CLAIM_MS).catch(() => undefined);
    }, CLAIM_MS / 4);
    let busy = false;
    let done = false;
    try {
      let due = claimed.due;
      const message = claimed.message;
      if (due.length > 0 && !message) throw new Error(`blob of ${entry.queueId} is missing`);
      // Parsed once for the whole job, whatever the number of local recipients and rounds.
      const blob = message && sharedBlob(entry, message, deps.describe);
      for (let round = 0; round <= MAX_ALIAS_DEPTH && due.length > 0 && blob; round++) {
        for (const d of due) held.add(d.id);
        const result = await attempt(claimant, entry, due, blob, round === MAX_ALIAS_DEPTH);
        for (const d of due) held.delete(d.id);
        busy ||= result.busy;
        done ||= result.done;
        if (!result.expanded) break;
        // The destinations of expanded aliases are new recipients, due now.
        due = (await claimQueuedMessage(pool, entry.queueId, claimant, CLAIM_MS))?.due ?? [];
      }
    } finally {
      clearInterval(heartbeat);
      await releaseClaims(pool, [...held], claimant).catch(() => undefined);
    }
    // The delivery statement that settled the last recipient marked the row done already
    // (mailbox-batcher.ts, the common case: one round trip fewer per message).
    const rest = done ? { unfinished: 0, nextDueAt: null } : await finishOrRemaining(pool, entry.queueId);
    if (rest.unfinished === 0) {
      metrics?.jobs.inc({ result: 'done' });
      return control.ack();
    }
    const wait = busy ? busyRetryMs() : Math.max(500, (rest.nextDueAt?.getTime() ?? Date.now()) - Date.now());
    metrics?.jobs.inc({ result: busy ? 'busy' : 'retry-later' });
    if (wait <= NAK_HORIZON_MS) return control.nak(wait);
    // The due scan publishes a job again when the first recipient is due.
    return control.ack();
  }

  /** One pass over the due recipients of a message; reports whether aliases expanded. */
  async function attempt(
    claimant: string,
    entry: QueueEntry,
    due: readonly DueDelivery[],
    blob: SharedBlob,
    aliasDepthReached: boolean,
  ): Promise<{ expanded: boolean; busy: boolean; done: boolean }> {
    const message = blob.bytes;
    const now = new Date();
    const outcomes: DeliveryOutcome[] = [];
    const notices: DsnRecipient[] = [];
    const local = new Set(await localDomains());
    const remote = new Map<string, DueDelivery[]>();
    let expanded = false;
    let busy = false;
    let done = false;

    const expiresAt = new Date(entry.receivedAt.getTime() + settings.schedule.lifetimeMs);
    const settle = (
      d: DueDelivery,
      route: 'local' | 'remote',
      kind: 'bounced' | 'deferred' | 'relayed',
      reply: string,
      statusCode: string,
      extra: {
        mxHost?: string | undefined;
        address?: string | undefined;
        peerReportsDsn?: boolean | undefined;
      } = {},
    ) => {
      metrics?.attempts.inc({ route });
      if (kind === 'deferred') {
        const next = nextAttempt(settings.schedule, entry.receivedAt, d.attempts + 1, now);
        if (next.kind === 'expired') {
          kind = 'bounced';
          reply = `${reply} (gave up: in the queue since ${entry.receivedAt.toISOString()})`;
          statusCode = '4.4.7';
        } else {
          const warn =
            wants(d, 'DELAY') &&
            !d.delayNotified &&
            now.getTime() - entry.receivedAt.getTime() >= settings.delayWarningMs;
          if (warn) notices.push(notice(d, 'delayed', statusCode, reply, extra.mxHost, now, expiresAt));
          outcomes.push({
            deliveryId: d.id,
            outcome: 'deferred',
            reply,
            statusCode,
            ...extra,
            nextAttemptAt: next.at,
            delayNotified: warn,
          });
          metrics?.outcomes.inc({ route, outcome: 'deferred' });
          return;
        }
      }
      if (kind === 'bounced' && (d.notify === null || wants(d, 'FAILURE'))) {
        notices.push(notice(d, 'failed', statusCode, reply, extra.mxHost, now));
      }
      if (kind === 'relayed' && wants(d, 'SUCCESS') && !extra.peerReportsDsn) {
        notices.push(notice(d, 'relayed', statusCode, reply, extra.mxHost, now));
      }
      if (kind === 'relayed')
        metrics?.latency.observe({ route }, (now.getTime() - entry.receivedAt.getTime()) / 1000);
      outcomes.push({ deliveryId: d.id, outcome: kind, reply, statusCode, ...extra });
      metrics?.outcomes.inc({ route, outcome: kind });
    };

    for (const d of due) {
      const at = d.recipient.lastIndexOf('@');
      const domain = d.recipient.slice(at + 1).toLowerCase();
      if (!local.has(domain)) {
        remote.set(domain, [...(remote.get(domain) ?? []), d]);
        continue;
      }
      const route = await routes.run(d.recipient);
      if (route.kind === 'alias') {
        if (aliasDepthReached) {
          settle(
            d,
            'local',
            'bounced',
            `554 5.4.6 ${d.recipient}: aliases nested too deep (a loop?)`,
            '5.4.6',
          );
          continue;
        }
        const expansion = await expandRecipient(
          pool,
          { id: d.id, queueId: entry.queueId, worker: claimant },
          route.destinations,
          d.expandedFrom ?? d.recipient,
        );
        if (expansion === 'loop') {
          settle(
            d,
            'local',
            'bounced',
            `554 5.4.6 <${d.recipient}>: mail forwarding loop (aliases lead back to each other)`,
            '5.4.6',
          );
        }
        expanded ||= expansion === 'expanded';
        continue;
      }
      if (route.kind === 'unknown') {
        settle(d, 'local', 'bounced', `550 5.1.1 <${d.recipient}>: no such user here`, '5.1.1');
        continue;
      }
      const result = route.sieve
        ? await deliverWithSieve(
            {
              pool,
              bus: afterCommit,
              batcher,
              hostname: deps.hostname,
              worker: claimant,
              scripts: sieveScripts,
              describe: deps.describe,
              logger,
            },
            entry,
            d,
            route.mailbox,
            blob,
          )
        : await deliverLocally(
            { batcher, hostname: deps.hostname, worker: claimant },
            entry,
            d,
            route.mailbox,
            blob,
          );
      if (result.kind === 'delivered') {
        done ||= result.queueDone;
        // A Sieve redirect added recipients to the message: delivered in the next round.
        if ('redirected' in result && result.redirected > 0) expanded = true;
        metrics?.attempts.inc({ route: 'local' });
        metrics?.outcomes.inc({ route: 'local', outcome: 'delivered' });
        metrics?.latency.observe({ route: 'local' }, (Date.now() - entry.receivedAt.getTime()) / 1000);
        if (wants(d, 'SUCCESS')) notices.push(notice(d, 'delivered', '2.0.0', null, null, now));
        logger.info({ queueId: entry.queueId, recipient: d.recipient, uid: result.uid }, 'delivered');
      } else if (result.kind === 'over-quota') {
        settle(d, 'local', 'deferred', result.reply, '4.2.2');
      } else if (result.kind === 'no-such-user') {
        settle(d, 'local', 'bounced', `550 5.1.1 <${d.recipient}>: no such user here`, '5.1.1');
      }
    }

    const { outcomes: remoteResults, forwarded } = await deliverRemotely(
      { remote: remoteDeps, dkim, forwarding },
      entry,
      remote,
      message,
      local,
      now,
    );
    const notAttempted: string[] = [];
    for (const r of remoteResults) {
      if (r.kind === 'busy') {
        busy = true;
        notAttempted.push(r.delivery.id);
        continue;
      }
      // A forwarded copy says in the trace how it went out (its SRS sender, its seal).
      const copy = forwarded.get(r.delivery.id);
      const reply = copy ? `${r.reply} (forwarded ${copy.note})` : r.reply;
      settle(r.delivery, 'remote', r.kind, reply, r.statusCode, {
        mxHost: r.mxHost,
        address: r.address,
        peerReportsDsn: r.peerReportsDsn,
      });
      logger.info(
        {
          queueId: entry.queueId,
          recipient: r.delivery.recipient,
          outcome: r.kind,
          mx: r.mxHost,
          address: r.address,
          reply: r.reply,
          ...(copy && { sender: copy.sender, forwarded: copy.note }),
        },
        'remote delivery attempt',
      );
    }
    await releaseClaims(pool, notAttempted, claimant);

    const report =
      notices.length > 0 && entry.sender !== ''
        ? reportMessage(deps.hostname, entry, message, notices, now)
        : undefined;
    await settleSurely(() => settleDeliveries(pool, claimant, outcomes, report));
    if (report) {
      const actions = notices.map((n) => n.action);
      logger.info(
        { queueId: entry.queueId, dsn: report.queueId, to: entry.sender, actions },
        'delivery status notification',
      );
      for (const n of notices) metrics?.notifications.inc({ action: n.action });
      await republisher.publish({ queueId: report.queueId, enqueuedAt: now.toISOString() });
    }
    return { expanded, busy, done };
  }

  if (deps.recoverJobsAtStart) {
    const released = await releaseAbandonedClaims(pool);
    if (released > 0) logger.info({ released }, 'took back the recipients a stopped run was delivering');
  }
  const scan = startDueScan({
    pool,
    bus,
    logger,
    intervalMs: deps.dueScanIntervalMs ?? 5_000,
    recoverAtStart: deps.recoverJobsAtStart === true,
  });
  const maintenance =
    settings.maintenance &&
    startMaintenanceLoop({
      pool,
      logger,
      settings: settings.maintenance,
      metrics: deps.metrics ? createMaintenanceMetrics(deps.metrics) : undefined,
    });

  const consumer = bus.consumeJobs(
    async (job, control) => {
      try {
        await handleJob(job, control);
      } catch (err) {
        metrics?.jobs.inc({ result: 'error' });
        metrics?.errors.inc({ kind: 'delivery' });
        logger.warn({ err, queueId: job.queueId }, 'delivery job failed; retrying');
        control.nak(5_000);
      }
    },
    { concurrency: settings.concurrency },
  );
  logger.info({ workerId, concurrency: settings.concurrency }, 'delivery-worker consuming the queue');

  return {
    workerId,
    reports: reports?.schedule,
    async stop(options) {
      scan.stop();
      republisher.stop();
      await maintenance?.stop();
      await reports?.stopSchedule();
      // Jobs still running at the deadline go back to the queue for another worker at once;
      // what they already delivered is recorded per recipient, so nothing is sent twice.
      await consumer.stop(
        options?.drainTimeoutMs === undefined ? undefined : { handOverAfterMs: options.drainTimeoutMs },
      );
      await reports?.stopCounting();
    },
  };
}
