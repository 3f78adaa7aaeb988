import type { MailBus } from '@tegami/bus';
import {
  reply,
  reversePathAddress,
  rfc5322Date,
  type SmtpClientInfo,
  type SmtpEnvelope,
  type SmtpReply,
  type SmtpRole,
} from '@tegami/protocol';
import type { Logger } from '@tegami/runtime';
import {
  type AcceptanceBatcher,
  type DmarcResultTally,
  hasPopBeforeSmtp,
  newQueueId,
  type SpamTallyOutcome,
} from '@tegami/store';
import type pg from 'pg';
import { isLoopbackAddress } from './client-address.js';
import {
  checkInboundMessage,
  type InboundCheckDeps,
  type InboundVerdictSummary,
  spamVerdictTally,
} from './inbound-checks.js';
import type { SmtpMetrics } from './metrics.js';
import { receivedHeader } from './received-header.js';
import { findMessageId, fixSubmittedHeaders } from './submission-headers.js';
import { saysTlsRequiredNo } from './tls-required.js';

export interface AcceptorDeps {
  readonly pool: pg.Pool;
  readonly bus: MailBus;
  /** Writes and commits the queue rows, with the messages of concurrent sessions (group commit). */
  readonly acceptance: AcceptanceBatcher;
  readonly hostname: string;
  readonly logger: Logger;
  readonly metrics: SmtpMetrics;
  /** SPF/DKIM/DMARC/ARC and the spam filter for port 25; none when both are off. */
  readonly inbound?: Omit<InboundCheckDeps, 'hostname' | 'metrics'>;
  /** POP-before-SMTP is on: a client with a grant is one of our users, not checked like a stranger. */
  readonly popBeforeSmtp?: boolean;
  /** Authenticate mail from loopback clients too (tests); a local program's mail is only scanned otherwise. */
  readonly checkLoopbackClients?: boolean;
  /**
   * Counts a message for its From domain's DMARC aggregate report (TEGAMI_REPORTS): in memory,
   * never waiting nor failing (the counts are written in batches).
   */
  readonly recordDmarc?: ((row: DmarcResultTally) => void) | undefined;
  /** Counts the spam filter's verdict for the admin dashboard: in memory, like recordDmarc. */
  readonly recordSpamVerdict?: ((verdict: SpamTallyOutcome) => void) | undefined;
}

const TEMPORARY_FAILURE = reply(451, '4.3.0', 'Temporary failure storing the message; try again later');

/**
 * The end of a transaction: `250` is said only when the message is in Postgres and
 * JetStream has acknowledged its job. Any failure on the way answers 451 and leaves
 * nothing the delivery-worker would deliver: the queue row is committed last, after the
 * PubAck, or not at all.
 */
export async function acceptMessage(
  deps: AcceptorDeps,
  listener: string,
  role: SmtpRole,
  client: SmtpClientInfo,
  envelope: SmtpEnvelope,
  message: Buffer,
): Promise<SmtpReply> {
  const started = process.hrtime.bigint();
  const queueId = newQueueId();
  const now = new Date();
  const recipients = envelope.recipients.map((r) => r.address);
  const fixed =
    role === 'submission'
      ? fixSubmittedHeaders(message, {
          date: rfc5322Date(now),
          messageId: `<${queueId}.${now.getTime()}@${deps.hostname}>`,
        })
      : message;
  const received = receivedHeader({ client, hostname: deps.hostname, queueId, recipients, date: now });
  const sender = reversePathAddress(envelope.from);
  // RFC 8689 §4.1: the message is tagged with REQUIRETLS, or else with its TLS-Required field.
  const requireTls = envelope.mailParams.requireTls === true;
  const tlsRequiredNo = !requireTls && saysTlsRequiredNo(fixed);
  let raw: Buffer = Buffer.concat([Buffer.from(received), fixed]);
  let junk = false;
  let verdict: InboundVerdictSummary | undefined;
  let dmarcReport: DmarcResultTally | undefined;
  let spamVerdict: SpamTallyOutcome | undefined;
  const outcome = (answer: SmtpReply, err?: unknown): SmtpReply => {
    const result = answer.code < 400 ? 'accepted' : 'rejected';
    deps.metrics.transactions.inc({ listener, result, code: String(answer.code) });
    if (answer.code < 400) {
      deps.metrics.messageSize.observe(raw.length);
      deps.metrics.queueLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
    deps.logger[err ? 'warn' : 'info'](
      {
        queueId,
        client: client.address,
        listener,
        sender,
        recipients: recipients.length,
        size: raw.length,
        result,
        reply: answer.code,
        ...(requireTls ? { requireTls } : {}),
        ...(tlsRequiredNo ? { tlsRequiredNo } : {}),
        ...(err ? { err } : {}),
      },
      'transaction',
    );
    return answer;
  };

  const checks = await checksFor(deps, role, client);
  if (checks) {
    const checked = await checkInboundMessage(
      { hostname: deps.hostname, metrics: deps.metrics, ...checks },
      {
        queueId,
        client: {
          ip: client.address,
          helo: client.helo ?? '',
          // Forward-confirmed by the connection checks (TEGAMI_SMTP_REQUIRE_REVERSE_DNS), for rspamd.
          ...(client.reverseName !== undefined && { hostname: client.reverseName }),
        },
        sender,
        recipients,
        message: fixed,
        received,
      },
    );
    verdict = checked.summary;
    dmarcReport = checked.dmarcReport;
    spamVerdict = spamVerdictTally(checked.summary);
    deps.logger.info({ queueId, client: client.address, sender, ...checked.summary }, 'inbound verdict');
    if (checked.refusal) {
      // A refusal for good is what the report says happened; a temporary one is retried, and
      // the retry is what counts.
      if (dmarcReport && checked.refusal.code >= 500) deps.recordDmarc?.(dmarcReport);
      if (spamVerdict) deps.recordSpamVerdict?.(spamVerdict);
      return outcome(checked.refusal);
    }
    raw = checked.raw;
    junk = checked.junk;
  }
  // The order, and what each crash leaves (docs/architecture/acceptance-order.md):
  //   BEGIN; blob + queue row 'queued' + deliveries, holding the queue id's lock (one
  //   statement) → publish the job, Nats-Msg-Id = queue id, wait for the PubAck → COMMIT
  //   (waits for the WAL flush) → 250.
  // - Killed before the PubAck: Postgres rolls the transaction back when the connection
  //   drops; a job that reached the stream finds no row (below). No 250: the client retries.
  // - Killed after the PubAck, before the COMMIT: the same. The worker that has the job
  //   waits on the lock for the rollback, finds no row, and acks the job: nothing is
  //   delivered, nothing stays queued.
  // - Killed after the COMMIT, before the 250 is written: delivered, and the client sends
  //   it again (RFC 5321 §6.1 prefers a duplicate to a loss; no order closes this window).
  // - The publish fails (NATS down, no PubAck in time): rollback, 451; a job the stream did
  //   store is the case above. The COMMIT fails: the row is looked for on another
  //   connection (a lost answer to a COMMIT that happened): there, 250; not, 451.
  // A 'queued' row is thus only ever visible with its job acknowledged by JetStream, and the
  // worker, which can have the job before the COMMIT, waits for that one transaction
  // (awaitAcceptance) instead of polling the row. The transaction may carry the messages of
  // other sessions too (deps.acceptance, a group commit): each still has this order.
  let failed: 'storage' | 'bus' = 'storage';
  try {
    await deps.acceptance.accept(
      {
        queueId,
        raw,
        sender,
        recipients: envelope.recipients.map((r) => ({
          address: r.address.toLowerCase(),
          ...(r.params.notify ? { notify: r.params.notify } : {}),
          ...(r.params.orcpt ? { orcpt: `${r.params.orcpt.addressType};${r.params.orcpt.address}` } : {}),
        })),
        messageId: findMessageId(raw),
        clientAddress: client.address,
        clientHelo: client.helo,
        listener,
        authenticatedAs: client.authenticated?.accountId,
        dsnEnvid: envelope.mailParams.envid,
        dsnRet: envelope.mailParams.ret,
        junk,
        verdict,
        requireTls,
        tlsRequiredNo,
      },
      async () => {
        failed = 'bus';
        await deps.bus.publishJob({ queueId, enqueuedAt: now.toISOString() });
        failed = 'storage';
      },
    );
  } catch (err) {
    deps.metrics.errors.inc({ kind: failed });
    return outcome(TEMPORARY_FAILURE, err);
  }
  if (dmarcReport) deps.recordDmarc?.(dmarcReport);
  if (spamVerdict) deps.recordSpamVerdict?.(spamVerdict);
  return outcome(reply(250, '2.0.0', `Ok: queued as ${queueId}`));
}

/**
 * Port 25 mail from strangers is checked; our own users' is not (authenticated on port 25,
 * or holding a POP-before-SMTP grant): they send as our domains from anywhere, which SPF
 * and DMARC would hold against them, and submission already proved who they are. A local
 * program (a loopback client) is scanned for spam but not authenticated, as Postfix with
 * rspamd and OpenDMARC (IgnoreHosts 127.0.0.1) treat it: SPF of 127.0.0.1 says nothing.
 */
async function checksFor(
  deps: AcceptorDeps,
  role: SmtpRole,
  client: SmtpClientInfo,
): Promise<Pick<InboundCheckDeps, 'auth' | 'spam'> | undefined> {
  const inbound = deps.inbound;
  if (role !== 'mx' || !inbound || client.authenticated) return undefined;
  // A failed lookup checks the message: a stranger's mail is never waved through by an error.
  if (deps.popBeforeSmtp && (await hasPopBeforeSmtp(deps.pool, client.address).catch(() => false)))
    return undefined;
  const auth = isLoopbackAddress(client.address) && !deps.checkLoopbackClients ? undefined : inbound.auth;
  if (!auth && !inbound.spam) return undefined;
  return { auth, spam: inbound.spam };
}
