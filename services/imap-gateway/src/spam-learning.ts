import { readFileSync } from 'node:fs';
import type { SpecialUseAttribute } from '@tegami/protocol';
import { createRspamdClient, type RspamdClient, RspamdError } from '@tegami/rpc';
import type { Logger } from '@tegami/runtime';
import { fetchImapMessages } from '@tegami/store';
import type pg from 'pg';
import { Counter, type Registry } from 'prom-client';

// Users teach rspamd by filing mail, as Dovecot users do with IMAPSieve's report-spam and
// report-ham scripts: a message copied or moved into the \Junk mailbox is spam; one copied
// or moved out of it, anywhere but \Trash (deleting junk says nothing about it), is ham.
// COPY counts as much as MOVE: a client without MOVE moves with COPY, STORE \Deleted and
// EXPUNGE. APPEND teaches nothing (an upload is not a judgement).
//
// Learning never slows or fails the IMAP command that caused it: the command only queues
// it, once its result is decided; at most CONCURRENCY learns run at a time and at most
// MAX_PENDING wait, past which the rest are dropped and counted. A failure is logged with
// the account and mailboxes, never with the message.

export type LearnKind = 'spam' | 'ham';

/** What filing a message from one mailbox into another teaches, by their special use (RFC 6154). */
export function learningOf(
  source: SpecialUseAttribute | null,
  target: SpecialUseAttribute | null,
): LearnKind | undefined {
  if (target === '\\Junk') return source === '\\Junk' ? undefined : 'spam';
  if (source === '\\Junk') return target === '\\Trash' ? undefined : 'ham';
  return undefined;
}

/** Messages a COPY or MOVE put into a mailbox, and what they teach. */
export interface FiledMessages {
  readonly kind: LearnKind;
  /** The account's address (for the log). */
  readonly account: string;
  readonly from: string;
  readonly to: string;
  /** The mailbox they are in now, and their UIDs there. */
  readonly mailboxId: string;
  readonly uids: readonly number[];
}

export interface SpamLearningDeps {
  readonly rspamd: Pick<RspamdClient, 'learn'>;
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly metrics: Registry;
  /** Learns at a time (default 4). */
  readonly concurrency?: number;
  /** Learns waiting beyond those, before more are dropped (default 100). */
  readonly maxPending?: number;
}

type LearnResult = 'learned' | 'already' | 'failed' | 'dropped';

interface Job {
  readonly filed: FiledMessages;
  readonly uid: number;
}

export class SpamLearning {
  private readonly queue: Job[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly concurrency: number;
  private readonly maxPending: number;
  private readonly counter: Counter<'kind' | 'result'>;
  private stopped = false;

  constructor(private readonly deps: SpamLearningDeps) {
    this.concurrency = deps.concurrency ?? 4;
    this.maxPending = deps.maxPending ?? 100;
    this.counter = new Counter({
      name: 'tegami_spam_learn_total',
      help: 'Messages filed into or out of Junk over IMAP and sent to rspamd to learn, by kind (spam, ham) and result (learned, already, failed, dropped)',
      labelNames: ['kind', 'result'] as const,
      registers: [deps.metrics],
    });
    for (const kind of ['spam', 'ham'] as const)
      for (const result of ['learned', 'already', 'failed', 'dropped'] as const)
        this.counter.inc({ kind, result }, 0);
  }

  /** Learns waiting or running now. */
  get busy(): number {
    return this.queue.length + this.running.size;
  }

  /** Queues one learn per message; returns at once. */
  report(filed: FiledMessages): void {
    let dropped = 0;
    for (const uid of filed.uids) {
      if (this.stopped || this.queue.length >= this.maxPending) dropped++;
      else this.queue.push({ filed, uid });
    }
    if (dropped > 0) {
      this.count(filed.kind, 'dropped', dropped);
      if (!this.stopped)
        this.deps.logger.warn(
          { account: filed.account, from: filed.from, to: filed.to, kind: filed.kind, dropped },
          'spam learning: too many learns waiting, some dropped',
        );
    }
    // After the command's own work: the caller goes on to answer first.
    setImmediate(() => this.pump());
  }

  /** Drops what waits, aborts what runs, and resolves once nothing runs. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const job of this.queue.splice(0)) this.count(job.filed.kind, 'dropped');
    this.abort.abort(new Error('imap-gateway stopping'));
    await Promise.allSettled([...this.running]);
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      const run = this.learn(job).finally(() => {
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async learn(job: Job): Promise<void> {
    const { filed } = job;
    const signal = this.abort.signal;
    try {
      const [row] = await fetchImapMessages(this.deps.pool, filed.mailboxId, [job.uid], {
        metadata: false,
        raw: true,
      });
      // Expunged since: nothing left to learn from.
      if (!row?.raw) {
        this.count(filed.kind, 'dropped');
        return;
      }
      const learned = await this.deps.rspamd.learn(filed.kind, row.raw, signal);
      this.count(filed.kind, learned === 'learned' ? 'learned' : 'already');
    } catch (err) {
      if (signal.aborted) {
        this.count(filed.kind, 'dropped');
        return;
      }
      this.count(filed.kind, 'failed');
      this.deps.logger.warn(
        {
          account: filed.account,
          from: filed.from,
          to: filed.to,
          kind: filed.kind,
          uid: job.uid,
          // The reason only: an error's cause could carry more than the log should.
          reason: err instanceof Error ? err.message : String(err),
          ...(err instanceof RspamdError && { rspamdError: err.kind, status: err.status }),
        },
        `spam learning: rspamd did not learn the ${filed.kind}`,
      );
    }
  }

  private count(kind: LearnKind, result: LearnResult, n = 1): void {
    this.counter.inc({ kind, result }, n);
  }
}

/** How long one learn may take: learning is in the background, but a hung rspamd must not hold a slot for ever. */
export const LEARN_TIMEOUT_MS = 30_000;

/**
 * The client of rspamd's controller that TEGAMI_RSPAMD_CONTROLLER_URL and
 * TEGAMI_RSPAMD_PASSWORD_FILE describe; undefined (no learning) when the URL is unset.
 */
export function rspamdLearningClient(settings: {
  readonly rspamdControllerUrl?: string | undefined;
  readonly rspamdPasswordFile?: string | undefined;
}): Pick<RspamdClient, 'learn'> | undefined {
  if (settings.rspamdControllerUrl === undefined) return undefined;
  const password =
    settings.rspamdPasswordFile === undefined
      ? undefined
      : readFileSync(settings.rspamdPasswordFile, 'utf8').replace(/[\r\n]+$/, '');
  return createRspamdClient({
    controllerUrl: settings.rspamdControllerUrl,
    ...(password !== undefined && { password }),
    timeoutMs: LEARN_TIMEOUT_MS,
  });
}
