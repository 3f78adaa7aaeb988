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
  type DmarcResultTally,
  discardAccepting,
  hasPopBeforeSmtp,
  markQueued,
  newQueueId,
  recordAcceptedMessage,
} from '@tegami/store';
import type pg from 'pg';
import { isLoopbackAddress } from './client-address.js';
import { checkInboundMessage, type InboundCheckDeps, type InboundVerdictSummary } from './inbound-checks.js';
import type { SmtpMetrics } from './metrics.js';
import { receivedHeader } from './received-header.js';
import { findMessageId, fixSubmittedHeaders } from './submission-headers.js';
import { saysTlsRequiredNo } from './tls-required.js';

export interface AcceptorDeps {
  readonly pool: pg.Pool;
  readonly bus: MailBus;
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
}

const TEMPORARY_FAILURE = reply(451, '4.3.0', 'Temporary failure storing the message; try again later');

/**
 * The end of a transaction: `250` is said only when the message is in Postgres and
 * JetStream has acknowledged its job. Any failure on the way answers 451 and leaves
 * nothing the delivery-worker would deliver (the row stays 'accepting' at worst, and
 * the sweep removes it).
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
    deps.logger.info({ queueId, client: client.address, sender, ...checked.summary }, 'inbound verdict');
    if (checked.refusal) {
      // A refusal for good is what the report says happened; a temporary one is retried, and
      // the retry is what counts.
      if (dmarcReport && checked.refusal.code >= 500) deps.recordDmarc?.(dmarcReport);
      return outcome(checked.refusal);
    }
    raw = checked.raw;
    junk = checked.junk;
  }
  try {
    await recordAcceptedMessage(deps.pool, {
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
    });
  } catch (err) {
    deps.metrics.errors.inc({ kind: 'storage' });
    return outcome(TEMPORARY_FAILURE, err);
  }
  try {
    await deps.bus.publishJob({ queueId, enqueuedAt: now.toISOString() });
  } catch (err) {
    deps.metrics.errors.inc({ kind: 'bus' });
    await discardAccepting(deps.pool, queueId).catch(() => undefined);
    return outcome(TEMPORARY_FAILURE, err);
  }
  try {
    await markQueued(deps.pool, queueId);
  } catch (err) {
    // The job is out, but the row says 'accepting': the worker drops it. The client retries.
    return outcome(TEMPORARY_FAILURE, err);
  }
  if (dmarcReport) deps.recordDmarc?.(dmarcReport);
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
