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
 * commit for all of them. A lone delivery goes at once; nothing waits for a batch to fill.
 */
export class MailboxBatcher {
  private readonly queues = new Map<string, Waiting[]>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly maxBatch = 64,
  ) {}

  deliver(mailbox: LocalMailbox, request: Request): Promise<LocalDeliveryResult> {
    // The quota check counts one message against the mailbox as it is: no batches there.
    if (mailbox.quotaBytes !== null) return deliverToMailbox(this.pool, { ...request, mailbox });
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
        try {
          const results =
            batch.length === 1
              ? [await deliverToMailbox(this.pool, { ...batch[0]!.request, mailbox })]
              : await deliverManyToMailbox(
                  this.pool,
                  mailbox,
                  batch.map((w) => w.request),
                );
          for (const [i, w] of batch.entries()) w.resolve(results[i]!);
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.queues.delete(mailbox.inboxId);
    }
  }
}
