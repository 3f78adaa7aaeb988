// How a session's NOTIFY (RFC 5465) responses reach the client: the account watch feeds
// jobs to the session's queue of unsolicited responses (session.ts unsolicited), which runs
// them between commands and during IDLE (§3: whenever an untagged response may be sent).
//
// NOTIFICATIONOVERFLOW (§5.8): a client that does not read lets responses pile up. Past
// MAX_PENDING queued jobs the session says `* OK [NOTIFICATIONOVERFLOW]` and stops
// notifying, as the RFC has it, until the client issues NOTIFY again; the selected
// mailbox's news still reaches it through the next command, as without NOTIFY.

import type { ImapContext, NotifyPlan } from './commands/command-spec.js';
import type { SelectedMailbox } from './selected-mailbox.js';
import type { AccountEvent } from './session-types.js';

/** Jobs waiting for the client; each is a few lines at most. */
export const MAX_PENDING_NOTIFICATIONS = 1_000;

type Enqueue = (job: () => Promise<void>) => Promise<void>;

export class NotifyDelivery {
  private notifications: NotifyPlan | undefined;
  private unwatch: (() => void) | undefined;
  private pending = 0;
  /** A push of the selected mailbox's news is queued already: one is enough for any number of changes. */
  private selectedQueued = false;

  constructor(
    private readonly context: ImapContext,
    private readonly enqueue: Enqueue,
    private readonly maxPending = MAX_PENDING_NOTIFICATIONS,
  ) {}

  /** NOTIFY SET (or NONE, with undefined): replaces what was asked before. */
  start(notifications: NotifyPlan | undefined): void {
    this.stop();
    if (!notifications) return;
    const account = this.context.account;
    if (!account.watchAccount) return;
    this.notifications = notifications;
    this.unwatch = account.watchAccount((event) => this.accountChanged(event));
    // News of the selected mailbox that came before NOTIFY goes out now, as it would have in IDLE.
    const selected = this.context.selected;
    if (selected?.dirty) this.selectedChanged(selected);
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
    this.notifications = undefined;
    this.selectedQueued = false;
  }

  /** The selected mailbox changed; false when NOTIFY has no SELECTED filter (the caller does as before). */
  selectedChanged(mailbox: SelectedMailbox): boolean {
    const notifications = this.notifications;
    if (!notifications?.selected) return false;
    if (this.selectedQueued) return true;
    this.selectedQueued = true;
    this.queue(async () => {
      this.selectedQueued = false;
      if (this.notifications !== notifications || this.context.selected !== mailbox) return;
      try {
        await notifications.pushSelected(this.context);
      } catch {
        // The store could not be read: the next command's sync tells it.
        mailbox.dirty = true;
      }
    });
    return true;
  }

  private accountChanged(event: AccountEvent): void {
    const notifications = this.notifications;
    if (!notifications) return;
    this.queue(async () => {
      if (this.notifications !== notifications) return;
      const lines = await notifications.responsesFor(event, this.context);
      if (lines.length > 0) await this.context.write(lines.join(''));
    });
  }

  private queue(job: () => Promise<void>): void {
    if (this.pending >= this.maxPending) {
      this.stop();
      void this.enqueue(() =>
        this.context.write('* OK [NOTIFICATIONOVERFLOW] too many notifications waiting; NOTIFY is off\r\n'),
      ).catch(() => undefined);
      return;
    }
    this.pending++;
    void this.enqueue(job)
      .catch(() => undefined)
      .finally(() => {
        this.pending--;
      });
  }
}
