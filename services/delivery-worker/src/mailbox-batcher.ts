import type { MailBus } from '@tegami/bus';
import {
  deliverManyToMailbox,
  deliverToMailbox,
  type LocalDeliveryInput,
  type LocalDeliveryResult,
  type LocalMailbox,
} from '@tegami/store';
import type pg from 'pg';

type Request = Omit<LocalDeliveryInput, 'mailbox'>;

interface Waiting {
  readonly request: Request;
  readonly resolve: (result: LocalDeliveryResult) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Group commit per mailbox. Deliveries to one INBOX take turns on its row lock (IMAP needs
 * UIDs to appear in ascending order), so while one delivery to a mailbox is in Postgres
 * the next ones to it wait here and then go together: one statement, one lock, one
 * commit for all of them, and one change event for the IMAP sessions watching it. A lone
 * delivery goes at once; nothing waits for a batch to fill.
 */
export class MailboxBatcher {
  private readonly queues = new Map<string, Waiting[]>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly bus: Pick<MailBus, 'publishMailboxChanged'>,
    private readonly maxBatch = 64,
  ) {}

  async deliver(mailbox: LocalMailbox, request: Request): Promise<LocalDeliveryResult> {
    // The quota check counts one message against the mailbox as it is: no batches there.
    if (mailbox.quotaBytes !== null) {
      const result = await deliverToMailbox(this.pool, { ...request, mailbox });
      await this.announce(mailbox, [result]);
      return result;
    }
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(mailbox.inboxId);
      if (queue) {
        queue.push({ request, resolve, reject });
        return;
      }
      const fresh: Waiting[] = [{ request, resolve, reject }];
      this.queues.set(mailbox.inboxId, fresh);
      void this.drain(mailbox, fresh);
    });
  }

  private async drain(mailbox: LocalMailbox, queue: Waiting[]): Promise<void> {
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, this.maxBatch);
        let results: LocalDeliveryResult[];
        try {
          results =
            batch.length === 1
              ? [await deliverToMailbox(this.pool, { ...batch[0]!.request, mailbox })]
              : await deliverManyToMailbox(
                  this.pool,
                  mailbox,
                  batch.map((w) => w.request),
                );
        } catch (err) {
          for (const w of batch) w.reject(err);
          continue;
        }
        await this.announce(mailbox, results);
        for (const [i, w] of batch.entries()) w.resolve(results[i]!);
      }
    } finally {
      this.queues.delete(mailbox.inboxId);
    }
  }

  /**
   * One event for the messages a statement put in the mailbox (they share its MODSEQ). At
   * most once, to whoever listens now: IMAP sessions re-read Postgres on the event, and a
   * lost one is caught up on their next command, so a failed publish fails no delivery.
   */
  private async announce(mailbox: LocalMailbox, results: readonly LocalDeliveryResult[]): Promise<void> {
    const uids: number[] = [];
    let modseq = 0n;
    for (const r of results) {
      if (r.kind !== 'delivered') continue;
      uids.push(r.uid);
      if (r.modseq > modseq) modseq = r.modseq;
    }
    if (uids.length === 0) return;
    await this.bus
      .publishMailboxChanged({
        accountId: mailbox.accountId,
        mailboxId: mailbox.inboxId,
        kind: 'exists',
        uids,
        modseq: modseq.toString(),
      })
      .catch(() => undefined);
  }
}
