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
import { discardAccepting, markQueued, newQueueId, recordAcceptedMessage } from '@tegami/store';
import type pg from 'pg';
import type { SmtpMetrics } from './metrics.js';
import { receivedHeader } from './received-header.js';
import { findMessageId, fixSubmittedHeaders } from './submission-headers.js';

export interface AcceptorDeps {
  readonly pool: pg.Pool;
  readonly bus: MailBus;
  readonly hostname: string;
  readonly logger: Logger;
  readonly metrics: SmtpMetrics;
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
  const raw = Buffer.concat([
    Buffer.from(receivedHeader({ client, hostname: deps.hostname, queueId, recipients, date: now })),
    fixed,
  ]);
  const sender = reversePathAddress(envelope.from);
  const log = {
    queueId,
    client: client.address,
    listener,
    sender,
    recipients: recipients.length,
    size: raw.length,
  };
  const outcome = (answer: SmtpReply, err?: unknown): SmtpReply => {
    const result = answer.code < 400 ? 'accepted' : 'rejected';
    deps.metrics.transactions.inc({ listener, result, code: String(answer.code) });
    if (answer.code < 400) {
      deps.metrics.messageSize.observe(raw.length);
      deps.metrics.queueLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
    deps.logger[err ? 'warn' : 'info'](
      { ...log, result, reply: answer.code, ...(err ? { err } : {}) },
      'transaction',
    );
    return answer;
  };

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
  return outcome(reply(250, '2.0.0', `Ok: queued as ${queueId}`));
}
